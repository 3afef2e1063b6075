//! The databases and the keys they hold.
//!
//! Every lookup takes the current wall-clock time in milliseconds: a key whose expiry has passed is
//! removed the moment anyone looks at it (lazy expiry), so an expired key is never seen again. Keys
//! nobody reads are found by [`Keyspace::expire_cycle`], which the timer runs (active expiry).

mod eviction;
mod field_expiry;
mod hash;
mod index;
mod key;
mod lazy_free;
mod list;
mod set;
mod str_value;
mod table;
mod varint;
mod value;
mod score_tree;
mod zset;

pub use eviction::{Access, Policy};
pub use key::Key;
#[cfg(test)]
pub(crate) use lazy_free::LAZYFREE_THRESHOLD;
pub use hash::{Hash, HashLimits};
pub use list::{List, ListLimits};
pub use set::{Set, SetLimits};
pub use str_value::StrValue;
pub use value::Value;
pub use zset::{Zset, ZsetLimits, compare as zset_order};

use crate::notify::{self, Events};
use crate::rng::Rng;
use smallvec::SmallVec;
use foldhash::fast::FixedState;
use lazy_free::LazyFree;
use table::{Chunks, Table};


/// A stored value, its access history, and whether it expires.
///
/// The expiry time itself is not here but in the database's list of keys with a TTL (see
/// [`Deadline`]): most keys have none, and a key that has one pays for it there. An entry read
/// through [`Keyspace::take`] or cloned is detached from that list: its expiry travels beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// 0 for a key that never expires; else 1 + the place of its [`Deadline`] in the database's
    /// list. Private so that the list always agrees with it: change it through the keyspace.
    ttl: u32,
    /// Last access and access frequency, for eviction and OBJECT.
    pub access: Access,
}

// Memory per key is mostly this entry and its key: ten words in all on the component's 32-bit
// target (the key's 20 bytes, the value's 12 — a string of up to 11 bytes itself, see
// [`StrValue`] —, the TTL's place and the access data).
#[cfg(target_pointer_width = "32")]
const _: () = assert!(std::mem::size_of::<(Key, Entry)>() == 40);

/// Where a live key's entry stands, as [`Keyspace::find`] gives it: good until the keyspace next
/// changes, which is why only the keyspace's own methods take it.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    db: usize,
    at: usize,
}

/// The most changed keys whose vector [`Keyspace::recycle_modified`] keeps for reuse.
const KEPT_MODIFIED: usize = 64;

impl Entry {
    /// Whether the key has a time to live.
    pub fn has_ttl(&self) -> bool {
        self.ttl != 0
    }
}

/// A key's expiry, in the list of a database's keys that have one: the Unix time in milliseconds
/// and the position of the key's entry. Three 4-byte words (12 bytes, where a `u64` field would
/// pad it to 16): active expiry samples this list, and volatile eviction picks from it.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: [u32; 2],
    position: u32,
}

impl Deadline {
    fn new(at: u64, position: usize) -> Self {
        // Linear memory is 32-bit: positions fit in a u32.
        Deadline { at: [at as u32, (at >> 32) as u32], position: position as u32 }
    }

    fn at(&self) -> u64 {
        u64::from(self.at[0]) | (u64::from(self.at[1]) << 32)
    }

    fn position(&self) -> usize {
        self.position as usize
    }
}

/// Counters INFO reports.
#[derive(Debug, Default, Clone)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    /// Hash fields removed because their own TTL passed.
    pub expired_subkeys: u64,
    /// Values freed lazily, completely (see [`lazy_free`]).
    pub lazyfreed_objects: u64,
}

struct Db {
    entries: Table<Entry>,
    /// Keys that have an expiry and when, so the active cycle samples only those; in no order
    /// (an entry's `ttl` says where its own is).
    volatile: Chunks<Deadline>,
    /// Hashes that may have fields with a TTL, so active field expiry visits only those.
    field_ttls: Table<()>,
}

impl Db {
    fn new(seed: u64) -> Self {
        Db {
            entries: Table::with_hasher(FixedState::with_seed(seed)),
            volatile: Chunks::default(),
            field_ttls: Table::with_hasher(FixedState::with_seed(seed.rotate_left(41))),
        }
    }

    /// Everything the database holds, freed a key at a time as the iterator goes; each key's value
    /// is handed back, so a big one is freed lazily in turn.
    fn into_pieces(self) -> Box<dyn Iterator<Item = Option<Value>>> {
        let values = self.entries.into_entries().map(|(_, entry)| Some(entry.value));
        let indexes = self.volatile.into_items().map(|_| None).chain(self.field_ttls.into_entries().map(|_| None));
        Box::new(values.chain(indexes))
    }

    /// The expiry of the entry at `position`, if it has one.
    fn expiry_at(&self, position: usize) -> Option<u64> {
        self.expiry_of(self.entries.value_at(position))
    }

    /// The expiry of an entry stored in this database.
    fn expiry_of(&self, entry: &Entry) -> Option<u64> {
        let ttl = entry.ttl.checked_sub(1)?;
        self.volatile.get(ttl as usize).map(Deadline::at)
    }

    /// Gives the entry at `position` the expiry `expires_at` (or none), keeping the list of keys
    /// with a TTL in step.
    fn set_expiry_at(&mut self, position: usize, expires_at: Option<u64>) {
        let ttl = self.entries.value_at(position).ttl;
        match (ttl.checked_sub(1), expires_at) {
            (Some(place), Some(at)) => self.volatile.at_mut(place as usize).at = Deadline::new(at, position).at,
            (None, Some(at)) => {
                self.volatile.push(Deadline::new(at, position));
                self.entries.value_at_mut(position).ttl = self.volatile.len() as u32;
            }
            (Some(place), None) => {
                self.entries.value_at_mut(position).ttl = 0;
                self.drop_deadline(place as usize);
            }
            (None, None) => {}
        }
    }

