//! What the host grants the component: one module per imported WIT interface, each a small
//! implementation of the trait `bindgen!` generated for it, plus the empty WASI that Rust's standard
//! library needs (no files, no network, no environment).

mod clock;
mod log;
mod random;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use clock::Clock;

/// The data a component instance's store holds.
pub struct HostState {
    pub clock: Clock,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    pub fn new(clock: Clock) -> Self {
        // Builds a context that grants nothing: no preopened directories, no sockets, no
        // environment, no arguments. Only what `std` touches at start-up (random seed, stdio
        // that goes nowhere) works.
        HostState { clock, wasi: WasiCtx::builder().build(), table: ResourceTable::new() }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}
