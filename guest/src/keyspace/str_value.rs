//! String values as the keyspace stores them.
//!
//! Many values in a cache are short: counters, flags, ids, timestamps. A string of up to
//! [`INLINE`] bytes is kept in place, in the room the entry has for its value anyway (where a
//! `Vec` keeps its pointer, capacity and length), instead of in an allocation of its own: it costs
//! no allocator header and no rounding, and a GET reads it from the cache line that held the
//! entry. Longer strings live on the heap, with room to spare for APPEND, SETRANGE and SETBIT to
//! grow into, as a `Vec` keeps it.

use std::ops::{Deref, DerefMut};

/// The longest string kept in place: with the variant's tag it takes the 12 bytes a `Vec` takes
/// on the component's 32-bit target, so an entry is no bigger than with a `Vec`.
pub const INLINE: usize = 11;

/// Where a [`Repr::Short`] string keeps its length: the last of its bytes.
const SHORT_LEN: usize = INLINE - 1;

/// The most room a heap string keeps to spare, as much as [`Repr::Heap`]'s three bytes count.
/// Growth doubles the room as a `Vec` does, but never by more than this past the new length.
const MAX_SPARE: usize = (1 << 24) - 1;

/// A string value: its bytes in place when they fit, else on the heap. Reads as `&[u8]`; grows
/// through [`StrValue::extend_from_slice`], [`StrValue::zero_extend`] and
/// [`StrValue::edit_as_vec`], which move it to the heap when it outgrows the entry (and back
/// when an edit leaves it short).
#[derive(Clone)]
pub struct StrValue(Repr);

/// The three shapes. Rust puts the tag in the first byte and each variant after it, and the outer
/// [`super::Value`] finds its own tag among the values this tag never takes: no byte is spent
/// on a length where the variant can say it (an 11-byte string is [`Repr::Full`]).
#[derive(Clone)]
enum Repr {
    /// More than [`INLINE`] bytes: the allocation (its length is the capacity), of which the last
    /// `spare` bytes (a little-endian 24-bit count) are not part of the string.
    Heap { spare: [u8; 3], bytes: Box<[u8]> },
    /// Up to [`SHORT_LEN`] bytes, their count in the last byte.
    Short([u8; INLINE]),
    /// Exactly [`INLINE`] bytes.
    Full([u8; INLINE]),
}

#[cfg(target_pointer_width = "32")]
const _: () = assert!(std::mem::size_of::<StrValue>() == 12);

impl StrValue {
    /// The empty string.
    pub const fn new() -> Self {
        StrValue(Repr::Short([0; INLINE]))
    }

    /// A string of `len` zero bytes.
    pub fn zeroed(len: usize) -> Self {
        let mut value = Self::new();
        value.zero_extend(len);
        value
    }

