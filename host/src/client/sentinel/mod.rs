//! A client of a primary and its replicas watched by Redis Sentinel: the sentinels say where the
//! primary is, and the client follows it across failovers.
//!
//! - Discovery asks the sentinels in turn for the primary's address (`SENTINEL
//!   GET-MASTER-ADDR-BY-NAME`) and checks with `ROLE` that the node named is a master before using
//!   it, since a sentinel may still name a primary that was just demoted. The replicas come from
//!   `SENTINEL REPLICAS`, less those flagged down or disconnected.
//! - Writes go to one pipelined [`Client`] of the primary; with `read_from_replicas`, reads go to the
//!   replicas' clients in turn, and to the primary when a replica cannot be reached. Their
//!   connections do not send `READONLY`: a replica outside a cluster serves reads without it, and
//!   refuses it.
//! - After a failover the client points at the new primary, closing the old one's client: when a
//!   request meets a broken connection, a `READONLY` or `NOREPLICAS` refusal, or when a sentinel
//!   announces `+switch-master` (a subscriber to the first sentinel that answers). A primary that
//!   refuses writes with NOREPLICAS while a sentinel reports a failover in progress is the one being
//!   replaced: the client waits for the sentinels to name the next one. A request that
//!   is safe to repeat (GET, SET, MGET, MSET, EXISTS, and `call`s of read commands) or that was
//!   refused without running is sent once more to the new primary; any other keeps its error,
//!   which says it may or may not have run.
//! - `dedicated`, `transaction` and `subscriber` use the primary known when they are called; they
//!   do not follow a failover by themselves.

mod config;

pub use config::SentinelConfig;

use super::cluster::routing::is_read;
use super::{Client, Dedicated, Error, ErrorKind, Request, Subscriber, Target, Transaction, Value, owned};
use crate::runtime::{Op, Outcome};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

/// How long re-pointing waits for the sentinels to name a primary that says it is one: a
/// failover takes the sentinels' `down-after-milliseconds` plus an election and a promotion.
pub const FAILOVER_PATIENCE: Duration = Duration::from_secs(15);

/// The first pause between discoveries while a failover is under way; it doubles up to
/// [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// The channel on which sentinels announce a new primary: `name old-ip old-port new-ip new-port`.
const SWITCH_MASTER: &str = "+switch-master";

/// A client of the primary (and replicas) the sentinels name. Clones share everything.
#[derive(Clone)]
pub struct SentinelClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: SentinelConfig,
    /// Each sentinel's address and client.
    sentinels: Vec<(String, Client)>,
    nodes: RwLock<Arc<Nodes>>,
    /// Bumped at every discovery; one re-pointing at a time, holding the lock.
    generation: AtomicU64,
    repointing: tokio::sync::Mutex<()>,
    /// Spreads replica reads.
    turn: AtomicUsize,
    /// The task reading `+switch-master`.
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// The primary and replicas as last discovered.
struct Nodes {
    primary: (String, Client),
    replicas: Vec<(String, Client)>,
}

