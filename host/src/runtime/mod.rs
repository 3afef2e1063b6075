//! Loading and running the engine component: one wasmtime engine and one compiled component per
//! process, and instances of it that the server feeds.
//!
//! Compiling the component takes tens of milliseconds; the compiled form is kept in a cache
//! directory so later starts only map it from disk (see [`cache`]).

pub mod bindings;
mod cache;
mod client;
mod conveyor;
mod packed;

use crate::capabilities::{self, Clock, HostState};
use anyhow::Result;
use bindings::client::ClientPre;
use bindings::exports::cachet::engine::server as wit;
use bindings::{ServerEngine, ServerEnginePre};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store};

pub use client::{CacheError, CacheErrorKind, CacheOptions, ClientInstance, Node, Op, Outcome};
pub use conveyor::{ConveyorInstance, Sent};
pub use wit::{Backlog, ConfigError, PeerKind, Progress, Time};

/// Who is on the other end of a connection, as the host tells the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub kind: PeerKind,
    pub address: String,
    pub local_address: String,
}

impl Peer {
    fn as_wit(&self) -> wit::Peer<'_> {
        wit::Peer { kind: self.kind, address: &self.address, local_address: &self.local_address }
    }
}

/// Adds a description to an error from wasmtime.
pub(crate) fn described<T>(result: wasmtime::Result<T>, what: &str) -> Result<T> {
    result.map_err(|e| anyhow::Error::from(e).context(what.to_string()))
}

/// How the component is loaded and run.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Where the compiled component is cached; `None` compiles it at every start.
    pub cache_dir: Option<PathBuf>,
    /// The longest one call into the engine may run before it is interrupted (a runaway call is
    /// a bug; the interruption is handled like any other fault).
    pub call_timeout: Duration,
    /// The most linear memory the component may have, in bytes; `None` leaves the 4 GiB a
    /// 32-bit memory can address. Growing past it fails inside the component, which then faults.
    pub memory_limit: Option<usize>,
    /// Gives instances a fixed sequence of random numbers from this seed instead of the operating
    /// system's: with the times a host passes, a recorded session then replays to the same output
    /// (hash seeds, `run_id` and eviction samples included). For tests and debugging, never for
    /// serving: clients could then predict the hash seeds.
    pub random_seed: Option<u64>,
    /// The engine component to run: the one with Lua scripting (`cachet_component::WASM`) unless
    /// told otherwise, as the benchmarks do to measure what the interpreter costs.
    pub component: &'static [u8],
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            memory_limit: None,
            random_seed: None,
            component: cachet_component::WASM,
        }
    }
}

pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the engine's epoch advances; call deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

impl RuntimeOptions {
    /// The cache in `$CACHET_CACHE_DIR`, else `$XDG_CACHE_HOME/cachet`, else `~/.cache/cachet`.
    pub fn from_env() -> Self {
        let dir = std::env::var_os("CACHET_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("cachet")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/cachet")));
        RuntimeOptions { cache_dir: dir, ..RuntimeOptions::default() }
    }
}

/// The compiled component, ready to instantiate. Cheap to share.
pub struct Runtime {
    engine: Engine,
    call_deadline_ticks: u64,
    memory_limit: Option<usize>,
    random_seed: Option<u64>,
    component: Component,
    pre: ServerEnginePre<HostState>,
    client_pre: ClientPre<HostState>,
    clock: Clock,
}