    /// The string's bytes. (The lengths are clamped to what they index, which they never exceed,
    /// so that a GET reads them without a bounds check.)
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Short(bytes) => &bytes[..usize::from(bytes[SHORT_LEN]).min(SHORT_LEN)],
            Repr::Full(bytes) => bytes,
            Repr::Heap { spare, bytes } => &bytes[..bytes.len().saturating_sub(spare_count(*spare))],
        }
    }

    /// The string's bytes, to change in place (its length stays).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Short(bytes) => {
                let len = usize::from(bytes[SHORT_LEN]).min(SHORT_LEN);
                &mut bytes[..len]
            }
            Repr::Full(bytes) => bytes,
            Repr::Heap { spare, bytes } => {
                let len = bytes.len().saturating_sub(spare_count(*spare));
                &mut bytes[..len]
            }
        }
    }

    /// Bytes the string holds outside the entry: its allocation (room to spare included), or
    /// nothing when it is kept in place.
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Heap { bytes, .. } => bytes.len(),
            _ => 0,
        }
    }

    /// Adds `more` at the end (APPEND).
    pub fn extend_from_slice(&mut self, more: &[u8]) {
        let len = self.len();
        self.zero_extend(len + more.len());
        self.as_mut_slice()[len..].copy_from_slice(more);
    }

    /// Makes the string `new_len` bytes long with zero bytes at its end, if it is shorter
    /// (SETRANGE and SETBIT past the end).
    pub fn zero_extend(&mut self, new_len: usize) {
        let len = self.len();
        if new_len <= len {
            return;
        }
        if new_len <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..len].copy_from_slice(self);
            *self = Self::inline(&bytes[..new_len]);
            return;
        }
        if let Repr::Heap { spare, bytes } = &mut self.0
            && new_len <= bytes.len()
        {
            bytes[len..new_len].fill(0);
            *spare = spare_bytes(bytes.len() - new_len);
            return;
        }
        let mut grown = self.take_vec();
        // A `Vec`'s growth (at least double the capacity), so a string built by many APPENDs
        // copies each byte a bounded number of times; bounded by what `spare` can count.
        let capacity = grown.capacity().saturating_mul(2).max(new_len).min(new_len.saturating_add(MAX_SPARE));
        grown.reserve_exact(capacity - grown.len());
        grown.resize(new_len, 0);
        *self = Self::from(grown);
    }

    /// Runs `edit` on the string as a `Vec` (for code that grows or shrinks a buffer, such as
    /// HyperLogLog's sketches), then keeps the result as any string is kept.
    pub fn edit_as_vec<R>(&mut self, edit: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut bytes = self.take_vec();
        let result = edit(&mut bytes);
        *self = Self::from(bytes);
        result
    }

    /// The string as a `Vec` with the capacity it had, leaving `self` empty: a heap string's
    /// allocation is handed over, not copied.
    fn take_vec(&mut self) -> Vec<u8> {
        let len = self.len();
        match std::mem::replace(&mut self.0, Repr::Short([0; INLINE])) {
            Repr::Heap { bytes, .. } => {
                let mut vec = Vec::from(bytes);
                vec.truncate(len);
                vec
            }
            inline => StrValue(inline).to_vec(),
        }
    }

    /// Bytes that fit in place (at most [`INLINE`]).
    fn inline(bytes: &[u8]) -> Self {
        let mut stored = [0; INLINE];
        stored[..bytes.len()].copy_from_slice(bytes);
        if bytes.len() == INLINE {
            return StrValue(Repr::Full(stored));
        }
        // At most SHORT_LEN, which fits a byte.
        stored[SHORT_LEN] = bytes.len() as u8;
        StrValue(Repr::Short(stored))
    }
}

/// The count `spare` holds.
fn spare_count(spare: [u8; 3]) -> usize {
    u32::from_le_bytes([spare[0], spare[1], spare[2], 0]) as usize
}

/// `count` (at most [`MAX_SPARE`]) as `spare` holds it.
fn spare_bytes(count: usize) -> [u8; 3] {
    let [a, b, c, _] = (count as u32).to_le_bytes();
    [a, b, c]
}

impl From<&[u8]> for StrValue {
    fn from(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE {
            return Self::inline(bytes);
        }
        StrValue(Repr::Heap { spare: [0; 3], bytes: bytes.into() })
    }
}

/// Keeps a `Vec`'s allocation, and its capacity as room to spare (at most [`MAX_SPARE`] of it);
/// a short one is copied in place and its allocation freed.
impl From<Vec<u8>> for StrValue {
    fn from(mut bytes: Vec<u8>) -> Self {
        let len = bytes.len();
        if len <= INLINE {
            return Self::inline(&bytes);
        }
        // The spare room becomes part of the boxed slice, so it is freed with the right size.
        // `into_boxed_slice` reallocates only when there was more than `MAX_SPARE` of it.
        let spare = (bytes.capacity() - len).min(MAX_SPARE);
        bytes.resize(len + spare, 0);
        StrValue(Repr::Heap { spare: spare_bytes(spare), bytes: bytes.into_boxed_slice() })
    }
}

impl Default for StrValue {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for StrValue {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl DerefMut for StrValue {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl PartialEq for StrValue {
    fn eq(&self, other: &StrValue) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for StrValue {}

impl std::fmt::Debug for StrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_inline(value: &StrValue) -> bool {
        !matches!(value.0, Repr::Heap { .. })
    }

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| b'a' + (i % 26) as u8).collect()
    }