impl Nodes {
    fn clients(&self) -> impl Iterator<Item = &(String, Client)> {
        std::iter::once(&self.primary).chain(&self.replicas)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl Inner {
    fn close(&self) {
        if let Some(watcher) = self.watcher.lock().unwrap_or_else(|p| p.into_inner()).take() {
            watcher.abort();
        }
        for (_, client) in self.sentinels.iter().chain(self.nodes.read().unwrap_or_else(|p| p.into_inner()).clients()) {
            client.close();
        }
    }
}

impl SentinelClient {
    /// A client for `redis+sentinel://host:port[,host:port...]/service_name[/db][?options]` (see
    /// [`SentinelConfig::parse`]). Fails at once when no sentinel names a working primary.
    pub async fn open(url: &str) -> Result<SentinelClient, Error> {
        Self::with_config(SentinelConfig::parse(url)?).await
    }

    pub async fn with_config(config: SentinelConfig) -> Result<SentinelClient, Error> {
        let mut sentinels = Vec::new();
        for sentinel in &config.sentinels {
            sentinels.push((addr_of(&sentinel.target), Client::with_config(sentinel.clone()).await?));
        }
        let empty = Nodes { primary: (String::new(), Client::with_config(config.node.clone()).await?), replicas: Vec::new() };
        let inner = Inner {
            config,
            sentinels,
            nodes: RwLock::new(Arc::new(empty)),
            generation: AtomicU64::new(0),
            repointing: tokio::sync::Mutex::new(()),
            turn: AtomicUsize::new(0),
            watcher: Mutex::new(None),
        };
        let client = SentinelClient { inner: Arc::new(inner) };
        let found = client.discover().await?;
        client.install(found);
        let watcher = tokio::spawn(watch(Arc::downgrade(&client.inner)));
        *client.inner.watcher.lock().unwrap_or_else(|p| p.into_inner()) = Some(watcher);
        Ok(client)
    }

    pub fn config(&self) -> &SentinelConfig {
        &self.inner.config
    }

    /// The primary's `host:port` as last discovered.
    pub fn primary_addr(&self) -> String {
        self.nodes().primary.0.clone()
    }

    /// The replicas' `host:port` as last discovered (those the sentinels do not flag as down).
    pub fn replica_addrs(&self) -> Vec<String> {
        self.nodes().replicas.iter().map(|(addr, _)| addr.clone()).collect()
    }

    /// Asks the sentinels again now, and points at the primary they name.
    pub async fn rediscover(&self) -> Result<(), Error> {
        self.repoint(self.inner.generation.load(Ordering::Acquire), None).await
    }

    /// Closes every connection; later calls fail with [`ErrorKind::Closed`].
    pub fn close(&self) {
        self.inner.close();
    }

    super::calls::cache_calls!();

    /// Any command, as [`Client::call`] runs it; read commands may go to a replica.
    pub async fn call<A: AsRef<[u8]>>(&self, args: impl IntoIterator<Item = A>) -> Result<Value, Error> {
        let args = owned(args);
        let read = is_read(&args);
        if read && let Some(found) = self.on_replica(async |client: Client| client.call(args.clone()).await).await {
            return found;
        }
        self.on_primary(read, |client| {
            let args = args.clone();
            async move { client.call(args).await }
        })
        .await
    }

    /// Several requests in order on one connection of the primary, as [`Client::batch`] runs them.
    /// When the replies show a failover, the client re-points and sends the whole batch once more
    /// to the new primary if every request in it either did not run or is safe to repeat;
    /// otherwise each result keeps its own error.
    pub async fn batch(&self, requests: Vec<Request>) -> Vec<Result<Value, Error>> {
        let generation = self.inner.generation.load(Ordering::Acquire);
        let (addr, primary) = self.nodes().primary.clone();
        let copies = requests.clone();
        let results = primary.batch(requests).await;
        let signs: Vec<(usize, Sign)> =
            results.iter().enumerate().filter_map(|(i, r)| r.as_ref().err().and_then(failover_sign).map(|sign| (i, sign))).collect();
        if signs.is_empty() {
            return results;
        }
        let refused = signs.iter().any(|(_, sign)| matches!(sign, Sign::NotRun));
        if self.repoint(generation, refused.then_some(addr.as_str())).await.is_err() {
            return results;
        }
        // The whole batch goes again, so that its reads still follow its writes on the new
        // primary (which may have lost what the old one acknowledged).
        let not_run = |i: usize| signs.iter().any(|(j, sign)| *j == i && matches!(sign, Sign::NotRun));
        if (0..copies.len()).all(|i| not_run(i) || is_safe(&copies[i].0)) { self.primary().batch(copies).await } else { results }
    }

    /// A connection of the primary for the caller alone (see [`Client::dedicated`]).
    pub async fn dedicated(&self) -> Result<Dedicated, Error> {
        self.primary().dedicated().await
    }

    /// A transaction on the primary (see [`Client::transaction`]).
    pub async fn transaction<K: AsRef<[u8]>>(
        &self,
        watch: impl IntoIterator<Item = K>,
        body: impl AsyncFnMut(&mut Transaction<'_>) -> Result<(), Error>,
    ) -> Result<Vec<Value>, Error> {
        self.primary().transaction(watch, body).await
    }

    /// A subscriber on the primary (see [`Client::subscriber`]).
    pub async fn subscriber(&self) -> Result<Subscriber, Error> {
        self.primary().subscriber().await
    }

    /// One cache request: a read to a replica when asked for, else to the primary.
    async fn run(&self, op: Op) -> Result<Outcome, Error> {
        let (read, safe) = (is_read_op(&op), is_safe(&op));
        if read && let Some(found) = self.on_replica(async |client: Client| client.run(op.clone()).await).await {
            return found;
        }
        self.on_primary(safe, |client| {
            let op = op.clone();
            async move { client.run(op).await }
        })
        .await
    }

    /// Sends a read to the next replica when `read_from_replicas` is on and one is known; `None`
    /// leaves it to the primary (also when the replica cannot be reached).
    async fn on_replica<T>(&self, send: impl AsyncFnOnce(Client) -> Result<T, Error>) -> Option<Result<T, Error>> {
        if !self.inner.config.read_from_replicas {
            return None;
        }
        let replica = {
            let nodes = self.nodes();
            let count = nodes.replicas.len();
            if count == 0 {
                return None;
            }
            nodes.replicas[self.inner.turn.fetch_add(1, Ordering::Relaxed) % count].1.clone()
        };
        match send(replica).await {
            Err(error) if error.kind() == ErrorKind::Connection => None,
            result => Some(result),
        }
    }

    /// Sends a request to the primary; after a sign of a failover, re-points and sends it once
    /// more if it did not run or is `safe` to repeat.
    async fn on_primary<T, F, Fut>(&self, safe: bool, send: F) -> Result<T, Error>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let generation = self.inner.generation.load(Ordering::Acquire);
        let (addr, primary) = self.nodes().primary.clone();
        let error = match send(primary).await {
            Ok(found) => return Ok(found),
            Err(error) => error,
        };
        let Some(sign) = failover_sign(&error) else { return Err(error) };
        let refused_by = matches!(sign, Sign::NotRun).then_some(addr.as_str());
        if let Err(lost) = self.repoint(generation, refused_by).await {
            return Err(Error::new(error.kind(), format!("{error}; and no new primary was found: {lost}")));
        }
        match sign {
            Sign::NotRun => send(self.primary()).await,
            Sign::MaybeRan if safe => send(self.primary()).await,
            Sign::MaybeRan => Err(error),
        }
    }

    /// Discovers the primary again unless another caller already did since `seen`, waiting up to
    /// [`FAILOVER_PATIENCE`] for the sentinels to name one that says it is a master. When the
    /// primary at `refused_by` refused a write (NOREPLICAS: its replica is being promoted) and a
    /// sentinel reports a failover in progress, it also waits for them to name another.
    async fn repoint(&self, seen: u64, refused_by: Option<&str>) -> Result<(), Error> {
        let _repointing = self.inner.repointing.lock().await;
        if self.inner.generation.load(Ordering::Acquire) != seen {
            return Ok(());
        }
        let deadline = Instant::now() + FAILOVER_PATIENCE;
        let mut pause = FIRST_PAUSE;
        loop {
            match self.discover().await {
                Ok(found) if Some(found.primary.0.as_str()) == refused_by && Instant::now() < deadline && self.failing_over().await => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                Ok(found) => {
                    self.install(found);
                    return Ok(());
                }
                Err(error) if error.kind() == ErrorKind::Invalid || Instant::now() >= deadline => return Err(error),
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
            }
        }
    }

    /// Points at `found`, closing the clients of nodes no longer used.
    fn install(&self, found: Nodes) {
        let old = {
            let mut nodes = self.inner.nodes.write().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *nodes, Arc::new(found))
        };
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        let now = self.nodes();
        for (addr, client) in old.clients() {
            if !now.clients().any(|(kept, _)| kept == addr) {
                client.close();
            }
        }
    }

    /// Asks each sentinel in turn for the primary until one names a node that says it is a master.
    async fn discover(&self) -> Result<Nodes, Error> {
        let name = &self.inner.config.service_name;
        let mut failures = Vec::new();
        let mut unknown = Vec::new();
        for (sentinel_addr, sentinel) in &self.inner.sentinels {
            let addr = match sentinel.call(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]).await {
                Ok(Value::Nil) => {
                    unknown.push(sentinel_addr.clone());
                    continue;
                }
                Ok(reply) => match host_port(&reply) {
                    Some(addr) => addr,
                    None => {
                        failures.push(format!("sentinel {sentinel_addr} answered {reply:?}"));
                        continue;
                    }
                },
                Err(error) => {
                    failures.push(format!("sentinel {sentinel_addr}: {error}"));
                    continue;
                }
            };
            let primary = self.node_client(&addr, false).await?;
            match primary.call(["ROLE"]).await {
                Ok(Value::Array(role)) if role.first().and_then(Value::as_bytes) == Some(b"master") => {
                    let replicas = self.replicas(sentinel).await;
                    return Ok(Nodes { primary: (addr, primary), replicas });
                }
                Ok(role) => failures.push(format!(
                    "sentinel {sentinel_addr} named {addr}, which is not a master (ROLE: {role:?}); a failover may be under way"
                )),
                Err(error) => failures.push(format!("sentinel {sentinel_addr} named {addr}, which did not answer ROLE: {error}")),
            }
        }
        if failures.is_empty() && !unknown.is_empty() {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "no sentinel monitors a service named '{name}' (asked {}): check the service name in the URL against SENTINEL MASTERS",
                    unknown.join(", ")
                ),
            ));
        }
        let unknown = if unknown.is_empty() { String::new() } else { format!("; {} do not know '{name}'", unknown.join(", ")) };
        Err(Error::new(
            ErrorKind::Connection,
            format!(
                "no sentinel named a working primary for '{name}' ({}{unknown}); check the URL's sentinel addresses, and sentinel_password if they need one",
                failures.join("; ")
            ),
        ))
    }

    /// Whether a sentinel reports a failover of the service under way (`failover_in_progress`
    /// among the flags of `SENTINEL MASTER`).
    async fn failing_over(&self) -> bool {
        for (_, sentinel) in &self.inner.sentinels {
            if let Ok(master) = sentinel.call(["SENTINEL", "MASTER", &self.inner.config.service_name]).await
                && field(&master, "flags").is_some_and(|flags| flags.split(',').any(|f| f == "failover_in_progress"))
            {
                return true;
            }
        }
        false
    }

    /// The replicas `sentinel` knows of, less those flagged down or disconnected; none when it
    /// does not answer (reads then go to the primary).
    async fn replicas(&self, sentinel: &Client) -> Vec<(String, Client)> {
        let Ok(Value::Array(entries)) = sentinel.call(["SENTINEL", "REPLICAS", &self.inner.config.service_name]).await else {
            return Vec::new();
        };
        let mut replicas = Vec::new();
        for entry in &entries {
            let field = |name: &str| field(entry, name);
            let flags = field("flags").unwrap_or_default();
            if ["s_down", "o_down", "disconnected"].iter().any(|bad| flags.split(',').any(|f| f == *bad)) {
                continue;
            }
            let (Some(ip), Some(port)) = (field("ip"), field("port")) else { continue };
            let addr = format!("{ip}:{port}");
            if let Ok(client) = self.node_client(&addr, true).await {
                replicas.push((addr, client));
            }
        }
        replicas
    }

    /// The known client of the node at `addr` in that role, or a new one.
    async fn node_client(&self, addr: &str, replica: bool) -> Result<Client, Error> {
        {
            let nodes = self.nodes();
            let known = if replica { nodes.replicas.iter().find(|(a, _)| a == addr) } else { Some(&nodes.primary).filter(|(a, _)| a == addr) };
            if let Some((_, client)) = known {
                return Ok(client.clone());
            }
        }
        let mut config = self.inner.config.node.clone();
        let Some((host, port)) = addr.rsplit_once(':').and_then(|(h, p)| Some((h.trim_matches(['[', ']']).to_string(), p.parse().ok()?))) else {
            return Err(Error::new(ErrorKind::Protocol, format!("a sentinel gave the address '{addr}', which is not host:port")));
        };
        config.target = Target::Tcp { host, port };
        // Not `readonly`: a replica outside a cluster serves reads as it is, and a plain
        // redis-server refuses READONLY ("cluster support disabled"), failing every connection.
        config.connection.readonly = false;
        Client::with_config(config).await
    }

    fn nodes(&self) -> Arc<Nodes> {
        self.inner.nodes.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn primary(&self) -> Client {
        self.nodes().primary.1.clone()
    }
}

