//! The engine component's bytes, built from `guest/` by this crate's build script.
//!
//! Kept apart from the host crate so that editing the guest rebuilds only this small crate and
//! relinks the host, instead of recompiling the host's generated bindings.

/// The WebAssembly component (`wasm32-wasip2`) that implements every world (`cachet`): the one the
/// `cachet` binary runs.
pub const WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_guest.wasm"));

/// The same engine without Lua scripting (EVAL and SCRIPT answer as unknown commands): Lua's
/// errors are Wasm exceptions, which runtimes such as jco cannot run yet.
pub const WASM_WITHOUT_LUA: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_guest_without_lua.wasm"));

/// Whether the component was built with fault injection (the `fault-injection` feature): DEBUG
/// PANIC and DEBUG SPIN make it fault.
pub const FAULT_INJECTION: bool = cfg!(feature = "fault-injection");

/// The engine built for the `keyvalue` world alone: it imports cachet's clock, random and log, and
/// nothing from WASI.
pub const KEYVALUE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_keyvalue.wasm"));

/// The engine built for the `server-engine` world alone: clock, random and log, no WASI.
pub const SERVER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_server.wasm"));

/// The cache client built for the `client` world alone: clock, random, log and streams, no WASI.
pub const CLIENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_client.wasm"));
