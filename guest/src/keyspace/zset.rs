//! Sorted set values: distinct members, each with a score, ordered by (score, member) — members
//! with equal scores in byte order — in the two encodings Redis gives them, so OBJECT ENCODING
//! reports the same name:
//!
//! - `listpack`: a small sorted set (at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes) is one packed buffer of `len member score` records in order.
//!   An integer score takes a byte or two, so a member costs little beyond its bytes, and every
//!   operation is a short scan of a few cache lines.
//! - `skiplist`: beyond that, a hashed table from member to score beside a counted B+ tree of the
//!   elements (see [`score_tree`](super::score_tree)): rank and range operations in O(log n), as
//!   Redis's skip list gives them.
//!
//! A sorted set only moves towards `skiplist` as it grows, never back, as in Redis; results built
//! whole (ZUNIONSTORE, ZRANGESTORE...) take the encoding that fits them.

use super::score_tree::Tree;
use super::table::scan_back;
use super::varint::{get_varint, put_varint};
use std::cmp::Ordering;

/// The thresholds that decide the encoding (`zset-max-listpack-*`), and a seed for the table of a
/// sorted set that becomes a `skiplist`, so clients cannot choose members that collide.
#[derive(Clone, Copy, Debug)]
pub struct ZsetLimits {
    pub max_listpack_entries: usize,
    pub max_listpack_value: usize,
    pub seed: u64,
}

/// A member [`Zset::find`] found: its score, and where a `skiplist`'s table holds it.
pub struct Found {
    position: usize,
    pub score: f64,
}

pub enum Zset {
    Packed(Packed),
    Tree(Box<Tree>),
}

/// Compares two elements as the order of a sorted set does: by score, then by member bytes.
pub fn compare(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal).then_with(|| a.1.cmp(b.1))
}

impl Zset {
    pub fn new() -> Self {
        Zset::Packed(Packed::default())
    }