    #[test]
    fn up_to_eleven_bytes_in_place_longer_on_the_heap() {
        for len in [0, 1, 10, 11, 12, 64] {
            let value = StrValue::from(&bytes(len)[..]);
            assert_eq!(&*value, &bytes(len)[..], "{len}");
            assert_eq!(is_inline(&value), len <= INLINE, "{len}");
            assert_eq!(value.heap_size(), if len <= INLINE { 0 } else { len }, "{len}");
            assert_eq!(StrValue::from(bytes(len)), value, "{len}");
        }
        assert!(StrValue::new().is_empty());
        assert_eq!(StrValue::default(), StrValue::from(&b""[..]));
    }

    #[test]
    fn a_vec_keeps_its_capacity_unless_it_is_short() {
        let mut vec = Vec::with_capacity(100);
        vec.extend_from_slice(&bytes(20));
        let value = StrValue::from(vec);
        assert_eq!((value.len(), value.heap_size()), (20, 100));
        let mut short = Vec::with_capacity(100);
        short.extend_from_slice(&bytes(11));
        assert_eq!(StrValue::from(short).heap_size(), 0);
    }

    #[test]
    fn append_grows_across_the_boundary() {
        let mut value = StrValue::new();
        let mut expected = Vec::new();
        for piece in [&b"abcde"[..], b"fghij", b"k", b"l", b"mnopqrstuvwxyz"] {
            value.extend_from_slice(piece);
            expected.extend_from_slice(piece);
            assert_eq!(&*value, &expected[..]);
            assert_eq!(is_inline(&value), expected.len() <= INLINE, "{}", expected.len());
        }
        // 12 bytes grew from 11 as a `Vec` of 11 would (to 22), and 26 from there (to 44).
        assert_eq!(value.heap_size(), 44);
    }

    #[test]
    fn appends_grow_as_a_vec_does() {
        let (mut value, mut vec) = (StrValue::from(&bytes(12)[..]), bytes(12));
        for _ in 0..200 {
            value.extend_from_slice(b"xyz");
            vec.extend_from_slice(b"xyz");
            assert_eq!((&*value, value.heap_size()), (&vec[..], vec.capacity()));
        }
    }

    #[test]
    fn zero_extend_grows_with_zeros_and_never_shrinks() {
        let mut value = StrValue::from(&b"ab"[..]);
        value.zero_extend(1);
        assert_eq!(&*value, b"ab");
        value.zero_extend(11);
        assert_eq!(&*value, b"ab\0\0\0\0\0\0\0\0\0");
        assert!(is_inline(&value));
        value.zero_extend(12);
        assert_eq!(&*value, b"ab\0\0\0\0\0\0\0\0\0\0");
        assert!(!is_inline(&value));
        assert_eq!(&*StrValue::zeroed(12), &[0; 12][..]);
        assert_eq!(&*StrValue::zeroed(3), &[0; 3][..]);
    }

    #[test]
    fn room_to_spare_is_zeroed_when_the_string_grows_into_it() {
        let mut value = StrValue::from(bytes(40));
        value.edit_as_vec(|vec| vec.truncate(20));
        assert_eq!(value.heap_size(), 40);
        value.zero_extend(30);
        assert_eq!(&value[..20], &bytes(20)[..]);
        assert_eq!(&value[20..], &[0; 10][..]);
    }

    #[test]
    fn in_place_changes_keep_the_length() {
        for len in [3, 11, 30] {
            let mut value = StrValue::from(&bytes(len)[..]);
            value.as_mut_slice().fill(b'z');
            assert_eq!(&*value, &vec![b'z'; len][..]);
        }
    }

    #[test]
    fn an_edit_that_shrinks_a_string_brings_it_back_in_place() {
        let mut value = StrValue::from(&bytes(30)[..]);
        let removed = value.edit_as_vec(|vec| vec.drain(11..).count());
        assert_eq!((removed, &*value, is_inline(&value)), (19, &bytes(11)[..], true));
        value.edit_as_vec(|vec| vec.push(b'!'));
        assert!(!is_inline(&value));
        value.edit_as_vec(Vec::clear);
        assert!(value.is_empty() && is_inline(&value));
    }

    #[test]
    fn room_to_spare_is_bounded_by_what_the_count_holds() {
        let mut vec = Vec::with_capacity(MAX_SPARE + 100);
        vec.extend_from_slice(&bytes(12));
        let value = StrValue::from(vec);
        assert_eq!(value.heap_size(), 12 + MAX_SPARE);
        assert_eq!(&*value, &bytes(12)[..]);
    }
}
