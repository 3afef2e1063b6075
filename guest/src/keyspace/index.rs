//! The hash index of a [`Table`](super::table::Table): which position in the entry vector holds
//! the key with a given hash.
//!
//! One flat array of slots, each the key's 32-bit hash and its entry's position, probed linearly:
//! a lookup reads one cache line of the index, then the entry. When the array must grow, a new one
//! of twice the size is made and the slots move over a few at a time, with every insertion and
//! removal, as Redis rehashes its dictionaries: the one thread that serves every client never
//! stops to move millions of slots at once. Until the move is done, lookups search the new array,
//! then the old one.

/// A slot: the key's 32-bit hash in the high half, a mark in the low half. An all-zero array is
/// an empty index, so a new array comes straight from fresh zeroed memory: its pages are touched
/// as slots fill, not all at once when the index grows.
type Slot = u64;

/// The mark of a slot that never held a key: a probe stops here.
const EMPTY: u32 = 0;
/// In the old array only: a key that was removed or moved; a probe goes on past it.
const GONE: u32 = u32::MAX;

fn slot(hash: u32, position: u32) -> Slot {
    (u64::from(hash) << 32) | u64::from(position + 1)
}

fn hash_of(slot: Slot) -> u32 {
    (slot >> 32) as u32
}

fn mark_of(slot: Slot) -> u32 {
    slot as u32
}

/// The position a slot holding a key stores.
fn position_of(slot: Slot) -> u32 {
    mark_of(slot) - 1
}

fn holds_key(slot: Slot) -> bool {
    mark_of(slot) != EMPTY && mark_of(slot) != GONE
}

/// Slots moved from the old array for each insertion or removal while the index grows. With the
/// new array twice the size, the move ends long before the new one fills.
const MOVE_PER_CHANGE: usize = 32;

/// Slots of the next array made empty per insertion once the index is over 5/8 full, so that
/// the array is ready (all of it written once) by the time the index is 3/4 full and grows: one
/// pass over tens of megabytes at the moment of growing would stall every client.
const PREPARE_PER_INSERT: usize = 32;

#[derive(Default)]
pub struct Index {
    slots: Box<[Slot]>,
    /// Keys in `slots`.
    len: usize,
    /// The array being moved from while the index grows, else empty.
    old: Box<[Slot]>,
    /// Keys still in `old`.
    old_len: usize,
    /// The next slot of `old` to move.
    cursor: usize,
    /// The array the index grows into next, made empty a part at a time.
    next: Vec<Slot>,
}

impl Index {
    /// The memory of its slot arrays.
    pub fn footprint(&self) -> usize {
        (self.slots.len() + self.old.len() + self.next.capacity()) * std::mem::size_of::<Slot>()
    }

    /// The position whose slot has `hash` and for which `is_key` is true.
    pub fn find(&self, hash: u32, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        if let Some(at) = probe(&self.slots, hash, &is_key) {
            return Some(position_of(self.slots[at]));
        }
        probe(&self.old, hash, &is_key).map(|at| position_of(self.old[at]))
    }

    /// Reads the slot where a lookup of `hash` starts and returns a word of it, so that a batch
    /// of lookups can wait for memory together (see [`Keyspace::warm`](super::Keyspace::warm)).
    pub fn touch(&self, hash: u32) -> u32 {
        self.slots.get(home(&self.slots, hash)).map_or(0, |slot| mark_of(*slot))
    }

    /// The first position stored with `hash`: most likely the key's, for reading ahead only.
    pub fn likely_position(&self, hash: u32) -> Option<u32> {
        probe(&self.slots, hash, &|_| true).map(|at| position_of(self.slots[at]))
    }

    /// Records that the key's entry moved to `position`. Returns false when the key is not here.
    pub fn set_position(&mut self, hash: u32, is_key: impl Fn(u32) -> bool, position: u32) -> bool {
        if let Some(at) = probe(&self.slots, hash, &is_key) {
            self.slots[at] = slot(hash, position);
        } else if let Some(at) = probe(&self.old, hash, &is_key) {
            self.old[at] = slot(hash, position);
        } else {
            return false;
        }
        true
    }

