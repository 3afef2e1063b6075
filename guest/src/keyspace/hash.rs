//! Hash values: fields and their values, each field with an optional time to live.
//!
//! A small hash is one packed buffer of its fields in insertion order (Redis's `listpack`): per
//! field only a length byte or two for the field and the value and one byte for "no expiry" beyond
//! the data, and a lookup is a short linear scan that stays in one cache line or a few. Past
//! `hash-max-listpack-entries` fields or a value longer than `hash-max-listpack-value` the hash
//! becomes a hashed table (`hashtable`) and stays one, as in Redis.
//!
//! Field expiry: a packed hash keeps each field's expiry next to it (at most a few hundred fields
//! to scan); a table keeps, besides, its fields with a TTL ordered by expiry, so reclaiming expired
//! fields costs only the fields that expired.

use super::table::Table;
use super::value::sampled_size;
use foldhash::fast::FixedState;
use std::collections::BTreeSet;
use super::varint::{get_varint, put_varint};

/// When a hash stops being packed (CONFIG's `hash-max-listpack-entries` and `-value`), and the
/// random seed of the table it becomes, so clients cannot choose fields that collide.
#[derive(Clone, Copy, Debug)]
pub struct HashLimits {
    pub entries: usize,
    pub value: usize,
    pub seed: u64,
}

pub struct Hash {
    repr: Repr,
}

enum Repr {
    Packed(Packed),
    Table(Box<Hashed>),
}

/// Fields as `len field len value expiry` records (lengths and expiry as LEB128 varints, expiry 0
/// meaning none), in insertion order.
#[derive(Clone, Default)]
struct Packed {
    bytes: Vec<u8>,
    len: u32,
    /// How many fields have a TTL, so "does this hash have field TTLs" needs no scan.
    with_ttl: u32,
    /// Whether any field ever had a TTL: Redis's `listpackex` encoding, which a hash keeps once
    /// it has it.
    expirable: bool,
}

struct Hashed {
    fields: Table<Field>,
    /// `(expires_at, field)` for every field with a TTL.
    ttls: BTreeSet<(u64, Box<[u8]>)>,
}

struct Field {
    value: Box<[u8]>,
    /// Unix milliseconds; 0 for none.
    expires_at: u64,
}

/// One field as a packed hash holds it, with where its record is.
struct Slot<'a> {
    field: &'a [u8],
    value: &'a [u8],
    expires_at: u64,
    start: usize,
    end: usize,
}

fn record(field: &[u8], value: &[u8], expires_at: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len() + value.len() + 4);
    put_varint(&mut out, field.len() as u64);
    out.extend_from_slice(field);
    put_varint(&mut out, value.len() as u64);
    out.extend_from_slice(value);
    put_varint(&mut out, expires_at);
    out
}

impl Packed {
    fn slots(&self) -> impl Iterator<Item = Slot<'_>> {
        let bytes = &self.bytes[..];
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= bytes.len() {
                return None;
            }
            let start = at;
            let flen = get_varint(bytes, &mut at) as usize;
            let field = bytes.get(at..at + flen)?;
            at += flen;
            let vlen = get_varint(bytes, &mut at) as usize;
            let value = bytes.get(at..at + vlen)?;
            at += vlen;
            let expires_at = get_varint(bytes, &mut at);
            Some(Slot { field, value, expires_at, start, end: at })
        })
    }

    fn find(&self, field: &[u8]) -> Option<Slot<'_>> {
        self.slots().find(|slot| slot.field == field)
    }

    /// Writes the field's record, replacing the old one where it was. Returns whether it is new.
    /// The buffer grows to the size needed, as a listpack does: a packed hash is small, so
    /// copying it costs less than the half-empty buffer that doubling would leave behind.
    fn write(&mut self, field: &[u8], value: &[u8], expires_at: u64) -> bool {
        let new = record(field, value, expires_at);
        let old = self.find(field).map(|slot| (slot.start, slot.end, slot.expires_at));
        self.with_ttl += u32::from(expires_at != 0);
        self.expirable |= expires_at != 0;
        match old {
            Some((start, end, old_expiry)) => {
                self.with_ttl -= u32::from(old_expiry != 0);
                self.bytes.reserve_exact(new.len().saturating_sub(end - start));
                self.bytes.splice(start..end, new);
                false
            }
            None => {
                self.bytes.reserve_exact(new.len());
                self.bytes.extend_from_slice(&new);
                self.len += 1;
                true
            }
        }
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some((start, end, expires_at)) = self.find(field).map(|s| (s.start, s.end, s.expires_at)) else {
            return false;
        };
        self.bytes.drain(start..end);
        if self.bytes.capacity() > 2 * self.bytes.len() {
            self.bytes.shrink_to_fit();
        }
        self.len -= 1;
        self.with_ttl -= u32::from(expires_at != 0);
        true
    }
}

impl Hashed {
    fn new(seed: u64) -> Self {
        Hashed { fields: Table::with_hasher(FixedState::with_seed(seed)), ttls: BTreeSet::new() }
    }

