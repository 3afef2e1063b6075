//! Rust types and traits for the component's worlds, generated from `wit/`.
//!
//! The server world is called synchronously (its calls are short and never wait). The client
//! world's stream imports wait on the network, so they are async host functions and the client is
//! driven with wasmtime's async calls.

wasmtime::component::bindgen!({
    world: "server-engine",
    path: "../wit",
    ownership: Borrowing { duplicate_if_necessary: true },
    with: {
        "cachet:engine/random": crate::runtime::bindings::keyvalue::cachet::engine::random,
        "cachet:engine/log": crate::runtime::bindings::keyvalue::cachet::engine::log,
    },
});

/// The `client` world: the cache adapter exported, pooled streams imported.
pub mod client {
    wasmtime::component::bindgen!({
        world: "client",
        path: "../wit",
        imports: {
            "cachet:engine/streams": async | trappable,
        },
        exports: { default: async },
        with: {
            "cachet:engine/clock": crate::runtime::bindings::keyvalue::cachet::engine::clock,
            "cachet:engine/random": crate::runtime::bindings::keyvalue::cachet::engine::random,
            "cachet:engine/log": crate::runtime::bindings::keyvalue::cachet::engine::log,
            "cachet:engine/streams.pool": crate::client::pool::Pool,
            "cachet:engine/streams.stream": crate::client::pool::PooledStream,
        },
    });
}

/// The `keyvalue` world: wasi:keyvalue and cachet's expiry extension, for hosts that embed the
/// keyspace as a plugin. It imports every one of cachet's plain capabilities (clock, random, log),
/// so their host traits are generated here and the other worlds reuse them.
pub mod keyvalue {
    wasmtime::component::bindgen!({
        world: "keyvalue",
        path: "../wit",
    });
}
