//! A near cache: values kept in this process in front of the server, kept correct by the server's
//! invalidations (client-side caching, `CLIENT TRACKING` in REDIRECT mode, which RESP2 and RESP3
//! servers alike support).
//!
//! A [`Subscriber`] on a connection of its own listens on `__redis__:invalidate`; every connection
//! of the data [`Client`] runs `CLIENT TRACKING on REDIRECT <that connection's id>` when it opens,
//! so the server tells the subscriber about each key those connections read (or, in broadcast
//! mode, about every key under the prefixes) when it changes, expires, is evicted or flushed.
//!
//! Whenever nothing guarantees that invalidations still arrive, everything local is dropped: the
//! invalidation connection broke (then the data client is replaced by one redirecting to the new
//! connection's id), or a data connection was opened or closed (keys read on a closed connection
//! are no longer tracked).

mod local;

use super::pubsub::{Link, Message, Subscriber};
use super::{Client, ClientConfig, Error, ErrorKind, ToArg, Ttl};
use bytes::Bytes;
use local::{Local, Lookup};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The channel the server sends invalidations to in REDIRECT mode.
const INVALIDATE: &str = "__redis__:invalidate";

/// How often the data connections are checked for ones opened or closed while every read hits.
const CHECK: Duration = Duration::from_millis(200);

/// Which keys the server reports changes of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Tracking {
    /// The keys this cache read (the server remembers them per reader).
    #[default]
    Default,
    /// Every key starting with one of the prefixes (all keys if none): the server remembers
    /// nothing per key; keys outside the prefixes are read from the server and not kept.
    Broadcast { prefixes: Vec<Bytes> },
}

/// How big the near cache may grow, and for how long it may keep a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NearCacheOptions {
    pub max_entries: usize,
    /// Keys and values together.
    pub max_bytes: usize,
    /// A value is read from the server again after this long, invalidated or not.
    pub local_ttl: Option<Duration>,
    pub tracking: Tracking,
}

/// 10,000 entries, 64 MiB, no local time to live, default tracking.
impl Default for NearCacheOptions {
    fn default() -> Self {
        NearCacheOptions { max_entries: 10_000, max_bytes: 64 << 20, local_ttl: None, tracking: Tracking::Default }
    }
}

/// A near cache's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NearCacheStats {
    /// Reads answered locally.
    pub hits: u64,
    /// Reads that went to the server.
    pub misses: u64,
    /// Keys named by the server's invalidations, a flush counting as one.
    pub invalidations: u64,
    /// Values dropped to stay within the size bounds.
    pub evictions: u64,
    /// Times everything was dropped because invalidations might have been missed.
    pub resets: u64,
    pub entries: usize,
    pub bytes: usize,
}

/// A client with a near cache; see the module's documentation. Dropping it closes its connections.
pub struct NearCache {
    shared: Arc<Shared>,
    listener: tokio::task::JoinHandle<()>,
}

struct Shared {
    config: ClientConfig,
    options: NearCacheOptions,
    /// Replaced whenever the invalidation connection is.
    data: RwLock<Client>,
    state: Mutex<State>,
    hits: AtomicU64,
    misses: AtomicU64,
    invalidations: AtomicU64,
    evictions: AtomicU64,
    resets: AtomicU64,
}

struct State {
    local: Local,
    /// Whether the data client's connections redirect to a live invalidation connection: reads
    /// are stored only then.
    ready: bool,
    /// The data pool's (connections opened, connections reaped) when last looked at.
    pool_mark: (u64, u64),
}

impl NearCache {
    /// A near cache in front of the server at `url` (see [`ClientConfig::parse`]).
    pub async fn open(url: &str, options: NearCacheOptions) -> Result<NearCache, Error> {
        let config = ClientConfig::parse(url).map_err(|e| Error::new(ErrorKind::Invalid, e.0))?;
        Self::with_config(config, options).await
    }

