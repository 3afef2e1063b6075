//! The time of one call into the engine. The engine never reads a clock: the host passes the time
//! in with every call, so the same inputs at the same times always give the same outputs.

/// The time of the call being served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Now {
    /// Milliseconds since the Unix epoch: key expiry, TIME, creation times.
    pub wall_ms: u64,
    /// Nanoseconds on the host's monotonic clock: deadlines, idle times, rates.
    pub mono_ns: u64,
}

impl Now {
    /// The monotonic time `ms` milliseconds after this one.
    pub fn mono_after_ms(self, ms: u64) -> u64 {
        self.mono_ns.saturating_add(ms.saturating_mul(1_000_000))
    }
}
