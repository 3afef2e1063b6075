//! What the host grants the component: one module per imported WIT interface, each a small
//! implementation of the trait `bindgen!` generated for it, plus the empty WASI that Rust's standard
//! library needs (no files, no network, no environment).

mod clock;
mod log;
mod random;
mod streams;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use clock::Clock;

/// The data a component instance's store holds.
pub struct HostState {
    pub clock: Clock,
    /// Caps the component's linear memory, so a bug in it cannot take the machine's memory.
    pub limits: StoreLimits,
    /// When set, randomness is a fixed sequence from this seed (see [`crate::runtime::RuntimeOptions::random_seed`]).
    pub random_seed: Option<u64>,
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
}

impl HostState {
    /// `memory_limit` caps the component's linear memory in bytes (`None`: the 4 GiB a 32-bit
    /// memory can address).
    pub fn new(clock: Clock, memory_limit: Option<usize>) -> Self {
        // Builds a context that grants nothing: no preopened directories, no sockets, no
        // environment, no arguments. Only what `std` touches at start-up (random seed, stdio
        // that goes nowhere) works.
        let mut limits = StoreLimitsBuilder::new();
        if let Some(bytes) = memory_limit {
            limits = limits.memory_size(bytes);
        }
        HostState { clock, limits: limits.build(), random_seed: None, wasi: WasiCtx::builder().build(), table: ResourceTable::new() }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