    /// Removes the deadline at `place` from the list, telling the entry whose deadline moves into
    /// its place where it is now.
    fn drop_deadline(&mut self, place: usize) {
        self.volatile.swap_remove(place);
        if let Some(moved) = self.volatile.get(place) {
            let position = moved.position();
            self.entries.value_at_mut(position).ttl = place as u32 + 1;
        }
    }

    /// Removes the key's entry, its deadline and its name in the index of hashes with field
    /// TTLs; returns the entry (detached: `ttl` 0) and its expiry.
    fn remove(&mut self, key: &[u8]) -> Option<(Entry, Option<u64>)> {
        let (at, _, mut entry) = self.entries.swap_remove_at(key)?;
        // The entry that was last now sits where the removed one was: its deadline must say so.
        if at < self.entries.len() {
            let moved = self.entries.value_at(at).ttl;
            if let Some(place) = moved.checked_sub(1) {
                self.volatile.at_mut(place as usize).position = at as u32;
            }
        }
        let expires_at = self.expiry_of(&entry);
        if let Some(place) = entry.ttl.checked_sub(1) {
            entry.ttl = 0;
            self.drop_deadline(place as usize);
        }
        if entry.value.as_hash().is_some() {
            self.field_ttls.swap_remove(key);
        }
        Some((entry, expires_at))
    }
}

pub struct Keyspace {
    dbs: Vec<Db>,
    pub stats: KeyspaceStats,
    /// For the LFU counter's probabilistic growth.
    rng: Rng,
    /// Keys changed since the engine last took them, kept only while someone watches for changes
    /// (WATCH): every write, expiry and eviction of a key goes through the few methods that add
    /// to it.
    modified: Option<Vec<(usize, Key)>>,
    /// Big values removed and not yet freed.
    lazy: LazyFree,
    /// Keyspace notifications noted and not yet published: by commands, and by the keyspace for
    /// what it does on its own (a key created, expired or evicted, a read that found nothing).
    pub events: Events,
    /// Whether reads update the keys' LRU/LFU data (off for a client in CLIENT NO-TOUCH mode).
    touches: bool,
    /// The databases that have had a key or a hash field with a time to live, each once: where
    /// [`Keyspace::has_volatile`], asked at the end of every engine call, looks, rather than
    /// through every database (there may be up to a million). Every TTL given goes through
    /// [`Keyspace::expire_at`] or [`Keyspace::note_field_ttls`], which add to it.
    expiring: Vec<usize>,
    /// Per database, whether it is in `expiring`.
    listed_expiring: Vec<bool>,
}

/// How much one [`Keyspace::expire_cycle`] call did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub sampled: usize,
    pub expired: usize,
}

impl Keyspace {
    /// `seed` keys the hash functions, so clients cannot pick keys that collide.
    pub fn new(databases: usize, seed: u64) -> Self {
        let dbs = (0..databases as u64).map(|i| Db::new(seed ^ i.wrapping_mul(0x9e37_79b9))).collect();
        Keyspace {
            dbs,
            stats: KeyspaceStats::default(),
            rng: Rng::new(seed.rotate_left(31)),
            modified: None,
            lazy: LazyFree::default(),
            events: Events::default(),
            touches: true,
            expiring: Vec::new(),
            listed_expiring: vec![false; databases],
        }
    }

    pub fn databases(&self) -> usize {
        self.dbs.len()
    }

    /// A read that counts as a keyspace hit or miss (GET and friends).
    pub fn get(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        let Some(at) = self.live_position(db, key, now) else {
            self.stats.misses += 1;
            self.events.note(notify::KEY_MISS, "keymiss", db, key);
            return None;
        };
        self.stats.hits += 1;
        Some(self.touch(db, at, now))
    }

    /// Reads the memory that lookups of `keys` will need, without changing anything.
    ///
    /// With many keys, most of a lookup is waiting for main memory: the index slot, then the
    /// entry, then the value, each known only once the one before has arrived. Commands run one
    /// after another, so their waits would add up. Reading ahead for a whole batch of pipelined
    /// commands, one independent load per key and pass, lets the processor wait for all of them
    /// at once; the commands then find their memory in the cache. (WebAssembly has no prefetch
    /// instruction; plain loads do the same.)
    pub fn warm(&self, db: usize, keys: &[&[u8]]) {
        let Some(db) = self.dbs.get(db) else { return };
        let mut seen = 0usize;
        let hashes: SmallVec<[u32; 16]> = keys.iter().map(|key| db.entries.hash(key)).collect();
        for &hash in &hashes {
            seen ^= db.entries.touch_index(hash) as usize;
        }
        let mut values: SmallVec<[&[u8]; 16]> = SmallVec::new();
        for &hash in &hashes {
            if let Some(entry) = db.entries.likely_entry(hash) {
                touch_ends(entry);
                let value = entry.1.value.as_bytes();
                seen ^= value.as_ptr() as usize;
                values.push(value);
            }
        }
        for value in values {
            seen ^= touch_lines(value);
        }
        std::hint::black_box(seen);
    }

    /// A lookup for a command about to change the key; not counted as a hit or miss, and taken
    /// as a change of the key by whoever watches it.
    pub fn get_mut(&mut self, db: usize, key: &[u8], now: u64) -> Option<&mut Entry> {
        let at = self.live_position(db, key, now)?;
        self.note_modified(db, key);
        Some(self.touch(db, at, now))
    }

