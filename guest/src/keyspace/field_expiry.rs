//! Expiry of single hash fields (HEXPIRE and friends), lazy and active, as for keys: a field whose
//! time has passed is removed when a command next opens its hash ([`Keyspace::reap_fields`]), and
//! [`Keyspace::expire_fields`], run with the active key expiry on every timer tick, visits hashes
//! from each database's index of hashes with field TTLs. A hash whose last field goes is deleted.

use super::Keyspace;
use crate::notify;
#[cfg(test)]
use super::Value;
use crate::rng::Rng;

/// Hashes visited per database and tick, and the most fields one visit removes, so a tick's work
/// stays bounded however many fields expire at once.
const HASHES_PER_TICK: usize = 20;
const FIELDS_PER_VISIT: usize = 100;

impl Keyspace {
    /// Records that the hash at `key` has (or may have) fields with a TTL. The index may name a
    /// hash that has none any more; the active cycle drops such names when it meets them.
    pub fn note_field_ttls(&mut self, db: usize, key: &[u8]) {
        self.note_expiring(db);
        let index = &mut self.dbs[db].field_ttls;
        if index.get(key).is_none() {
            index.insert(key.into(), ());
        }
    }

    /// Removes the expired fields of the hash at `key` (at most `limit`), deleting the hash if
    /// none is left. Returns how many fields went. Does nothing to other types or missing keys.
    fn reap(&mut self, db: usize, key: &[u8], now: u64, limit: usize) -> usize {
        let Some(hash) = self.dbs[db].entries.get_mut(key).and_then(|e| e.value.as_hash_mut()) else {
            self.dbs[db].field_ttls.swap_remove(key);
            return 0;
        };
        let removed = hash.remove_expired(now, limit);
        let (empty, ttls_left) = (hash.is_empty(), hash.has_field_ttls());
        self.stats.expired_subkeys += removed as u64;
        if removed > 0 {
            self.events.note(notify::HASH, "hexpired", db, key);
        }
        if empty {
            self.remove(db, key);
            self.events.note(notify::GENERIC, "del", db, key);
        } else if !ttls_left {
            self.dbs[db].field_ttls.swap_remove(key);
        }
        removed
    }

    /// Lazy field expiry: run by every hash command before it reads or changes the hash.
    pub fn reap_fields(&mut self, db: usize, key: &[u8], now: u64) {
        // Every hash read comes here first: without field TTLs in the database, it costs no lookup.
        if self.dbs[db].field_ttls.is_empty() {
            return;
        }
        let has_ttls = self.dbs[db].entries.get(key).and_then(|e| e.value.as_hash()).is_some_and(|h| h.has_field_ttls());
        if has_ttls {
            self.reap(db, key, now, usize::MAX);
        }
    }

    /// Active field expiry: visits up to [`HASHES_PER_TICK`] random hashes of each database's
    /// index and removes their expired fields, within `max_fields` fields in all.
    pub(super) fn expire_fields(&mut self, rng: &mut Rng, now: u64, max_fields: usize) {
        let mut budget = max_fields;
        for db in 0..self.dbs.len() {
            for _ in 0..HASHES_PER_TICK {
                let len = self.dbs[db].field_ttls.len();
                if len == 0 || budget == 0 {
                    break;
                }
                let index = rng.below(len as u64) as usize;
                let Some(key) = self.dbs[db].field_ttls.get_index(index).map(|(k, _)| k.clone()) else { break };
                let removed = self.reap(db, &key, now, FIELDS_PER_VISIT.min(budget));
                budget = budget.saturating_sub(removed.max(1));
            }
        }
    }

    /// The earliest field expiry of any hash in the index, for tests and INFO-like questions.
    #[cfg(test)]
    pub fn next_field_expiry(&self, db: usize) -> Option<u64> {
        self.dbs[db]
            .field_ttls
            .iter()
            .filter_map(|(key, _)| self.dbs[db].entries.get(key))
            .filter_map(|e| match &e.value {
                Value::Hash(h) => h.next_field_expiry(),
                _ => None,
            })
            .min()
    }

    /// How many fields the hash at `key` has, without counting a use; `None` for no hash.
    pub fn peek_hash_len(&self, db: usize, key: &[u8]) -> Option<usize> {
        self.dbs[db].entries.get(key).and_then(|e| e.value.as_hash()).map(|h| h.len())
    }

    /// Hashes in the index of hashes with field TTLs.
    #[cfg(test)]
    pub fn field_ttl_hashes(&self, db: usize) -> usize {
        self.dbs[db].field_ttls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Hash, HashLimits, Keyspace, Value};
    use crate::rng::Rng;

    const LIMITS: HashLimits = HashLimits { entries: 128, value: 64, seed: 1 };

    #[test]
    fn active_cycle_removes_expired_fields_and_empty_hashes() {
        let mut ks = Keyspace::new(1, 3);
        let mut rng = Rng::new(1);
        for i in 0..50u32 {
            let mut h = Hash::new();
            h.set(b"keep", b"v", if i % 2 == 0 { None } else { Some(1_000) }, LIMITS);
            h.set(b"gone", b"v", Some(500), LIMITS);
            ks.set(0, &i.to_be_bytes(), Value::Hash(Box::new(h)), None, 0);
        }
        assert_eq!(ks.field_ttl_hashes(0), 50);
        assert_eq!(ks.next_field_expiry(0), Some(500));
        for _ in 0..200 {
            ks.expire_cycle(&mut rng, 2_000, 2_000);
        }
        assert_eq!(ks.len(0), 25, "hashes whose every field expired are gone");
        assert_eq!(ks.field_ttl_hashes(0), 0);
        assert_eq!(ks.stats.expired_subkeys, 75);
        assert!(!ks.has_volatile());
    }

    #[test]
    fn one_tick_removes_a_bounded_number_of_fields() {
        let mut ks = Keyspace::new(1, 3);
        let mut rng = Rng::new(1);
        let mut h = Hash::new();
        for i in 0..5_000u32 {
            h.set(&i.to_be_bytes(), b"v", Some(10), LIMITS);
        }
        ks.set(0, b"big", Value::Hash(Box::new(h)), None, 0);
        ks.expire_cycle(&mut rng, 100, 2_000);
        let left = ks.peek_hash_len(0, b"big").unwrap_or(0);
        assert!((3_000..5_000).contains(&left), "{left} fields left after one tick");
        for _ in 0..100 {
            ks.expire_cycle(&mut rng, 100, 2_000);
        }
        assert_eq!(ks.len(0), 0);
        assert_eq!(ks.stats.expired_subkeys, 5_000);
    }
}
