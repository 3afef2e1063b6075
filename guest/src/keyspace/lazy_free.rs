//! Lazy freeing of big values, as Redis's lazyfree does it.
//!
//! One thread serves every client, so dropping a set of a million members where it is deleted
//! would stop every other client for as long as a million frees take. A value whose freeing
//! releases more than [`LAZYFREE_THRESHOLD`] blocks (Redis's threshold and effort measure) goes to
//! a queue instead, whatever removed it — DEL, UNLINK, an overwrite, expiry, eviction, FLUSHDB —
//! and the engine frees the queue a bounded slice at a time, after each call and on timer ticks.
//! Smaller values are freed at once: queueing them would cost more than freeing them.
//!
//! Memory accounting: `used_memory` is what the allocator really holds, so it drops as the queue
//! drains, not when the key goes. Eviction knows this: before it removes another key to get under
//! `maxmemory`, it frees what is queued (see `commands::make_room`), so a big evicted key is not
//! followed by keys evicted for nothing.

use super::Value;

/// Values that release more blocks than this when freed are freed lazily (Redis's
/// `LAZYFREE_THRESHOLD`).
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Something being freed piece by piece: each step of the iterator frees one piece, and may hand
/// back a value the piece held (a key of a flushed database), which is disposed of in turn.
type Pieces = Box<dyn Iterator<Item = Option<Value>>>;

struct Pending {
    /// How many objects INFO counts for it: 1 for a value, its keys for a flushed database.
    objects: u64,
    pieces: Pieces,
}

/// The queue of values being freed.
#[derive(Default)]
pub struct LazyFree {
    /// A stack: a value a flushed database hands back is freed before the database goes on, so
    /// the database is counted freed only when all it held is.
    pending: Vec<Pending>,
    pending_objects: u64,
}

impl LazyFree {
    /// Frees `value` now if that is cheap, else queues it.
    pub fn dispose(&mut self, value: Value) {
        self.dispose_counted(value, 1);
    }

    /// [`LazyFree::dispose`] for a value that counts as `objects` in INFO: 0 for one a flushed
    /// database hands back, which its database already counts.
    fn dispose_counted(&mut self, value: Value, objects: u64) {
        if value.free_effort() > LAZYFREE_THRESHOLD {
            self.queue(objects, Box::new(value.into_pieces().map(|()| None)));
        }
    }

    /// Frees the `objects` keys of a flushed database: at once when they are few, else through
    /// the queue.
    pub fn dispose_keys(&mut self, objects: usize, pieces: Pieces) {
        if objects > LAZYFREE_THRESHOLD {
            self.queue(objects as u64, pieces);
        } else {
            pieces.flatten().for_each(|value| self.dispose(value));
        }
    }

    fn queue(&mut self, objects: u64, pieces: Pieces) {
        self.pending_objects += objects;
        self.pending.push(Pending { objects, pieces });
    }

    /// Objects queued and not yet freed (INFO's `lazyfree_pending_objects`).
    pub fn pending_objects(&self) -> u64 {
        self.pending_objects
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Frees up to `budget` pieces of what is queued. Returns how many objects were freed
    /// completely (INFO's `lazyfreed_objects` counts them).
    pub fn free(&mut self, budget: usize) -> u64 {
        let mut freed = 0;
        let mut spent = 0;
        while spent < budget {
            let Some(top) = self.pending.last_mut() else { break };
            match top.pieces.next() {
                Some(held) => {
                    spent += 1;
                    if let Some(value) = held {
                        spent += value.free_effort().min(LAZYFREE_THRESHOLD);
                        self.dispose_counted(value, 0);
                    }
                }
                None => {
                    let done = self.pending.pop().map_or(0, |p| p.objects);
                    self.pending_objects -= done;
                    freed += done;
                }
            }
        }
        freed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Set, SetLimits};

    fn set_of(members: usize) -> Value {
        let limits = SetLimits { max_intset_entries: 512, max_listpack_entries: 128, max_listpack_value: 64, seed: 1 };
        Value::Set(Box::new(Set::from_members((0..members).map(|i| format!("m{i}")), &limits)))
    }

    #[test]
    fn small_values_are_freed_at_once_and_big_ones_in_slices() {
        let mut lazy = LazyFree::default();
        lazy.dispose(set_of(LAZYFREE_THRESHOLD));
        assert!(lazy.is_empty());
        lazy.dispose(set_of(1_000));
        assert_eq!(lazy.pending_objects(), 1);
        assert_eq!(lazy.free(400), 0);
        assert_eq!(lazy.free(400), 0);
        assert_eq!(lazy.free(400), 1);
        assert!(lazy.is_empty());
        assert_eq!(lazy.pending_objects(), 0);
    }

    #[test]
    fn a_flushed_database_counts_its_keys_and_frees_big_values_first() {
        let mut lazy = LazyFree::default();
        let keys: Vec<Value> = (0..100).map(|i| if i == 50 { set_of(500) } else { Value::from_bytes(b"v") }).collect();
        lazy.dispose_keys(100, Box::new(keys.into_iter().map(Some)));
        assert_eq!(lazy.pending_objects(), 100);
        // Each key costs 2 (its entry and its string), the big set 1 + 64 for handing it on and
        // 500 for its members: 765 in all.
        assert_eq!(lazy.free(600), 0);
        assert_eq!(lazy.pending.len(), 2, "the set is being freed, on top of its database");
        assert_eq!(lazy.free(200), 100);
        assert!(lazy.is_empty());
    }
}
