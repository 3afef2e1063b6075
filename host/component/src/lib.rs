//! The engine component's bytes, built from `guest/` by this crate's build script.
//!
//! Kept apart from the host crate so that editing the guest rebuilds only this small crate and
//! relinks the host, instead of recompiling the host's generated bindings.

/// The WebAssembly component (`wasm32-wasip2`) that implements the `server-engine` world.
pub const WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_guest.wasm"));

/// Whether the component was built with fault injection (the `fault-injection` feature): DEBUG
/// PANIC and DEBUG SPIN make it fault.
pub const FAULT_INJECTION: bool = cfg!(feature = "fault-injection");
