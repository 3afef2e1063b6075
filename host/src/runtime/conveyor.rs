//! Instances of the client world driven as a conveyor (WIT `cache.conveyor`): the component turns
//! requests into bytes and bytes into results; the host moves the bytes, so that it can send new
//! requests while earlier replies are still on their way.

use super::bindings::client::Client as ClientWorld;
use super::bindings::client::exports::cachet::engine::cache::GuestConveyor;
use super::client::{CacheError, CacheOptions, Op, Outcome};
use super::{Runtime, described, packed};
use crate::capabilities::HostState;
use anyhow::{Result, anyhow};
use wasmtime::Store;
use wasmtime::component::ResourceAny;

type Reply = std::result::Result<Outcome, CacheError>;

/// What [`ConveyorInstance::send`] made of the requests.
pub struct Sent {
    /// Their commands, to write.
    pub bytes: Vec<u8>,
    /// Results of requests answered without the server, for the requests at the front of the line.
    pub results: Vec<Reply>,
}

/// The largest buffer of packed requests kept for the next call: one that grew for large values
/// is let go.
const KEPT_REQUEST_BUFFER: usize = 64 * 1024;

impl Runtime {
    /// An instance holding one conveyor, set up with `options`. Its calls never wait on the
    /// network; they are async only because the client world's imports are.
    pub async fn instantiate_conveyor(&self, options: &CacheOptions) -> Result<ConveyorInstance> {
        let mut store = Store::new(&self.engine, HostState::new(self.clock, self.memory_limit));
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_async_yield_and_update(1);
        let bindings = described(self.client_pre.instantiate_async(&mut store).await, "instantiating the client component")?;
        let constructor = bindings.cachet_engine_cache().conveyor();
        let conveyor = described(constructor.call_constructor(&mut store, options).await, "creating the conveyor")?;
        Ok(ConveyorInstance { store, bindings, conveyor, packed: Vec::new() })
    }
}

/// A conveyor in its own instance. `Err` from any call means the component failed (trapped, or
/// answered what the format does not allow), and the instance must be replaced.
pub struct ConveyorInstance {
    store: Store<HostState>,
    bindings: ClientWorld,
    conveyor: ResourceAny,
    /// The last call's requests as bytes, kept for the next call's.
    packed: Vec<u8>,
}

impl ConveyorInstance {
    fn exports(&mut self) -> (GuestConveyor<'_>, &mut Store<HostState>, ResourceAny) {
        (self.bindings.cachet_engine_cache().conveyor(), &mut self.store, self.conveyor)
    }

    /// The bytes that set a fresh connection up (empty when none are needed).
    pub async fn set_up(&mut self) -> Result<Vec<u8>> {
        let (conveyor, store, this) = self.exports();
        described(conveyor.call_set_up(store, this).await, "the client component failed")
    }

    /// How many replies to the set-up are still to come.
    pub async fn setting_up(&mut self) -> Result<u32> {
        let (conveyor, store, this) = self.exports();
        described(conveyor.call_setting_up(store, this).await, "the client component failed")
    }

    /// Packs the `count` requests `ops` yields for the next [`send`](Self::send).
    pub fn pack<'a>(&mut self, count: usize, ops: impl Iterator<Item = &'a Op>) {
        packed::write_some_ops(&mut self.packed, count, ops);
    }

    /// The commands of the requests packed last, to be written after everything sent before.
    pub async fn send(&mut self) -> Result<Sent> {
        let packed = std::mem::take(&mut self.packed);
        let (conveyor, store, this) = self.exports();
        let sent = described(conveyor.call_send(store, this, &packed).await, "the client component failed")?;
        if packed.capacity() <= KEPT_REQUEST_BUFFER {
            self.packed = packed;
        }
        let sent = sent.map_err(|refusal| anyhow!("the client component refused the requests: {}", refusal.message))?;
        Ok(Sent { bytes: sent.bytes, results: packed::read_all(&sent.results)? })
    }

    /// The results of the requests the bytes in `data` answer, in order, and why the connection
    /// cannot go on, when it cannot.
    pub async fn receive(&mut self, data: &[u8]) -> Result<(Vec<Reply>, Option<CacheError>)> {
        let (conveyor, store, this) = self.exports();
        let received = described(conveyor.call_receive(store, this, data).await, "the client component failed")?;
        Ok((packed::read_all(&received.results)?, received.broken))
    }

    /// Gives the connection up after `error`: every request still waiting, in order, answered or
    /// (`None`) safe to send again on another connection.
    pub async fn abandon(&mut self, error: &CacheError) -> Result<Vec<Option<Reply>>> {
        let (conveyor, store, this) = self.exports();
        let answers = described(conveyor.call_abandon(store, this, error).await, "the client component failed")?;
        packed::read_answers(&answers)
    }
}
