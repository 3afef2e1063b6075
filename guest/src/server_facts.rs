//! Facts about the running server that commands report (HELLO, INFO, LASTSAVE).

/// The Redis version cachet answers as (HELLO, INFO): the one whose commands and replies it follows.
pub const REDIS_VERSION: &str = "7.2.4";

/// Facts fixed when the engine starts.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    /// 40 hex characters, new for every engine, as Redis's `run_id`.
    pub run_id: String,
    /// The time of the engine's first call.
    pub started: crate::time::Now,
}
