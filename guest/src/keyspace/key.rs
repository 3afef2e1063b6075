//! Keys as the keyspace stores them.
//!
//! Most keys are short (`user:1042`, `session:9f3a...`). A short key is kept in place, inside the
//! table's entry, instead of in an allocation of its own: a lookup then compares bytes already in
//! the cache line it read, rather than following one more pointer to another part of memory, and
//! the key costs no allocator overhead. Longer keys live on the heap.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The longest key kept in place. With its length and the variant's tag it takes as much room as
/// the entry leaves for it anyway (20 bytes on the component's 32-bit target).
const INLINE: usize = 18;

#[derive(Clone)]
pub enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl From<&[u8]> for Key {
    fn from(key: &[u8]) -> Self {
        if key.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            Key::Inline { len: key.len() as u8, bytes }
        } else {
            Key::Heap(key.into())
        }
    }
}

impl Key {
    /// Bytes a key of these bytes holds outside the entry it is stored in.
    pub fn heap_size_of(key: &[u8]) -> usize {
        if key.len() <= INLINE { 0 } else { key.len() }
    }

    pub fn heap_size(&self) -> usize {
        Self::heap_size_of(self)
    }

    /// Whether this is the key `other`. Compares eight bytes at a time: in the component, a
    /// slice comparison calls a `memcmp` that goes byte by byte.
    pub fn is(&self, other: &[u8]) -> bool {
        let this: &[u8] = self;
        if this.len() != other.len() {
            return false;
        }
        let (words, rest) = this.as_chunks::<8>();
        let (other_words, other_rest) = other.as_chunks::<8>();
        words.iter().zip(other_words).all(|(a, b)| u64::from_ne_bytes(*a) == u64::from_ne_bytes(*b))
            && rest.iter().zip(other_rest).all(|(a, b)| a == b)
    }
}

impl Deref for Key {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// Lookups take `&[u8]`: a key must hash and compare exactly as its bytes do.
impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.is(other)
    }
}

impl Eq for Key {}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

#[cfg(target_pointer_width = "32")]
const _: () = assert!(std::mem::size_of::<Key>() == 20);

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn short_keys_in_place_long_ones_on_the_heap() {
        let short = Key::from(&b"key:000000012345"[..]);
        let exact = Key::from(&[7u8; INLINE][..]);
        let long = Key::from(&[7u8; INLINE + 1][..]);
        assert!(matches!(short, Key::Inline { .. }) && matches!(exact, Key::Inline { .. }));
        assert!(matches!(long, Key::Heap(_)));
        assert_eq!(&*short, b"key:000000012345");
        assert_eq!(long.len(), INLINE + 1);
        assert_eq!(&*Key::from(&b""[..]), b"");
    }

    #[test]
    fn hashes_and_compares_as_its_bytes() {
        let state = foldhash::fast::FixedState::with_seed(7);
        for bytes in [&b""[..], b"k", &[1u8; INLINE], &[2u8; 100]] {
            let key = Key::from(bytes);
            assert_eq!(state.hash_one(&key), state.hash_one(bytes));
            assert_eq!(key, Key::from(bytes));
        }
        assert_ne!(Key::from(&b"a"[..]), Key::from(&b"a\0"[..]));
    }

    #[test]
    fn is_compares_every_byte() {
        let long: Vec<u8> = (0..40).collect();
        for len in [0, 1, 7, 8, 9, 16, 17, 18, 19, 40] {
            let key = Key::from(&long[..len]);
            assert!(key.is(&long[..len]));
            assert!(len == 0 || !key.is(&long[..len - 1]));
            for flip in 0..len {
                let mut other = long[..len].to_vec();
                other[flip] ^= 0x80;
                assert!(!key.is(&other), "len {len}, byte {flip}");
            }
        }
    }
}
