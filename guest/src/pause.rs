//! CLIENT PAUSE: for a while, the engine runs no commands of any client (ALL), or none that
//! write (WRITE). A paused client's command is held, not refused: the engine leaves it
//! unconsumed in the host's buffer, and when the pause ends asks the host to feed it again.
//! While paused, keys are neither expired actively nor evicted, as in Redis, so nothing changes.

/// The pause in force, if any, and the connections whose input waits for its end.
#[derive(Debug, Default)]
pub struct Pause {
    /// Monotonic nanoseconds at which the pause ends, while one is in force.
    until_ns: Option<u64>,
    /// Every command waits, not only writes.
    all: bool,
    /// Connections holding a command back, in the order they were held.
    held: Vec<u64>,
    /// Connections whose pause ended and that the host must be told to feed again.
    released: Vec<u64>,
}

impl Pause {
    /// CLIENT PAUSE: a second pause while one is in force lasts until the later end, and holds
    /// everything if either does.
    pub fn start(&mut self, until_ns: u64, all: bool) {
        self.all = all || (self.until_ns.is_some() && self.all);
        self.until_ns = Some(self.until_ns.map_or(until_ns, |u| u.max(until_ns)));
    }

    /// CLIENT UNPAUSE, or the pause's time is up: every held connection is released.
    pub fn end(&mut self) {
        self.until_ns = None;
        self.all = false;
        self.released.append(&mut self.held);
    }

    /// Ends the pause if its time is up.
    pub fn end_if_due(&mut self, now_ns: u64) {
        if self.until_ns.is_some_and(|until| now_ns >= until) {
            self.end();
        }
    }

    pub fn is_active(&self) -> bool {
        self.until_ns.is_some()
    }

    /// Whether a command of this kind waits: any in ALL mode; in WRITE mode those that change
    /// the keyspace or reach other clients (`writes`).
    pub fn holds(&self, writes: bool) -> bool {
        self.until_ns.is_some() && (self.all || writes)
    }

    pub fn hold(&mut self, connection: u64) {
        if !self.held.contains(&connection) {
            self.held.push(connection);
        }
    }

    /// A closed connection no longer waits.
    pub fn forget(&mut self, connection: u64) {
        self.held.retain(|c| *c != connection);
        self.released.retain(|c| *c != connection);
    }

    /// The connections to feed again, oldest first.
    pub fn take_released(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.released)
    }

    pub fn has_released(&self) -> bool {
        !self.released.is_empty()
    }

    /// When the pause ends by itself.
    pub fn deadline(&self) -> Option<u64> {
        self.until_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_combine_to_the_later_end_and_the_stricter_mode() {
        let mut pause = Pause::default();
        pause.start(100, true);
        pause.start(50, false);
        assert_eq!(pause.deadline(), Some(100));
        assert!(pause.holds(false), "still ALL");
        pause.hold(7);
        pause.hold(7);
        pause.end_if_due(99);
        assert!(pause.is_active());
        pause.end_if_due(100);
        assert!(!pause.holds(true));
        assert_eq!(pause.take_released(), [7]);
        pause.start(10, false);
        assert!(!pause.holds(false) && pause.holds(true));
    }
}
