//! cachet: a Redis-compatible cache server whose protocol and keyspace run inside a sandboxed
//! WebAssembly component. This crate is the native host: it owns the sockets and the timers and
//! feeds bytes to the component.

pub mod capabilities;
pub mod cli;
pub mod client;
pub mod runtime;
pub mod server;
