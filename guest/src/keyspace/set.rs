//! Set values, in the three encodings Redis (7.2 and later) gives them, so that OBJECT ENCODING
//! reports the same name and small sets list their members in the same order:
//!
//! - `intset`: while every member is an integer and there are at most `set-max-intset-entries`,
//!   the members are kept as sorted 64-bit integers — compact, and listed in ascending order.
//! - `listpack`: a small set of other members (at most `set-max-listpack-entries` members of at
//!   most `set-max-listpack-value` bytes) is a plain list in insertion order; a linear search of a
//!   few dozen short members costs less than hashing and takes no index.
//! - `hashtable`: beyond that, a hashed table whose dense positions allow picking a member at
//!   random in constant time (SPOP, SRANDMEMBER) and walking it with a cursor (SSCAN).
//!
//! A set only moves towards `hashtable` as it grows, never back, as in Redis.

use super::Key;
use super::table::{Table, scan_back};
use super::value::sampled_size;
use foldhash::fast::FixedState;

/// The thresholds that decide a set's encoding (the `set-max-*` settings), and a seed for the
/// hash of a set that becomes a `hashtable`, so clients cannot choose members that collide.
#[derive(Clone, Copy, Debug)]
pub struct SetLimits {
    pub max_intset_entries: usize,
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
    pub seed: u64,
}

pub enum Set {
    /// Sorted, distinct.
    Ints(Vec<i64>),
    /// Distinct, in insertion order.
    Compact(Vec<Box<[u8]>>),
    Hashed(Table<()>),
}

/// A set member as Redis reads an integer one: the canonical decimal text of an `i64`.
fn as_integer(member: &[u8]) -> Option<i64> {
    crate::commands::parse_i64(member)
}

fn integer_text(value: i64) -> Vec<u8> {
    itoa::Buffer::new().format(value).as_bytes().to_vec()
}

impl Set {
    /// An empty set in the most compact encoding; adding members moves it on as needed.
    pub fn new() -> Self {
        Set::Ints(Vec::new())
    }

    /// An empty set for a command about to add about `hint` members, the first being `first`:
    /// Redis picks the encoding from these, so a set created with many members skips the
    /// encodings it would outgrow at once.
    pub fn with_hint(first: &[u8], hint: usize, limits: &SetLimits) -> Self {
        if as_integer(first).is_some() && hint <= limits.max_intset_entries {
            Set::Ints(Vec::new())
        } else if hint <= limits.max_listpack_entries {
            Set::Compact(Vec::new())
        } else {
            Set::Hashed(Table::with_hasher(FixedState::with_seed(limits.seed)))
        }
    }

