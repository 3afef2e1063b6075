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
//!
//! A fourth argument `redis-crate` runs the same loop through the `redis` crate's multiplexed
//! connection instead, the peer cachet-bench compares the client with.

use anyhow::{Context, anyhow};
use cachet::client::{Client, Ttl};
use std::time::Instant;

const WARM_UP: usize = 200;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().context("usage: client_gets URL [TASKS] [GETS]")?;
    let tasks: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1).max(1);
    let gets: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20_000).max(tasks);
    let redis_crate = args.next().as_deref() == Some("redis-crate");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let client = if redis_crate {
            Getter::RedisCrate(redis::Client::open(url.as_str())?.get_multiplexed_async_connection().await?)
        } else {
            Getter::Cachet(Client::open(&url).await.map_err(|e| anyhow!("{e}"))?)
        };
        client.set_value().await?;
        run(&client, tasks, WARM_UP * tasks).await?;
        let started = Instant::now();
        run(&client, tasks, gets).await?;
        let us = started.elapsed().as_secs_f64() * 1e6;
        eprintln!("{gets} GETs from {tasks} task(s): {:.1} µs per GET, {:.0} GETs/s", us / gets as f64, gets as f64 * 1e6 / us);
        Ok(())
    })
}

/// The client under measurement.
#[derive(Clone)]
enum Getter {
    Cachet(Client),
    RedisCrate(redis::aio::MultiplexedConnection),
}

impl Getter {
    async fn set_value(&self) -> anyhow::Result<()> {
        match self {
            Getter::Cachet(client) => client.set("client_gets", &[b'x'; 64], Ttl::Never).await.map_err(|e| anyhow!("{e}")),
            Getter::RedisCrate(connection) => Ok(redis::cmd("SET").arg("client_gets").arg(&[b'x'; 64][..]).exec_async(&mut connection.clone()).await?),
        }
    }

    /// The value's length, if it has one.
    async fn get(&self) -> anyhow::Result<Option<usize>> {
        match self {
            Getter::Cachet(client) => client.get("client_gets").await.map(|v| v.map(|v| v.len())).map_err(|e| anyhow!("{e}")),
            Getter::RedisCrate(connection) => {
                let value: Option<Vec<u8>> = redis::cmd("GET").arg("client_gets").query_async(&mut connection.clone()).await?;
                Ok(value.map(|v| v.len()))
            }
        }
    }
}

/// `gets` GETs shared among `tasks` tasks.
async fn run(client: &Getter, tasks: usize, gets: usize) -> anyhow::Result<()> {
    let workers: Vec<_> = (0..tasks)
        .map(|t| {
            let client = client.clone();
            let share = gets / tasks + usize::from(t < gets % tasks);
            tokio::spawn(async move {
                for _ in 0..share {
                    let value = client.get().await?;
                    anyhow::ensure!(value == Some(64), "GET client_gets did not return the 64-byte value");
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
