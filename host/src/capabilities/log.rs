//! `cachet:engine/log`: the component's messages become `tracing` events under the target
//! `cachet::engine`.

use super::bindings::cachet::engine::log::{self, Level};

impl log::Host for super::HostState {
    fn log(&mut self, level: Level, message: String) {
        match level {
            Level::Trace => tracing::trace!(target: "cachet::engine", "{message}"),
            Level::Debug => tracing::debug!(target: "cachet::engine", "{message}"),
            Level::Info => tracing::info!(target: "cachet::engine", "{message}"),
            Level::Warn => tracing::warn!(target: "cachet::engine", "{message}"),
            Level::Error => tracing::error!(target: "cachet::engine", "{message}"),
        }
    }
}
