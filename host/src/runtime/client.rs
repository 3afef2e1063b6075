//! Instances of the client world: the component's `cache` resource over a pool the host lends.

use super::bindings::client::Client as ClientWorld;
use super::bindings::client::exports::cachet::engine::cache::GuestCache;
use super::{Runtime, described, packed};
use crate::capabilities::HostState;
use crate::capabilities::streams::Pool;
use anyhow::Result;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

pub use super::bindings::client::exports::cachet::engine::cache::{
    Error as CacheError, ErrorKind as CacheErrorKind, Node, Op, Options as CacheOptions, Outcome,
};

impl Runtime {
    /// An instance running the cache client over `pool`. Its calls wait on the network, so they
    /// are async; a long call yields to other tasks at every epoch tick instead of being cut off.
    pub async fn instantiate_client(&self, pool: Pool, options: &CacheOptions) -> Result<ClientInstance> {
        let mut store = Store::new(&self.engine, HostState::new(self.clock, self.memory_limit));
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_async_yield_and_update(1);
        let bindings = described(self.client_pre.instantiate_async(&mut store).await, "instantiating the client component")?;
        let pool = described(store.data_mut().lend_pool(pool), "lending the pool to the client component")?;
        let constructor = bindings.cachet_engine_cache().cache();
        let cache = described(constructor.call_constructor(&mut store, pool, options).await, "creating the cache client")?;
        Ok(ClientInstance { store, bindings, cache, packed: Vec::new() })
    }
}

/// The largest buffer of packed requests kept for the next batch: one that grew for large values
/// is let go.
const KEPT_REQUEST_BUFFER: usize = 64 * 1024;

/// The most bytes of keys and values a batch sends packed. Past it, the copies cost more than the
/// lists: `batch-packed` copies each value into its list, and the component copies it out again,
/// where `batch` lowers each value once; a value of hundreds of megabytes would also grow the
/// component's memory by one more copy, which it keeps.
const PACKED_UP_TO: usize = 64 * 1024;

/// A client instance: the component's cache adapter bound to one pool. Every function of the
/// `cache` resource can be called, as any host would (see [`ClientInstance::exports`]); cachet's
/// own client sends everything through [`ClientInstance::batch`].
pub struct ClientInstance {
    store: Store<HostState>,
    bindings: ClientWorld,
    /// The `cache` resource the instance was made with.
    cache: ResourceAny,
    /// The last batch's requests as bytes, kept for the next batch's.
    packed: Vec<u8>,
}

impl ClientInstance {
    /// The `cache` resource's functions, the store to call them with and the resource itself:
    /// `let (cache, store, this) = instance.exports(); cache.call_get(store, this, b"key").await`.
    pub fn exports(&mut self) -> (GuestCache<'_>, &mut Store<HostState>, ResourceAny) {
        (self.bindings.cachet_engine_cache().cache(), &mut self.store, self.cache)
    }

    /// Runs a batch of requests in one round trip. `Err` when the component trapped (the
    /// instance must then be replaced); each request has its own result otherwise.
    /// The requests and results cross as one list of bytes each way (`batch-packed`), unless
    /// they carry large values.
    pub async fn batch(&mut self, ops: &[Op]) -> Result<Vec<std::result::Result<Outcome, CacheError>>> {
        if packed::payload(ops) > PACKED_UP_TO {
            let (cache, store, this) = self.exports();
            return described(cache.call_batch(store, this, ops).await, "the client component failed");
        }
        let mut packed = std::mem::take(&mut self.packed);
        packed::write_ops(&mut packed, ops);
        let (cache, store, this) = self.exports();
        let results = described(cache.call_batch_packed(store, this, &packed).await, "the client component failed")?;
        if packed.capacity() <= KEPT_REQUEST_BUFFER {
            self.packed = packed;
        }
        packed::read_results(&results, ops.len())
    }
}
