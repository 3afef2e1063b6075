//! Clients compared against the same redis-server: cachet's Rust client, the `redis` crate's
//! multiplexed connection and `fred`, each doing GET and SET from 1, 16 and 256 concurrent tasks.
//! The three take turns within each round; the figure is the median of the rounds.
//!
//! The same method measures cachet's client alone on several URLs ([`compare_cachet`]): its
//! in-process keyspace (`mem://`) against a cachet server reached over loopback.

use crate::throughput::median;
use anyhow::{Context, Result};
use fred::interfaces::{ClientLike, KeysInterface};
use redis::AsyncCommands;
use std::time::Instant;

/// Operations per client and measurement.
const KEYS: usize = 1000;

#[derive(Clone)]
enum Contender {
    Cachet(cachet::client::Client),
    Redis(redis::aio::MultiplexedConnection),
    Fred(fred::clients::Client),
}

impl Contender {
    async fn connect_all(url: &str) -> Result<Vec<Contender>> {
        let cachet = cachet::client::Client::open(url).await.map_err(|e| anyhow::anyhow!("cachet client: {e}"))?;
        let redis = redis::Client::open(url)?.get_multiplexed_async_connection().await.context("redis crate")?;
        let fred = fred::clients::Client::new(fred::types::config::Config::from_url(url)?, None, None, None);
        fred.init().await.context("fred")?;
        Ok(vec![Contender::Cachet(cachet), Contender::Redis(redis), Contender::Fred(fred)])
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<()> {
        match self {
            Contender::Cachet(c) => c.set(key, value, cachet::client::Ttl::Never).await.map_err(|e| anyhow::anyhow!("{e}")),
            Contender::Redis(c) => Ok(c.set::<_, _, ()>(key, value).await?),
            Contender::Fred(c) => Ok(c.set::<(), _, _>(key, value, None, None, false).await?),
        }
    }

    async fn get(&mut self, key: &str) -> Result<usize> {
        let value: Option<Vec<u8>> = match self {
            Contender::Cachet(c) => c.get(key).await.map_err(|e| anyhow::anyhow!("{e}"))?.map(|b| b.to_vec()),
            Contender::Redis(c) => c.get(key).await?,
            Contender::Fred(c) => c.get(key).await?,
        };
        Ok(value.map_or(0, |v| v.len()))
    }
}

/// One row: operations per second of each client, for one operation and task count.
pub struct ClientRow {
    pub op: &'static str,
    pub tasks: usize,
    /// cachet, redis crate, fred.
    pub ops_per_sec: [f64; 3],
}

/// Runs every combination `rounds` times against the server at `url`, `ops` operations each.
pub fn compare(url: &str, ops: usize, rounds: usize) -> Result<Vec<ClientRow>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let contenders = Contender::connect_all(url).await?;
        let rows = measure(&contenders, ops, rounds).await?;
        Ok(rows.into_iter().map(|row| ClientRow { op: row.op, tasks: row.tasks, ops_per_sec: [row.ops_per_sec[0], row.ops_per_sec[1], row.ops_per_sec[2]] }).collect())
    })
}

/// One row: operations per second of each contender (client, or cachet's client on each URL), in order.
pub struct Row {
    pub op: &'static str,
    pub tasks: usize,
    pub ops_per_sec: Vec<f64>,
}

/// cachet's client on each of `urls` (e.g. `mem://` and a server's `redis://` address), every
/// combination `rounds` times, the URLs taking turns within each round.
pub fn compare_cachet(urls: &[String], ops: usize, rounds: usize) -> Result<Vec<Row>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async {
        let mut contenders = Vec::with_capacity(urls.len());
        for url in urls {
            let client = cachet::client::Client::open(url).await.map_err(|e| anyhow::anyhow!("cachet client on {url}: {e}"))?;
            contenders.push(Contender::Cachet(client));
        }
        measure(&contenders, ops, rounds).await
    })
}

/// Every operation and task count, `rounds` times; the contenders take turns within each round.
async fn measure(contenders: &[Contender], ops: usize, rounds: usize) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for op in ["SET", "GET"] {
        for tasks in [1, 16, 256] {
            let mut samples = vec![Vec::with_capacity(rounds); contenders.len()];
            for _ in 0..rounds {
                for (i, contender) in contenders.iter().enumerate() {
                    samples[i].push(run(contender, op, tasks, ops).await?);
                }
            }
            rows.push(Row { op, tasks, ops_per_sec: samples.into_iter().map(median).collect() });
        }
    }
    Ok(rows)
}

/// `ops` operations split over `tasks` concurrent tasks; operations per second.
async fn run(contender: &Contender, op: &'static str, tasks: usize, ops: usize) -> Result<f64> {
    let value = vec![b'x'; 64];
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let mut contender = contender.clone();
        let value = value.clone();
        let share = ops / tasks;
        handles.push(tokio::spawn(async move {
            for i in 0..share {
                let key = format!("bench:{}", (task * share + i) % KEYS);
                if op == "SET" {
                    contender.set(&key, &value).await?;
                } else {
                    contender.get(&key).await?;
                }
            }
            anyhow::Ok(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    Ok((ops / tasks * tasks) as f64 / started.elapsed().as_secs_f64())
}