    pub async fn with_config(config: ClientConfig, options: NearCacheOptions) -> Result<NearCache, Error> {
        let subscriber = Client::with_config(config.clone()).await?.subscriber().await?;
        subscriber.subscribe([INVALIDATE]).await?;
        let link = subscriber.link();
        let Some(id) = link.borrow().id else {
            return Err(Error::new(
                ErrorKind::Invalid,
                "the server did not say its connection's id (CLIENT ID): a near cache needs CLIENT TRACKING with REDIRECT (Redis 6 or later, or cachet)",
            ));
        };
        let data = data_client(&config, &options.tracking, id).await?;
        let state = State { local: Local::new(options.max_entries, options.max_bytes), ready: true, pool_mark: mark(&data) };
        let shared = Arc::new(Shared {
            config,
            options,
            data: RwLock::new(data),
            state: Mutex::new(state),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            resets: AtomicU64::new(0),
        });
        let listener = tokio::spawn(listen(shared.clone(), subscriber, link));
        Ok(NearCache { shared, listener })
    }

    /// The value, from this process if it is here, else from the server (and then kept).
    pub async fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, Error> {
        let key = key.as_ref();
        let shared = &self.shared;
        let token = {
            let mut state = shared.lock();
            shared.check_pool(&mut state);
            if let Lookup::Hit(value) = state.local.lookup(key, Instant::now()) {
                shared.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(value);
            }
            (state.ready && shared.kept(key)).then(|| state.local.begin(key))
        };
        shared.misses.fetch_add(1, Ordering::Relaxed);
        let expires = shared.options.local_ttl.map(|ttl| Instant::now() + ttl);
        let read = shared.data().get(key).await;
        let Some(token) = token else { return read };
        let mut state = shared.lock();
        shared.check_pool(&mut state);
        match &read {
            Ok(value) => {
                let evicted = state.local.finish(key, token, value.clone(), expires);
                shared.evictions.fetch_add(evicted, Ordering::Relaxed);
            }
            Err(_) => state.local.cancel(key, token),
        }
        read
    }

    pub async fn set(&self, key: impl AsRef<[u8]>, value: impl ToArg, ttl: impl Into<Ttl>) -> Result<(), Error> {
        let key = key.as_ref();
        self.write(key, self.shared.data().set(key, value, ttl)).await
    }

    /// True only if every key existed (and was removed).
    pub async fn remove<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<bool, Error> {
        let keys = super::owned(keys);
        self.shared.drop_keys(&keys);
        let removed = self.shared.data().remove(&keys).await;
        self.shared.drop_keys(&keys);
        removed
    }

    /// Sets a new time to live on the server; false when the key does not exist.
    pub async fn update_timeout(&self, key: impl AsRef<[u8]>, ttl: impl Into<Ttl>) -> Result<bool, Error> {
        let key = key.as_ref();
        self.write(key, self.shared.data().update_timeout(key, ttl)).await
    }

    /// The data client, for anything else; writes through it reach the local copy when their
    /// invalidation arrives.
    pub fn client(&self) -> Client {
        self.shared.data()
    }

    pub fn stats(&self) -> NearCacheStats {
        let shared = &self.shared;
        let state = shared.lock();
        NearCacheStats {
            hits: shared.hits.load(Ordering::Relaxed),
            misses: shared.misses.load(Ordering::Relaxed),
            invalidations: shared.invalidations.load(Ordering::Relaxed),
            evictions: shared.evictions.load(Ordering::Relaxed),
            resets: shared.resets.load(Ordering::Relaxed),
            entries: state.local.len(),
            bytes: state.local.bytes(),
        }
    }

    /// Drops every local value (the server keeps its own).
    pub fn clear(&self) {
        self.shared.lock().local.clear();
    }

    /// Closes the connections; later calls fail with [`ErrorKind::Closed`].
    pub fn close(&self) {
        self.listener.abort();
        self.shared.lock().ready = false;
        self.shared.data().close();
    }

    /// A write drops the local copy before it is sent (so no read started meanwhile stores the
    /// old value for long) and after it is done (so this process reads its own write).
    async fn write<T>(&self, key: &[u8], write: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        self.shared.drop_keys(&[key]);
        let result = write.await;
        self.shared.drop_keys(&[key]);
        result
    }
}