    /// [`Keyspace::get_mut`], with the entry made from `make` first when there is none: one
    /// lookup for a key that exists, the common case of a write to a collection.
    pub fn get_mut_or_insert(&mut self, db: usize, key: &[u8], now: u64, make: impl FnOnce() -> Value) -> Option<&mut Entry> {
        if let Some(at) = self.live_position(db, key, now) {
            self.note_modified(db, key);
            return Some(self.touch(db, at, now));
        }
        self.set(db, key, make(), None, now);
        self.get_mut(db, key, now)
    }

    /// A read that uses the key (its LRU/LFU access) without counting a hit or miss (TYPE, the
    /// current value a write command checks first).
    pub fn lookup(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        let at = self.live_position(db, key, now)?;
        Some(self.touch(db, at, now))
    }

    /// [`Keyspace::lookup`], with where the entry stands: for a command that reads a key and then
    /// changes it (INCR, EXPIRE), whose change goes there without looking the key up again.
    pub fn find(&mut self, db: usize, key: &[u8], now: u64) -> Option<(Found, &Entry)> {
        let at = self.live_position(db, key, now)?;
        Some((Found { db, at }, self.touch(db, at, now)))
    }

    /// The expiry of a key [`Keyspace::find`] found.
    pub fn expiry(&self, found: Found) -> Option<u64> {
        self.dbs[found.db].expiry_at(found.at)
    }

    /// Makes the string `bytes` the value of the string key `found` at, keeping its TTL. A string
    /// of the same length is overwritten where it is, so a counter's INCR allocates nothing.
    pub fn rewrite(&mut self, found: Found, key: &[u8], bytes: &[u8]) {
        self.note_modified(found.db, key);
        let value = &mut self.dbs[found.db].entries.value_at_mut(found.at).value;
        if !value.overwrite_string(bytes) {
            let old = std::mem::replace(value, Value::from_bytes(bytes));
            self.lazy.dispose(old);
        }
    }

    /// Gives the key `found` at the expiry `expires_at`; one already past deletes the key (counted
    /// as expired, as Redis does).
    pub fn expire_found(&mut self, found: Found, key: &[u8], expires_at: u64, now: u64) {
        self.change_expiry(found, key, Some(expires_at), now);
    }

    /// Sets or clears the expiry of the key `found` at; one already past deletes the key.
    fn change_expiry(&mut self, found: Found, key: &[u8], expires_at: Option<u64>, now: u64) {
        self.note_modified(found.db, key);
        if let Some(at) = expires_at
            && at <= now
        {
            self.remove(found.db, key);
            self.stats.expired_keys += 1;
            return;
        }
        self.expire_at(found.db, found.at, expires_at);
    }

    /// Starts or stops keeping the keys that change (see [`Keyspace::take_modified`]).
    pub fn keep_modified(&mut self, on: bool) {
        match (on, self.modified.is_some()) {
            (true, false) => self.modified = Some(Vec::new()),
            (false, true) => self.modified = None,
            _ => {}
        }
    }

    pub fn keeps_modified(&self) -> bool {
        self.modified.is_some()
    }

    /// The keys changed since the last call, by database, while [`Keyspace::keep_modified`] is on.
    pub fn take_modified(&mut self) -> Vec<(usize, Key)> {
        self.modified.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Gives back the vector [`Keyspace::take_modified`] returned, emptied, so that the next
    /// command's changes reuse its memory instead of allocating anew (a blocked client's wait
    /// and its serving change a key each). One that grew large is let go.
    pub fn recycle_modified(&mut self, mut taken: Vec<(usize, Key)>) {
        taken.clear();
        if let Some(modified) = &mut self.modified
            && modified.capacity() == 0
            && taken.capacity() <= KEPT_MODIFIED
        {
            *modified = taken;
        }
    }

    fn note_modified(&mut self, db: usize, key: &[u8]) {
        if let Some(modified) = &mut self.modified {
            modified.push((db, key.into()));
        }
    }

    /// The entry at `at`, marked as used now.
    fn touch(&mut self, db: usize, at: usize, now: u64) -> &mut Entry {
        let entry = self.dbs[db].entries.value_at_mut(at);
        if self.touches {
            entry.access.touch(now, &mut self.rng);
        }
        entry
    }

    /// Whether `key` holds a live value a blocked client waiting for `wants` can be served from.
    pub fn holds(&mut self, db: usize, key: &[u8], wants: crate::blocking::Wants, now: u64) -> bool {
        use crate::blocking::Wants;
        self.peek(db, key, now).is_some_and(|entry| match wants {
            Wants::List => entry.value.as_list().is_some(),
            Wants::SortedSet => entry.value.as_zset().is_some(),
        })
    }

    /// Whether the next reads update LRU/LFU data (CLIENT NO-TOUCH turns it off for a client).
    pub fn set_touches(&mut self, on: bool) {
        self.touches = on;
    }

    /// A look at a key that does not count as using it (OBJECT, eviction, EXISTS).
    pub fn peek(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        if self.live(db, key, now) { self.dbs[db].entries.get(key) } else { None }
    }

    /// A shared look at a key this command has already looked up (so expiry has been applied),
    /// for commands that read several keys' values at once (SINTER, SUNION...).
    pub fn stored(&self, db: usize, key: &[u8]) -> Option<&Entry> {
        self.dbs[db].entries.get(key)
    }

    /// Whether the key exists, without counting a hit or miss.
    pub fn contains(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        self.live(db, key, now)
    }

    /// Stores `value` under `key`, replacing any value and TTL it had. `now` is a new key's first
    /// access; a key already expired is expired first, so the value arrives as a new key.
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, expires_at: Option<u64>, now: u64) {
        let at = self.live_position(db, key, now);
        self.store_at(db, key, at, value, expires_at, now);
    }