    fn write(&mut self, field: &[u8], value: &[u8], expires_at: u64) -> bool {
        let old = self.fields.insert(field.into(), Field { value: value.into(), expires_at });
        if let Some(old) = &old
            && old.expires_at != 0
        {
            self.ttls.remove(&(old.expires_at, Box::from(field)));
        }
        if expires_at != 0 {
            self.ttls.insert((expires_at, field.into()));
        }
        old.is_none()
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some((key, old)) = self.fields.swap_remove(field) else { return false };
        if old.expires_at != 0 {
            self.ttls.remove(&(old.expires_at, Box::from(&key[..])));
        }
        true
    }
}

impl Hash {
    pub fn new() -> Self {
        Hash { repr: Repr::Packed(Packed::default()) }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Packed(p) => p.len as usize,
            Repr::Table(t) => t.fields.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many blocks freeing the hash releases, as Redis's `lazyfreeGetFreeEffort` counts them:
    /// a packed hash is one buffer, a table one block per field.
    pub fn free_effort(&self) -> usize {
        match &self.repr {
            Repr::Packed(_) => 1,
            Repr::Table(t) => t.fields.len() + t.ttls.len(),
        }
    }

    /// The hash's fields (and their TTL records), each freed when the iterator passes it (see
    /// `lazy_free`).
    pub fn into_pieces(self) -> Box<dyn Iterator<Item = ()>> {
        match self.repr {
            Repr::Packed(_) => Box::new(std::iter::empty()),
            Repr::Table(t) => {
                let Hashed { fields, ttls } = *t;
                Box::new(fields.into_entries().map(drop).chain(ttls.into_iter().map(drop)))
            }
        }
    }

    /// Bytes the hash occupies (MEMORY USAGE): its buffer when packed; a table's own memory, its
    /// fields' values estimated from `samples` of them (0: all), and its TTL records.
    pub fn memory_usage(&self, samples: usize) -> usize {
        std::mem::size_of::<Hash>()
            + match &self.repr {
                Repr::Packed(packed) => packed.bytes.capacity(),
                Repr::Table(table) => {
                    let ttl_record = std::mem::size_of::<(u64, Box<[u8]>)>();
                    std::mem::size_of::<Hashed>()
                        + table.fields.footprint()
                        + table.fields.sampled_heap(samples, |field| field.value.len())
                        + sampled_size(table.ttls.iter(), table.ttls.len(), samples, |(_, field)| field.len() + ttl_record)
                }
            }
    }

    /// Whether any field has a time to live.
    pub fn has_field_ttls(&self) -> bool {
        match &self.repr {
            Repr::Packed(p) => p.with_ttl > 0,
            Repr::Table(t) => !t.ttls.is_empty(),
        }
    }

    /// OBJECT ENCODING's name, as Redis 7.4 reports it.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Packed(p) if p.expirable => "listpackex",
            Repr::Packed(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Packed(p) => p.find(field).map(|s| s.value),
            Repr::Table(t) => t.fields.get(field).map(|f| &f.value[..]),
        }
    }

    /// The field's expiry: `None` when there is no such field, `Some(None)` when it has no TTL.
    pub fn expiry(&self, field: &[u8]) -> Option<Option<u64>> {
        let at = match &self.repr {
            Repr::Packed(p) => p.find(field)?.expires_at,
            Repr::Table(t) => t.fields.get(field)?.expires_at,
        };
        Some((at != 0).then_some(at))
    }

