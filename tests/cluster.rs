//! cachet's cluster client against a real Redis Cluster: six Debian `redis-server` processes
//! (three masters, three replicas) on loopback ports. One cluster serves every case, in order:
//! routing and multi-key splitting, hash tags, replica reads, a slot migrated by hand (ASK, then
//! MOVED), a resharding by `redis-cli --cluster reshard` under load, and a `CLUSTER FAILOVER`
//! under load, and a master killed under load. A second test runs three masters over TLS
//! (`rediss+cluster://`). Every process is killed when the test ends, whether it passed or not.

mod common;

use cachet::client::{ClusterClient, ErrorKind, Ttl, Value, key_slot};
use common::pki::Pki;
use common::{Redis, free_port, redis_cli, temp_dir, wait_until, wait_until_async};
use std::collections::HashSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Six cluster nodes, killed when dropped (each [`Redis`] kills its process).
struct Cluster {
    nodes: Vec<Redis>,
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port whose cluster bus port (port + 10000) is free too.
fn cluster_port(taken: &HashSet<u16>) -> u16 {
    for _ in 0..1000 {
        let port = free_port();
        if port <= 55535 && !taken.contains(&port) && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
    panic!("no free port pair (port, port + 10000) on loopback");
}

/// The flags of a cluster node named by `port`, with a directory of its own in `dir` for its
/// `nodes.conf`.
fn cluster_flags(dir: &std::path::Path, port: u16) -> Vec<String> {
    let node_dir = dir.join(port.to_string());
    std::fs::create_dir_all(&node_dir).expect("node directory");
    let node_dir = node_dir.to_string_lossy().into_owned();
    ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--dir", &node_dir, "--cluster-node-timeout", "3000"].map(String::from).to_vec()
}

impl Cluster {
    fn start() -> Cluster {
        let dir = temp_dir("cluster");
        let mut taken = HashSet::new();
        let mut cluster = Cluster { nodes: Vec::new(), dir: dir.clone() };
        for _ in 0..6 {
            let port = cluster_port(&taken);
            taken.insert(port);
            let extra = cluster_flags(&dir, port);
            cluster.nodes.push(Redis::start_on(port, &extra.iter().map(String::as_str).collect::<Vec<_>>()));
        }
        let addrs: Vec<String> = cluster.ports().iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(created.status.success(), "cluster create failed: {}", String::from_utf8_lossy(&created.stdout));
        cluster.wait_ok();
        cluster
    }

    fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// Every node says `cluster_state:ok` and every replica's link to its master is up.
    fn wait_ok(&self) {
        for port in self.ports() {
            wait_until(&format!("cluster_state:ok on {port}"), || redis_cli(port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"));
            wait_until(&format!("{port}'s replication link"), || {
                let info = redis_cli(port, &["INFO", "replication"]);
                info.contains("role:master") || info.contains("master_link_status:up")
            });
        }
    }
}

impl Cluster {
    /// Every node has the same view of the slots (what `redis-cli --cluster reshard` insists on).
    fn wait_agreed(&self) {
        let seed = format!("127.0.0.1:{}", self.ports()[0]);
        wait_until("all nodes to agree about the slots", || {
            let check = Command::new("redis-cli").args(["--cluster", "check", &seed]).stdin(Stdio::null()).output().expect("redis-cli runs");
            let text = String::from_utf8_lossy(&check.stdout);
            text.contains("All nodes agree about slots configuration") && !text.contains("[WARNING]") && !text.contains("[ERR]")
        });
    }
}

/// A replica of the master on `port`, once CLUSTER SHARDS reports one online (a replica is
/// reported online once its master has heard of its replication offset).
async fn replica_of(client: &ClusterClient, port: u16) -> u16 {
    for _ in 0..300 {
        let shard = client.shards().into_iter().find(|s| port_of(&s.master) == port && !s.replicas.is_empty());
        if let Some(shard) = shard {
            return port_of(&shard.replicas[0]);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        client.reload().await.expect("the slot map reads");
    }
    panic!("no replica of 127.0.0.1:{port} reported online within 30 s");
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("host:port")
}

fn node_id(port: u16) -> String {
    redis_cli(port, &["CLUSTER", "MYID"]).trim().to_string()
}

fn command_calls(port: u16, command: &str) -> u64 {
    let info = redis_cli(port, &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn bulk(text: &str) -> Value {
    Value::Bulk(bytes::Bytes::copy_from_slice(text.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_client_against_redis_cluster() {
    let mut cluster = Cluster::start();
    let seed = cluster.ports()[0];
    let client = ClusterClient::open(&format!("redis+cluster://127.0.0.1:{seed}/?max_connections_per_node=2")).await.expect("opens");
    assert_eq!(client.shards().len(), 3, "three masters learnt from one seed");

    seeds_outside_the_cluster_are_let_go(seed).await;
    routing_and_splitting(&client).await;
    hash_tags(&client).await;
    sessions_per_slot(&client).await;
    replica_reads(&cluster, &client).await;
    migration_by_hand(&client).await;
    resharding_under_load(&cluster, &client).await;
    failover_under_load(&cluster, &client).await;
    master_killed_under_load(&mut cluster, &client).await;
    client.close();
}

/// A seed that is not a cluster node (a plain redis-server listed first) is passed over, and its
/// client closed once the map is read from the next seed: no connection to it lingers.
async fn seeds_outside_the_cluster_are_let_go(seed: u16) {
    let standalone = Redis::start(&[]);
    let url = format!("redis+cluster://127.0.0.1:{},127.0.0.1:{seed}/", standalone.port);
    let client = ClusterClient::open(&url).await.expect("opens through the second seed");
    assert_eq!(client.shards().len(), 3);
    assert!(command_calls(standalone.port, "cluster|shards") >= 1, "the first seed was asked for the map");
    wait_until_async("the standalone seed's connections to close", || connected_clients(standalone.port) == 1).await;
    client.set("after-seeds", "1", Ttl::Never).await.expect("the cluster serves");
    assert_eq!(connected_clients(standalone.port), 1, "nothing goes to the departed seed");
    client.close();
}

/// Clients connected to the server on `port`, counting the asking redis-cli.
fn connected_clients(port: u16) -> u64 {
    let info = redis_cli(port, &["INFO", "clients"]);
    info.lines().find_map(|l| l.strip_prefix("connected_clients:")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

/// Keys land on every master; multi-key calls split by slot and come back in order.
async fn routing_and_splitting(client: &ClusterClient) {
    let keys: Vec<String> = (0..300).map(|i| format!("key-{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        client.set(key, format!("value-{i}"), Ttl::Never).await.expect("set");
    }
    for shard in client.shards() {
        let count: u64 = redis_cli(port_of(&shard.master), &["DBSIZE"]).trim().parse().expect("DBSIZE");
        assert!(count > 50, "master {} holds {count} of 300 keys", shard.master);
    }
    // The client's slot agrees with the server's, and the key is on the master it names.
    for key in ["key-7", "key-123", "{tag}x"] {
        let server: u16 = redis_cli(port_of(&client.master_of(key).unwrap()), &["CLUSTER", "KEYSLOT", key]).trim().parse().unwrap();
        assert_eq!(server, key_slot(key.as_bytes()), "slot of {key}");
    }
    assert_eq!(redis_cli(port_of(&client.master_of("key-123").unwrap()), &["GET", "key-123"]).trim(), "value-123");

    let mut asked: Vec<&str> = keys.iter().map(String::as_str).collect();
    asked.insert(17, "missing");
    let values = client.mget(&asked).await.expect("mget");
    assert_eq!(values.len(), 301);
    assert_eq!(values[17], None);
    assert_eq!(values[0].as_deref(), Some(&b"value-0"[..]));
    assert_eq!(values[300].as_deref(), Some(&b"value-299"[..]));
    let pairs: Vec<(String, String)> = (0..100).map(|i| (format!("m-{i}"), format!("{i}"))).collect();
    client.mset(pairs.clone()).await.expect("mset");
    let read = client.mget(pairs.iter().map(|(k, _)| k)).await.expect("mget");
    assert!(read.iter().zip(&pairs).all(|(v, (_, want))| v.as_deref() == Some(want.as_bytes())));
    assert_eq!(client.exists(["m-1", "m-2", "nope", "key-5"]).await.unwrap(), 3);
    assert_eq!(client.call(["MGET", "m-3", "nope", "m-4"]).await.unwrap(), Value::Array(vec![bulk("3"), Value::Nil, bulk("4")]));
    assert_eq!(client.call(["DEL", "m-3", "m-4", "nope"]).await.unwrap(), Value::Int(2));
    assert!(client.remove(["m-5", "m-6"]).await.unwrap());
    assert!(!client.remove(["m-7", "m-5"]).await.unwrap());
    assert_eq!(client.call(["MSET", "a1", "x", "b2", "y"]).await.unwrap(), Value::Status("OK".into()));
    assert_eq!(client.call(["HSET", "h", "f", "v"]).await.unwrap(), Value::Int(1));
    assert_eq!(client.call(["HGET", "h", "f"]).await.unwrap(), bulk("v"));
    assert_eq!(client.call(["PING"]).await.unwrap(), Value::Status("PONG".into()));
    assert_eq!(client.incr("counter", 5).await.unwrap(), 5);
    assert_eq!(client.get_or_set("gos", "first", Ttl::Default).await.unwrap(), "first");
    assert_eq!(client.get_or_set("gos", "second", Ttl::Default).await.unwrap(), "first");
    assert!(client.update_timeout("gos", Ttl::Never).await.unwrap());
    assert!(!client.update_timeout("nope", 10u64).await.unwrap());
    let batch = client
        .batch(vec![cachet::client::Request::set("b-1", "1", Ttl::Default), cachet::client::Request::get("key-9"), cachet::client::Request::incr("counter", 1)])
        .await;
    assert_eq!(batch[1], Ok(bulk("value-9")));
    assert_eq!(batch[2], Ok(Value::Int(6)));
}

/// Keys with one hash tag share a slot, so commands over several keys work; without, Redis's
/// CROSSSLOT error.
async fn hash_tags(client: &ClusterClient) {
    assert_eq!(key_slot(b"{user:1}:name"), key_slot(b"{user:1}:mail"));
    assert_eq!(client.call(["MSETNX", "{user:1}:name", "ann", "{user:1}:mail", "a@x"]).await.unwrap(), Value::Int(1));
    assert_eq!(client.call(["SADD", "{s}1", "a", "b"]).await.unwrap(), Value::Int(2));
    assert_eq!(client.call(["SADD", "{s}2", "b", "c"]).await.unwrap(), Value::Int(2));
    assert_eq!(client.call(["SINTER", "{s}1", "{s}2"]).await.unwrap(), Value::Array(vec![bulk("b")]));
    assert_eq!(client.call(["RENAME", "{user:1}:name", "{user:1}:nick"]).await.unwrap(), Value::Status("OK".into()));
    let owner = client.master_of("{user:1}:x").unwrap();
    assert_eq!(redis_cli(port_of(&owner), &["GET", "{user:1}:nick"]).trim(), "ann");
    let cross = client.call(["SINTER", "key-1", "key-2"]).await.unwrap_err();
    assert_eq!((cross.kind(), cross.message()), (ErrorKind::Server, "CROSSSLOT Keys in request don't hash to the same slot"));
}

/// With read_from_replicas, reads go to replicas (after READONLY) and writes to masters.
/// Transactions, dedicated connections and shard subscribers go to the master of their key's
/// slot; watched keys of another slot are refused before anything is sent.
async fn sessions_per_slot(client: &ClusterClient) {
    client.set("{user:7}:visits", 10, Ttl::Never).await.unwrap();
    let replies = client
        .transaction("{user:7}", ["{user:7}:visits"], async |tx| {
            let visits: i64 = tx.get_parsed("{user:7}:visits").await?.unwrap_or(0);
            tx.queue(["SET", "{user:7}:visits", &(visits * 2).to_string()]);
            tx.queue(["INCR", "{user:7}:edits"]);
            Ok(())
        })
        .await
        .expect("a transaction within one slot runs");
    assert_eq!(replies, vec![Value::Status("OK".into()), Value::Int(1)]);
    assert_eq!(client.get("{user:7}:visits").await.unwrap().as_deref(), Some(&b"20"[..]));

    let refused = client.transaction("{user:7}", ["{user:8}:visits"], async |_| Ok(())).await.unwrap_err();
    assert!(refused.message().starts_with("CROSSSLOT"), "{}", refused.message());

    let mut lease = client.dedicated("{user:7}").await.unwrap();
    assert_eq!(lease.call(["GET", "{user:7}:visits"]).await.unwrap(), bulk("20"), "the lease is on the slot's master");
    drop(lease);

    let mut subscriber = client.shard_subscriber("orders").await.unwrap();
    subscriber.ssubscribe(["orders"]).await.unwrap();
    assert_eq!(client.call(["SPUBLISH", "orders", "o-1"]).await.unwrap(), Value::Int(1), "the slot's master holds the subscriber");
    let message = subscriber.next_message().await.unwrap();
    assert_eq!((message.channel.as_ref(), message.payload.as_ref(), message.sharded), (&b"orders"[..], &b"o-1"[..], true));

    let mut subscriber = client.subscriber().await.unwrap();
    subscriber.subscribe(["news"]).await.unwrap();
    client.call(["PUBLISH", "news", "n-1"]).await.unwrap();
    let message = subscriber.next_message().await.unwrap();
    assert_eq!((message.channel.as_ref(), message.payload.as_ref()), (&b"news"[..], &b"n-1"[..]), "PUBLISH reaches every node");
}

async fn replica_reads(cluster: &Cluster, client: &ClusterClient) {
    let seed = cluster.ports()[1];
    let replicas = ClusterClient::open(&format!("redis+cluster://127.0.0.1:{seed}/?read_from_replicas=true")).await.expect("opens");
    assert!(replicas.config().read_from_replicas);
    client.set("replicated", "yes", Ttl::Never).await.unwrap();
    let master = port_of(&client.master_of("replicated").unwrap());
    let replica = replica_of(&replicas, master).await;
    let before = command_calls(replica, "get");
    let mut found = None;
    for _ in 0..200 {
        found = replicas.get("replicated").await.unwrap();
        if found.is_some() {
            break;
        }
        redis_cli(master, &["WAIT", "1", "1000"]);
    }
    assert_eq!(found.as_deref(), Some(&b"yes"[..]));
    assert!(command_calls(replica, "get") > before, "the replica answered the GET");
    assert!(command_calls(replica, "readonly") > 0, "READONLY went to the replica");
    replicas.close();
}

/// A slot moved by hand: while it is migrating, keys already moved are answered after ASK (with
/// ASKING on the target); once the slot is the target's, MOVED updates the client's map.
async fn migration_by_hand(client: &ClusterClient) {
    let key = "{mig}moved";
    let slot = key_slot(key.as_bytes()).to_string();
    let source = port_of(&client.master_of(key).unwrap());
    let target = client.shards().iter().map(|s| port_of(&s.master)).find(|&p| p != source).unwrap();
    let (source_id, target_id) = (node_id(source), node_id(target));
    client.set(key, "1", Ttl::Never).await.unwrap();
    client.set("{mig}stays", "2", Ttl::Never).await.unwrap();
    assert_eq!(redis_cli(target, &["CLUSTER", "SETSLOT", &slot, "IMPORTING", &source_id]).trim(), "OK");
    assert_eq!(redis_cli(source, &["CLUSTER", "SETSLOT", &slot, "MIGRATING", &target_id]).trim(), "OK");
    let migrated = redis_cli(source, &["MIGRATE", "127.0.0.1", &target.to_string(), "", "0", "5000", "KEYS", key]);
    assert_eq!(migrated.trim(), "OK");

    let asking = command_calls(target, "asking");
    assert_eq!(client.get(key).await.unwrap().as_deref(), Some(&b"1"[..]), "read through ASK");
    assert_eq!(client.get("{mig}stays").await.unwrap().as_deref(), Some(&b"2"[..]), "still on the source");
    client.set("{mig}new", "3", Ttl::Never).await.unwrap();
    assert!(command_calls(target, "asking") >= asking + 2, "ASKING preceded the redirected requests");
    assert_eq!(redis_cli(target, &["CLUSTER", "COUNTKEYSINSLOT", &slot]).trim(), "2", "the new key went to the target");
    assert_eq!(client.master_of(key).map(|a| port_of(&a)), Some(source), "ASK does not change the map");

    redis_cli(source, &["MIGRATE", "127.0.0.1", &target.to_string(), "", "0", "5000", "KEYS", "{mig}stays"]);
    for port in [target, source] {
        assert_eq!(redis_cli(port, &["CLUSTER", "SETSLOT", &slot, "NODE", &target_id]).trim(), "OK");
    }
    assert_eq!(client.get("{mig}stays").await.unwrap().as_deref(), Some(&b"2"[..]), "read through MOVED");
    assert_eq!(client.master_of(key).map(|a| port_of(&a)), Some(target), "MOVED updated the map");
    assert_eq!(client.mget([key, "{mig}stays", "{mig}new"]).await.unwrap().len(), 3);
}

/// Writes every acknowledged key to `acked` until `stop`; errors go to `errors`.
fn writer(client: ClusterClient, prefix: &'static str, stop: Arc<AtomicBool>, acked: Arc<Mutex<Vec<u64>>>, errors: Arc<Mutex<Vec<String>>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut i = 0u64;
        while !stop.load(Ordering::Relaxed) {
            match client.set(format!("{prefix}-{i}"), i.to_string(), Ttl::Never).await {
                Ok(()) => acked.lock().unwrap().push(i),
                Err(e) => errors.lock().unwrap().push(format!("{:?}: {e}", e.kind())),
            }
            i += 1;
        }
    })
}

/// Every acknowledged write reads back with its value.
async fn check_acked(client: &ClusterClient, prefix: &str, acked: &[u64]) {
    for chunk in acked.chunks(500) {
        let keys: Vec<String> = chunk.iter().map(|i| format!("{prefix}-{i}")).collect();
        let values = client.mget(&keys).await.expect("mget");
        for (i, value) in chunk.iter().zip(values) {
            assert_eq!(value.as_deref(), Some(i.to_string().as_bytes()), "acknowledged write {prefix}-{i}");
        }
    }
}

fn count(of: &Arc<Mutex<Vec<u64>>>) -> usize {
    of.lock().unwrap().len()
}

/// `redis-cli --cluster reshard` moves 1000 slots while a writer runs: no write fails, and each
/// acknowledged one is readable afterwards.
async fn resharding_under_load(cluster: &Cluster, client: &ClusterClient) {
    let (stop, acked, errors) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    cluster.wait_agreed();
    let task = writer(client.clone(), "reshard", stop.clone(), acked.clone(), errors.clone());
    wait_until_async("the writer's first writes", || count(&acked) > 200).await;
    let shards = client.shards();
    let (from, to) = (node_id(port_of(&shards[0].master)), node_id(port_of(&shards[1].master)));
    let seed = cluster.ports()[0].to_string();
    let resharded = tokio::task::spawn_blocking(move || {
        Command::new("redis-cli")
            .args(["--cluster", "reshard", &format!("127.0.0.1:{seed}"), "--cluster-from", &from, "--cluster-to", &to])
            .args(["--cluster-slots", "1000", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs")
    })
    .await
    .unwrap();
    assert!(resharded.status.success(), "reshard failed: {}", String::from_utf8_lossy(&resharded.stdout));
    let after = count(&acked);
    wait_until_async("writes after the resharding", || count(&acked) > after + 200).await;
    stop.store(true, Ordering::Relaxed);
    task.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    eprintln!("resharding: {} writes acknowledged, {} failed", acked.len(), errors.lock().unwrap().len());
    assert!(errors.lock().unwrap().is_empty(), "writes failed during the resharding: {:?}", errors.lock().unwrap());
    check_acked(client, "reshard", &acked).await;
}

/// A replica takes over its master (`CLUSTER FAILOVER`) while writers run: acknowledged writes
/// are all there afterwards, and a failed write says it may or may not have run.
async fn failover_under_load(cluster: &Cluster, client: &ClusterClient) {
    cluster.wait_ok();
    let (stop, acked, errors) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new())));
    let task = writer(client.clone(), "failover", stop.clone(), acked.clone(), errors.clone());
    // Counted increments on one key of the master that fails over.
    let counter = "failover-counter";
    let old_master = port_of(&client.master_of(counter).unwrap());
    let replica = replica_of(client, old_master).await;
    let incrs = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut done, mut unsure) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                match client.incr(counter, 1).await {
                    Ok(_) => done += 1,
                    Err(e) if e.message().contains("may or may not have run") => unsure += 1,
                    Err(e) => panic!("INCR failed without saying whether it ran: {e}"),
                }
            }
            (done, unsure)
        })
    };
    wait_until_async("the writer's first writes", || count(&acked) > 200).await;
    assert_eq!(redis_cli(replica, &["CLUSTER", "FAILOVER"]).trim(), "OK");
    wait_until_async("the replica to become master", || redis_cli(replica, &["ROLE"]).starts_with("master")).await;
    let after = count(&acked);
    wait_until_async("writes after the failover", || count(&acked) > after + 200).await;
    stop.store(true, Ordering::Relaxed);
    task.await.unwrap();
    let (done, unsure) = incrs.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    let errors = errors.lock().unwrap().clone();
    eprintln!("failover: {} writes acknowledged, {} failed; {done} increments acknowledged, {unsure} unsure", acked.len(), errors.len());
    assert!(errors.iter().all(|e| e.contains("may or may not have run")), "dishonest errors: {errors:?}");
    check_acked(client, "failover", &acked).await;
    let total: u64 = client.get(counter).await.unwrap().map(|v| String::from_utf8_lossy(&v).parse().unwrap()).unwrap_or(0);
    assert!(total >= done && total <= done + unsure, "counter {total}: {done} acknowledged, {unsure} unsure");
    assert_eq!(client.master_of(counter).map(|a| port_of(&a)), Some(replica), "the client follows the new master");
}

/// A master dies (SIGKILL) while increments run against it: until its replica takes over, calls
/// fail; whatever they say, the counter proves them honest — an increment reported as not run
/// did not run, and only those reported as maybe run may have. Afterwards the client recovers.
async fn master_killed_under_load(cluster: &mut Cluster, client: &ClusterClient) {
    cluster.wait_ok();
    let counter = "killed-counter";
    client.set(counter, "0", Ttl::Never).await.unwrap();
    let master = port_of(&client.master_of(counter).unwrap());
    let replica = replica_of(client, master).await;
    redis_cli(master, &["WAIT", "1", "5000"]);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(Mutex::new(Vec::new()));
    let incrs = {
        let (client, stop, done) = (client.clone(), stop.clone(), done.clone());
        tokio::spawn(async move {
            let (mut unsure, mut failed) = (0u64, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match client.incr(counter, 1).await {
                    Ok(n) => done.lock().unwrap().push(n as u64),
                    Err(e) if e.message().contains("may or may not have run") => unsure += 1,
                    Err(e) => failed.push(format!("{:?}: {e}", e.kind())),
                }
            }
            (unsure, failed)
        })
    };
    wait_until_async("increments before the kill", || count(&done) > 200).await;
    let index = cluster.nodes.iter().position(|n| n.port == master).unwrap();
    cluster.nodes[index].kill();
    let started = std::time::Instant::now();
    wait_until_async("the replica to take over", || redis_cli(replica, &["ROLE"]).starts_with("master")).await;
    let taken_over = started.elapsed();
    let after = count(&done);
    wait_until_async("increments on the new master", || count(&done) > after + 200).await;
    stop.store(true, Ordering::Relaxed);
    let (unsure, failed) = incrs.await.unwrap();
    let done = done.lock().unwrap().len() as u64;
    let total: u64 = String::from_utf8_lossy(&client.get(counter).await.unwrap().unwrap()).parse().unwrap();
    eprintln!("master killed: replica took over in {taken_over:?}; {done} increments acknowledged, {unsure} maybe run, {} failed: {failed:?}", failed.len());
    assert!(total >= done && total <= done + unsure, "counter {total}: {done} acknowledged, {unsure} maybe run");
    assert_eq!(client.master_of(counter).map(|a| port_of(&a)), Some(replica));
}

/// `rediss+cluster://`: a cluster of three masters whose clients and bus speak TLS
/// (`--tls-cluster yes`; each node keeps a plain port too, which CLUSTER SHARDS lists beside its
/// `tls-port`). From one TLS seed the client learns every master's TLS port and serves keys on
/// all of them; had it picked a plain port, its handshake would have failed there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_client_over_tls() {
    let pki = Pki::new("cluster-tls");
    let dir = temp_dir("cluster-tls-nodes");
    let ca = pki.path("ca.crt");
    let mut taken = HashSet::new();
    let mut nodes = Vec::new();
    let mut tls_ports = Vec::new();
    for _ in 0..3 {
        // The bus listens on the TLS port + 10000 when the bus speaks TLS.
        let tls_port = cluster_port(&taken);
        taken.insert(tls_port);
        let mut flags = pki.redis_flags(tls_port);
        flags.extend(["--tls-cluster".to_string(), "yes".to_string()]);
        flags.extend(cluster_flags(&dir, tls_port));
        nodes.push(Redis::start(&flags.iter().map(String::as_str).collect::<Vec<_>>()));
        tls_ports.push(tls_port);
    }
    let created = Command::new("redis-cli")
        .args(["--tls", "--cacert", &ca, "--cluster", "create"])
        .args(tls_ports.iter().map(|p| format!("127.0.0.1:{p}")))
        .arg("--cluster-yes")
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli runs");
    assert!(created.status.success(), "cluster create failed: {}", String::from_utf8_lossy(&created.stdout));
    for node in &nodes {
        wait_until(&format!("cluster_state:ok on {}", node.port), || redis_cli(node.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"));
    }

    let url = format!("rediss+cluster://127.0.0.1:{}/?ssl_ca_certs={ca}&max_connections_per_node=2", tls_ports[0]);
    let client = ClusterClient::open(&url).await.expect("opens over TLS");
    let masters: HashSet<u16> = client.shards().iter().map(|s| port_of(&s.master)).collect();
    assert_eq!(masters, tls_ports.iter().copied().collect(), "every master at its TLS port");
    let keys: Vec<String> = (0..200).map(|i| format!("tls-key-{i}")).collect();
    for key in &keys {
        client.set(key, key.as_str(), Ttl::Never).await.expect("set over TLS");
    }
    let read = client.mget(&keys).await.expect("mget across slots over TLS");
    assert_eq!(read.iter().map(|v| v.as_deref().map(|b| String::from_utf8_lossy(b).into_owned())).collect::<Vec<_>>(), keys.iter().map(|k| Some(k.clone())).collect::<Vec<_>>());
    for node in &nodes {
        let keys_here: u64 = redis_cli(node.port, &["DBSIZE"]).trim().parse().expect("a count");
        assert!(keys_here > 0, "the master on {} holds some of the keys", node.port);
    }
    client.close();
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}