    /// A sorted set holding `elements` (distinct members), encoded as Redis encodes a result it
    /// builds whole: a listpack when it fits one, a skiplist otherwise.
    pub fn from_elements(elements: Vec<(Vec<u8>, f64)>, limits: &ZsetLimits) -> Self {
        let longest = elements.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let mut zset = if elements.len() <= limits.max_listpack_entries && longest <= limits.max_listpack_value {
            Zset::new()
        } else {
            Zset::Tree(Box::new(Tree::new(limits.seed)))
        };
        for (member, score) in elements {
            zset.insert(&member, score, limits);
        }
        zset
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Zset::Packed(_) => "listpack",
            Zset::Tree(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Zset::Packed(packed) => packed.len as usize,
            Zset::Tree(tree) => tree.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many blocks freeing the set releases, as Redis's `lazyfreeGetFreeEffort` counts them:
    /// a listpack is one block, a skiplist one per member (its leaves are few beside them).
    pub fn free_effort(&self) -> usize {
        match self {
            Zset::Packed(_) => 1,
            Zset::Tree(tree) => tree.len(),
        }
    }

    /// Bytes the sorted set occupies (MEMORY USAGE), a skiplist's members estimated from
    /// `samples` of them (0: all).
    pub fn memory_usage(&self, samples: usize) -> usize {
        std::mem::size_of::<Zset>()
            + match self {
                Zset::Packed(packed) => packed.bytes.capacity(),
                Zset::Tree(tree) => {
                    std::mem::size_of::<Tree>() + tree.nodes_size() + tree.members().footprint() + tree.members().sampled_heap(samples, |_| 0)
                }
            }
    }

    /// The set's members, each freed when the iterator passes it (see `lazy_free`).
    pub fn into_pieces(self) -> Box<dyn Iterator<Item = ()>> {
        match self {
            Zset::Packed(_) => Box::new(std::iter::empty()),
            Zset::Tree(tree) => Box::new(tree.into_pieces()),
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Zset::Packed(packed) => packed.find(member).map(|(_, score, _)| score),
            Zset::Tree(tree) => tree.score(member),
        }
    }

    /// Sets `member`'s score, adding the member if needed; returns its previous score.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &ZsetLimits) -> Option<f64> {
        match self.find(member) {
            Some(found) => {
                let old = found.score;
                self.rescore_found(found, member, score);
                Some(old)
            }
            None => {
                self.insert_absent(member, score, limits);
                None
            }
        }
    }

    /// The member's score, and where it is so that [`Zset::rescore_found`] need not look again.
    pub fn find(&self, member: &[u8]) -> Option<Found> {
        match self {
            Zset::Packed(packed) => packed.find(member).map(|(_, score, _)| Found { position: 0, score }),
            Zset::Tree(tree) => tree.find(member).map(|(position, score)| Found { position, score }),
        }
    }

    /// Gives the member [`Zset::find`] found a new score.
    pub fn rescore_found(&mut self, found: Found, member: &[u8], score: f64) {
        match self {
            Zset::Tree(tree) => {
                tree.rescore_at(found.position, member, score);
            }
            Zset::Packed(_) => {
                self.rescore(member, score);
            }
        }
    }

    /// Gives a member the set holds a new score; returns the old one (`None`: not a member).
    pub fn rescore(&mut self, member: &[u8], score: f64) -> Option<f64> {
        match self {
            Zset::Tree(tree) => tree.rescore(member, score),
            Zset::Packed(packed) => {
                let previous = packed.remove(member)?;
                packed.insert(member, score);
                Some(previous)
            }
        }
    }

    /// Adds a member the caller has just found absent, changing the encoding first when the
    /// member would not fit the current one.
    pub fn insert_absent(&mut self, member: &[u8], score: f64, limits: &ZsetLimits) {
        if let Zset::Packed(packed) = self
            && (packed.len as usize >= limits.max_listpack_entries || member.len() > limits.max_listpack_value)
        {
            self.convert_to_tree(limits.seed);
        }
        match self {
            Zset::Packed(packed) => packed.insert(member, score),
            Zset::Tree(tree) => tree.insert(member, score),
        }
    }

    fn convert_to_tree(&mut self, seed: u64) {
        let mut tree = Tree::new(seed);
        for (member, score) in self.range(0, self.len(), false) {
            tree.insert(&member, score);
        }
        *self = Zset::Tree(Box::new(tree));
    }

    /// Removes `member`; returns its score if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            Zset::Packed(packed) => packed.remove(member),
            Zset::Tree(tree) => tree.remove(member),
        }
    }

    /// The member's rank: how many elements come before it in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match self {
            Zset::Packed(packed) => packed.find(member).map(|(rank, _, _)| rank),
            Zset::Tree(tree) => tree.rank(member),
        }
    }

    /// How many elements, in ascending order, come before the first for which `before` is false;
    /// `before` must hold for a prefix of the order (score or lex bounds).
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match self {
            Zset::Packed(packed) => packed.iter().take_while(|(member, score)| before(*score, member)).count(),
            Zset::Tree(tree) => tree.count_before(&before),
        }
    }

    /// [`Zset::count_before`] for a bound on scores alone (ZCOUNT, ZRANGEBYSCORE...).
    pub fn count_before_score(&self, before: impl Fn(f64) -> bool) -> usize {
        match self {
            Zset::Packed(packed) => packed.iter().take_while(|(_, score)| before(*score)).count(),
            Zset::Tree(tree) => tree.count_before_score(&before),
        }
    }

    /// Up to `count` elements from rank `start` on, in ascending order, or from rank `start`
    /// counted from the highest, in descending order when `rev`.
    pub fn range(&self, start: usize, count: usize, rev: bool) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::with_capacity(count.min(self.len().saturating_sub(start)));
        self.visit(start, count, rev, |member, score| out.push((member.to_vec(), score)));
        out
    }

    /// Calls `visit` with the elements [`Zset::range`] would return, without copying them: what a
    /// reply is written from.
    pub fn visit(&self, start: usize, count: usize, rev: bool, mut visit: impl FnMut(&[u8], f64)) {
        let len = self.len();
        let count = count.min(len.saturating_sub(start));
        if count == 0 {
            return;
        }
        match self {
            Zset::Packed(packed) if rev => {
                // Records can only be read forwards: a reversed range is read, then walked back.
                let first = len - start - count;
                let records: Vec<(&[u8], f64)> = packed.iter().skip(first).take(count).collect();
                records.into_iter().rev().for_each(|(member, score)| visit(member, score));
            }
            Zset::Packed(packed) => packed.iter().skip(start).take(count).for_each(|(member, score)| visit(member, score)),
            Zset::Tree(tree) => tree.walk(start, count, rev, visit),
        }
    }

    /// The element at `rank` in ascending order.
    pub fn element_at(&self, rank: usize) -> Option<(Vec<u8>, f64)> {
        self.range(rank, 1, false).pop()
    }

    /// Removes `count` elements from ascending rank `start` on; returns how many went.
    pub fn remove_range(&mut self, start: usize, count: usize) -> usize {
        let doomed = self.range(start, count, false);
        for (member, _) in &doomed {
            self.remove(member);
        }
        doomed.len()
    }

    /// One step of ZSCAN: the elements to return and the cursor to continue from (0 when done).
    /// A listpack is returned whole in one step, as Redis does; a skiplist is walked through its
    /// table as SSCAN walks a set's, from the end, so removals never hide an element.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(Vec<u8>, f64)>) {
        let Zset::Tree(tree) = self else { return (0, self.range(0, self.len(), false)) };
        let (next, positions) = scan_back(tree.len(), cursor, count);
        (next, positions.filter_map(|at| tree.members().get_index(at)).map(|(member, &score)| (member.to_vec(), score)).collect())
    }
}

