//! cachet's engine: the RESP protocol, the keyspace and the commands, as plain sans-IO Rust.
//!
//! Built for `wasm32-wasip2` it is the component the `cachet` host runs (see `bindings`); built
//! natively it is an ordinary library, which is how its unit tests and benchmarks run.

// The cache client runs only behind the component's `cache` export: a native build sees it used by
// its tests alone, so unused code in it shows in the component's build.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) mod cache;
pub mod commands;
pub mod config;
pub mod engine;
pub mod server_facts;
pub mod glob;
pub mod hyperloglog;
pub mod keyspace;
pub mod keyvalue;
pub mod log;
pub mod memory;
pub mod outbox;
pub mod request;
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
