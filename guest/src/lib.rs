//! cachet's engine: the RESP protocol, the keyspace and the commands, as plain sans-IO Rust.
//!
//! Built for `wasm32-wasip2` it is the component the `cachet` host runs (see `bindings`); built
//! natively it is an ordinary library, which is how its unit tests and benchmarks run.

// The cache client, the key-value interfaces and most of the request vocabulary serve only the
// component's exports: a native build sees them used by their tests alone, so unused code in them
// shows in the component's build.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod cache;
pub mod commands;
mod config;
mod engine;
mod glob;
mod hyperloglog;
mod keyspace;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod keyvalue;
mod log;
pub mod memory;
mod outbox;
mod pubsub;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod request;
pub mod resp;
mod rng;
mod server_facts;
mod session;
mod stats;
mod time;
mod watches;

#[cfg(target_family = "wasm")]
mod bindings;

// What native users (the fuzz targets and benchmarks) drive the engine with; everything else is the
// crate's own.
pub use engine::{Engine, Input};
pub use outbox::{Output, Progress};
pub use session::{Peer, PeerKind};
pub use time::Now;

#[cfg(any(target_family = "wasm", test))]
#[global_allocator]
static ALLOCATOR: memory::CountingAllocator = memory::CountingAllocator;
