//! The table a database keeps its keys in: the entries at dense positions, so a key can be picked
//! at random or visited by position (RANDOMKEY, eviction and expiry sampling, SCAN), and a hash
//! [`Index`] of their positions, which grows a step at a time.
//!
//! The entries are kept in chunks of fixed size that never move once full. One vector that
//! doubles would copy every entry at once when it grows — tens of megabytes with a few million
//! keys — while the one thread that serves every client waits.

use super::Key;
use super::index::Index;
use super::value::sampled_size;
use foldhash::fast::FixedState;
use std::hash::BuildHasher;

pub struct Table<V> {
    entries: Chunks<(Key, V)>,
    index: Index,
    hasher: FixedState,
}

impl<V> Table<V> {
    pub fn with_hasher(hasher: FixedState) -> Self {
        Table { entries: Chunks::default(), index: Index::default(), hasher }
    }

    pub fn hasher(&self) -> &FixedState {
        &self.hasher
    }

    /// The hash the index files `key` under.
    pub fn hash(&self, key: &[u8]) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    /// Reads the part of the index a lookup of a key with `hash` starts with; see [`Index::touch`].
    pub fn touch_index(&self, hash: u32) -> u32 {
        self.index.touch(hash)
    }

    /// The entry most likely stored under a key with `hash`, for reading ahead only.
    pub fn likely_entry(&self, hash: u32) -> Option<&(Key, V)> {
        let at = self.index.likely_position(hash)?;
        self.entries.get(at as usize)
    }

    /// Whether the index is still moving its keys into a grown array (see [`Index::continue_move`]).
    pub fn is_growing(&self) -> bool {
        self.index.is_moving()
    }

    /// Moves up to `budget` more slots of the index's move, if one is under way.
    pub fn continue_growing(&mut self, budget: usize) {
        self.index.continue_move(budget);
    }

    /// Where the key's entry is (0 to `len() - 1`).
    #[inline]
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        let found = self.index.find(self.hash(key), |at| entries.at(at as usize).0.is(key));
        found.map(|at| at as usize)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.position(key).map(|at| self.value_at(at))
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.position(key).map(|at| self.value_at_mut(at))
    }

    /// The value at a position [`Table::position`] returned.
    pub fn value_at(&self, position: usize) -> &V {
        &self.entries.at(position).1
    }

    pub fn value_at_mut(&mut self, position: usize) -> &mut V {
        &mut self.entries.at_mut(position).1
    }

    /// The entry at `position` (0 to `len() - 1`).
    pub fn get_index(&self, position: usize) -> Option<(&Key, &V)> {
        self.entries.get(position).map(|(key, value)| (key, value))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The memory of the table itself: entry chunks and index, without what entries point to.
    pub fn footprint(&self) -> usize {
        self.entries.footprint() + self.index.footprint()
    }

    /// What entries own beyond the table, as MEMORY USAGE estimates it: `heap_size` of the first
    /// `samples` entries (all of them for 0), scaled up to every entry.
    pub fn sampled_heap(&self, samples: usize, heap_size: impl Fn(&V) -> usize) -> usize {
        let entries = (0..self.len()).map(|at| self.entries.at(at));
        sampled_size(entries, self.len(), samples, |(key, value)| key.heap_size() + heap_size(value))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &V)> {
        self.entries.iter().map(|(key, value)| (key, value))
    }

    /// Stores `value` under `key`; returns the value it replaced.
    pub fn insert(&mut self, key: Key, value: V) -> Option<V> {
        if let Some(at) = self.position(&key) {
            return Some(std::mem::replace(self.value_at_mut(at), value));
        }
        self.insert_new(key, value);
        None
    }

    /// Stores a key the caller has just looked up and not found.
    pub fn insert_new(&mut self, key: Key, value: V) {
        // Linear memory is 32-bit: there can never be more entries than a u32 counts.
        self.index.insert(self.hash(&key), self.entries.len() as u32);
        self.entries.push((key, value));
    }

    /// Removes the key, moving the last entry into its place (so positions stay dense).
    pub fn swap_remove(&mut self, key: &[u8]) -> Option<(Key, V)> {
        self.swap_remove_at(key).map(|(_, key, value)| (key, value))
    }

    /// [`Table::swap_remove`], also telling where the key was: when that is still below `len()`,
    /// the entry that was last is there now.
    pub fn swap_remove_at(&mut self, key: &[u8]) -> Option<(usize, Key, V)> {
        let hash = self.hash(key);
        let entries = &self.entries;
        let at = self.index.remove(hash, |at| entries.at(at as usize).0.is(key))? as usize;
        let last = self.entries.len() - 1;
        if at != last {
            let moved = self.hash(&self.entries.at(last).0);
            self.index.set_position(moved, |p| p as usize == last, at as u32);
        }
        let (key, value) = self.entries.swap_remove(at)?;
        Some((at, key, value))
    }

    /// The entries, by value, for freeing a table a piece at a time (see `lazy_free`): the index
    /// goes at once (a few large blocks), each entry only when the iterator reaches it.
    pub fn into_entries(self) -> impl Iterator<Item = (Key, V)> {
        self.entries.into_items()
    }
}