    /// Adds a key that is not in the index yet. Positions go up to `u32::MAX - 2`.
    pub fn insert(&mut self, hash: u32, position: u32) {
        self.continue_move(MOVE_PER_CHANGE);
        let keys = self.len + self.old_len + 1;
        if keys * 4 > self.slots.len() * 3 {
            self.grow();
        } else if keys * 8 > self.slots.len() * 5 {
            self.prepare_next(PREPARE_PER_INSERT);
        }
        place(&mut self.slots, slot(hash, position));
        self.len += 1;
    }

    /// Removes the key and returns its position.
    pub fn remove(&mut self, hash: u32, is_key: impl Fn(u32) -> bool) -> Option<u32> {
        self.continue_move(MOVE_PER_CHANGE);
        if let Some(at) = probe(&self.slots, hash, &is_key) {
            let position = position_of(self.slots[at]);
            close_gap(&mut self.slots, at);
            self.len -= 1;
            return Some(position);
        }
        let at = probe(&self.old, hash, &is_key)?;
        let position = position_of(self.old[at]);
        self.old[at] = u64::from(GONE);
        self.old_len -= 1;
        if self.old_len == 0 {
            self.finish_move();
        }
        Some(position)
    }

    /// Whether keys are still being moved into a grown array: lookups then search both.
    pub fn is_moving(&self) -> bool {
        self.old_len > 0
    }

    /// Moves up to `budget` more slots of a move under way. Changes move some each, but a table
    /// that stops changing right after it grew would otherwise keep searching two arrays, with a
    /// cache miss more for most lookups, until its next change.
    pub fn continue_move(&mut self, budget: usize) {
        if self.old_len > 0 {
            self.move_some(budget);
        }
    }

    /// Starts moving every key into an array twice the size. A move still under way is finished
    /// first (it never is, in practice: see [`MOVE_PER_CHANGE`]).
    fn grow(&mut self) {
        self.move_some(usize::MAX);
        self.prepare_next(usize::MAX);
        let next = std::mem::take(&mut self.next).into_boxed_slice();
        self.old = std::mem::replace(&mut self.slots, next);
        self.old_len = std::mem::take(&mut self.len);
        self.cursor = 0;
        if self.old_len == 0 {
            self.finish_move();
        }
    }

    /// Moves up to `budget` slots of the old array into the new one.
    fn move_some(&mut self, budget: usize) {
        let end = self.cursor.saturating_add(budget).min(self.old.len());
        for at in self.cursor..end {
            let moving = self.old[at];
            if holds_key(moving) {
                place(&mut self.slots, moving);
                self.len += 1;
                self.old_len -= 1;
                self.old[at] = u64::from(GONE);
            }
        }
        self.cursor = end;
        if self.old_len == 0 {
            self.finish_move();
        }
    }

    /// Makes up to `budget` more slots of the next array (twice the size of this one) empty.
    fn prepare_next(&mut self, budget: usize) {
        let size = (self.slots.len() * 2).max(8);
        if self.next.capacity() < size {
            self.next = Vec::with_capacity(size);
        }
        let end = self.next.len().saturating_add(budget).min(size);
        self.next.resize(end, u64::from(EMPTY));
    }

    fn finish_move(&mut self) {
        self.old = Box::default();
        self.cursor = 0;
    }
}

fn home(slots: &[Slot], hash: u32) -> usize {
    hash as usize & slots.len().wrapping_sub(1)
}

/// Where in `slots` the key is, following the probe sequence from its home slot.
fn probe(slots: &[Slot], hash: u32, is_key: &impl Fn(u32) -> bool) -> Option<usize> {
    if slots.is_empty() {
        return None;
    }
    let mask = slots.len() - 1;
    let mut at = home(slots, hash);
    loop {
        let here = slots[at];
        if mark_of(here) == EMPTY {
            return None;
        }
        if hash_of(here) == hash && mark_of(here) != GONE && is_key(position_of(here)) {
            return Some(at);
        }
        at = (at + 1) & mask;
    }
}

