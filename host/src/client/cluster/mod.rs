//! A Redis Cluster client: one pipelined [`Client`] per node, a slot map read from the cluster,
//! and the redirections, retries and key splitting that let callers use the cluster as one cache.
//!
//! - Every request goes to the master of its key's slot ([`slots::key_slot`]); with
//!   `read_from_replicas`, reads go to a replica's read client, whose connections run `READONLY`
//!   when they open.
//! - `MOVED` updates the slot's owner and tries the new node; `ASK` sends `ASKING` and the request
//!   to the named node once, as one batch (a batch goes in order on one connection). After `reinitialize_steps` redirections, or a
//!   connection failure, the whole map is read again.
//! - `TRYAGAIN` and `CLUSTERDOWN` are tried again after a growing pause, a bounded number of times.
//! - Multi-key requests (MGET, MSET, DEL, EXISTS, UNLINK, TOUCH, and the cache calls built on
//!   them) are split per slot, sent concurrently and put back in the caller's order; they are then
//!   not atomic. Other commands whose keys span slots are refused with Redis's CROSSSLOT error.
//! - A request whose connection broke after it was sent (a master failing over) and that is not
//!   safe to repeat fails saying it may or may not have run, as a single server's client does.

mod config;
pub(super) mod routing;
mod slots;

pub use config::ClusterConfig;
pub use slots::{Shard, key_slot};

use super::calls::{Answer, unexpected};
use super::{Client, ClientConfig, Dedicated, Error, ErrorKind, Request, Subscriber, Target, Transaction, Value, owned};
use crate::runtime::Op;
use routing::Route;
use slots::{Addr, SlotMap, split_addr};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::OnceCell;

/// Tries per request: redirections, `TRYAGAIN`/`CLUSTERDOWN` pauses and reconnections together.
const MAX_ATTEMPTS: u32 = 16;

/// The first pause after `TRYAGAIN`, `CLUSTERDOWN` or a connection failure; it doubles each time
/// up to [`MAX_PAUSE`] (about 5 s in all before giving up).
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// Redis's text for keys of one command in different slots.
const CROSSSLOT: &str = "CROSSSLOT Keys in request don't hash to the same slot";

/// A client of a Redis Cluster. Clones share the nodes' connections and the slot map.
#[derive(Clone)]
pub struct ClusterClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClusterConfig,
    map: RwLock<Arc<SlotMap>>,
    nodes: Mutex<HashMap<Addr, Arc<Node>>>,
    /// Redirections since the map was last read.
    redirections: AtomicU32,
    /// Bumped at every reading of the map; one refresh at a time, holding the lock.
    generation: AtomicU64,
    refreshing: tokio::sync::Mutex<()>,
    /// Spreads replica reads.
    turn: AtomicUsize,
}

/// One node's clients.
struct Node {
    client: Client,
    /// For reads while the node is a replica: its connections run READONLY when they open.
    reads: OnceCell<Client>,
}

impl Node {
    fn close(&self) {
        self.client.close();
        if let Some(reads) = self.reads.get() {
            reads.close();
        }
    }
}

/// What an error reply asks the client to do.
enum Redirect {
    Moved(u16, Addr),
    Ask(Addr),
    /// `TRYAGAIN` or `CLUSTERDOWN`: wait, read the map again, try again.
    Wait,
    /// The node could not be reached and the request was not sent, or is safe to repeat.
    Reconnect,
}

impl ClusterClient {
    /// A client for `redis+cluster://host:port,host:port/?options` (see [`ClusterConfig::parse`]).
    /// Reads the slot map from the first seed node that answers.
    pub async fn open(url: &str) -> Result<ClusterClient, Error> {
        Self::with_config(ClusterConfig::parse(url)?).await
    }

    pub async fn with_config(config: ClusterConfig) -> Result<ClusterClient, Error> {
        let inner = Inner {
            config,
            map: RwLock::new(Arc::new(SlotMap::default())),
            nodes: Mutex::new(HashMap::new()),
            redirections: AtomicU32::new(0),
            generation: AtomicU64::new(0),
            refreshing: tokio::sync::Mutex::new(()),
            turn: AtomicUsize::new(0),
        };
        let client = ClusterClient { inner: Arc::new(inner) };
        client.refresh(0).await?;
        Ok(client)
    }

