//! The engine component's bytes, built from `guest/` by this crate's build script.
//!
//! Kept apart from the host crate so that editing the guest rebuilds only this small crate and
//! relinks the host, instead of recompiling the host's generated bindings.
//!
//! Each component is a `static`, so that [`digest_of`] can recognise it by its address.

/// The WebAssembly component (`wasm32-wasip2`) that implements every world (`cachet`): the one the
/// `cachet` binary runs.
pub static WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_guest.wasm"));

/// The same engine without Lua scripting (EVAL and SCRIPT answer as unknown commands): Lua's
/// errors are Wasm exceptions, which runtimes such as jco cannot run yet.
pub static WASM_WITHOUT_LUA: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_guest_without_lua.wasm"));

/// Whether the component was built with fault injection (the `fault-injection` feature): DEBUG
/// PANIC and DEBUG SPIN make it fault.
pub const FAULT_INJECTION: bool = cfg!(feature = "fault-injection");

/// The engine built for the `keyvalue` world alone: it imports cachet's clock, random and log, and
/// nothing from WASI.
pub static KEYVALUE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_keyvalue.wasm"));

/// The engine built for the `server-engine` world alone: clock, random and log, no WASI.
pub static SERVER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_server.wasm"));

/// The cache client built for the `client` world alone: clock, random, log and streams, no WASI.
pub static CLIENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cachet_client.wasm"));

/// Each component above with the digest of its bytes, made when it was built. The digests are
/// held in this table rather than as string literals: a literal would sit among the components'
/// megabytes, and reading it at start-up would bring a stretch of them into memory.
static DIGESTS: [(&[u8], [u8; DIGEST_LEN]); 5] = [
    (WASM, *include_bytes!(concat!(env!("OUT_DIR"), "/cachet_guest.wasm.digest"))),
    (WASM_WITHOUT_LUA, *include_bytes!(concat!(env!("OUT_DIR"), "/cachet_guest_without_lua.wasm.digest"))),
    (KEYVALUE, *include_bytes!(concat!(env!("OUT_DIR"), "/cachet_keyvalue.wasm.digest"))),
    (SERVER, *include_bytes!(concat!(env!("OUT_DIR"), "/cachet_server.wasm.digest"))),
    (CLIENT, *include_bytes!(concat!(env!("OUT_DIR"), "/cachet_client.wasm.digest"))),
];

/// A digest's length: sixteen hex digits of the hash, eight of the length (see the build script).
const DIGEST_LEN: usize = 24;

/// The build-time digest of `wasm` when it is one of the components above (the same bytes at the
/// same address), else `None`. A host names its cache of the compiled component with it rather
/// than hashing megabytes of component at every start, which would also bring them all into memory.
pub fn digest_of(wasm: &[u8]) -> Option<&'static str> {
    let (_, digest) = DIGESTS.iter().find(|(bytes, _)| std::ptr::eq(*bytes, wasm))?;
    std::str::from_utf8(digest).ok()
}
