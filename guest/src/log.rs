//! Logging through the host's `log` import. Only the component installs a sink; natively (unit
//! tests, benchmarks) messages go nowhere.

use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
}

type Sink = fn(Level, &str);

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends every later message to `sink`. Only the first call has an effect.
#[cfg(target_family = "wasm")]
pub fn set_sink(sink: Sink) {
    let _ = SINK.set(sink);
}

pub fn log(level: Level, message: &str) {
    if let Some(sink) = SINK.get() {
        sink(level, message);
    }
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn debug(message: &str) {
    log(Level::Debug, message);
}