    pub fn config(&self) -> &ClusterConfig {
        &self.inner.config
    }

    /// The shards as last read or learnt from redirections.
    pub fn shards(&self) -> Vec<Shard> {
        self.map().shards().to_vec()
    }

    /// The master serving `key`'s slot, as far as this client knows (`host:port`).
    pub fn master_of(&self, key: impl AsRef<[u8]>) -> Option<String> {
        self.map().shard(key_slot(key.as_ref())).map(|s| s.master.clone())
    }

    /// Closes every node's client; later calls fail with [`ErrorKind::Closed`].
    pub fn close(&self) {
        for node in self.lock_nodes().values() {
            node.close();
        }
    }

    /// Reads the slot map again now.
    pub async fn reload(&self) -> Result<(), Error> {
        self.refresh(self.inner.generation.load(Ordering::Acquire)).await
    }

    super::calls::cache_calls!();

    /// Any command, sent to the node serving its keys (see the module's `routing` table).
    pub async fn call<A: AsRef<[u8]>>(&self, args: impl IntoIterator<Item = A>) -> Result<Value, Error> {
        self.run(Op::Call(owned(args))).await
    }

    /// Runs several requests at once, each routed on its own; each has its own result.
    pub async fn batch(&self, requests: Vec<Request>) -> Vec<Result<Value, Error>> {
        let mut tasks = tokio::task::JoinSet::new();
        let count = requests.len();
        for (index, request) in requests.into_iter().enumerate() {
            let this = self.clone();
            tasks.spawn(async move { (index, this.run(request.0).await) });
        }
        let mut results: Vec<Result<Value, Error>> = (0..count).map(|_| Err(lost())).collect();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, result)) = joined {
                results[index] = result;
            }
        }
        results
    }

    /// A transaction on the master serving `key`'s slot (see [`Client::transaction`]). A Redis
    /// Cluster runs a transaction on one node, so every key it watches or writes must hash to
    /// `key`'s slot (give related keys one hash tag: `{user:1}:name`, `{user:1}:visits`). When the
    /// slot moved before EXEC, nothing ran: the map is read again and the transaction runs once
    /// more on the new master.
    pub async fn transaction<K: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        watch: impl IntoIterator<Item = K>,
        mut body: impl AsyncFnMut(&mut Transaction<'_>) -> Result<(), Error>,
    ) -> Result<Vec<Value>, Error> {
        let slot = key_slot(key.as_ref());
        let watch = owned(watch);
        if watch.iter().any(|k| key_slot(k) != slot) {
            return Err(Error::new(ErrorKind::Invalid, format!("{CROSSSLOT}: a transaction's watched keys must share the slot of its key")));
        }
        let mut moved_once = false;
        loop {
            let generation = self.inner.generation.load(Ordering::Acquire);
            let master = self.master(slot).await?;
            match master.client.transaction(&watch, &mut body).await {
                Err(error) if !moved_once && error.message().contains("MOVED") => {
                    moved_once = true;
                    self.refresh(generation).await?;
                }
                result => return result,
            }
        }
    }

    /// A connection of its own to the master serving `key`'s slot (see [`Client::dedicated`]).
    pub async fn dedicated(&self, key: impl AsRef<[u8]>) -> Result<Dedicated, Error> {
        self.master(key_slot(key.as_ref())).await?.client.dedicated().await
    }

    /// A subscriber (see [`Client::subscriber`]) on one master: published messages reach every
    /// node of a cluster, so any node serves SUBSCRIBE and PSUBSCRIBE. Sharded channels
    /// (SSUBSCRIBE) are served by the master of the channel's slot: take the subscriber from
    /// [`ClusterClient::shard_subscriber`].
    pub async fn subscriber(&self) -> Result<Subscriber, Error> {
        let addr = self.pick(None, false)?.0;
        self.node(&addr).await?.client.subscriber().await
    }

    /// A subscriber on the master serving `channel`'s slot, for SSUBSCRIBE to it and to other
    /// channels of the same slot.
    pub async fn shard_subscriber(&self, channel: impl AsRef<[u8]>) -> Result<Subscriber, Error> {
        self.master(key_slot(channel.as_ref())).await?.client.subscriber().await
    }

    /// The node serving `slot` as master, as far as the map knows.
    async fn master(&self, slot: u16) -> Result<Arc<Node>, Error> {
        let addr = self.pick(Some(slot), false)?.0;
        self.node(&addr).await
    }

    /// Routes one request: to one slot's node, split per slot, or to any master.
    async fn run(&self, op: Op) -> Result<Value, Error> {
        match op {
            Op::Get(ref key) | Op::GetOrFail(ref key) => self.on_slot(Some(key_slot(key)), true, op.clone()).await,
            Op::Set((ref key, ..)) | Op::GetOrSet((ref key, ..)) | Op::UpdateTimeout((ref key, _)) | Op::Incr((ref key, _)) => {
                self.on_slot(Some(key_slot(key)), false, op.clone()).await
            }
            Op::Mget(keys) => merge_values(self.split(keys, 1, true, Op::Mget).await?),
            Op::Exists(keys) => sum(self.split(keys, 1, true, Op::Exists).await?),
            Op::Remove(keys) => {
                let groups = self.split(keys, 1, false, Op::Remove).await?;
                Ok(Value::Bool(groups.iter().all(|(_, v)| *v == Value::Bool(true))))
            }
            Op::Mset(pairs) => {
                let flat = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
                self.split(flat, 2, false, |f| Op::Mset(f.chunks_exact(2).map(|c| (c[0].clone(), c[1].clone())).collect())).await?;
                Ok(Value::Status("OK".into()))
            }
            Op::Call(args) => self.call_routed(args).await,
            Op::Send(_) | Op::Receive => Err(Error::new(ErrorKind::Invalid, "pub/sub frames are read by a Subscriber, not by the cluster client")),
        }
    }

    async fn call_routed(&self, args: Vec<Vec<u8>>) -> Result<Value, Error> {
        let read = routing::is_read(&args);
        match routing::route(&args) {
            Route::Keyless => self.on_slot(None, false, Op::Call(args)).await,
            Route::Keys(positions) => {
                let mut slots = positions.iter().filter_map(|&p| args.get(p)).map(|k| key_slot(k));
                let first = slots.next();
                if slots.any(|s| Some(s) != first) {
                    return Err(Error::new(ErrorKind::Server, CROSSSLOT));
                }
                self.on_slot(first, read, Op::Call(args)).await
            }
            Route::Split { step } => {
                let mut args = args.into_iter();
                let name = args.next().unwrap_or_default();
                let upper = name.to_ascii_uppercase();
                let rest: Vec<Vec<u8>> = args.collect();
                let build = move |part: Vec<Vec<u8>>| Op::Call(std::iter::once(name.clone()).chain(part).collect());
                let groups = self.split(rest, step, read, build).await?;
                match upper.as_slice() {
                    b"MGET" => merge_values(groups),
                    b"MSET" => Ok(Value::Status("OK".into())),
                    _ => sum(groups),
                }
            }
        }
    }

    /// Splits `items` (keys, or keys and values when `step` is 2) by slot, runs one request per
    /// slot concurrently, and answers each group's item positions (in units of `step`) with its
    /// reply. The first failure fails the whole request.
    async fn split(
        &self,
        items: Vec<Vec<u8>>,
        step: usize,
        read: bool,
        build: impl Fn(Vec<Vec<u8>>) -> Op,
    ) -> Result<Vec<(Vec<usize>, Value)>, Error> {
        if items.is_empty() || !items.len().is_multiple_of(step) {
            return self.on_slot(None, read, build(items)).await.map(|v| vec![(Vec::new(), v)]);
        }
        let mut groups: BTreeMap<u16, (Vec<usize>, Vec<Vec<u8>>)> = BTreeMap::new();
        for (index, chunk) in items.chunks_exact(step).enumerate() {
            let group = groups.entry(key_slot(&chunk[0])).or_default();
            group.0.push(index);
            group.1.extend(chunk.iter().cloned());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (order, (slot, (positions, part))) in groups.into_iter().enumerate() {
            let (this, op) = (self.clone(), build(part));
            tasks.spawn(async move { (order, positions, this.on_slot(Some(slot), read, op).await) });
        }
        let mut answers = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (order, positions, result) = joined.map_err(|_| lost())?;
            answers.push((order, positions, result?));
        }
        answers.sort_by_key(|(order, ..)| *order);
        Ok(answers.into_iter().map(|(_, positions, value)| (positions, value)).collect())
    }

    /// Sends `op` to the node serving `slot` (any master for `None`), following redirections and
    /// waiting out `TRYAGAIN`/`CLUSTERDOWN`, a bounded number of times.
    async fn on_slot(&self, slot: Option<u16>, read: bool, op: Op) -> Result<Value, Error> {
        let mut to_replica = read && self.inner.config.read_from_replicas;
        let mut ask: Option<Addr> = None;
        let mut pauses = 0;
        let mut last = None;
        for _ in 0..MAX_ATTEMPTS {
            let generation = self.inner.generation.load(Ordering::Acquire);
            let (addr, result) = match ask.take() {
                Some(addr) => {
                    let result = self.asking(&addr, op.clone()).await;
                    (addr, result)
                }
                // A slot no node serves (yet) answers CLUSTERDOWN, as a node would: wait, read again.
                None => match self.pick(slot, to_replica) {
                    Ok((addr, replica)) => {
                        let result = self.send(&addr, replica, op.clone()).await;
                        (addr, result)
                    }
                    Err(error) => (Addr::new(), Err(error)),
                },
            };
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match redirect(&error, &addr) {
                Some(Redirect::Moved(moved, to)) => {
                    to_replica = false;
                    self.moved(moved, &to, generation).await;
                }
                Some(Redirect::Ask(to)) => {
                    ask = Some(to);
                    self.count_redirection(generation).await;
                }
                Some(redirect @ (Redirect::Wait | Redirect::Reconnect)) => {
                    // A replica that cannot be reached leaves the read to its master.
                    to_replica &= !matches!(redirect, Redirect::Reconnect);
                    pause(&mut pauses).await;
                    // The answer matters little: the next attempt says whether it worked.
                    let _ = self.refresh(generation).await;
                }
                None => return Err(error),
            }
            last = Some(error);
        }
        let last = last.unwrap_or_else(lost);
        Err(Error::new(last.kind(), format!("the cluster still answered '{last}' after {MAX_ATTEMPTS} tries; check CLUSTER INFO on its nodes")))
    }

    /// The node for `slot`: its master, or one of its replicas for a read.
    fn pick(&self, slot: Option<u16>, replica: bool) -> Result<(Addr, bool), Error> {
        let map = self.map();
        let shard = match slot {
            Some(slot) => map.shard(slot),
            None => {
                let shards = map.shards();
                shards.get(self.inner.turn.fetch_add(1, Ordering::Relaxed) % shards.len().max(1))
            }
        };
        let Some(shard) = shard else {
            let what = slot.map_or("any key".to_string(), |s| format!("slot {s}"));
            return Err(Error::new(ErrorKind::Server, format!("CLUSTERDOWN no node serves {what} yet; check CLUSTER SLOTS")));
        };
        if replica && !shard.replicas.is_empty() {
            let turn = self.inner.turn.fetch_add(1, Ordering::Relaxed);
            return Ok((shard.replicas[turn % shard.replicas.len()].clone(), true));
        }
        Ok((shard.master.clone(), false))
    }

    /// Sends `op` to one node; a read for a replica goes to its read client, whose connections
    /// are read-only from the start.
    async fn send(&self, addr: &str, replica: bool, op: Op) -> Result<Value, Error> {
        let node = self.node(addr).await?;
        let client = match replica {
            false => &node.client,
            true => {
                node.reads
                    .get_or_try_init(|| {
                        let mut config = self.node_config(addr, self.inner.config.max_connections_per_node);
                        config.connection.readonly = true;
                        Client::with_config(config)
                    })
                    .await?
            }
        };
        match op {
            // `call` gives blocking commands a connection of their own and refuses session commands.
            Op::Call(args) => client.call(args).await,
            op => client.batch(vec![Request(op)]).await.pop().unwrap_or_else(|| Err(lost())),
        }
    }

    /// `ASKING` and the request: a batch goes in order on one connection, so nothing comes between.
    async fn asking(&self, addr: &str, op: Op) -> Result<Value, Error> {
        let node = self.node(addr).await?;
        node.client.batch(vec![Request::call(["ASKING"]), Request(op)]).await.pop().unwrap_or_else(|| Err(lost()))
    }

    /// The client of the node at `addr`, made on first use.
    async fn node(&self, addr: &str) -> Result<Arc<Node>, Error> {
        if let Some(node) = self.lock_nodes().get(addr) {
            return Ok(node.clone());
        }
        let config = self.node_config(addr, self.inner.config.max_connections_per_node);
        let fresh = Arc::new(Node { client: Client::with_config(config).await?, reads: OnceCell::new() });
        let mut nodes = self.lock_nodes();
        Ok(nodes.entry(addr.to_string()).or_insert(fresh).clone())
    }

    /// The URL's settings, for the node at `addr`.
    fn node_config(&self, addr: &str, connections: usize) -> ClientConfig {
        let mut config = self.inner.config.seeds[0].clone();
        if let Some((host, port)) = split_addr(addr) {
            config.target = Target::Tcp { host, port };
        }
        config.pool.max_connections = connections;
        config
    }

    fn lock_nodes(&self) -> std::sync::MutexGuard<'_, HashMap<Addr, Arc<Node>>> {
        self.inner.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn map(&self) -> Arc<SlotMap> {
        self.inner.map.read().map(|m| m.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// A MOVED answer: the slot has a new owner. Many redirections mean a resharding: read the
    /// whole map.
    async fn moved(&self, slot: u16, to: &str, generation: u64) {
        if let Ok(mut map) = self.inner.map.write() {
            Arc::make_mut(&mut map).set_owner(slot, to);
        }
        self.count_redirection(generation).await;
    }

    async fn count_redirection(&self, generation: u64) {
        let steps = self.inner.config.reinitialize_steps.max(1);
        if self.inner.redirections.fetch_add(1, Ordering::AcqRel) + 1 >= steps {
            let _ = self.refresh(generation).await;
        }
    }

    /// Reads the slot map again unless another caller already did since `seen`: from the known
    /// nodes, then the seeds, the first that answers.
    async fn refresh(&self, seen: u64) -> Result<(), Error> {
        let _refreshing = self.inner.refreshing.lock().await;
        if self.inner.generation.load(Ordering::Acquire) != seen {
            return Ok(());
        }
        let mut candidates: Vec<Addr> = Vec::new();
        for shard in self.map().shards() {
            candidates.push(shard.master.clone());
            candidates.extend(shard.replicas.iter().cloned());
        }
        for seed in &self.inner.config.seeds {
            if let Target::Tcp { host, port } = &seed.target {
                candidates.push(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") });
            }
        }
        let mut last = None;
        for addr in dedup(candidates) {
            match self.read_map(&addr).await {
                Ok(map) => {
                    self.forget_departed(&map);
                    if let Ok(mut current) = self.inner.map.write() {
                        *current = Arc::new(map);
                    }
                    self.inner.redirections.store(0, Ordering::Release);
                    self.inner.generation.fetch_add(1, Ordering::AcqRel);
                    return Ok(());
                }
                Err(error) => last = Some(format!("{addr}: {error}")),
            }
        }
        let last = last.unwrap_or_else(|| "no node is known".into());
        Err(Error::new(ErrorKind::Connection, format!("no node of the cluster gave its slot map ({last}); check the URL's seed nodes")))
    }

    /// Closes the clients of nodes the new map no longer lists (removed from the cluster, or
    /// seeds that are not part of it), so their connections do not linger; a node named again
    /// later gets a new client.
    fn forget_departed(&self, map: &SlotMap) {
        let listed: std::collections::HashSet<&str> =
            map.shards().iter().flat_map(|s| std::iter::once(&s.master).chain(&s.replicas)).map(String::as_str).collect();
        let departed: Vec<Arc<Node>> = {
            let mut nodes = self.lock_nodes();
            let gone: Vec<Addr> = nodes.keys().filter(|addr| !listed.contains(addr.as_str())).cloned().collect();
            gone.iter().filter_map(|addr| nodes.remove(addr)).collect()
        };
        for node in departed {
            node.close();
        }
    }

    /// One node's view of the slots: `CLUSTER SHARDS`, or `CLUSTER SLOTS` where that is unknown.
    async fn read_map(&self, addr: &str) -> Result<SlotMap, Error> {
        let node = self.node(addr).await?;
        let parsed = match node.client.call(["CLUSTER", "SHARDS"]).await {
            Ok(reply) => SlotMap::from_shards(&reply, self.inner.config.seeds[0].pool.tls.is_some()),
            Err(error) if error.kind() == ErrorKind::Server => SlotMap::from_slots(&node.client.call(["CLUSTER", "SLOTS"]).await?),
            Err(error) => return Err(error),
        };
        parsed.map_err(|e| Error::new(ErrorKind::Protocol, e))
    }
}

/// What an error asks for, if anything. `MOVED 3999 127.0.0.1:6381`; an empty host means the
/// node that answered.
fn redirect(error: &Error, from: &str) -> Option<Redirect> {
    match error.kind() {
        ErrorKind::Server => {}
        // The guest fails a request that may have run and is not safe to repeat with its own
        // text; anything else on a broken or refused connection was not sent, or may be repeated.
        ErrorKind::Connection if !error.message().contains("may or may not have run") => return Some(Redirect::Reconnect),
        _ => return None,
    }
    let mut words = error.message().split(' ');
    match words.next()? {
        "MOVED" => {
            let slot = words.next()?.parse().ok()?;
            Some(Redirect::Moved(slot, target(words.next()?, from)))
        }
        "ASK" => {
            words.next()?;
            Some(Redirect::Ask(target(words.next()?, from)))
        }
        "TRYAGAIN" | "CLUSTERDOWN" => Some(Redirect::Wait),
        _ => None,
    }
}

fn target(endpoint: &str, from: &str) -> Addr {
    match endpoint.strip_prefix(':') {
        Some(port) => {
            let host = split_addr(from).map(|(h, _)| h).unwrap_or_default();
            format!("{host}:{port}")
        }
        None => endpoint.to_string(),
    }
}

async fn pause(pauses: &mut u32) {
    let wait = FIRST_PAUSE.saturating_mul(1 << (*pauses).min(16)).min(MAX_PAUSE);
    *pauses += 1;
    tokio::time::sleep(wait).await;
}

fn dedup(addrs: Vec<Addr>) -> Vec<Addr> {
    let mut seen = std::collections::HashSet::new();
    addrs.into_iter().filter(|a| seen.insert(a.clone())).collect()
}

/// MGET groups back in the caller's order.
fn merge_values(groups: Vec<(Vec<usize>, Value)>) -> Result<Value, Error> {
    let total = groups.iter().map(|(positions, _)| positions.len()).sum();
    let mut merged = vec![Value::Nil; total];
    for (positions, value) in groups {
        let Value::Array(items) = value else { return Err(unexpected(&value)) };
        if items.len() != positions.len() {
            return Err(Error::new(ErrorKind::Protocol, format!("a node answered {} values for {} keys", items.len(), positions.len())));
        }
        for (position, item) in positions.into_iter().zip(items) {
            if let Some(slot) = merged.get_mut(position) {
                *slot = item;
            }
        }
    }
    Ok(Value::Array(merged))
}

/// DEL, EXISTS, UNLINK, TOUCH counts added up.
fn sum(groups: Vec<(Vec<usize>, Value)>) -> Result<Value, Error> {
    let mut total = 0i64;
    for (_, value) in groups {
        total += value.integer()?;
    }
    Ok(Value::Int(total))
}

fn lost() -> Error {
    Error::new(ErrorKind::Closed, "the request's task ended without an answer (the client was closed or the runtime is shutting down)")
}