impl Runtime {
    pub fn new(options: &RuntimeOptions) -> Result<Self> {
        let mut config = Config::new();
        // Async support in the component model doubles the cost of every call; the engine's calls
        // are short and synchronous.
        config.concurrency_support(false);
        config.epoch_interruption(true);
        // `CACHET_PERFMAP=1` writes /tmp/perf-PID.map so `perf` can name the component's functions.
        if std::env::var_os("CACHET_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = described(Engine::new(&config), "could not set up the WebAssembly engine")?;
        start_epoch_ticker(&engine);
        let component = cache::load_or_compile(&engine, options.component, options.cache_dir.as_deref())?;
        let mut linker = capabilities_linker(&engine)?;
        described(wasmtime_wasi::p2::add_to_linker_sync(&mut linker), "linking WASI")?;
        let mut client_linker = linker.clone();
        described(stub_streams(&mut linker, &component, &engine), "linking the stream imports")?;
        let pre = described(linker.instantiate_pre(&component), "the component's imports cannot all be satisfied")?;
        let pre = described(ServerEnginePre::new(pre), "the component does not export cachet:engine/server")?;
        described(capabilities::add_streams_to_linker(&mut client_linker), "linking the stream capability")?;
        let client_pre = described(client_linker.instantiate_pre(&component), "the component's imports cannot all be satisfied")?;
        let client_pre = described(ClientPre::new(client_pre), "the component does not export cachet:engine/cache")?;
        let call_deadline_ticks = (options.call_timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        Ok(Runtime {
            engine,
            call_deadline_ticks,
            memory_limit: options.memory_limit,
            random_seed: options.random_seed,
            component,
            pre,
            client_pre,
            clock: Clock::new(),
        })
    }

    /// The runtime shared by every client and `mem://` keyspace of the process, made on first use
    /// with the options from the environment (see [`RuntimeOptions::from_env`]).
    pub fn shared() -> Result<Arc<Runtime>> {
        static SHARED: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);
        let mut shared = SHARED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = &*shared {
            return Ok(runtime.clone());
        }
        let runtime = Arc::new(Runtime::new(&RuntimeOptions::from_env())?);
        *shared = Some(runtime.clone());
        Ok(runtime)
    }

    /// A fresh engine instance with an empty keyspace.
    pub fn instantiate(&self) -> Result<Instance> {
        let mut store = self.store();
        let bindings = described(self.pre.instantiate(&mut store), "instantiating the engine component")?;
        Ok(Instance { store, bindings, deadline_ticks: self.call_deadline_ticks, spans: Vec::new(), packed: Vec::new(), spare: Vec::new() })
    }

    /// An instance whose exports the caller drives itself, as any plugin host would: the server
    /// interface and the key-value interfaces, on one keyspace. Each call may run for the
    /// runtime's call timeout; after a trap the instance is unusable.
    pub fn instantiate_plugin(&self) -> Result<PluginInstance> {
        let mut store = self.store();
        let instance = described(self.pre.instance_pre().instantiate(&mut store), "instantiating the engine component")?;
        let server = described(ServerEngine::new(&mut store, &instance), "the component does not export cachet:engine/server")?;
        let keyvalue = described(
            bindings::keyvalue::Keyvalue::new(&mut store, &instance),
            "the component does not export the key-value interfaces",
        )?;
        Ok(PluginInstance { store, server, keyvalue })
    }

    /// A store for one instance, with the runtime's memory limit and call deadline.
    pub fn store(&self) -> Store<HostState> {
        let mut state = HostState::new(self.clock, self.memory_limit);
        state.random_seed = self.random_seed;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(self.call_deadline_ticks);
        store
    }

    /// A linker with cachet's own capabilities (clock, random, log) and nothing else: no WASI at
    /// all. Components built on cachet (an application composed with it, say) run with it; link
    /// their other imports as traps to prove they are never used.
    pub fn capabilities_linker(&self) -> Result<Linker<HostState>> {
        capabilities_linker(&self.engine)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled component, for hosts that link it themselves (a linker of their own, their
    /// own clock): `Runtime` compiles it once.
    pub fn component(&self) -> &Component {
        &self.component
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The time of one call into a server engine, as the engine is given it.
    pub fn now(&self) -> Time {
        Time { monotonic_ns: self.clock.monotonic_ns(), wall_ms: self.clock.wall_ms() }
    }

    /// The interfaces the component imports, by name (`cachet:engine/clock@0.1.0`, ...): everything
    /// it can ask of the outside world.
    pub fn imports(&self) -> Vec<String> {
        let ty = self.component.component_type();
        let mut names: Vec<String> = ty.imports(&self.engine).map(|(name, _)| name.to_string()).collect();
        names.sort();
        names
    }

    /// The interfaces the component exports.
    pub fn exports(&self) -> Vec<String> {
        let ty = self.component.component_type();
        let mut names: Vec<String> = ty.exports(&self.engine).map(|(name, _)| name.to_string()).collect();
        names.sort();
        names
    }
}

/// One engine instance. Every call returns `Err` when the component trapped; the instance is then
/// unusable and must be replaced.
pub struct Instance {
    store: Store<HostState>,
    bindings: ServerEngine,
    deadline_ticks: u64,
    /// The inputs of a call, packed (see [`pack_inputs`]).
    spans: Vec<wit::Input>,
    packed: Vec<u8>,
    /// Buffers for outputs' bytes, given back once written (see [`Instance::recycle`]).
    spare: Vec<Vec<u8>>,
}

/// A packing buffer grown past this is let go after the call.
const KEEP_PACKED: usize = 1024 * 1024;

/// Input for [`Instance::feed`]: a connection and the bytes the host holds for it.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub id: u64,
    pub data: &'a [u8],
}

/// What one engine call has for one connection (the WIT `output` record, with its bytes cut out
/// of the call's `data`).
#[derive(Clone, Debug)]
pub struct Output {
    pub id: u64,
    /// Present when this connection's input was fed in the call.
    pub progress: Option<Progress>,
    /// Bytes to write, in order.
    pub data: Vec<u8>,
    /// Write `data`, then close the connection.
    pub close: bool,
    /// With `close`: close at once, dropping `data` and whatever is still unwritten.
    pub discard_unsent: bool,
    /// The connection's session, when a command changed it (for `open` after a fault).
    pub session: Option<Vec<u8>>,
    /// Feed the input kept for this connection again now.
    pub resume: bool,
}

/// What one engine call returned: output for any connection, and when it next has work.
#[derive(Clone, Debug)]
pub struct EngineOutcome {
    pub outputs: Vec<Output>,
    pub next_deadline: Option<u64>,
}

impl From<wit::Outcome> for EngineOutcome {
    fn from(outcome: wit::Outcome) -> EngineOutcome {
        split(outcome, &mut Vec::new())
    }
}

/// Emptied output buffers an instance keeps for later calls' outputs (see [`Instance::recycle`]),
/// and the largest it keeps: about a MiB at most.
const SPARE_BUFFERS: usize = 64;
const SPARE_CAPACITY: usize = 16 * 1024;

/// Keeps `buffer`, emptied, among `spare` when it is small and `spare` is not full.
fn keep_spare(spare: &mut Vec<Vec<u8>>, mut buffer: Vec<u8>) {
    if buffer.capacity() > 0 && buffer.capacity() <= SPARE_CAPACITY && spare.len() < SPARE_BUFFERS {
        buffer.clear();
        spare.push(buffer);
    }
}

/// Gives each output its own bytes, in buffers taken from `spare` while it has some; when one
/// output has them all (a call that served one connection), it takes the call's buffer as it is.
fn split(outcome: wit::Outcome, spare: &mut Vec<Vec<u8>>) -> EngineOutcome {
    let wit::Outcome { outputs, mut data, next_deadline } = outcome;
    let total = data.len();
    let mut start = 0;
    let outputs = outputs
        .into_iter()
        .map(|out| {
            let len = (out.len as usize).min(total - start);
            let bytes = match len {
                0 => Vec::new(),
                all if all == total => std::mem::take(&mut data),
                _ => {
                    let mut bytes = spare.pop().unwrap_or_default();
                    bytes.extend_from_slice(&data[start..start + len]);
                    bytes
                }
            };
            start += len;
            Output { id: out.id, progress: out.progress, data: bytes, close: out.close, discard_unsent: out.discard_unsent, session: out.session, resume: out.resume }
        })
        .collect();
    EngineOutcome { outputs, next_deadline }
}

/// The WIT form of a call's inputs: a length per connection in `spans`, and every connection's
/// bytes one after another in `packed` (not used when there is one input, whose bytes go as they
/// are). Both buffers are the instance's, kept between calls.
fn pack_inputs<'a>(inputs: &[Input<'a>], spans: &mut Vec<wit::Input>, packed: &'a mut Vec<u8>) -> Result<&'a [u8]> {
    spans.clear();
    for input in inputs {
        let len = u32::try_from(input.data.len()).map_err(|_| anyhow::anyhow!("connection {}'s input is over 4 GiB; the engine takes at most 4 GiB per call", input.id))?;
        spans.push(wit::Input { id: input.id, len });
    }
    if let [input] = inputs {
        return Ok(input.data);
    }
    packed.clear();
    for input in inputs {
        packed.extend_from_slice(input.data);
    }
    Ok(packed.as_slice())
}

/// A linker with cachet's clock, random and log capabilities, which every world imports.
fn capabilities_linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::<HostState>::new(engine);
    described(capabilities::add_to_linker(&mut linker), "linking cachet's capabilities")?;
    Ok(linker)
}

/// Links the stream imports as functions that trap, for the server's synchronous linker: the
/// server engine never calls them, and async host functions would make every call async.
fn stub_streams(linker: &mut Linker<HostState>, component: &Component, engine: &Engine) -> wasmtime::Result<()> {
    use wasmtime::component::types::ComponentItem;
    use wasmtime::component::ResourceType;
    let ty = component.component_type();
    for (name, import) in ty.imports(engine) {
        let ComponentItem::ComponentInstance(instance) = import.ty else { continue };
        if !name.starts_with("cachet:engine/streams") {
            continue;
        }
        let mut linked = linker.instance(name)?;
        for (item, export) in instance.exports(engine) {
            match export.ty {
                ComponentItem::ComponentFunc(_) => {
                    linked.func_new(item, |_, _, _, _| Err(wasmtime::Error::msg("the server engine has no streams")))?
                }
                ComponentItem::Resource(_) => linked.resource(item, ResourceType::host::<()>(), |_, _| Ok(()))?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Advances the engine's epoch from a thread of its own for as long as the process runs, so that
/// a call past its deadline is interrupted even while the server's thread is stuck in it.
fn start_epoch_ticker(engine: &Engine) {
    let engine = engine.weak();
    let spawned = std::thread::Builder::new().name("cachet-epoch".into()).spawn(move || {
        while let Some(engine) = engine.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
    if let Err(error) = spawned {
        tracing::warn!("could not start the engine's deadline timer ({error}); runaway calls will not be interrupted");
    }
}

impl Instance {
    /// Where the engine's CONFIG SET of the host's own settings (tls-*) goes; without it every
    /// change is accepted.
    pub fn set_host_settings(&mut self, settings: capabilities::SharedHostSettings) {
        self.store.data_mut().host_settings = Some(settings);
    }

    /// Configures the engine; an `aclfile` among the settings is the one file it may then read
    /// and replace (ACL LOAD and SAVE, and loading its users now).
    pub fn configure(&mut self, settings: &[(String, String)]) -> Result<Result<(), ConfigError>> {
        self.store.data_mut().acl_file = settings.iter().rev().find(|(name, _)| name == "aclfile").filter(|(_, path)| !path.is_empty()).map(|(_, path)| path.into());
        let server = self.bindings.cachet_engine_server();
        let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        self.store.set_epoch_deadline(self.deadline_ticks);
        Ok(server.call_configure(&mut self.store, &settings)?)
    }

    /// `Ok(Err(bytes))` when the engine refuses the connection: write `bytes`, then close.
    pub fn open(&mut self, now: Time, id: u64, peer: &Peer, session: Option<&[u8]>) -> Result<Result<EngineOutcome, Vec<u8>>> {
        let server = self.bindings.cachet_engine_server();
        self.store.set_epoch_deadline(self.deadline_ticks);
        Ok(server.call_open(&mut self.store, now, id, peer.as_wit(), session)?.map(EngineOutcome::from))
    }

    pub fn close(&mut self, now: Time, id: u64) -> Result<EngineOutcome> {
        let server = self.bindings.cachet_engine_server();
        self.store.set_epoch_deadline(self.deadline_ticks);
        Ok(server.call_close(&mut self.store, now, id)?.into())
    }

    /// `backlogs`: the connections whose unwritten output changed since the last report.
    pub fn feed(&mut self, now: Time, backlogs: &[Backlog], inputs: &[Input<'_>]) -> Result<EngineOutcome> {
        let server = self.bindings.cachet_engine_server();
        self.store.set_epoch_deadline(self.deadline_ticks);
        let mut packed = std::mem::take(&mut self.packed);
        let data = pack_inputs(inputs, &mut self.spans, &mut packed)?;
        let outcome = server.call_feed(&mut self.store, now, backlogs, &self.spans, data);
        if packed.capacity() <= KEEP_PACKED {
            self.packed = packed;
        }
        Ok(split(outcome?, &mut self.spare))
    }

    /// Keeps an output's buffer, once its bytes are written, for an output of a later call: a call
    /// that serves many connections would otherwise allocate a buffer for each and free it after.
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        keep_spare(&mut self.spare, buffer);
    }

    /// Why the last trap was the linear-memory cap rather than a bug, when it was (see
    /// [`HostState::out_of_memory`](crate::capabilities::HostState::out_of_memory)).
    pub fn out_of_memory(&self) -> Option<String> {
        self.store.data().out_of_memory()
    }

    pub fn tick(&mut self, now: Time, backlogs: &[Backlog]) -> Result<EngineOutcome> {
        let server = self.bindings.cachet_engine_server();
        self.store.set_epoch_deadline(self.deadline_ticks);
        Ok(split(server.call_tick(&mut self.store, now, backlogs)?, &mut self.spare))
    }
}

/// An instance driven through the component's exports directly (see
/// [`Runtime::instantiate_plugin`]): call `server` and `keyvalue` with `store`.
pub struct PluginInstance {
    pub store: Store<HostState>,
    pub server: ServerEngine,
    pub keyvalue: bindings::keyvalue::Keyvalue,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(id: u64, len: u32) -> wit::Output {
        wit::Output { id, progress: None, len, close: false, discard_unsent: false, session: None, resume: false }
    }

    fn split(outputs: Vec<wit::Output>, data: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let outcome = EngineOutcome::from(wit::Outcome { outputs, data: data.to_vec(), next_deadline: None });
        outcome.outputs.into_iter().map(|out| (out.id, out.data)).collect()
    }

    #[test]
    fn each_output_gets_its_own_bytes_in_order() {
        let outputs = split(vec![output(3, 5), output(1, 0), output(2, 4)], b"+OK\r\n:1\r\n");
        assert_eq!(outputs, [(3, b"+OK\r\n".to_vec()), (1, Vec::new()), (2, b":1\r\n".to_vec())]);
    }

    #[test]
    fn lengths_past_the_data_get_what_is_left() {
        let outputs = split(vec![output(1, 0), output(2, 9), output(3, 2), output(4, u32::MAX)], b"+OK\r\n");
        assert_eq!(outputs, [(1, Vec::new()), (2, b"+OK\r\n".to_vec()), (3, Vec::new()), (4, Vec::new())]);
    }

    #[test]
    fn outputs_take_their_buffers_from_the_spare_ones() {
        let kept = Vec::with_capacity(100);
        let address = kept.as_ptr();
        let mut spare = vec![kept];
        let outcome = super::split(wit::Outcome { outputs: vec![output(1, 5), output(2, 4)], data: b"+OK\r\n:1\r\n".to_vec(), next_deadline: None }, &mut spare);
        assert!(spare.is_empty());
        let [first, second] = &outcome.outputs[..] else { panic!("two outputs") };
        assert_eq!((&first.data[..], first.data.as_ptr(), first.data.capacity()), (&b"+OK\r\n"[..], address, 100));
        assert_eq!(second.data, b":1\r\n");
    }

    #[test]
    fn only_small_buffers_are_kept_and_only_so_many() {
        let mut spare = Vec::new();
        keep_spare(&mut spare, Vec::new());
        keep_spare(&mut spare, Vec::with_capacity(SPARE_CAPACITY + 1));
        assert!(spare.is_empty());
        keep_spare(&mut spare, b"written".to_vec());
        assert_eq!(spare.len(), 1);
        assert!(spare[0].is_empty() && spare[0].capacity() >= 7);
        for _ in 0..2 * SPARE_BUFFERS {
            keep_spare(&mut spare, Vec::with_capacity(SPARE_CAPACITY));
        }
        assert_eq!(spare.len(), SPARE_BUFFERS);
    }

    #[test]
    fn inputs_go_as_they_are_alone_and_packed_together() {
        let (mut spans, mut packed) = (Vec::new(), Vec::new());
        let alone = [Input { id: 7, data: b"PING\r\n" }];
        assert_eq!(pack_inputs(&alone, &mut spans, &mut packed).expect("small"), b"PING\r\n");
        assert_eq!(spans.iter().map(|s| (s.id, s.len)).collect::<Vec<_>>(), [(7, 6)]);
        let two = [Input { id: 7, data: b"PING\r\n" }, Input { id: 9, data: b"GET k\r\n" }];
        assert_eq!(pack_inputs(&two, &mut spans, &mut packed).expect("small"), b"PING\r\nGET k\r\n");
        assert_eq!(spans.iter().map(|s| (s.id, s.len)).collect::<Vec<_>>(), [(7, 6), (9, 7)]);
    }
}
