//! wit-bindgen glue for the `cachet` world: one module per exported interface, conversions only.
//!
//! A `world-*` feature builds one world alone (`keyvalue`, `server-engine` or `client`): its
//! exports, and imports it names and nothing else, so a host of that world stubs nothing. The
//! default build implements every world.

#[cfg(any(
    all(feature = "world-keyvalue", feature = "world-server"),
    all(feature = "world-keyvalue", feature = "world-client"),
    all(feature = "world-server", feature = "world-client"),
))]
compile_error!("build at most one world-* feature at a time: each makes a component of its own");

#[cfg(not(any(feature = "world-keyvalue", feature = "world-server")))]
mod cache;
#[cfg(not(any(feature = "world-server", feature = "world-client")))]
mod keyvalue;
#[cfg(not(any(feature = "world-server", feature = "world-client")))]
mod keyvalue_draft;
#[cfg(not(any(feature = "world-keyvalue", feature = "world-client")))]
mod server;

#[cfg(not(any(feature = "world-keyvalue", feature = "world-server", feature = "world-client")))]
wit_bindgen::generate!({ world: "cachet", path: "../wit" });
#[cfg(feature = "world-keyvalue")]
wit_bindgen::generate!({ world: "keyvalue", path: "../wit" });
#[cfg(feature = "world-server")]
wit_bindgen::generate!({ world: "server-engine", path: "../wit" });
#[cfg(feature = "world-client")]
wit_bindgen::generate!({ world: "client", path: "../wit" });

use crate::engine::Engine;
use cachet::engine::{log, random};
use std::cell::RefCell;

struct Component;

/// The host's monotonic clock, which [`crate::stopwatch`] reads to time commands.
pub(crate) fn monotonic_now() -> u64 {
    cachet::engine::clock::monotonic_now()
}

export!(Component);

thread_local! {
    // One engine per instance, shared by the server and key-value exports. A component instance
    // runs one call at a time, on one thread.
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

/// Runs `f` on the instance's engine, made on first use. Every export's body comes through here,
/// so an allocation that fails in one is reported through `log`.
fn with_engine<T>(f: impl FnOnce(&mut Engine) -> T) -> T {
    crate::memory::reporting_failures(|| {
        ENGINE.with_borrow_mut(|slot| {
            let engine = slot.get_or_insert_with(|| {
                install_log();
                #[allow(unused_mut)]
                let mut engine = Engine::new(random::random_u64());
                #[cfg(not(any(feature = "world-keyvalue", feature = "world-client")))]
                {
                    engine.set_host_settings(Box::new(|changes| cachet::engine::host_settings::apply(changes)));
                    engine.set_acl_file(Box::new(HostAclFile));
                }
                engine
            });
            f(engine)
        })
    })
}

/// The ACL file, as the host's `acl-file` import reaches it.
#[cfg(not(any(feature = "world-keyvalue", feature = "world-client")))]
struct HostAclFile;

#[cfg(not(any(feature = "world-keyvalue", feature = "world-client")))]
impl crate::acl::file::AclFile for HostAclFile {
    fn read(&mut self) -> Result<Vec<u8>, String> {
        cachet::engine::acl_file::read()
    }

    fn write(&mut self, contents: &[u8]) -> Result<(), String> {
        cachet::engine::acl_file::write(contents)
    }
}

/// Sends the engine's log and panic messages to the host's `log` import.
fn install_log() {
    crate::log::set_sink(send_log);
    std::panic::set_hook(Box::new(report_panic));
}

/// A panic aborts the component (the host sees a trap). Its message goes to the host's log rather
/// than to stderr: the host grants no usable stdio, and writing there must never be attempted.
fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    log::log(log::Level::Error, &format!("engine panic: {info}"));
}

/// Sends the allocator's out-of-memory line straight to the host's `log` import: it can come
/// before any engine exists (while the host hands over a call's arguments), and the import takes
/// the message from linear memory as it is, so reporting allocates nothing.
pub(crate) fn log_out_of_memory(message: &str) {
    log::log(log::Level::Error, message);
}

fn send_log(level: crate::log::Level, message: &str) {
    log::log(level.into(), message);
}

impl From<crate::log::Level> for log::Level {
    fn from(level: crate::log::Level) -> Self {
        use crate::log::Level as L;
        match level {
            L::Debug => log::Level::Debug,
            L::Info => log::Level::Info,
            L::Warn => log::Level::Warn,
        }
    }
}