    /// Stores a string under `key` as SET does, finding the key once: an expired key is expired
    /// first (as any lookup does), and a string of the same length is overwritten where it is
    /// instead of allocated anew, so rewriting a value frees and allocates nothing.
    pub fn set_bytes(&mut self, db: usize, key: &[u8], bytes: &[u8], expires_at: Option<u64>, now: u64) {
        let at = self.live_position(db, key, now);
        if let Some(at) = at
            && self.dbs[db].entries.value_at_mut(at).value.overwrite_string(bytes)
        {
            self.note_modified(db, key);
            self.replace_expiry(db, key, at, expires_at);
            return;
        }
        self.store_at(db, key, at, Value::from_bytes(bytes), expires_at, now);
    }

    /// Stores `value` at `at`, where `key` is, or as a new key when `at` is `None`.
    fn store_at(&mut self, db: usize, key: &[u8], at: Option<usize>, value: Value, expires_at: Option<u64>, now: u64) {
        self.note_modified(db, key);
        if value.as_hash().is_some_and(Hash::has_field_ttls) {
            self.note_field_ttls(db, key);
        }
        let Some(at) = at else {
            self.events.note(notify::NEW, "new", db, key);
            let access = Access::new(now);
            let entries = &mut self.dbs[db].entries;
            entries.insert_new(key.into(), Entry { value, ttl: 0, access });
            if expires_at.is_some() {
                let position = entries.len() - 1;
                self.expire_at(db, position, expires_at);
            }
            return;
        };
        let old = std::mem::replace(&mut self.dbs[db].entries.value_at_mut(at).value, value);
        self.lazy.dispose(old);
        self.replace_expiry(db, key, at, expires_at);
    }

    /// Gives the key at `at` a new expiry, keeping the list of keys with a TTL in step.
    fn replace_expiry(&mut self, db: usize, _key: &[u8], at: usize, expires_at: Option<u64>) {
        self.expire_at(db, at, expires_at);
    }

    /// Gives the entry at `position` of database `db` the expiry `expires_at` (or none): the one
    /// way a key gets a time to live.
    fn expire_at(&mut self, db: usize, position: usize, expires_at: Option<u64>) {
        if expires_at.is_some() {
            self.note_expiring(db);
        }
        self.dbs[db].set_expiry_at(position, expires_at);
    }

    /// Lists `db` among the databases that have had a time to live (see `expiring`).
    fn note_expiring(&mut self, db: usize) {
        if let Some(listed @ false) = self.listed_expiring.get_mut(db) {
            *listed = true;
            self.expiring.push(db);
        }
    }

    /// Stores `value`, keeping the TTL the key had (KEEPTTL, APPEND, INCR...).
    pub fn set_keep_ttl(&mut self, db: usize, key: &[u8], value: Value, now: u64) {
        match self.get_mut(db, key, now) {
            Some(entry) => {
                let old = std::mem::replace(&mut entry.value, value);
                self.lazy.dispose(old);
            }
            None => self.set(db, key, value, None, now),
        }
    }

    /// Sets or clears the key's expiry. Returns false when the key does not exist. An expiry in
    /// the past deletes the key (counted as expired, as Redis does).
    pub fn set_expiry(&mut self, db: usize, key: &[u8], expires_at: Option<u64>, now: u64) -> bool {
        let Some(at) = self.live_position(db, key, now) else { return false };
        self.change_expiry(Found { db, at }, key, expires_at, now);
        true
    }

    /// The key's expiry (`Some(None)` for a key without one), looked up as [`Keyspace::lookup`]
    /// does; `None` when the key does not exist.
    pub fn lookup_expiry(&mut self, db: usize, key: &[u8], now: u64) -> Option<Option<u64>> {
        let (found, _) = self.find(db, key, now)?;
        Some(self.expiry(found))
    }

    /// A copy of the key's entry and its expiry, looked up as [`Keyspace::lookup`] does (COPY).
    pub fn lookup_copy(&mut self, db: usize, key: &[u8], now: u64) -> Option<(Entry, Option<u64>)> {
        let at = self.live_position(db, key, now)?;
        let mut entry = self.touch(db, at, now).clone();
        entry.ttl = 0;
        Some((entry, self.dbs[db].expiry_at(at)))
    }

