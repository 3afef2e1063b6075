//! Clients compared against the same redis-server: cachet's Rust client, the `redis` crate's
//! multiplexed connection and `fred`, each doing GET and SET from 1, 16 and 256 concurrent tasks.
//! The three take turns within each round; the figure is the median of the rounds.
//!
//! The same method measures cachet's client alone on several URLs ([`compare_cachet`]): its
//! in-process keyspace (`mem://`) against a cachet server reached over loopback; and, through
//! [`measure`], the near cache (`near_cache`) and the cluster clients (`cluster`).

use crate::throughput::median;
use anyhow::{Context, Result, anyhow};
use cachet::client::{Client, ClusterClient, NearCache, Ttl};
use fred::interfaces::{ClientLike, KeysInterface};
use redis::AsyncCommands;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys of the client rows: `bench:0` to `bench:999`.
pub const KEYS: usize = 1000;

/// The value every SET writes.
const VALUE: [u8; 64] = [b'x'; 64];

#[derive(Clone)]
pub enum Contender {
    Cachet(Client),
    Redis(redis::aio::MultiplexedConnection),
    Fred(fred::clients::Client),
    /// cachet's client with its near cache in front.
    Near(Arc<NearCache>),
    CachetCluster(ClusterClient),
    RedisCluster(redis::cluster_async::ClusterConnection),
}

impl Contender {
    async fn connect_all(url: &str) -> Result<Vec<Contender>> {
        let cachet = Client::open(url).await.map_err(|e| anyhow!("cachet client: {e}"))?;
        let redis = redis::Client::open(url)?.get_multiplexed_async_connection().await.context("redis crate")?;
        let fred = fred::clients::Client::new(fred::types::config::Config::from_url(url)?, None, None, None);
        fred.init().await.context("fred")?;
        Ok(vec![Contender::Cachet(cachet), Contender::Redis(redis), Contender::Fred(fred)])
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<()> {
        match self {
            Contender::Cachet(c) => c.set(key, value, Ttl::Never).await.map_err(|e| anyhow!("{e}")),
            Contender::Redis(c) => Ok(c.set::<_, _, ()>(key, value).await?),
            Contender::Fred(c) => Ok(c.set::<(), _, _>(key, value, None, None, false).await?),
            Contender::Near(c) => c.set(key, value, Ttl::Never).await.map_err(|e| anyhow!("{e}")),
            Contender::CachetCluster(c) => c.set(key, value, Ttl::Never).await.map_err(|e| anyhow!("{e}")),
            Contender::RedisCluster(c) => Ok(c.set::<_, _, ()>(key, value).await?),
        }
    }

    /// The value's length. Each client's value is read in the type it hands out (the redis
    /// crate's `Vec<u8>`, fred's and cachet's `Bytes`), without a copy the bench would add.
    async fn get(&mut self, key: &str) -> Result<usize> {
        Ok(match self {
            Contender::Cachet(c) => length(c.get(key).await.map_err(|e| anyhow!("{e}"))?),
            Contender::Redis(c) => length(c.get::<_, Option<Vec<u8>>>(key).await?),
            Contender::Fred(c) => length(c.get::<Option<fred::bytes::Bytes>, _>(key).await?),
            Contender::Near(c) => length(c.get(key).await.map_err(|e| anyhow!("{e}"))?),
            Contender::CachetCluster(c) => length(c.get(key).await.map_err(|e| anyhow!("{e}"))?),
            Contender::RedisCluster(c) => length(c.get::<_, Option<Vec<u8>>>(key).await?),
        })
    }
}

fn length(value: Option<impl AsRef<[u8]>>) -> usize {
    value.map_or(0, |v| v.as_ref().len())
}

/// One measurement's figures.
#[derive(Clone, Copy, Debug, Default)]
pub struct Measured {
    pub ops_per_sec: f64,
    /// The median operation's time in microseconds, each from the end of the task's operation
    /// before it (one clock read per operation).
    pub p50_us: f64,
}

/// One row: each contender's medians over the rounds, in the contenders' order.
pub struct Row {
    pub op: &'static str,
    pub tasks: usize,
    pub results: Vec<Measured>,
}

/// What [`measure`] runs: every operation at every task count, `rounds` times.
pub struct Plan {
    pub ops: &'static [&'static str],
    pub tasks: &'static [usize],
    /// Operations per measurement, split evenly over the tasks.
    pub count: usize,
    pub rounds: usize,
    /// Task `t`'s `i`th operation uses key `(t * share + i) % keys.len()`.
    pub keys: Arc<[String]>,
}

