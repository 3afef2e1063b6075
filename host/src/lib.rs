//! cachet: a Redis-compatible cache server whose protocol and keyspace run inside a sandboxed
//! WebAssembly component. This crate is the native host: it owns the sockets and the timers and
//! feeds bytes to the component.
//!
//! Its modules are layers, each depending only on those below it:
//! - [`capabilities`]: what the component may ask of the host (clock, random, log, and the
//!   streams capability with its pools of connections), and the bindings of those interfaces;
//! - [`runtime`]: the engine, the compiled component and its instances, linked with the
//!   capabilities;
//! - [`server`] and [`client`]: the listeners and event loop, and the Rust client, each running
//!   instances from the runtime (`mem://` makes the client start an in-process server);
//! - [`cli`]: the `cachet` commands.

pub mod capabilities;
pub mod cli;
pub mod client;
pub mod runtime;
pub mod server;