    /// Removes the key, expired or not, and frees its value (lazily when big). Returns whether
    /// the key was there.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> bool {
        let Some((entry, _)) = self.detach(db, key) else { return false };
        self.lazy.dispose(entry.value);
        true
    }

    /// Removes a live key, as DEL does. Returns whether it existed.
    pub fn delete(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        self.live(db, key, now) && self.remove(db, key)
    }

    /// Removes the key and hands its entry and expiry to the caller, which keeps or frees them.
    fn detach(&mut self, db: usize, key: &[u8]) -> Option<(Entry, Option<u64>)> {
        let detached = self.dbs[db].remove(key)?;
        self.note_modified(db, key);
        Some(detached)
    }

    /// Removes a live key and returns it with its expiry (GETDEL, RENAME, MOVE).
    pub fn take(&mut self, db: usize, key: &[u8], now: u64) -> Option<(Entry, Option<u64>)> {
        if self.live(db, key, now) { self.detach(db, key) } else { None }
    }

    /// Puts back an entry taken with [`Keyspace::take`], with its expiry and access history.
    pub fn put(&mut self, db: usize, key: &[u8], (entry, expires_at): (Entry, Option<u64>)) {
        let access = entry.access;
        let at = self.dbs[db].entries.position(key);
        // The access time is overwritten with the entry's own just below.
        self.store_at(db, key, at, entry.value, expires_at, 0);
        if let Some(stored) = self.dbs[db].entries.get_mut(key) {
            stored.access = access;
        }
    }

    /// Keys in the database, counting ones that expired but were not removed yet.
    pub fn len(&self, db: usize) -> usize {
        self.dbs[db].entries.len()
    }

    /// Whether any key of any database, or any field of a hash, has a time to live: then active
    /// expiry has work and the engine asks for timer ticks.
    pub fn has_volatile(&self) -> bool {
        self.expiring.iter().any(|&db| self.dbs.get(db).is_some_and(|db| !db.volatile.is_empty() || !db.field_ttls.is_empty()))
    }

    /// The bytes of a database's own tables, as MEMORY STATS reports them: the key table (entries
    /// and index, without what the entries point to) and the table of keys with an expiry.
    pub fn overhead(&self, db: usize) -> (usize, usize) {
        let db = &self.dbs[db];
        (db.entries.footprint(), db.volatile.footprint())
    }

    pub fn volatile_len(&self, db: usize) -> usize {
        self.dbs[db].volatile.len()
    }

    /// Empties a database; what it held is freed lazily when it is much.
    pub fn flush(&mut self, db: usize) {
        let fresh_seed = std::hash::BuildHasher::hash_one(self.dbs[db].entries.hasher(), db);
        let old = std::mem::replace(&mut self.dbs[db], Db::new(fresh_seed));
        self.lazy.dispose_keys(old.entries.len(), old.into_pieces());
    }

    /// Whether a database's index is still moving its keys into a grown array: then the engine
    /// asks for ticks, which finish the move (Redis's `activerehashing`).
    pub fn is_rehashing(&self) -> bool {
        self.dbs.iter().any(|db| db.entries.is_growing() || db.field_ttls.is_growing())
    }

    /// Moves up to `budget` slots of each index that is growing.
    pub fn rehash(&mut self, budget: usize) {
        for db in &mut self.dbs {
            db.entries.continue_growing(budget);
            db.field_ttls.continue_growing(budget);
        }
    }

    /// Frees up to `budget` pieces of the values waiting to be freed (see [`lazy_free`]).
    pub fn free_lazily(&mut self, budget: usize) {
        self.stats.lazyfreed_objects += self.lazy.free(budget);
    }

    /// Whether values wait to be freed: then the engine asks for a tick soon.
    pub fn has_lazy_free(&self) -> bool {
        !self.lazy.is_empty()
    }

    /// Objects waiting to be freed (INFO's `lazyfree_pending_objects`).
    pub fn lazyfree_pending_objects(&self) -> u64 {
        self.lazy.pending_objects()
    }

    /// Exchanges the contents of two databases (SWAPDB).
    pub fn swap(&mut self, a: usize, b: usize) {
        self.dbs.swap(a, b);
        if self.listed_expiring.get(a) == Some(&true) || self.listed_expiring.get(b) == Some(&true) {
            self.note_expiring(a);
            self.note_expiring(b);
        }
    }

    pub fn flush_all(&mut self) {
        for db in 0..self.dbs.len() {
            self.flush(db);
        }
    }

    /// A random live key, or `None` when the database is empty.
    pub fn random_key(&mut self, db: usize, rng: &mut Rng, now: u64) -> Option<Key> {
        // Expired keys met on the way are removed; give up on them after a bounded number of tries
        // so a database full of expired keys cannot stall the server.
        for _ in 0..100 {
            let len = self.dbs[db].entries.len();
            if len == 0 {
                return None;
            }
            let index = rng.below(len as u64) as usize;
            let due = self.dbs[db].expiry_at(index).is_some_and(|at| at <= now);
            let (key, _) = self.dbs[db].entries.get_index(index)?;
            if !due {
                return Some(key.clone());
            }
            let key = key.clone();
            self.expire(db, &key);
        }
        None
    }

    /// One step of a SCAN over a database: up to `count` slots from `cursor` on, and the cursor to
    /// continue from (0 when the scan is complete); see [`table::scan_back`]. Expired keys are
    /// skipped, not removed: removing now would move unvisited keys behind the cursor; they go
    /// when they are next looked up or sampled.
    pub fn scan(&mut self, db: usize, cursor: u64, count: usize, now: u64) -> (u64, Vec<Key>) {
        let db = &self.dbs[db];
        let (next, positions) = table::scan_back(db.entries.len(), cursor, count);
        let keys = positions
            .filter_map(|at| db.entries.get_index(at))
            .filter(|(_, entry)| db.expiry_of(entry).is_none_or(|at| at > now))
            .map(|(key, _)| key.clone())
            .collect();
        (next, keys)
    }

    /// Every live key, in table order (KEYS).
    pub fn keys(&self, db: usize, now: u64) -> impl Iterator<Item = &Key> {
        let db = &self.dbs[db];
        db.entries.iter().filter(move |(_, e)| db.expiry_of(e).is_none_or(|at| at > now)).map(|(k, _)| k)
    }

    /// Active expiry: samples keys that have a TTL and removes the expired ones, repeating while
    /// more than a quarter of a sample had expired, up to `max_samples` keys in all.
    pub fn expire_cycle(&mut self, rng: &mut Rng, now: u64, max_samples: usize) -> CycleReport {
        const SAMPLE: usize = 20;
        let mut report = CycleReport::default();
        for db in 0..self.dbs.len() {
            loop {
                let volatile = self.dbs[db].volatile.len();
                if volatile == 0 || report.sampled >= max_samples {
                    break;
                }
                let mut expired_here = 0;
                let sample = SAMPLE.min(volatile);
                for _ in 0..sample {
                    let len = self.dbs[db].volatile.len();
                    if len == 0 {
                        break;
                    }
                    let index = rng.below(len as u64) as usize;
                    let Some(deadline) = self.dbs[db].volatile.get(index).copied() else { break };
                    report.sampled += 1;
                    if deadline.at() <= now {
                        let key = self.dbs[db].entries.get_index(deadline.position()).map(|(key, _)| key.clone());
                        if let Some(key) = key {
                            self.expire(db, &key);
                            expired_here += 1;
                        }
                    }
                }
                report.expired += expired_here;
                if expired_here * 4 <= sample {
                    break;
                }
            }
        }
        self.expire_fields(rng, now, max_samples);
        report
    }

    /// Evicts one key chosen by `policy` from `samples` random candidates per database (the best
    /// candidate over all databases wins). Returns false when no key may be evicted.
    pub fn evict_one(&mut self, policy: Policy, samples: usize, rng: &mut Rng, now: u64) -> bool {
        if policy == Policy::NoEviction {
            return false;
        }
        let mut best: Option<(u64, usize, Key)> = None;
        for db in 0..self.dbs.len() {
            let pool = if policy.volatile_only() { self.dbs[db].volatile.len() } else { self.dbs[db].entries.len() };
            // A small pool is examined whole; a large one by random samples.
            for n in 0..samples.min(pool) {
                let index = if pool <= samples { n } else { rng.below(pool as u64) as usize };
                let position = if policy.volatile_only() {
                    let Some(deadline) = self.dbs[db].volatile.get(index) else { continue };
                    deadline.position()
                } else {
                    index
                };
                let Some((key, entry)) = self.dbs[db].entries.get_index(position) else { continue };
                let score = policy.score(entry, self.dbs[db].expiry_of(entry), now);
                let key = key.clone();
                if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                    best = Some((score, db, key));
                }
            }
        }
        let Some((_, db, key)) = best else { return false };
        self.remove(db, &key);
        self.stats.evicted_keys += 1;
        self.events.note(notify::EVICTED, "evicted", db, &key);
        true
    }

    /// Whether the key exists now; removes it first if it has expired.
    fn live(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        self.live_position(db, key, now).is_some()
    }

    /// Where the key's entry is, unless it is missing or expired (an expired key is removed).
    fn live_position(&mut self, db: usize, key: &[u8], now: u64) -> Option<usize> {
        let here = &self.dbs[db];
        let at = here.entries.position(key)?;
        if here.expiry_at(at).is_some_and(|expiry| expiry <= now) {
            self.expire(db, key);
            return None;
        }
        Some(at)
    }

    fn expire(&mut self, db: usize, key: &[u8]) {
        if self.remove(db, key) {
            self.stats.expired_keys += 1;
            self.events.note(notify::EXPIRED, "expired", db, key);
        }
    }
}

