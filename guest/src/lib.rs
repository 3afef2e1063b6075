//! cachet's engine: the RESP protocol, the keyspace and the commands, as plain sans-IO Rust.
//!
//! Built for `wasm32-wasip2` it is the component the `cachet` host runs (see `bindings`); built
//! natively it is an ordinary library, which is how its unit tests and benchmarks run.

pub mod client;
pub mod commands;
pub mod config;
pub mod engine;
pub mod facts;
pub mod glob;
pub mod keyspace;
pub mod keyvalue;
pub mod log;
pub mod memory;
pub mod outbox;
pub mod resp;
pub mod rng;
pub mod session;
pub mod stats;
pub mod time;

#[cfg(target_family = "wasm")]
mod bindings;

pub use engine::{Engine, Input};
pub use outbox::{Output, Progress};
pub use time::Now;
pub use session::{Peer, PeerKind};

#[cfg(any(target_family = "wasm", test))]
#[global_allocator]
static ALLOCATOR: memory::CountingAllocator = memory::CountingAllocator;
