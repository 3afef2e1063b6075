//! The table a database keeps its keys in: the entries in one dense vector, so a key can be
//! picked at random or visited by position (RANDOMKEY, eviction and expiry sampling, SCAN), and a
//! hash index of their positions.
//!
//! The index keeps each key's hash beside its position. When the index grows it rehashes from
//! what it holds, reading its own memory in order, and never the entries, which are spread over
//! far more of it: a table of millions of keys grows in a fraction of the time, and the one
//! thread that serves every client stalls that much less. The stored hash also lets a lookup
//! pass over a slot whose hash differs without reading that slot's entry.

use super::Key;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

#[derive(Clone, Copy, Debug)]
struct Slot {
    /// Where the entry is in the vector. Linear memory is 32-bit: there can never be more entries.
    position: u32,
    hash: u32,
}

impl Slot {
    fn hash(&self) -> u64 {
        spread(self.hash)
    }
}

/// A key's 32-bit hash as the index reads it: its high bits tell keys apart within a group of
/// slots and its low bits choose the group, so both halves carry the whole hash.
fn spread(hash: u32) -> u64 {
    (u64::from(hash) << 32) | u64::from(hash)
}

pub struct Table<V> {
    entries: Vec<(Key, V)>,
    index: HashTable<Slot>,
    hasher: FixedState,
}

impl<V> Table<V> {
    pub fn with_hasher(hasher: FixedState) -> Self {
        Table { entries: Vec::new(), index: HashTable::new(), hasher }
    }

    pub fn hasher(&self) -> &FixedState {
        &self.hasher
    }

    fn hash(&self, key: &[u8]) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        let hash = self.hash(key);
        let found = self.index.find(spread(hash), |slot| slot.hash == hash && *self.entries[slot.position as usize].0 == *key);
        found.map(|slot| slot.position as usize)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.position(key).map(|at| &self.entries[at].1)
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.position(key).map(|at| &mut self.entries[at].1)
    }

    /// The entry at `position` (0 to `len() - 1`).
    pub fn get_index(&self, position: usize) -> Option<(&Key, &V)> {
        self.entries.get(position).map(|(key, value)| (key, value))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    /// Stores `value` under `key`; returns the value it replaced.
    pub fn insert(&mut self, key: Key, value: V) -> Option<V> {
        if let Some(at) = self.position(&key) {
            return Some(std::mem::replace(&mut self.entries[at].1, value));
        }
        let slot = Slot { position: self.entries.len() as u32, hash: self.hash(&key) };
        self.index.insert_unique(slot.hash(), slot, Slot::hash);
        self.entries.push((key, value));
        None
    }

    /// Removes the key, moving the last entry into its place (so positions stay dense).
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<(Key, V)> {
        let hash = self.hash(key);
        let Table { entries, index, hasher } = self;
        let found = index.find_entry(spread(hash), |slot| slot.hash == hash && *entries[slot.position as usize].0 == *key);
        let (slot, _) = found.ok()?.remove();
        let (at, last) = (slot.position as usize, entries.len() - 1);
        if at != last {
            let moved = hasher.hash_one(&*entries[last].0) as u32;
            if let Some(slot) = index.find_mut(spread(moved), |slot| slot.position as usize == last) {
                slot.position = at as u32;
            }
        }
        Some(entries.swap_remove(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> Key {
        Key::from(format!("key:{i}").as_bytes())
    }

    /// Inserts, replacements and removals in a mixed order, checked against std's map, with
    /// positions dense and every key found where its slot says.
    #[test]
    fn behaves_like_a_map_with_dense_positions() {
        let mut table = Table::with_hasher(FixedState::with_seed(3));
        let mut model = std::collections::HashMap::new();
        for round in 0..20_000usize {
            let k = key(round * 7919 % 3_000);
            if round % 3 == 2 {
                assert_eq!(table.swap_remove(&k).map(|(_, v)| v), model.remove(&*k.to_vec()));
            } else {
                assert_eq!(table.insert(k.clone(), round), model.insert(k.to_vec(), round));
            }
        }
        assert_eq!(table.len(), model.len());
        for (k, v) in &model {
            assert_eq!(table.get(k), Some(v));
        }
        for position in 0..table.len() {
            let (k, v) = table.get_index(position).unwrap();
            assert_eq!(model.get(&**k), Some(v));
        }
        assert!(table.get_index(table.len()).is_none());
        assert!(table.get(b"absent").is_none());
    }
}