impl Drop for NearCache {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn data(&self) -> Client {
        self.data.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Whether the server reports changes of `key` to this cache.
    fn kept(&self, key: &[u8]) -> bool {
        match &self.options.tracking {
            Tracking::Default => true,
            Tracking::Broadcast { prefixes } => prefixes.is_empty() || prefixes.iter().any(|p| key.starts_with(p)),
        }
    }

    fn drop_keys<K: AsRef<[u8]>>(&self, keys: &[K]) {
        let mut state = self.lock();
        for key in keys {
            state.local.invalidate(key.as_ref());
        }
    }

    /// A data connection opened or closed since the last look: keys read on a closed one are no
    /// longer tracked, and which one closed is not known, so everything goes.
    fn check_pool(&self, state: &mut State) {
        let now = mark(&self.data());
        if now != state.pool_mark {
            state.pool_mark = now;
            self.reset(state);
        }
    }

    /// A read in flight got its reply on a live connection, which tracks the key: it may still
    /// store it.
    fn reset(&self, state: &mut State) {
        if state.local.len() > 0 {
            self.resets.fetch_add(1, Ordering::Relaxed);
        }
        state.local.drop_values();
    }

    fn invalidated(&self, message: Message) {
        if message.channel != INVALIDATE.as_bytes() {
            return;
        }
        let mut state = self.lock();
        if message.items.is_empty() {
            // A null payload: the server was flushed.
            self.invalidations.fetch_add(1, Ordering::Relaxed);
            state.local.clear();
            return;
        }
        self.invalidations.fetch_add(message.items.len() as u64, Ordering::Relaxed);
        for key in &message.items {
            state.local.invalidate(key);
        }
    }

    /// The invalidation connection was lost or replaced: nothing local can be trusted, and the
    /// data connections must redirect to the new one.
    async fn relink(&self, link: Link) {
        {
            let mut state = self.lock();
            state.ready = false;
            self.reset(&mut state);
            state.local.clear();
        }
        let Some(id) = link.id else { return };
        match data_client(&self.config, &self.options.tracking, id).await {
            Ok(data) => {
                let mark = mark(&data);
                let old = std::mem::replace(&mut *self.data.write().unwrap_or_else(std::sync::PoisonError::into_inner), data);
                old.close();
                let mut state = self.lock();
                state.pool_mark = mark;
                state.local.clear();
                state.ready = true;
            }
            Err(error) => tracing::warn!("near cache: no data client for the new invalidation connection ({error}); reads go to the server"),
        }
    }
}

/// Applies invalidations, and follows the invalidation connection as it is replaced.
async fn listen(shared: Arc<Shared>, mut subscriber: Subscriber, mut link: watch::Receiver<Link>) {
    let mut check = tokio::time::interval(CHECK);
    loop {
        tokio::select! {
            message = subscriber.next_message() => match message {
                Some(message) => shared.invalidated(message),
                None => return,
            },
            changed = link.changed() => {
                if changed.is_err() {
                    return;
                }
                let now = *link.borrow_and_update();
                shared.relink(now).await;
            }
            _ = check.tick() => {
                let mut state = shared.lock();
                shared.check_pool(&mut state);
            }
        }
    }
}

/// A client whose every connection sends its tracked keys' invalidations to connection `id`.
async fn data_client(config: &ClientConfig, tracking: &Tracking, id: i64) -> Result<Client, Error> {
    let mut command: Vec<Vec<u8>> = ["CLIENT", "TRACKING", "on", "REDIRECT"].iter().map(|w| w.as_bytes().to_vec()).collect();
    command.push(id.to_string().into_bytes());
    if let Tracking::Broadcast { prefixes } = tracking {
        command.push(b"BCAST".to_vec());
        for prefix in prefixes {
            command.push(b"PREFIX".to_vec());
            command.push(prefix.to_vec());
        }
    }
    let mut config = config.clone();
    config.connection.extra_set_up.push(command);
    Client::with_config(config).await
}

fn mark(client: &Client) -> (u64, u64) {
    let stats = client.pool_stats();
    (stats.created, stats.reaped)
}
