//! cachet's client doing GETs of one 64-byte value from a number of tasks, against the server a URL
//! names: for timing, and for counting the client's instructions per GET with valgrind's callgrind
//! (the difference of two runs over their difference in GETs; 200 GETs per task warm up first):
//!
//! ```sh
//! redis-server --port 6399 --save '' &
//! cargo build --release -p cachet-bench --example client_gets
//! target/release/examples/client_gets redis://127.0.0.1:6399 1 20000    # URL, tasks, GETs in all
//! valgrind --tool=callgrind target/release/examples/client_gets redis://127.0.0.1:6399 1 1000
//! valgrind --tool=callgrind target/release/examples/client_gets redis://127.0.0.1:6399 1 3000
//! ```

use anyhow::{Context, anyhow};
use cachet::client::{Client, Ttl};
use std::time::Instant;

const WARM_UP: usize = 200;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context("usage: client_gets URL [TASKS] [GETS]")?;
    let tasks: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1).max(1);
    let gets: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20_000).max(tasks);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let client = Client::open(&url).await.map_err(|e| anyhow!("{e}"))?;
        client.set("client_gets", &[b'x'; 64], Ttl::Never).await.map_err(|e| anyhow!("{e}"))?;
        run(&client, tasks, WARM_UP * tasks).await?;
        let started = Instant::now();
        run(&client, tasks, gets).await?;
        let us = started.elapsed().as_secs_f64() * 1e6;
        eprintln!("{gets} GETs from {tasks} task(s): {:.1} µs per GET, {:.0} GETs/s", us / gets as f64, gets as f64 * 1e6 / us);
        Ok(())
    })
}

/// `gets` GETs shared among `tasks` tasks.
async fn run(client: &Client, tasks: usize, gets: usize) -> anyhow::Result<()> {
    let workers: Vec<_> = (0..tasks)
        .map(|t| {
            let client = client.clone();
            let share = gets / tasks + usize::from(t < gets % tasks);
            tokio::spawn(async move {
                for _ in 0..share {
                    let value = client.get("client_gets").await.map_err(|e| anyhow!("{e}"))?;
                    anyhow::ensure!(value.is_some_and(|v| v.len() == 64), "GET client_gets did not return the 64-byte value");
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(())
}
