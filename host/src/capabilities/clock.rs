//! `cachet:engine/clock`: a monotonic clock for deadlines and the wall clock for absolute expiry.

use super::bindings::cachet::engine::clock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The monotonic clock counts from a fixed origin, shared by every instance the process creates so
/// that deadlines stay comparable when a faulted instance is replaced.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock { origin: Instant::now() }
    }

    /// Nanoseconds since the origin; starts at one second so that 0 never means "now".
    pub fn monotonic_ns(&self) -> u64 {
        1_000_000_000 + self.origin.elapsed().as_nanos() as u64
    }

    /// Milliseconds since the Unix epoch.
    pub fn wall_ms(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
    }

    /// The instant a monotonic reading refers to.
    pub fn instant_at(&self, monotonic_ns: u64) -> Instant {
        self.origin + std::time::Duration::from_nanos(monotonic_ns.saturating_sub(1_000_000_000))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl clock::Host for super::HostState {
    fn monotonic_now(&mut self) -> u64 {
        self.clock.monotonic_ns()
    }

    fn wall_now(&mut self) -> u64 {
        self.clock.wall_ms()
    }
}
