//! The near cache's local store: values by key, bounded by entries and bytes with the least
//! recently used dropped first, and the keys whose server reads are in flight.
//!
//! A read's reply and the invalidation for the same key travel on different connections, so the
//! invalidation can arrive first. Each read therefore takes a token before it asks the server; an
//! invalidation (or a clear) for the key voids the token, and a reply whose token is void is not
//! stored.

use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// One stored value (`None`: the server had no such key, which is tracked like any read).
struct Entry {
    value: Option<Bytes>,
    /// Its place in the recency order.
    tick: u64,
    /// The local time-to-live cap, if any.
    expires: Option<Instant>,
}

/// What a lookup found.
pub(super) enum Lookup {
    Hit(Option<Bytes>),
    Miss,
}

pub(super) struct Local {
    entries: HashMap<Bytes, Entry>,
    /// Ticks to keys, least recently used first.
    order: BTreeMap<u64, Bytes>,
    tick: u64,
    bytes: usize,
    in_flight: HashMap<Bytes, u64>,
    max_entries: usize,
    max_bytes: usize,
}

impl Local {
    pub(super) fn new(max_entries: usize, max_bytes: usize) -> Local {
        Local { entries: HashMap::new(), order: BTreeMap::new(), tick: 0, bytes: 0, in_flight: HashMap::new(), max_entries, max_bytes }
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The value if it is here and within its local time to live; a hit becomes the most recent.
    pub(super) fn lookup(&mut self, key: &[u8], now: Instant) -> Lookup {
        let tick = self.next_tick();
        let Some(entry) = self.entries.get_mut(key) else { return Lookup::Miss };
        if entry.expires.is_some_and(|at| at <= now) {
            self.remove(key);
            return Lookup::Miss;
        }
        let old = std::mem::replace(&mut entry.tick, tick);
        let value = entry.value.clone();
        if let Some(key) = self.order.remove(&old) {
            self.order.insert(tick, key);
        }
        Lookup::Hit(value)
    }

    /// A token for a server read of `key`; it replaces any earlier read's.
    pub(super) fn begin(&mut self, key: &[u8]) -> u64 {
        let token = self.next_tick();
        self.in_flight.insert(Bytes::copy_from_slice(key), token);
        token
    }

    /// Stores a read's reply if its token still holds; returns how many entries were evicted to
    /// make room.
    pub(super) fn finish(&mut self, key: &[u8], token: u64, value: Option<Bytes>, expires: Option<Instant>) -> u64 {
        if self.in_flight.get(key) != Some(&token) {
            return 0;
        }
        self.in_flight.remove(key);
        self.remove(key);
        let size = key.len() + value.as_ref().map_or(0, Bytes::len);
        if size > self.max_bytes || self.max_entries == 0 {
            return 0;
        }
        let key = Bytes::copy_from_slice(key);
        let tick = self.next_tick();
        self.order.insert(tick, key.clone());
        self.entries.insert(key, Entry { value, tick, expires });
        self.bytes += size;
        self.evict()
    }

    /// A read that failed gives up its token.
    pub(super) fn cancel(&mut self, key: &[u8], token: u64) {
        if self.in_flight.get(key) == Some(&token) {
            self.in_flight.remove(key);
        }
    }

    /// Drops the key and voids a read of it in flight; whether a value was dropped.
    pub(super) fn invalidate(&mut self, key: &[u8]) -> bool {
        self.in_flight.remove(key);
        self.remove(key)
    }

    /// Drops every value; reads in flight may still store theirs.
    pub(super) fn drop_values(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }

    /// Drops everything, reads in flight included.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
        self.in_flight.clear();
        self.bytes = 0;
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        let Some((key, entry)) = self.entries.remove_entry(key) else { return false };
        self.order.remove(&entry.tick);
        self.bytes -= key.len() + entry.value.as_ref().map_or(0, Bytes::len);
        true
    }

    fn evict(&mut self) -> u64 {
        let mut evicted = 0;
        while self.entries.len() > self.max_entries || self.bytes > self.max_bytes {
            let Some((_, key)) = self.order.pop_first() else { break };
            self.remove(&key);
            evicted += 1;
        }
        evicted
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(local: &mut Local, key: &str) -> Option<Option<Bytes>> {
        match local.lookup(key.as_bytes(), Instant::now()) {
            Lookup::Hit(value) => Some(value),
            Lookup::Miss => None,
        }
    }

    fn store(local: &mut Local, key: &str, value: &str) -> u64 {
        let token = local.begin(key.as_bytes());
        local.finish(key.as_bytes(), token, Some(Bytes::from(value.to_string())), None)
    }

    #[test]
    fn least_recently_used_goes_first() {
        let mut local = Local::new(2, 1 << 20);
        store(&mut local, "a", "1");
        store(&mut local, "b", "2");
        assert!(hit(&mut local, "a").is_some());
        assert_eq!(store(&mut local, "c", "3"), 1);
        assert!(hit(&mut local, "b").is_none(), "b was the least recently used");
        assert!(hit(&mut local, "a").is_some() && hit(&mut local, "c").is_some());
    }

    #[test]
    fn bytes_bound_the_store() {
        let mut local = Local::new(100, 10);
        store(&mut local, "a", "1234");
        store(&mut local, "b", "1234");
        assert_eq!(local.bytes(), 10);
        assert_eq!(store(&mut local, "c", "1"), 1);
        assert_eq!((local.len(), local.bytes()), (2, 7));
        assert_eq!(store(&mut local, "big", "12345678901"), 0, "too big to keep: not stored, nothing evicted");
        assert_eq!(local.len(), 2);
    }

    #[test]
    fn an_invalidation_during_a_read_voids_its_reply() {
        let mut local = Local::new(10, 1000);
        let token = local.begin(b"k");
        assert!(!local.invalidate(b"k"));
        local.finish(b"k", token, Some(Bytes::from("stale")), None);
        assert!(hit(&mut local, "k").is_none());

        let token = local.begin(b"k");
        local.clear();
        local.finish(b"k", token, Some(Bytes::from("stale")), None);
        assert!(hit(&mut local, "k").is_none());

        let first = local.begin(b"k");
        let second = local.begin(b"k");
        local.finish(b"k", first, Some(Bytes::from("older")), None);
        assert!(hit(&mut local, "k").is_none(), "only the latest read stores");
        local.finish(b"k", second, Some(Bytes::from("newer")), None);
        assert_eq!(hit(&mut local, "k"), Some(Some(Bytes::from("newer"))));
    }

    #[test]
    fn the_local_ttl_ends_a_value() {
        let mut local = Local::new(10, 1000);
        let token = local.begin(b"k");
        local.finish(b"k", token, None, Some(Instant::now()));
        assert!(hit(&mut local, "k").is_none());
        assert_eq!(local.len(), 0);
    }
}