    /// A set holding `members` (duplicates dropped), encoded as adding them one by one makes it.
    pub fn from_members<M: AsRef<[u8]>>(members: impl IntoIterator<Item = M>, limits: &SetLimits) -> Self {
        let mut set = Set::new();
        for member in members {
            set.add(member.as_ref(), limits);
        }
        set
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Compact(_) => "listpack",
            Set::Hashed(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(ints) => ints.len(),
            Set::Compact(members) => members.len(),
            Set::Hashed(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many blocks freeing the set releases, as Redis's `lazyfreeGetFreeEffort` counts them:
    /// an intset is one block, the other encodings one per member.
    pub fn free_effort(&self) -> usize {
        match self {
            Set::Ints(_) => 1,
            Set::Compact(members) => members.len(),
            Set::Hashed(table) => table.len(),
        }
    }

    /// Bytes the set occupies (MEMORY USAGE), members of a table or a compact set estimated from
    /// `samples` of them (0: all).
    pub fn memory_usage(&self, samples: usize) -> usize {
        std::mem::size_of::<Set>()
            + match self {
                Set::Ints(members) => members.capacity() * std::mem::size_of::<i64>(),
                Set::Compact(members) => {
                    members.capacity() * std::mem::size_of::<Box<[u8]>>() + sampled_size(members.iter(), members.len(), samples, |m| m.len())
                }
                Set::Hashed(table) => table.footprint() + table.sampled_heap(samples, |_| 0),
            }
    }

    /// The set's members, each freed when the iterator passes it (see `lazy_free`).
    pub fn into_pieces(self) -> Box<dyn Iterator<Item = ()>> {
        match self {
            Set::Ints(_) => Box::new(std::iter::empty()),
            Set::Compact(members) => Box::new(members.into_iter().map(drop)),
            Set::Hashed(table) => Box::new(table.into_entries().map(drop)),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        match self {
            Set::Ints(ints) => as_integer(member).is_some_and(|n| ints.binary_search(&n).is_ok()),
            Set::Compact(members) => members.iter().any(|m| **m == *member),
            Set::Hashed(table) => table.position(member).is_some(),
        }
    }

    /// Adds `member`; returns false when it was already there. Changes the encoding first when
    /// the member would not fit the current one.
    pub fn add(&mut self, member: &[u8], limits: &SetLimits) -> bool {
        if self.contains(member) {
            return false;
        }
        self.make_room_for(member, limits);
        match self {
            Set::Ints(ints) => {
                // make_room_for leaves an intset only for an integer member.
                let Some(n) = as_integer(member) else { return false };
                let at = ints.binary_search(&n).unwrap_or_else(|at| at);
                ints.insert(at, n);
                if ints.len() > limits.max_intset_entries {
                    self.convert_to_hashed(limits.seed);
                }
            }
            Set::Compact(members) => members.push(member.into()),
            Set::Hashed(table) => table.insert_new(Key::from(member), ()),
        }
        true
    }

    /// Moves the set to the encoding that can take `member`, which it does not hold yet.
    fn make_room_for(&mut self, member: &[u8], limits: &SetLimits) {
        let fits_listpack = |len: usize, longest: usize| {
            len < limits.max_listpack_entries && member.len() <= limits.max_listpack_value && longest <= limits.max_listpack_value
        };
        match self {
            Set::Ints(_) if as_integer(member).is_some() => {}
            Set::Ints(ints) => {
                let longest = ints.first().into_iter().chain(ints.last()).map(|n| integer_text(*n).len()).max().unwrap_or(0);
                if fits_listpack(ints.len(), longest) {
                    *self = Set::Compact(ints.iter().map(|n| integer_text(*n).into_boxed_slice()).collect());
                } else {
                    self.convert_to_hashed(limits.seed);
                }
            }
            Set::Compact(members) => {
                if !fits_listpack(members.len(), 0) {
                    self.convert_to_hashed(limits.seed);
                }
            }
            Set::Hashed(_) => {}
        }
    }

    fn convert_to_hashed(&mut self, seed: u64) {
        let mut table = Table::with_hasher(FixedState::with_seed(seed));
        for member in self.members() {
            table.insert_new(Key::from(&member[..]), ());
        }
        *self = Set::Hashed(table);
    }

    /// Removes `member`; returns whether it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            Set::Ints(ints) => match as_integer(member).map(|n| ints.binary_search(&n)) {
                Some(Ok(at)) => {
                    ints.remove(at);
                    true
                }
                _ => false,
            },
            Set::Compact(members) => match members.iter().position(|m| **m == *member) {
                Some(at) => {
                    members.remove(at);
                    true
                }
                None => false,
            },
            Set::Hashed(table) => table.swap_remove(member).is_some(),
        }
    }

    /// The member at `position` (0 to `len() - 1`) in the encoding's order: what random picks
    /// and iteration use.
    pub fn member_at(&self, position: usize) -> Option<Vec<u8>> {
        match self {
            Set::Ints(ints) => ints.get(position).map(|n| integer_text(*n)),
            Set::Compact(members) => members.get(position).map(|m| m.to_vec()),
            Set::Hashed(table) => table.get_index(position).map(|(key, _)| key.to_vec()),
        }
    }

    /// Every member, in the encoding's order: ascending for an intset, insertion order for a
    /// listpack, table order for a hashtable.
    pub fn members(&self) -> Vec<Vec<u8>> {
        match self {
            Set::Ints(ints) => ints.iter().map(|n| integer_text(*n)).collect(),
            Set::Compact(members) => members.iter().map(|m| m.to_vec()).collect(),
            Set::Hashed(table) => table.iter().map(|(key, _)| key.to_vec()).collect(),
        }
    }

    /// One step of SSCAN: the members to return and the cursor to continue from (0 when done).
    /// A compact set is returned whole in one step, as Redis does. A hashtable is walked like the
    /// keyspace's SCAN: the cursor counts the positions still to visit, from the end, so removals
    /// (which move the last member into the hole) never hide a member present all along.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Vec<u8>>) {
        let Set::Hashed(table) = self else { return (0, self.members()) };
        let (next, positions) = scan_back(table.len(), cursor, count);
        (next, positions.filter_map(|at| table.get_index(at)).map(|(key, _)| key.to_vec()).collect())
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::new()
    }
}

