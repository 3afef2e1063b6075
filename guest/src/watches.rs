//! WATCH: which connections watch which keys, and which of them have seen a watched key change
//! since. EXEC of a connection that has fails (a null reply), as Redis's optimistic locking does.

use crate::keyspace::Key;
use foldhash::fast::FixedState;
use smallvec::SmallVec;
use std::collections::{HashMap, HashSet};

/// A key one connection watches.
#[derive(Debug, Clone)]
pub struct WatchedKey {
    pub db: usize,
    pub key: Key,
    /// Whether the key existed when WATCH ran: if it is gone by EXEC (expired, though nobody
    /// deleted it yet), the transaction fails.
    pub existed: bool,
}

#[derive(Default)]
pub struct Watches {
    by_key: HashMap<(usize, Key), SmallVec<[u64; 2]>, FixedState>,
    by_connection: HashMap<u64, Vec<WatchedKey>, FixedState>,
    dirty: HashSet<u64, FixedState>,
}

impl Watches {
    /// Whether anybody watches anything: while nobody does, the keyspace keeps no record of changes.
    pub fn is_empty(&self) -> bool {
        self.by_connection.is_empty()
    }

    pub fn watch(&mut self, connection: u64, db: usize, key: &[u8], existed: bool) {
        let keys = self.by_connection.entry(connection).or_default();
        if keys.iter().any(|w| w.db == db && w.key.is(key)) {
            return;
        }
        keys.push(WatchedKey { db, key: key.into(), existed });
        self.by_key.entry((db, key.into())).or_default().push(connection);
    }

    /// UNWATCH, and what EXEC, DISCARD, RESET and a closed connection do.
    pub fn unwatch(&mut self, connection: u64) {
        self.dirty.remove(&connection);
        let Some(keys) = self.by_connection.remove(&connection) else { return };
        for watched in keys {
            let slot = (watched.db, watched.key);
            if let Some(watchers) = self.by_key.get_mut(&slot) {
                watchers.retain(|c| *c != connection);
                if watchers.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
    }

    /// A key changed: every connection watching it will fail its EXEC.
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        // Changes are also recorded for tracking and blocked clients: no look-up while nobody
        // watches.
        if self.by_key.is_empty() {
            return;
        }
        if let Some(watchers) = self.by_key.get(&(db, Key::from(key))) {
            self.dirty.extend(watchers.iter().copied());
        }
    }

    /// A whole database changes (FLUSHDB, FLUSHALL, SWAPDB): the watched keys of `db` for which
    /// `affected` holds are touched.
    pub fn touch_db(&mut self, db: usize, mut affected: impl FnMut(&[u8]) -> bool) {
        for ((watched_db, key), watchers) in &self.by_key {
            if *watched_db == db && affected(key) {
                self.dirty.extend(watchers.iter().copied());
            }
        }
    }

    pub fn is_dirty(&self, connection: u64) -> bool {
        self.dirty.contains(&connection)
    }

    /// The keys a connection watches.
    pub fn watched(&self, connection: u64) -> &[WatchedKey] {
        self.by_connection.get(&connection).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_marks_only_the_connections_watching_that_key() {
        let mut watches = Watches::default();
        watches.watch(1, 0, b"a", true);
        watches.watch(2, 0, b"a", false);
        watches.watch(3, 1, b"a", false);
        watches.touch(0, b"a");
        assert!(watches.is_dirty(1) && watches.is_dirty(2) && !watches.is_dirty(3));
        watches.unwatch(1);
        assert!(!watches.is_dirty(1) && watches.watched(1).is_empty());
        watches.touch_db(1, |key| key == b"a");
        assert!(watches.is_dirty(3));
        watches.unwatch(2);
        watches.unwatch(3);
        assert!(watches.is_empty() && watches.by_key.is_empty());
    }
}