/// Reads the first and the last byte of `thing`, so that both cache lines are on their way when
/// it straddles two: an entry is 40 bytes, and the key a lookup compares may sit in one line and
/// the access data it updates in the next.
fn touch_ends<T>(thing: &T) {
    let size = std::mem::size_of::<T>();
    if size == 0 {
        return;
    }
    let start = std::ptr::from_ref(thing).cast::<std::mem::MaybeUninit<u8>>();
    // SAFETY: both bytes lie inside `thing`, which is valid for reads for as long as the borrow;
    // they are read as `MaybeUninit` because either may be padding.
    unsafe {
        start.read_volatile();
        start.add(size - 1).read_volatile();
    }
}

/// The longest stretch of a value read ahead; longer values are read in order when replied with,
/// which the processor's own prefetching follows.
const TOUCH_VALUE_BYTES: usize = 256;

/// Reads a byte of each cache line of the start of `value` (and its last byte), so that a reply
/// copying it does not wait for a second line.
fn touch_lines(value: &[u8]) -> usize {
    let mut seen = 0;
    for at in (0..value.len().min(TOUCH_VALUE_BYTES)).step_by(64) {
        seen ^= usize::from(value[at]);
    }
    seen ^ value.last().copied().map_or(0, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &str) -> Value {
        Value::from_bytes(v.as_bytes())
    }

    fn stored<'a>(ks: &'a mut Keyspace, key: &[u8], now: u64) -> Option<&'a [u8]> {
        ks.get(0, key, now).and_then(|e| e.value.as_string())
    }

    #[test]
    fn set_bytes_rewrites_a_value_of_the_same_length_where_it_is() {
        let mut ks = Keyspace::new(16, 1);
        ks.set_bytes(0, b"k", b"first", None, 0);
        let before = stored(&mut ks, b"k", 0).map(<[u8]>::as_ptr);
        ks.set_bytes(0, b"k", b"again", None, 0);
        assert_eq!(stored(&mut ks, b"k", 0), Some(&b"again"[..]));
        assert_eq!(stored(&mut ks, b"k", 0).map(<[u8]>::as_ptr), before, "the same-length value moved");
        ks.set_bytes(0, b"k", b"longer value", None, 0);
        assert_eq!(stored(&mut ks, b"k", 0), Some(&b"longer value"[..]));
        assert_eq!(ks.len(0), 1);
    }

    /// `has_volatile` looks only through the databases that have had a TTL; wherever a TTL comes
    /// from, and wherever SWAPDB moves it, it is found.
    #[test]
    fn keys_with_a_ttl_are_found_in_any_database() {
        let mut ks = Keyspace::new(16, 1);
        assert!(!ks.has_volatile());
        ks.set_bytes(5, b"k", b"v", None, 0);
        assert!(!ks.has_volatile());
        assert!(ks.set_expiry(5, b"k", Some(5_000), 0));
        assert!(ks.has_volatile());
        ks.swap(5, 9);
        assert!(ks.has_volatile());
        assert!(ks.set_expiry(9, b"k", None, 0));
        assert!(!ks.has_volatile());
        ks.swap(9, 2);
        ks.set_bytes(2, b"j", b"v", Some(7_000), 0);
        assert!(ks.has_volatile());
        ks.flush(2);
        assert!(!ks.has_volatile());
        ks.set(12, b"t", text("v"), Some(9_000), 0);
        assert!(ks.has_volatile());
        ks.remove(12, b"t");
        assert!(!ks.has_volatile());
        ks.note_field_ttls(14, b"h");
        assert!(ks.has_volatile());
        ks.flush_all();
        assert!(!ks.has_volatile());
        ks.set_bytes(7, b"x", b"v", None, 0);
        ks.swap(7, 3);
        ks.set_bytes(3, b"x", b"w", Some(1_000), 0);
        assert!(ks.has_volatile(), "a TTL given after a swap is found where the key now is");
    }

    #[test]
    fn set_bytes_keeps_the_ttl_index_in_step() {
        let mut ks = Keyspace::new(16, 1);
        ks.set_bytes(0, b"k", b"v1", Some(5_000), 0);
        assert_eq!(ks.volatile_len(0), 1);
        // Same length, no TTL: the TTL goes, as SET without EX drops it.
        ks.set_bytes(0, b"k", b"v2", None, 0);
        assert_eq!(ks.volatile_len(0), 0);
        assert_eq!(ks.lookup_expiry(0, b"k", 10_000), Some(None));
        ks.set_bytes(0, b"k", b"v3", Some(20_000), 10_000);
        assert_eq!(ks.volatile_len(0), 1);
        assert!(ks.get(0, b"k", 20_000).is_none(), "the new TTL applies");
    }

    #[test]
    fn set_bytes_over_an_expired_key_counts_it_expired_and_stores_afresh() {
        let mut ks = Keyspace::new(16, 1);
        ks.set_bytes(0, b"k", b"old", Some(1_000), 0);
        ks.set_bytes(0, b"k", b"new", None, 2_000);
        assert_eq!(ks.stats.expired_keys, 1);
        assert_eq!(ks.volatile_len(0), 0);
        assert_eq!(stored(&mut ks, b"k", 3_000), Some(&b"new"[..]));
        assert_eq!(ks.len(0), 1);
    }

    #[test]
    fn expired_keys_are_gone_on_lookup() {
        let mut ks = Keyspace::new(16, 1);
        ks.set(0, b"k", text("v"), Some(1_000), 0);
        assert!(ks.get(0, b"k", 999).is_some());
        assert!(ks.get(0, b"k", 1_000).is_none());
        assert_eq!(ks.len(0), 0);
        assert_eq!(ks.volatile_len(0), 0);
        assert_eq!(ks.stats.expired_keys, 1);
        assert_eq!((ks.stats.hits, ks.stats.misses), (1, 1));
    }

    #[test]
    fn set_replaces_ttl_and_keep_ttl_keeps_it() {
        let mut ks = Keyspace::new(1, 1);
        ks.set(0, b"k", text("a"), Some(5_000), 0);
        ks.set_keep_ttl(0, b"k", text("b"), 0);
        assert_eq!(ks.lookup_expiry(0, b"k", 0), Some(Some(5_000)));
        ks.set(0, b"k", text("c"), None, 0);
        assert_eq!(ks.lookup_expiry(0, b"k", 0), Some(None));
        assert_eq!(ks.volatile_len(0), 0);
    }

    #[test]
    fn expiry_in_the_past_deletes() {
        let mut ks = Keyspace::new(1, 1);
        ks.set(0, b"k", text("a"), None, 0);
        assert!(ks.set_expiry(0, b"k", Some(10), 10));
        assert!(!ks.contains(0, b"k", 10));
        assert!(!ks.set_expiry(0, b"missing", Some(10), 0));
    }

    #[test]
    fn active_cycle_reclaims_unread_keys() {
        let mut ks = Keyspace::new(2, 7);
        let mut rng = Rng::new(3);
        for i in 0..1000u32 {
            ks.set(0, &i.to_be_bytes(), text("v"), Some(100), 0);
            ks.set(1, &i.to_be_bytes(), text("v"), if i % 2 == 0 { Some(100) } else { None }, 0);
        }
        let mut rounds = 0;
        while ks.volatile_len(0) + ks.volatile_len(1) > 0 && rounds < 1000 {
            ks.expire_cycle(&mut rng, 200, 200);
            rounds += 1;
        }
        assert_eq!(ks.len(0), 0);
        assert_eq!(ks.len(1), 500);
        assert_eq!(ks.stats.expired_keys, 1500);
    }

    #[test]
    fn scan_visits_every_key_despite_removals() {
        let mut ks = Keyspace::new(1, 1);
        for i in 0..100u32 {
            ks.set(0, &i.to_be_bytes(), text("v"), None, 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0u32;
        loop {
            let (next, keys) = ks.scan(0, cursor, 7, 0);
            seen.extend(keys);
            // Delete keys with odd numbers as the scan goes; the even ones must all be seen.
            for _ in 0..3 {
                let victim = (step * 2 + 1).to_be_bytes();
                ks.remove(0, &victim);
                step += 1;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for i in (0..100u32).step_by(2) {
            assert!(seen.contains(&i.to_be_bytes()[..]), "key {i} missed");
        }
    }

    #[test]
    fn eviction_follows_the_policy() {
        let mut rng = Rng::new(5);
        // LRU: keys used recently survive; keys untouched for long go first.
        let mut ks = Keyspace::new(2, 1);
        for i in 0..100u32 {
            ks.set(i as usize % 2, &i.to_be_bytes(), text("v"), None, 0);
        }
        for i in 0..50u32 {
            ks.get(i as usize % 2, &i.to_be_bytes(), 3_600_000);
        }
        for _ in 0..30 {
            assert!(ks.evict_one(Policy::AllKeysLru, 10, &mut rng, 3_600_000));
        }
        let recent_left = (0..50u32).filter(|i| ks.contains(*i as usize % 2, &i.to_be_bytes(), 3_600_000)).count();
        assert!(recent_left >= 45, "only {recent_left} of 50 recently used keys survived");
        assert_eq!(ks.stats.evicted_keys, 30);

        // volatile-ttl: the key expiring soonest goes; keys without a TTL are never chosen.
        let mut ks = Keyspace::new(1, 1);
        ks.set(0, b"forever", text("v"), None, 0);
        ks.set(0, b"soon", text("v"), Some(1_000), 0);
        ks.set(0, b"later", text("v"), Some(9_000), 0);
        assert!(ks.evict_one(Policy::VolatileTtl, 10, &mut rng, 0));
        assert!(!ks.contains(0, b"soon", 0));
        assert!(ks.evict_one(Policy::VolatileRandom, 10, &mut rng, 0));
        assert!(!ks.evict_one(Policy::VolatileLru, 10, &mut rng, 0), "no volatile keys left");
        assert!(ks.contains(0, b"forever", 0));
        assert!(!ks.evict_one(Policy::NoEviction, 10, &mut rng, 0));
    }

    /// Every entry with a TTL names a deadline that names it back, and no other deadline exists.
    fn assert_ttl_list_consistent(ks: &Keyspace, db: usize) {
        let db = &ks.dbs[db];
        let mut with_ttl = 0;
        for position in 0..db.entries.len() {
            let (_, entry) = db.entries.get_index(position).unwrap();
            if let Some(place) = entry.ttl.checked_sub(1) {
                with_ttl += 1;
                assert_eq!(db.volatile.get(place as usize).map(Deadline::position), Some(position));
            }
        }
        assert_eq!(with_ttl, db.volatile.len());
    }

    /// Keys created, given and stripped of TTLs, renamed and deleted in a mixed order, checked
    /// against a model of key -> expiry after every step: the list of deadlines follows the
    /// entries as they move.
    #[test]
    fn ttls_follow_their_keys_through_removals() {
        let mut ks = Keyspace::new(2, 5);
        let mut model: std::collections::HashMap<Vec<u8>, Option<u64>> = std::collections::HashMap::new();
        let mut rng = Rng::new(11);
        for round in 0..20_000u64 {
            let key = format!("k{}", rng.below(3_000)).into_bytes();
            let ttl = if rng.below(2) == 0 { None } else { Some(1_000_000 + round) };
            match rng.below(6) {
                0 | 1 => {
                    ks.set(0, &key, text("v"), ttl, 0);
                    model.insert(key, ttl);
                }
                2 => {
                    let existed = ks.set_expiry(0, &key, ttl, 0);
                    assert_eq!(existed, model.contains_key(&key));
                    if let Some(expiry) = model.get_mut(&key) {
                        *expiry = ttl;
                    }
                }
                3 => {
                    assert_eq!(ks.remove(0, &key), model.remove(&key).is_some());
                }
                4 => {
                    // MOVE to the other database and back.
                    if let Some(taken) = ks.take(0, &key, 0) {
                        assert_eq!(taken.1, model[&key]);
                        ks.put(1, &key, taken);
                        let back = ks.take(1, &key, 0).unwrap();
                        ks.put(0, &key, back);
                    }
                }
                _ => {
                    ks.set_bytes(0, &key, b"w", ttl, 0);
                    model.insert(key, ttl);
                }
            }
            if round % 500 == 0 {
                assert_ttl_list_consistent(&ks, 0);
            }
        }
        assert_ttl_list_consistent(&ks, 0);
        assert_eq!(ks.len(0), model.len());
        assert_eq!(ks.volatile_len(0), model.values().filter(|t| t.is_some()).count());
        for (key, expiry) in &model {
            assert_eq!(ks.lookup_expiry(0, key, 0), Some(*expiry));
        }
        // Active expiry at a time past every deadline removes exactly the keys with one.
        while ks.volatile_len(0) > 0 {
            ks.expire_cycle(&mut rng, u64::MAX / 2, 10_000);
        }
        assert_eq!(ks.len(0), model.values().filter(|t| t.is_none()).count());
        assert_ttl_list_consistent(&ks, 0);
    }

    #[test]
    fn random_key_skips_expired() {
        let mut ks = Keyspace::new(1, 1);
        let mut rng = Rng::new(9);
        ks.set(0, b"gone", text("v"), Some(1), 0);
        ks.set(0, b"here", text("v"), None, 0);
        for _ in 0..20 {
            assert_eq!(ks.random_key(0, &mut rng, 5).as_deref(), Some(&b"here"[..]));
        }
    }
}
