//! Rust types and traits for the component's worlds, generated from `wit/`. The imports are the
//! capabilities' own bindings (see [`crate::capabilities::bindings`]); only the exports are
//! generated here.
//!
//! The server world is called synchronously (its calls are short and never wait). The client
//! world's stream imports wait on the network, so the client is driven with wasmtime's async calls.

wasmtime::component::bindgen!({
    world: "server-engine",
    path: "../wit",
    ownership: Borrowing { duplicate_if_necessary: true },
    with: {
        "cachet:engine/clock": crate::capabilities::bindings::cachet::engine::clock,
        "cachet:engine/random": crate::capabilities::bindings::cachet::engine::random,
        "cachet:engine/log": crate::capabilities::bindings::cachet::engine::log,
        "cachet:engine/host-settings": crate::capabilities::bindings::cachet::engine::host_settings,
        "cachet:engine/acl-file": crate::capabilities::bindings::cachet::engine::acl_file,
    },
});

/// The `client` world: the cache adapter exported, pooled streams imported.
pub mod client {
    wasmtime::component::bindgen!({
        world: "client",
        path: "../wit",
        exports: { default: async },
        // Hosts compare requests and results (tests do).
        additional_derives: [PartialEq],
        with: {
            "cachet:engine/clock": crate::capabilities::bindings::cachet::engine::clock,
            "cachet:engine/random": crate::capabilities::bindings::cachet::engine::random,
            "cachet:engine/log": crate::capabilities::bindings::cachet::engine::log,
            "cachet:engine/streams": crate::capabilities::bindings::cachet::engine::streams,
        },
    });
}

/// The `keyvalue` world: wasi:keyvalue and cachet's expiry extension, for hosts that embed the
/// keyspace as a plugin.
pub mod keyvalue {
    wasmtime::component::bindgen!({
        world: "keyvalue",
        path: "../wit",
        // Hosts compare results (tests do).
        additional_derives: [PartialEq],
        with: {
            "cachet:engine/clock": crate::capabilities::bindings::cachet::engine::clock,
            "cachet:engine/random": crate::capabilities::bindings::cachet::engine::random,
            "cachet:engine/log": crate::capabilities::bindings::cachet::engine::log,
        },
    });
}
