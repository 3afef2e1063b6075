//! cachet's engine: the RESP protocol, the keyspace and the commands, as plain sans-IO Rust.
//!
//! Built for `wasm32-wasip2` it is the component the `cachet` host runs (see `bindings`); built
//! natively it is an ordinary library, which is how its unit tests and benchmarks run.

pub mod client;
pub mod commands;
pub mod config;
pub mod glob;
pub mod keyspace;
pub mod keyvalue;
pub mod log;
pub mod memory;
pub mod resp;
pub mod rng;
pub mod server;
pub mod session;

#[cfg(target_family = "wasm")]
mod bindings;

pub use server::{Engine, Now, Output, Tick};
pub use session::{Peer, PeerKind};

#[cfg(any(target_family = "wasm", test))]
#[global_allocator]
static ALLOCATOR: memory::CountingAllocator = memory::CountingAllocator;
