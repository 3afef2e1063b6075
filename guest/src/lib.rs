//! cachet's component: the RESP protocol, the keyspace, the commands and the cache client, as
//! plain sans-IO Rust.
//!
//! Built for `wasm32-wasip2` it is the component the `cachet` host runs (see `bindings`); built
//! natively it is an ordinary library, which is how its unit tests and benchmarks run.
//!
//! Its modules are layers, each depending only on those before it:
//! - the shared vocabulary: `time`, `log`, `rng`, `memory`, `stats`, `server_facts`, `glob`,
//!   `resp` (the codec, both directions) and `request` (the cache requests and their outcomes);
//! - the server's state: `keyspace` (with `notify`, the keyspace notifications it records),
//!   `config`, `session` and `outbox`;
//! - `commands`: the command table and every command, and `acl`, the users and permissions
//!   they are checked against;
//! - `engine`: the server state machine the `server` export drives; `keyvalue`: the key-value
//!   exports, run through the engine;
//! - `cache`: the cache client behind the `cache` export, over the host's streams;
//! - `bindings`: the WIT glue, in the component only.

// A one-world build (a `world-*` feature) leaves the other worlds' code unused.
#![cfg_attr(any(feature = "world-keyvalue", feature = "world-server", feature = "world-client"), allow(dead_code))]

// The cache client, the key-value interfaces and most of the request vocabulary serve only the
// component's exports: a native build sees them used by their tests alone, so unused code in them
// shows in the component's build.
mod acl;
mod blocking;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod cache;
pub mod commands;
mod config;
mod engine;
mod glob;
mod host_settings;
mod hyperloglog;
mod keyspace;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod keyvalue;
mod latency;
mod log;
mod long_double;
pub mod memory;
mod notify;
mod outbox;
mod pause;
mod output_limits;
mod peer_limits;
mod pubsub;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod request;
pub mod resp;
mod rng;
#[cfg(feature = "lua")]
mod scripting;
mod server_facts;
mod session;
mod slowlog;
mod stats;
mod stopwatch;
mod time;
mod tracking;
mod watches;

#[cfg(target_family = "wasm")]
mod bindings;

// What native users (the fuzz targets and benchmarks) drive the engine with; everything else is the
// crate's own.
pub use acl::file::AclFile;
pub use engine::{Backlog, Engine, Input};
pub use outbox::{Output, Progress};
pub use session::{Peer, PeerKind};
pub use time::Now;

#[cfg(any(target_family = "wasm", test))]
#[global_allocator]
static ALLOCATOR: memory::CountingAllocator = memory::CountingAllocator;