impl Default for Zset {
    fn default() -> Self {
        Zset::new()
    }
}

impl Clone for Zset {
    fn clone(&self) -> Self {
        match self {
            Zset::Packed(packed) => Zset::Packed(packed.clone()),
            Zset::Tree(tree) => {
                let mut copy = Tree::new(tree.seed());
                tree.walk(0, tree.len(), false, |member, score| copy.insert(member, score));
                Zset::Tree(Box::new(copy))
            }
        }
    }
}

impl PartialEq for Zset {
    fn eq(&self, other: &Self) -> bool {
        self.range(0, self.len(), false) == other.range(0, other.len(), false)
    }
}

impl std::fmt::Debug for Zset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let elements: Vec<(String, f64)> =
            self.range(0, self.len(), false).into_iter().map(|(m, s)| (String::from_utf8_lossy(&m).into_owned(), s)).collect();
        f.debug_struct("Zset").field("encoding", &self.encoding()).field("elements", &elements).finish()
    }
}

/// The `listpack` encoding: `len member score` records in (score, member) order. The length is a
/// LEB128 varint; the score is a varint of the zigzagged integer shifted left by one when it is an
/// integer of at most 53 bits (so small integer scores take a byte), else the byte 1 and the
/// double's eight bytes.
#[derive(Clone, Default)]
pub struct Packed {
    bytes: Vec<u8>,
    len: u32,
}

const MAX_EXACT_INTEGER: f64 = (1u64 << 53) as f64;

/// A score as a record holds it. `-0` is kept as `0`, as Redis's listpack keeps it.
fn put_score(out: &mut Vec<u8>, score: f64) {
    if score.fract() == 0.0 && score.abs() < MAX_EXACT_INTEGER {
        let n = score as i64;
        put_varint(out, (((n << 1) ^ (n >> 63)) as u64) << 1);
    } else {
        out.push(1);
        out.extend_from_slice(&score.to_le_bytes());
    }
}

fn get_score(bytes: &[u8], at: &mut usize) -> f64 {
    if bytes.get(*at) == Some(&1) {
        let raw = bytes.get(*at + 1..*at + 9).and_then(|b| <[u8; 8]>::try_from(b).ok()).unwrap_or_default();
        *at += 9;
        return f64::from_le_bytes(raw);
    }
    let zigzag = get_varint(bytes, at) >> 1;
    ((zigzag >> 1) as i64 ^ -((zigzag & 1) as i64)) as f64
}

/// A record's member, score, and the offsets of the record and the next one.
struct Record<'a> {
    member: &'a [u8],
    score: f64,
    start: usize,
    end: usize,
}

