//! The clock that times commands for INFO commandstats and latencystats, SLOWLOG and LATENCY,
//! and the one limit Redis puts on work inside a single command: FUNCTION LOAD's 500 ms for a
//! library's top-level code (`scripting::slices::limit_load`).
//!
//! Everything the engine decides (expiry, deadlines, idle clients, every reply's content) follows
//! the time the host passes in with each call, so a recorded session replays to the same bytes.
//! How long a command took is a measurement, not an input: it can only change the durations these
//! statistics report, which differ from run to run as they do in Redis. The component reads the
//! host's monotonic clock import; a native build (unit tests, benchmarks) reads `Instant`.
//!
//! One reading per command: the reading that ends a command starts the next one in the same
//! engine call, so a command's duration also covers parsing it (tens of nanoseconds). The first
//! command of a call takes one more reading.

/// Nanoseconds on a monotonic clock with an arbitrary origin.
pub(crate) fn now_ns() -> u64 {
    #[cfg(test)]
    if let Some(step) = fake::STEP.get() {
        return fake::advance(step);
    }
    read()
}

#[cfg(target_family = "wasm")]
fn read() -> u64 {
    crate::bindings::monotonic_now()
}

#[cfg(not(target_family = "wasm"))]
fn read() -> u64 {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(std::time::Instant::now).elapsed().as_nanos() as u64
}

/// Where the current command's time starts: the last reading of this engine call, if any.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stopwatch {
    mark: Option<u64>,
}

impl Stopwatch {
    /// A new engine call: the last reading is from another call, with idle time in between.
    pub(crate) fn new_call(&mut self) {
        self.mark = None;
    }

    /// When the command about to run starts.
    pub(crate) fn start(&mut self) -> u64 {
        *self.mark.get_or_insert_with(now_ns)
    }

    /// Nanoseconds since `start`; the reading starts whatever runs next.
    pub(crate) fn stop(&mut self, start: u64) -> u64 {
        let now = now_ns();
        self.mark = Some(now);
        now.saturating_sub(start)
    }
}

/// Unit tests make time deterministic: every reading is `step` nanoseconds after the last one.
#[cfg(test)]
pub(crate) mod fake {
    use std::cell::Cell;

    thread_local! {
        pub(super) static STEP: Cell<Option<u64>> = const { Cell::new(None) };
        static NOW: Cell<u64> = const { Cell::new(0) };
    }

    /// Each reading on this thread from now on comes `step` nanoseconds after the previous one.
    pub(crate) fn step_by(step: u64) {
        STEP.set(Some(step));
    }

    pub(super) fn advance(step: u64) -> u64 {
        NOW.set(NOW.get() + step);
        NOW.get()
    }
}