/// Puts `slot` in the first free place of its probe sequence. The array is never full.
fn place(slots: &mut [Slot], slot: Slot) {
    let mask = slots.len() - 1;
    let mut at = home(slots, hash_of(slot));
    while mark_of(slots[at]) != EMPTY {
        at = (at + 1) & mask;
    }
    slots[at] = slot;
}

/// Empties `slots[gap]` and shifts back the slots after it whose probe sequence passes the gap,
/// so every key stays reachable from its home without markers for removed keys.
fn close_gap(slots: &mut [Slot], mut gap: usize) {
    let mask = slots.len() - 1;
    let mut at = (gap + 1) & mask;
    while mark_of(slots[at]) != EMPTY {
        let distance_from_home = at.wrapping_sub(home(slots, hash_of(slots[at]))) & mask;
        let distance_to_gap = at.wrapping_sub(gap) & mask;
        if distance_from_home >= distance_to_gap {
            slots[gap] = slots[at];
            gap = at;
        }
        at = (at + 1) & mask;
    }
    slots[gap] = u64::from(EMPTY);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Hashes chosen to collide a lot (few distinct low bits), keys told apart by position.
    fn test_hash(key: u32) -> u32 {
        key.wrapping_mul(0x9E37_79B9) & 0xF000_00FF
    }

    /// Inserts and removals across many growths, checked after each step against std's map,
    /// including while a move is under way.
    #[test]
    fn agrees_with_a_map_while_growing_and_shrinking() {
        let mut index = Index::default();
        let mut model: HashMap<u32, u32> = HashMap::new();
        let mut seen_moving = false;
        for round in 0..60_000u32 {
            let key = round.wrapping_mul(7919) % 5_000;
            let hash = test_hash(key);
            // In this test the position is the key itself, so `is_key` is an equality.
            if round % 3 == 2 || model.contains_key(&key) {
                assert_eq!(index.remove(hash, |p| p == key), model.remove(&key).map(|_| key));
            } else {
                index.insert(hash, key);
                model.insert(key, key);
            }
            seen_moving |= index.old_len > 0;
            if round % 997 == 0 {
                for probe in 0..5_000 {
                    assert_eq!(index.find(test_hash(probe), |p| p == probe), model.get(&probe).copied(), "key {probe}");
                }
            }
            assert_eq!(index.len + index.old_len, model.len());
        }
        assert!(seen_moving, "the test never saw a move in progress");
    }

    #[test]
    fn positions_can_be_changed_in_either_array() {
        let mut index = Index::default();
        for key in 0..6u32 {
            index.insert(test_hash(key), key);
        }
        // The seventh key starts a move into 16 slots; some keys are still in the old array.
        index.insert(test_hash(6), 6);
        assert!(index.old_len > 0);
        for key in 0..7u32 {
            assert!(index.set_position(test_hash(key), |p| p == key, key + 100));
        }
        for key in 0..7u32 {
            assert_eq!(index.find(test_hash(key), |p| p == key + 100), Some(key + 100));
        }
        assert_eq!(index.find(test_hash(9), |_| true), None);
    }

    /// A move that no more changes drive is finished by `continue_move`, a budget at a time, and
    /// every key is found throughout.
    #[test]
    fn a_move_goes_on_without_changes() {
        let mut index = Index::default();
        let mut keys = 0u32;
        while !(index.is_moving() && index.old_len > 100) {
            index.insert(test_hash(keys), keys);
            keys += 1;
        }
        let mut steps = 0;
        while index.is_moving() {
            index.continue_move(16);
            steps += 1;
            for key in 0..keys {
                assert_eq!(index.find(test_hash(key), |p| p == key), Some(key), "key {key} after {steps} steps");
            }
        }
        assert!(steps > 1, "one step finished the move");
        assert!(index.old.is_empty());
        assert_eq!(index.len, keys as usize);
        index.continue_move(16);
        assert_eq!(index.len, keys as usize);
    }
}