impl Packed {
    fn records(&self) -> impl Iterator<Item = Record<'_>> {
        let bytes = &self.bytes;
        let mut at = 0;
        std::iter::from_fn(move || {
            if at >= bytes.len() {
                return None;
            }
            let start = at;
            let len = get_varint(bytes, &mut at) as usize;
            let member = bytes.get(at..at + len).unwrap_or_default();
            at += len;
            let score = get_score(bytes, &mut at);
            Some(Record { member, score, start, end: at })
        })
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        self.records().map(|r| (r.member, r.score))
    }

    /// The member's rank, score and record offsets.
    fn find(&self, member: &[u8]) -> Option<(usize, f64, (usize, usize))> {
        self.records().enumerate().find(|(_, r)| r.member == member).map(|(rank, r)| (rank, r.score, (r.start, r.end)))
    }

    /// Adds a member it does not hold, in order.
    fn insert(&mut self, member: &[u8], score: f64) {
        let at = self.records().find(|r| compare((r.score, r.member), (score, member)) == Ordering::Greater).map_or(self.bytes.len(), |r| r.start);
        let mut record = Vec::with_capacity(member.len() + 11);
        put_varint(&mut record, member.len() as u64);
        record.extend_from_slice(member);
        put_score(&mut record, score);
        // Grown a little at a time, as a listpack is reallocated for each insert: a small set
        // keeps no spare capacity worth counting.
        self.bytes.reserve_exact(record.len());
        self.bytes.splice(at..at, record);
        self.len += 1;
    }

    fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (_, score, (start, end)) = self.find(member)?;
        self.bytes.drain(start..end);
        self.len -= 1;
        if self.bytes.capacity() > 2 * self.bytes.len() + 64 {
            self.bytes.shrink_to_fit();
        }
        Some(score)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ZsetLimits = ZsetLimits { max_listpack_entries: 4, max_listpack_value: 5, seed: 7 };

    fn elements(zset: &Zset) -> Vec<(String, f64)> {
        zset.range(0, zset.len(), false).into_iter().map(|(m, s)| (String::from_utf8(m).unwrap(), s)).collect()
    }

    #[test]
    fn listpack_keeps_order_and_grows_into_a_skiplist() {
        let mut zset = Zset::new();
        for (member, score) in [("b", 2.0), ("a", 2.0), ("c", -1.5), ("d", f64::INFINITY)] {
            assert_eq!(zset.insert(member.as_bytes(), score, &LIMITS), None);
        }
        assert_eq!(zset.encoding(), "listpack");
        let expected = vec![("c".to_string(), -1.5), ("a".into(), 2.0), ("b".into(), 2.0), ("d".into(), f64::INFINITY)];
        assert_eq!(elements(&zset), expected);
        assert_eq!(zset.insert(b"a", 3.0, &LIMITS), Some(2.0));
        assert_eq!(zset.encoding(), "listpack", "an update does not grow the set");
        zset.insert(b"e", 0.0, &LIMITS);
        assert_eq!(zset.encoding(), "skiplist");
        assert_eq!(zset.rank(b"e"), Some(1));
        assert_eq!(zset.rank(b"a"), Some(3));
        let mut long = Zset::new();
        long.insert(b"toolong", 1.0, &LIMITS);
        assert_eq!(long.encoding(), "skiplist");
    }

    #[test]
    fn packed_scores_round_trip() {
        let mut zset = Zset::new();
        let limits = ZsetLimits { max_listpack_entries: 100, ..LIMITS };
        let scores = [0.0, -0.0, 1.0, -1.0, 63.0, 64.0, -65.0, 1e15, -(2f64.powi(53)), 2f64.powi(53), 0.1, f64::NEG_INFINITY, 1e300];
        for (i, score) in scores.iter().enumerate() {
            zset.insert(format!("m{i}").as_bytes(), *score, &limits);
        }
        for (i, score) in scores.iter().enumerate() {
            assert_eq!(zset.score(format!("m{i}").as_bytes()), Some(*score), "{score}");
        }
    }

    #[test]
    fn tree_matches_a_sorted_vector() {
        let limits = ZsetLimits { max_listpack_entries: 0, ..LIMITS };
        let mut zset = Zset::new();
        let mut model: Vec<(f64, Vec<u8>)> = Vec::new();
        let mut x = 12345u64;
        for step in 0..3000u32 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let member = format!("m{}", (x >> 33) % 500).into_bytes();
            let score = ((x >> 20) % 50) as f64;
            if step % 3 == 0 {
                assert_eq!(zset.remove(&member).is_some(), model.iter().any(|(_, m)| *m == member));
                model.retain(|(_, m)| *m != member);
            } else {
                zset.insert(&member, score, &limits);
                model.retain(|(_, m)| *m != member);
                model.push((score, member));
            }
        }
        model.sort_by(|a, b| compare((a.0, &a.1), (b.0, &b.1)));
        assert_eq!(zset.encoding(), "skiplist");
        assert_eq!(zset.len(), model.len());
        let all = zset.range(0, usize::MAX, false);
        assert_eq!(all.iter().map(|(m, s)| (*s, m.clone())).collect::<Vec<_>>(), model);
        for (rank, (score, member)) in model.iter().enumerate() {
            assert_eq!(zset.rank(member), Some(rank));
            assert_eq!(zset.score(member), Some(*score));
        }
        let mut reversed = model.clone();
        reversed.reverse();
        assert_eq!(zset.range(3, 10, true).iter().map(|(m, s)| (*s, m.clone())).collect::<Vec<_>>(), reversed[3..13]);
        assert_eq!(zset.count_before(|s, _| s < 10.0), model.iter().filter(|(s, _)| *s < 10.0).count());
        assert_eq!(zset.count_before_score(|s| s < 20.0), model.iter().filter(|(s, _)| *s < 20.0).count());
        let copy = zset.clone();
        assert_eq!(copy, zset);
        let (mut cursor, mut seen) = (0, 0);
        loop {
            let (next, found) = zset.scan(cursor, 7);
            seen += found.len();
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, model.len());
    }
}
