//! The near cache's hits against the same GETs over the network: cachet's client with its near
//! cache (every key already kept locally), the same client without one, and the `redis` crate's
//! multiplexed connection, all on one redis-server, taking turns within each round.

use crate::client::{self, Contender, KEYS, Plan, Row};
use anyhow::{Context, Result, anyhow, ensure};
use cachet::client::{Client, NearCache, NearCacheOptions};
use std::sync::Arc;

/// Task counts of the near cache rows.
const TASKS: &[usize] = &[1, 16];

/// The rows (near cache, cachet's client, redis crate) and the hits the near cache counted while
/// they were measured.
pub struct NearRows {
    pub rows: Vec<Row>,
    pub hits: u64,
}

/// GETs of [`KEYS`] keys, `count` per measurement, from each task count of [`TASKS`].
pub fn compare(url: &str, count: usize, rounds: usize) -> Result<NearRows> {
    client::runtime()?.block_on(async {
        let near = Arc::new(NearCache::open(url, NearCacheOptions::default()).await.map_err(|e| anyhow!("near cache: {e}"))?);
        let cachet = Client::open(url).await.map_err(|e| anyhow!("cachet client: {e}"))?;
        let redis = redis::Client::open(url)?.get_multiplexed_async_connection().await.context("redis crate")?;
        let contenders = [Contender::Near(near.clone()), Contender::Cachet(cachet), Contender::Redis(redis)];
        let plan = Plan { ops: &["GET"], tasks: TASKS, count, rounds, keys: client::numbered_keys(KEYS) };
        fill(&contenders, &near, &plan).await?;
        let before = near.stats();
        let rows = client::measure(&contenders, &plan).await?;
        let after = near.stats();
        let expected: u64 = plan.tasks.iter().map(|&tasks| (count / tasks * tasks * rounds) as u64).sum();
        let hits = after.hits - before.hits;
        ensure!(
            after.misses == before.misses && hits == expected,
            "the near cache's rows are not all hits: {hits} hits of {expected} reads, {} misses; was a data connection opened or closed meanwhile (resets {} -> {})?",
            after.misses - before.misses,
            before.resets,
            after.resets
        );
        Ok(NearRows { rows, hits })
    })
}

/// Writes every key through cachet's client, then reads each through the near cache until all
/// are kept locally.
async fn fill(contenders: &[Contender; 3], near: &NearCache, plan: &Plan) -> Result<()> {
    let keys = &plan.keys;
    client::run(&contenders[1], "SET", 1, keys.len(), keys).await?;
    // The first read of a key is a miss that keeps it; the second is its first hit.
    for _ in 0..2 {
        client::run(&contenders[0], "GET", 1, keys.len(), keys).await?;
    }
    let stats = near.stats();
    ensure!(stats.entries == keys.len() && stats.hits >= keys.len() as u64, "the near cache keeps {} of {} keys ({stats:?})", stats.entries, keys.len());
    Ok(())
}