    /// Sets a field's value, with `expires_at` as its TTL (`None` for none). Converts to a table
    /// past `limits`. Returns whether the field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], expires_at: Option<u64>, limits: HashLimits) -> bool {
        let at = expires_at.map_or(0, |at| at.max(1));
        if let Repr::Packed(p) = &self.repr {
            let grows = p.find(field).is_none();
            let too_many = grows && p.len as usize >= limits.entries;
            if too_many || field.len() > limits.value || value.len() > limits.value {
                self.convert(limits.seed);
            }
        }
        match &mut self.repr {
            Repr::Packed(p) => p.write(field, value, at),
            Repr::Table(t) => t.write(field, value, at),
        }
    }

    /// Sets the value and keeps the field's TTL (HINCRBY, HINCRBYFLOAT).
    pub fn set_keep_ttl(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        let ttl = self.expiry(field).flatten();
        self.set(field, value, ttl, limits)
    }

    /// Gives an existing field a new expiry (or none). Returns false when there is no such field.
    pub fn set_expiry(&mut self, field: &[u8], expires_at: Option<u64>) -> bool {
        let Some(value) = self.get(field).map(<[u8]>::to_vec) else { return false };
        // The value's length is unchanged, so no limit can be crossed.
        let limits = HashLimits { entries: usize::MAX, value: usize::MAX, seed: 0 };
        self.set(field, &value, expires_at, limits);
        true
    }

    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Packed(p) => p.remove(field),
            Repr::Table(t) => t.remove(field),
        }
    }

    /// Every field and value, in the encoding's order (insertion order while packed).
    pub fn pairs(&self) -> Vec<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Packed(p) => p.slots().map(|s| (s.field, s.value)).collect(),
            Repr::Table(t) => t.fields.iter().map(|(k, f)| (&k[..], &f.value[..])).collect(),
        }
    }

    /// The field and value at `index` of the encoding's order: HRANDFIELD's pick.
    pub fn pair_at(&self, index: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Packed(p) => p.slots().nth(index).map(|s| (s.field, s.value)),
            Repr::Table(t) => t.fields.get_index(index).map(|(k, f)| (&k[..], &f.value[..])),
        }
    }

    /// Whether the hash is packed: then HSCAN returns it whole in one call, as Redis does.
    pub fn is_packed(&self) -> bool {
        matches!(self.repr, Repr::Packed(_))
    }

    /// Removes up to `limit` fields whose expiry is at or before `now`; returns how many went.
    pub fn remove_expired(&mut self, now: u64, limit: usize) -> usize {
        let due: Vec<Vec<u8>> = match &self.repr {
            _ if !self.has_field_ttls() => return 0,
            Repr::Packed(p) => {
                p.slots().filter(|s| s.expires_at != 0 && s.expires_at <= now).take(limit).map(|s| s.field.to_vec()).collect()
            }
            Repr::Table(t) => {
                t.ttls.iter().take_while(|(at, _)| *at <= now).take(limit).map(|(_, k)| k.to_vec()).collect()
            }
        };
        for field in &due {
            self.remove(field);
        }
        due.len()
    }

    /// The earliest field expiry, if any field has one.
    #[cfg(test)]
    pub fn next_field_expiry(&self) -> Option<u64> {
        match &self.repr {
            Repr::Packed(p) => p.slots().map(|s| s.expires_at).filter(|&at| at != 0).min(),
            Repr::Table(t) => t.ttls.first().map(|(at, _)| *at),
        }
    }

    /// Turns a packed hash into a table, keeping every field's value and TTL.
    fn convert(&mut self, seed: u64) {
        let Repr::Packed(p) = &self.repr else { return };
        let mut table = Hashed::new(seed);
        for slot in p.slots() {
            table.write(slot.field, slot.value, slot.expires_at);
        }
        self.repr = Repr::Table(Box::new(table));
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::new()
    }
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        let repr = match &self.repr {
            Repr::Packed(p) => Repr::Packed(p.clone()),
            Repr::Table(t) => {
                // The copy's seed comes from the original's, which clients never learn.
                let copy_seed = std::hash::BuildHasher::hash_one(t.fields.hasher(), t.fields.len());
                let mut copy = Hashed::new(copy_seed);
                for (field, f) in t.fields.iter() {
                    copy.write(field, &f.value, f.expires_at);
                }
                Repr::Table(Box::new(copy))
            }
        };
        Hash { repr }
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.pairs().iter().all(|(f, v)| other.get(f) == Some(v) && other.expiry(f) == self.expiry(f))
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pairs: Vec<_> = self.pairs().into_iter().map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))).collect();
        f.debug_struct("Hash").field("encoding", &self.encoding()).field("pairs", &pairs).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: HashLimits = HashLimits { entries: 4, value: 8, seed: 1 };

    #[test]
    fn packed_keeps_insertion_order_and_replaces_in_place() {
        let mut h = Hash::new();
        assert!(h.set(b"a", b"1", None, SMALL));
        assert!(h.set(b"b", b"2", Some(500), SMALL));
        assert!(!h.set(b"a", b"one", None, SMALL));
        assert_eq!(h.pairs(), vec![(&b"a"[..], &b"one"[..]), (&b"b"[..], &b"2"[..])]);
        assert_eq!(h.encoding(), "listpackex");
        assert_eq!(h.expiry(b"b"), Some(Some(500)));
        assert!(h.remove(b"b"));
        assert!(!h.has_field_ttls());
        assert_eq!(h.encoding(), "listpackex", "as in Redis, the encoding stays");
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn converts_past_the_limits_keeping_ttls() {
        let mut h = Hash::new();
        for i in 0..4u8 {
            h.set(&[b'f', i], b"v", Some(100 + u64::from(i)), SMALL);
        }
        assert_eq!(h.encoding(), "listpackex");
        h.set(b"more", b"v", None, SMALL);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.next_field_expiry(), Some(100));
        assert_eq!(h.remove_expired(101, 10), 2);
        assert_eq!(h.len(), 3);
        let mut long = Hash::new();
        long.set(b"f", b"123456789", None, SMALL);
        assert_eq!(long.encoding(), "hashtable");
    }

    #[test]
    fn long_records_round_trip() {
        let mut h = Hash::new();
        let value = vec![b'x'; 1000];
        h.set(b"f", &value, Some(u64::from(u32::MAX) * 7), HashLimits { entries: 128, value: 10_000, seed: 1 });
        assert_eq!(h.get(b"f"), Some(&value[..]));
        assert_eq!(h.expiry(b"f"), Some(Some(u64::from(u32::MAX) * 7)));
        assert_eq!(h.clone(), h);
    }
}