/// One step of a scan over `len` dense positions, walking from the end to the start: the
/// positions to visit (at most `count`, at least one), highest first, and the cursor to continue
/// from (0 when done). The cursor counts the positions still to visit; 0, or one past the end,
/// starts a scan. Removing an entry moves the last one into its place, and the last has always been
/// visited already, so an entry that exists for the whole scan is returned at least once.
pub fn scan_back(len: usize, cursor: u64, count: usize) -> (u64, impl Iterator<Item = usize>) {
    let len = len as u64;
    let remaining = if cursor == 0 || cursor > len { len } else { cursor };
    let next = remaining.saturating_sub(count.max(1) as u64);
    (next, (next as usize..remaining as usize).rev())
}

/// Entries per chunk: a full chunk of keyspace entries is under 200 KB.
const CHUNK: usize = 4096;

/// A vector in chunks of [`CHUNK`] items. A chunk grows like a vector until it is full (copying
/// at most one chunk), and is never moved after that.
pub(super) struct Chunks<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { chunks: Vec::new(), len: 0 }
    }
}

impl<T> Chunks<T> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn get(&self, at: usize) -> Option<&T> {
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }

    /// The item at a position known to exist.
    pub(super) fn at(&self, at: usize) -> &T {
        &self.chunks[at / CHUNK][at % CHUNK]
    }

    pub(super) fn at_mut(&mut self, at: usize) -> &mut T {
        &mut self.chunks[at / CHUNK][at % CHUNK]
    }

    pub(super) fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(item),
            _ => self.chunks.push(vec![item]),
        }
        self.len += 1;
    }

    /// Removes the item at `at`, moving the last item into its place.
    pub(super) fn swap_remove(&mut self, at: usize) -> Option<T> {
        if at >= self.len {
            return None;
        }
        let last_chunk = self.chunks.last_mut()?;
        let last = last_chunk.pop()?;
        if last_chunk.is_empty() {
            self.chunks.pop();
        }
        self.len -= 1;
        if at == self.len {
            return Some(last);
        }
        Some(std::mem::replace(self.at_mut(at), last))
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// The memory of its chunks.
    pub(super) fn footprint(&self) -> usize {
        let items: usize = self.chunks.iter().map(Vec::capacity).sum();
        items * std::mem::size_of::<T>() + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
    }

    pub(super) fn into_items(self) -> impl Iterator<Item = T> {
        self.chunks.into_iter().flatten()
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
        // More keys than a chunk holds, so removals move entries across chunks.
        for round in 0..60_000usize {
            let k = key(round * 7919 % (3 * CHUNK));
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
        assert_eq!(table.iter().count(), table.len());
    }
}
