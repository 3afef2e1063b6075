//! `cachet:engine/log`: the component's messages become `tracing` events under the target
//! `cachet::engine`. The out-of-memory line is also kept in the store's state, so a host can tell
//! the trap that follows it (a fault at the linear-memory cap) from a bug.

use super::bindings::cachet::engine::log::{self, Level};

/// How the component's error line begins when an allocation failed: its linear memory reached the
/// host's cap. The `unreachable` trap that ends the call comes right after it.
pub const OUT_OF_MEMORY: &str = "out of memory:";

impl log::Host for super::HostState {
    fn log(&mut self, level: Level, message: String) {
        match level {
            Level::Trace => tracing::trace!(target: "cachet::engine", "{message}"),
            Level::Debug => tracing::debug!(target: "cachet::engine", "{message}"),
            Level::Info => tracing::info!(target: "cachet::engine", "{message}"),
            Level::Warn => tracing::warn!(target: "cachet::engine", "{message}"),
            Level::Error => tracing::error!(target: "cachet::engine", "{message}"),
        }
        if level == Level::Error && message.starts_with(OUT_OF_MEMORY) {
            self.out_of_memory_line = Some(message);
        }
    }
}
