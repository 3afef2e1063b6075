//! LEB128 varints: the lengths (and small scores) in the packed encodings of hashes and sorted
//! sets.

/// Appends `n`, seven bits a byte, the high bit marking that more follow.
pub(super) fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A varint at `*at`, moving `*at` past it. The buffer is only ever written by [`put_varint`].
pub(super) fn get_varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut n = 0u64;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*at) {
        *at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    n
}