/// Whether a replica may answer the request.
fn is_read_op(op: &Op) -> bool {
    match op {
        Op::Get(_) | Op::GetOrFail(_) | Op::Mget(_) | Op::Exists(_) => true,
        Op::Call(args) => is_read(args),
        _ => false,
    }
}

/// Whether running the request twice leaves what running it once does.
fn is_safe(op: &Op) -> bool {
    matches!(op, Op::Set(_) | Op::Mset(_)) || is_read_op(op)
}

/// What an error says of a failover.
enum Sign {
    /// The request did not run (refused by a demoted or isolated primary, or never sent).
    NotRun,
    /// The connection broke after the request was sent.
    MaybeRan,
}

fn failover_sign(error: &Error) -> Option<Sign> {
    match error.kind() {
        ErrorKind::Server if error.message().starts_with("READONLY") || error.message().starts_with("NOREPLICAS") => Some(Sign::NotRun),
        // The guest fails a request that may have run and is not safe to repeat with its own
        // text; anything else on a broken or refused connection was not sent, or may be repeated.
        ErrorKind::Connection if error.message().contains("may or may not have run") => Some(Sign::MaybeRan),
        ErrorKind::Connection => Some(Sign::NotRun),
        _ => None,
    }
}

/// `[host, port]` from `SENTINEL GET-MASTER-ADDR-BY-NAME`, as `host:port`.
fn host_port(reply: &Value) -> Option<String> {
    let Value::Array(parts) = reply else { return None };
    let [host, port] = parts.as_slice() else { return None };
    let host = std::str::from_utf8(host.as_bytes()?).ok()?;
    let port: u16 = std::str::from_utf8(port.as_bytes()?).ok()?.parse().ok()?;
    Some(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
}

/// A field of one `SENTINEL REPLICAS` entry: a flat list of names and values (RESP2) or a map.
fn field(entry: &Value, name: &str) -> Option<String> {
    let text = |v: &Value| v.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned());
    match entry {
        Value::Array(items) => items.chunks_exact(2).find(|pair| pair[0].as_bytes() == Some(name.as_bytes())).and_then(|pair| text(&pair[1])),
        Value::Map(pairs) => pairs.iter().find(|(k, _)| k.as_bytes() == Some(name.as_bytes())).and_then(|(_, v)| text(v)),
        _ => None,
    }
}

