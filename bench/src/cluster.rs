//! A Redis Cluster of Debian's redis-server (masters only, on loopback), and cachet's cluster
//! client measured against the `redis` crate's async cluster client on it: GET and SET of keys
//! spread over every slot, taking turns within each round.

use crate::client::{self, Contender, Plan, Row};
use crate::servers::{Binaries, Kind, Server, free_port};
use anyhow::{Context, Result, anyhow, bail, ensure};
use cachet::client::{ClusterClient, key_slot};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SLOTS: usize = 16384;

/// The cluster's nodes, stopped (and their directory removed) when dropped.
pub struct Cluster {
    nodes: Vec<Server>,
    dir: PathBuf,
}

impl Cluster {
    /// Starts `masters` nodes, joins them with `redis-cli --cluster create` (no replicas) and
    /// waits until every node says `cluster_state:ok`.
    pub fn start(binaries: &Binaries, masters: usize) -> Result<Cluster> {
        let dir = std::env::temp_dir().join(format!("cachet-bench-cluster-{}", std::process::id()));
        let mut cluster = Cluster { nodes: Vec::new(), dir };
        for _ in 0..masters {
            let port = cluster_port(&cluster.ports())?;
            let node_dir = cluster.dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).with_context(|| format!("creating {}", node_dir.display()))?;
            let node_dir = node_dir.to_string_lossy();
            let extra = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir", &node_dir];
            cluster.nodes.push(Server::start_on(port, Kind::Redis, binaries, &extra)?);
        }
        cluster.create()?;
        for port in cluster.ports() {
            wait_for_state_ok(port)?;
        }
        Ok(cluster)
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis+cluster://` with every node as a seed.
    pub fn cachet_url(&self) -> String {
        let seeds: Vec<String> = self.ports().iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("redis+cluster://{}/", seeds.join(","))
    }

    /// Each node's `redis://` address.
    pub fn node_urls(&self) -> Vec<String> {
        self.ports().iter().map(|p| format!("redis://127.0.0.1:{p}/")).collect()
    }

    /// Each node's number of keys.
    pub fn key_counts(&self) -> Result<Vec<u64>> {
        self.ports().into_iter().map(|port| redis_cli(port, &["DBSIZE"])?.trim().parse().context("DBSIZE is not a number")).collect()
    }

    fn create(&self) -> Result<()> {
        let addrs: Vec<String> = self.ports().iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .context("could not run redis-cli: install Debian's redis-tools")?;
        if !created.status.success() {
            bail!("redis-cli --cluster create failed: {}{}", String::from_utf8_lossy(&created.stdout), String::from_utf8_lossy(&created.stderr));
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (port + 10000) is free too, not among `taken`.
fn cluster_port(taken: &[u16]) -> Result<u16> {
    for _ in 0..1000 {
        let port = free_port()?;
        if port <= 55535 && !taken.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free pair of loopback ports (port, port + 10000) for a cluster node")
}

fn redis_cli(port: u16, args: &[&str]) -> Result<String> {
    let output = Command::new("redis-cli").args(["-p", &port.to_string()]).args(args).stdin(Stdio::null()).output().context("could not run redis-cli: install Debian's redis-tools")?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn wait_for_state_ok(port: u16) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if redis_cli(port, &["CLUSTER", "INFO"])?.contains("cluster_state:ok") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("cluster node 127.0.0.1:{port} did not reach cluster_state:ok within 30 s")
}

/// One key for each of the 16384 slots (`bench:N`, the first N landing in the slot), in an order
/// shuffled the same way every run, so that consecutive operations go to any of the masters.
pub fn one_key_per_slot() -> Result<Arc<[String]>> {
    let mut by_slot: Vec<Option<String>> = vec![None; SLOTS];
    let mut missing = SLOTS;
    for n in 0..10_000_000u64 {
        let key = format!("bench:{n}");
        let slot = &mut by_slot[usize::from(key_slot(key.as_bytes()))];
        if slot.is_none() {
            *slot = Some(key);
            missing -= 1;
            if missing == 0 {
                break;
            }
        }
    }
    ensure!(missing == 0, "{missing} slots got no key among bench:0 to bench:9999999");
    let mut keys: Vec<String> = by_slot.into_iter().flatten().collect();
    shuffle(&mut keys);
    Ok(keys.into())
}

/// Fisher–Yates with a fixed xorshift64 sequence.
fn shuffle<T>(items: &mut [T]) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// SET and GET from 1, 16 and 256 tasks, `count` per measurement, through cachet's cluster client
/// and the redis crate's; the results are in that order. Every key is written once first, so
/// that every GET finds its value.
pub fn compare(cluster: &Cluster, count: usize, rounds: usize) -> Result<Vec<Row>> {
    let keys = one_key_per_slot()?;
    client::runtime()?.block_on(async {
        let cachet = ClusterClient::open(&cluster.cachet_url()).await.map_err(|e| anyhow!("cachet cluster client: {e}"))?;
        ensure!(cachet.shards().len() == cluster.ports().len(), "cachet's cluster client sees {} shards of {}", cachet.shards().len(), cluster.ports().len());
        let redis = redis::cluster::ClusterClient::new(cluster.node_urls())?.get_async_connection().await.context("the redis crate's cluster client")?;
        let contenders = [Contender::CachetCluster(cachet), Contender::RedisCluster(redis)];
        client::run(&contenders[0], "SET", 256, keys.len(), &keys).await?;
        let counts = cluster.key_counts()?;
        ensure!(counts.iter().sum::<u64>() == SLOTS as u64 && counts.iter().all(|&n| n > 0), "keys per master after writing one per slot: {counts:?}");
        client::measure(&contenders, &Plan { ops: &["SET", "GET"], tasks: &[1, 16, 256], count, rounds, keys }).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_gets_one_key() {
        let keys = one_key_per_slot().unwrap();
        let mut slots: Vec<u16> = keys.iter().map(|k| key_slot(k.as_bytes())).collect();
        assert_ne!(slots.windows(2).filter(|w| w[0] < w[1]).count(), SLOTS - 1, "shuffled");
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), SLOTS);
    }
}