// Entries are cloned (COPY) and compared (tests); a hashtable's table offers neither, so both
// work on the members.
impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Ints(ints) => Set::Ints(ints.clone()),
            Set::Compact(members) => Set::Compact(members.clone()),
            Set::Hashed(table) => {
                let mut copy = Table::with_hasher(table.hasher().clone());
                for (key, _) in table.iter() {
                    copy.insert_new(key.clone(), ());
                }
                Set::Hashed(copy)
            }
        }
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.members().iter().all(|m| other.contains(m))
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members: Vec<String> = self.members().iter().map(|m| String::from_utf8_lossy(m).into_owned()).collect();
        f.debug_struct("Set").field("encoding", &self.encoding()).field("members", &members).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits { max_intset_entries: 4, max_listpack_entries: 3, max_listpack_value: 5, seed: 1 };

    #[test]
    fn integers_stay_sorted_until_the_intset_is_full() {
        let mut set = Set::from_members(["3", "-1", "2", "3"], &LIMITS);
        assert_eq!(set.encoding(), "intset");
        assert_eq!(set.members(), vec![b"-1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
        assert!(set.add(b"10", &LIMITS));
        assert_eq!(set.encoding(), "intset");
        assert!(set.add(b"11", &LIMITS));
        assert_eq!(set.encoding(), "hashtable", "more than max_intset_entries");
        assert_eq!(set.len(), 5);
        assert!(set.contains(b"11") && set.contains(b"-1"));
    }

    #[test]
    fn non_canonical_integers_are_strings() {
        let set = Set::from_members(["1", "01"], &LIMITS);
        assert_eq!(set.encoding(), "listpack");
        assert_eq!(set.members(), vec![b"1".to_vec(), b"01".to_vec()]);
        assert!(!set.contains(b"+1"));
    }

    #[test]
    fn listpack_keeps_insertion_order_and_grows_into_a_hashtable() {
        let mut set = Set::from_members(["b", "a", "c"], &LIMITS);
        assert_eq!(set.encoding(), "listpack");
        assert_eq!(set.members(), vec![b"b".to_vec(), b"a".to_vec(), b"c".to_vec()]);
        assert!(set.add(b"d", &LIMITS));
        assert_eq!(set.encoding(), "hashtable");
        let long = Set::from_members(["toolong"], &LIMITS);
        assert_eq!(long.encoding(), "hashtable", "a member longer than max_listpack_value");
        let wide = Set::from_members(["123456", "x"], &LIMITS);
        assert_eq!(wide.encoding(), "hashtable", "an integer too long for the listpack");
    }

    #[test]
    fn removal_and_clone_and_equality() {
        let mut set = Set::from_members(["a", "b", "c", "d", "e"], &LIMITS);
        let copy = set.clone();
        assert_eq!(set, copy);
        assert!(set.remove(b"c"));
        assert!(!set.remove(b"c"));
        assert_ne!(set, copy);
        assert_eq!(set.len(), 4);
        let mut ints = Set::from_members(["1", "2"], &LIMITS);
        assert!(ints.remove(b"1") && !ints.remove(b"x"));
        assert_eq!(ints.members(), vec![b"2".to_vec()]);
    }

    #[test]
    fn hashtable_scan_visits_every_member() {
        let limits = SetLimits { max_listpack_entries: 0, ..LIMITS };
        let members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        let set = Set::from_members(&members, &limits);
        let (mut cursor, mut seen) = (0, Vec::new());
        loop {
            let (next, found) = set.scan(cursor, 7);
            seen.extend(found);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        seen.sort();
        let mut expected: Vec<Vec<u8>> = members.iter().map(|m| m.as_bytes().to_vec()).collect();
        expected.sort();
        assert_eq!(seen, expected);
    }
}
