//! What the host grants the component: one module per imported WIT interface, each a small
//! implementation of the trait `bindgen!` generated for it (see [`bindings`]), plus the empty WASI
//! that Rust's standard library needs (no files, no network, no environment).
//!
//! This is the bottom layer of the host: it depends on nothing else in the crate. The runtime
//! links these capabilities into the component's worlds; the client lends them its pools.

mod acl_file;
pub mod bindings;
mod clock;
mod host_settings;
mod log;
mod memory_cap;
mod random;
pub mod streams;

use streams::Pool;
use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use clock::Clock;
pub use host_settings::{HostSettings, SharedHostSettings};
pub use log::OUT_OF_MEMORY;
pub use memory_cap::MemoryCap;

/// The data a component instance's store holds.
pub struct HostState {
    pub clock: Clock,
    /// Caps the component's linear memory, so a bug in it cannot take the machine's memory.
    pub limits: MemoryCap,
    /// When set, randomness is a fixed sequence from this seed (the runtime's `random_seed` option).
    pub random_seed: Option<u64>,
    /// The component's out-of-memory line, once it logged one (see [`OUT_OF_MEMORY`]).
    pub out_of_memory_line: Option<String>,
    /// Where CONFIG SET of the host's own settings (tls-*) goes; none accepts every change.
    pub host_settings: Option<SharedHostSettings>,
    /// The one file the engine may read and replace: the ACL file the server was started with.
    pub acl_file: Option<std::path::PathBuf>,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    /// `memory_limit` caps the component's linear memory in bytes (`None`: the 4 GiB a 32-bit
    /// memory can address).
    pub fn new(clock: Clock, memory_limit: Option<usize>) -> Self {
        // Builds a context that grants nothing: no preopened directories, no sockets, no
        // environment, no arguments. Only what `std` touches at start-up (random seed, stdio
        // that goes nowhere) works.
        HostState {
            clock,
            limits: MemoryCap::new(memory_limit),
            random_seed: None,
            out_of_memory_line: None,
            host_settings: None,
            acl_file: None,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        }
    }

    /// Why the component's trap was the linear-memory cap rather than a bug, when it was: its own
    /// out-of-memory line, or, when the cap was met while the host handed it a call's arguments
    /// (where it can call no import), the growth this host refused.
    pub fn out_of_memory(&self) -> Option<String> {
        if let Some(line) = &self.out_of_memory_line {
            return Some(line.clone());
        }
        let refused = self.limits.refused()?;
        Some(format!("{OUT_OF_MEMORY} the linear memory could not grow to {refused} bytes, past the host's cap"))
    }

    /// Lends `pool` to the component: the handle it then holds (the `cache` constructor takes it).
    pub fn lend_pool(&mut self, pool: Pool) -> wasmtime::Result<Resource<Pool>> {
        Ok(self.table.push(pool)?)
    }
}

/// Links cachet's clock, random and log capabilities, which every world imports, and the
/// host-settings and acl-file ones the server world imports. They never wait, so a linker with
/// only these drives the component with plain synchronous calls.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use bindings::cachet::engine::{acl_file, clock, host_settings, log, random};
    clock::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    random::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    log::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    host_settings::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)?;
    acl_file::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

/// Links the streams capability. Its functions wait on the network: a store whose linker has them
/// must be driven with wasmtime's async calls.
pub fn add_streams_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::cachet::engine::streams::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
