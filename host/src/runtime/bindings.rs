//! Rust types and traits for the `server-engine` world, generated from `wit/`.

wasmtime::component::bindgen!({
    world: "server-engine",
    path: "../wit",
    ownership: Borrowing { duplicate_if_necessary: true },
});