fn addr_of(target: &Target) -> String {
    match target {
        Target::Tcp { host, port } => format!("{host}:{port}"),
        Target::Unix(path) => path.display().to_string(),
        Target::Memory(name) => format!("mem://{name}"),
    }
}

/// Reads `+switch-master` from the first sentinel that answers, and re-points the client when its
/// service moves. Ends when the client is dropped.
async fn watch(inner: Weak<Inner>) {
    loop {
        let sentinels: Vec<Client> = match inner.upgrade() {
            Some(inner) => inner.sentinels.iter().map(|(_, c)| c.clone()).collect(),
            None => return,
        };
        for sentinel in sentinels {
            let Ok(mut subscriber) = sentinel.subscriber().await else { continue };
            if subscriber.subscribe([SWITCH_MASTER]).await.is_err() {
                continue;
            }
            while let Some(message) = subscriber.next_message().await {
                let Some(strong) = inner.upgrade() else { return };
                let service = message.payload.split(|b| *b == b' ').next().unwrap_or_default();
                if service == strong.config.service_name.as_bytes() {
                    let client = SentinelClient { inner: strong };
                    // A failure here is met again, and reported, by the next request.
                    let _ = client.rediscover().await;
                }
            }
        }
        // No sentinel took the subscription: try again in a while.
        tokio::time::sleep(MAX_PAUSE * 4).await;
    }
}
