//! A job queue on a list: producers LPUSH jobs, consumers wait in BRPOP, each on its own
//! connection, as a worker pool does. Jobs per second from the first push to the last pop.

use crate::servers::Server;
use anyhow::{Context, Result};
use redis::Commands;
use std::time::Instant;

/// What one run moved.
pub struct QueueRun {
    pub jobs_per_sec: f64,
}

/// `producers` connections push `jobs_each` jobs; `consumers` connections pop until each takes a
/// stop marker pushed after the last job.
pub fn run(server: &Server, producers: usize, consumers: usize, jobs_each: usize) -> Result<QueueRun> {
    let url = format!("redis://127.0.0.1:{}/", server.port);
    let client = redis::Client::open(url.as_str())?;
    let mut control = client.get_connection().context("connecting")?;
    let _: () = redis::cmd("DEL").arg("queue").query(&mut control)?;
    let connect = || client.get_connection().context("connecting");
    let consumer_conns: Vec<redis::Connection> = (0..consumers).map(|_| connect()).collect::<Result<_>>()?;
    let producer_conns: Vec<redis::Connection> = (0..producers).map(|_| connect()).collect::<Result<_>>()?;
    let started = Instant::now();
    let taken = std::thread::scope(|scope| -> Result<usize> {
        let workers: Vec<_> = consumer_conns
            .into_iter()
            .map(|mut conn| {
                scope.spawn(move || -> Result<usize> {
                    let mut taken = 0;
                    loop {
                        let (_, job): (String, String) = conn.brpop("queue", 0.0)?;
                        if job == "stop" {
                            return Ok(taken);
                        }
                        taken += 1;
                    }
                })
            })
            .collect();
        let pushers: Vec<_> = producer_conns
            .into_iter()
            .enumerate()
            .map(|(p, mut conn)| {
                scope.spawn(move || -> Result<()> {
                    for j in 0..jobs_each {
                        let _: i64 = conn.lpush("queue", format!("job-{p}-{j}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for pusher in pushers {
            pusher.join().map_err(|_| anyhow::anyhow!("a producer panicked"))??;
        }
        let _: i64 = control.lpush("queue", vec!["stop"; consumers])?;
        let mut total = 0;
        for worker in workers {
            total += worker.join().map_err(|_| anyhow::anyhow!("a consumer panicked"))??;
        }
        Ok(total)
    })?;
    let jobs = producers * jobs_each;
    anyhow::ensure!(taken == jobs, "{taken} of {jobs} jobs were taken");
    Ok(QueueRun { jobs_per_sec: jobs as f64 / started.elapsed().as_secs_f64() })
}
