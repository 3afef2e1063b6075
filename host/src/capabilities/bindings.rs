//! Rust traits and types for the interfaces the host grants, generated from `wit/`. They live
//! with their implementations, below the runtime: the runtime's worlds reuse them rather than
//! generating their own, so every world sees the same clock, log and stream types.
//!
//! The stream imports that wait on the network are async host functions; a store whose linker has
//! them must be driven with wasmtime's async calls. Those that never wait (giving a stream back,
//! closing one, asking whether it is fresh) are plain calls: an async host function costs a boxed
//! future and a poll on every call, and the client makes some of these on every batch.

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
        "cachet:engine/streams.[method]pool.release": trappable,
        "cachet:engine/streams.[method]pool.discard": trappable,
        "cachet:engine/streams.[method]pool.endpoint": trappable,
        "cachet:engine/streams.[drop]pool": trappable,
        "cachet:engine/streams.[method]stream.fresh": trappable,
        "cachet:engine/streams.[method]stream.close": trappable,
        "cachet:engine/streams.[drop]stream": trappable,
        "cachet:engine/streams": async | trappable,
    },
    with: {
        "cachet:engine/streams.pool": super::streams::Pool,
        "cachet:engine/streams.stream": super::streams::PooledStream,
    },
});
