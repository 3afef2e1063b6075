//! Rust traits and types for the interfaces the host grants, generated from `wit/`. They live
//! with their implementations, below the runtime: the runtime's worlds reuse them rather than
//! generating their own, so every world sees the same clock, log and stream types.
//!
//! The stream imports wait on the network, so they are async host functions; a store whose
//! linker has them must be driven with wasmtime's async calls.

wasmtime::component::bindgen!({
    path: "../wit",
    inline: "
        package cachet:host;

        world capabilities {
            import cachet:engine/clock@0.1.0;
            import cachet:engine/random@0.1.0;
            import cachet:engine/log@0.1.0;
            import cachet:engine/host-settings@0.1.0;
            import cachet:engine/acl-file@0.1.0;
            import cachet:engine/streams@0.1.0;
        }
    ",
    world: "cachet:host/capabilities",
    imports: {
        "cachet:engine/streams": async | trappable,
    },
    with: {
        "cachet:engine/streams.pool": super::streams::Pool,
        "cachet:engine/streams.stream": super::streams::PooledStream,
    },
});
