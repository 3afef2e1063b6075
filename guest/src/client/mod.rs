//! The cache client: requests become commands, written to a stream from the host's pool in one
//! batch, and the replies read back in order.
//!
//! The streams are the host's (see the WIT `streams` interface); this module sees them through
//! the `Pool` and `Stream` traits of its `streams` module, so the logic is plain Rust that also
//! builds natively.
//!
//! The requests and their results ([`Op`], [`Outcome`]) are public: the engine runs them directly
//! for hosts that embed the keyspace. The adapter itself is used by the component's bindings only,
//! so a native build sees it used by its tests alone; the component's build is where unused code
//! in it shows.

#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) mod cache;
mod ops;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
mod reader;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) mod setup;
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) mod streams;

#[cfg(test)]
mod scripted;

pub use ops::{Error, ErrorKind, Op, Outcome, Ttl};
