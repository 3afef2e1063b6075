//! Facts about the running server that commands report (HELLO, INFO, LASTSAVE).

/// The Redis version cachet answers as (HELLO, INFO): the one whose commands and replies it follows.
/// 7.4 is the first with per-field hash TTLs (HEXPIRE and its family), so clients that check the
/// version before using them do; HGETEX, HSETEX and HGETDEL (Redis 8.0) are served as well.
pub const REDIS_VERSION: &str = "7.4.0";

/// Facts fixed when the engine starts.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    /// 40 hex characters, new for every engine, as Redis's `run_id`.
    pub run_id: String,
    /// The time of the engine's first call.
    pub started: crate::time::Now,
    /// Bytes allocated at the engine's first call: MEMORY STATS's `startup.allocated`.
    pub startup_allocated: usize,
}