/// The two-thread runtime every client measurement runs on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

/// `bench:0` to `bench:{n - 1}`.
pub fn numbered_keys(n: usize) -> Arc<[String]> {
    (0..n).map(|i| format!("bench:{i}")).collect()
}

/// Runs every combination `rounds` times against the server at `url`, `ops` operations each; the
/// results are cachet's, the redis crate's and fred's.
pub fn compare(url: &str, ops: usize, rounds: usize) -> Result<Vec<Row>> {
    runtime()?.block_on(async {
        let contenders = Contender::connect_all(url).await?;
        measure(&contenders, &string_plan(ops, rounds)).await
    })
}

/// cachet's client on each of `urls` (e.g. `mem://` and a server's `redis://` address), every
/// combination `rounds` times, the URLs taking turns within each round.
pub fn compare_cachet(urls: &[String], ops: usize, rounds: usize) -> Result<Vec<Row>> {
    runtime()?.block_on(async {
        let mut contenders = Vec::with_capacity(urls.len());
        for url in urls {
            let client = Client::open(url).await.map_err(|e| anyhow!("cachet client on {url}: {e}"))?;
            contenders.push(Contender::Cachet(client));
        }
        measure(&contenders, &string_plan(ops, rounds)).await
    })
}

/// SET and GET from 1, 16 and 256 tasks over [`KEYS`] keys.
fn string_plan(count: usize, rounds: usize) -> Plan {
    Plan { ops: &["SET", "GET"], tasks: &[1, 16, 256], count, rounds, keys: numbered_keys(KEYS) }
}

/// Every operation and task count of `plan`; the contenders take turns within each round, and
/// each figure is the median of its rounds.
pub async fn measure(contenders: &[Contender], plan: &Plan) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &op in plan.ops {
        for &tasks in plan.tasks {
            let mut samples = vec![Vec::with_capacity(plan.rounds); contenders.len()];
            for _ in 0..plan.rounds {
                for (i, contender) in contenders.iter().enumerate() {
                    samples[i].push(run(contender, op, tasks, plan.count, &plan.keys).await?);
                }
            }
            let results = samples.iter().map(|s| medians(s)).collect();
            rows.push(Row { op, tasks, results });
        }
    }
    Ok(rows)
}

fn medians(samples: &[Measured]) -> Measured {
    Measured {
        ops_per_sec: median(samples.iter().map(|s| s.ops_per_sec).collect()),
        p50_us: median(samples.iter().map(|s| s.p50_us).collect()),
    }
}

/// `count` operations (`op` is "SET" or "GET") split over `tasks` concurrent tasks.
pub async fn run(contender: &Contender, op: &'static str, tasks: usize, count: usize, keys: &Arc<[String]>) -> Result<Measured> {
    let share = count / tasks;
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let mut contender = contender.clone();
        let keys = keys.clone();
        handles.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(share);
            let mut last = Instant::now();
            for i in 0..share {
                let key = &keys[(task * share + i) % keys.len()];
                if op == "SET" {
                    contender.set(key, &VALUE).await?;
                } else {
                    contender.get(key).await?;
                }
                let now = Instant::now();
                times.push(now - last);
                last = now;
            }
            anyhow::Ok(times)
        }));
    }
    let mut times: Vec<Duration> = Vec::with_capacity(share * tasks);
    for handle in handles {
        times.extend(handle.await??);
    }
    let elapsed = started.elapsed();
    times.sort_unstable();
    let p50 = times.get(times.len() / 2).copied().unwrap_or_default();
    Ok(Measured { ops_per_sec: (share * tasks) as f64 / elapsed.as_secs_f64(), p50_us: p50.as_secs_f64() * 1e6 })
}
