//! LZF decompression, for the compressed strings in Redis's dumps (redis-server compresses an RDB
//! string longer than 20 bytes when that saves space). The format: a control byte below 32 starts
//! a run of that many plus one literal bytes; any other is a back-reference, its top three bits the
//! length minus two (7: a length byte follows) and its low five bits with the next byte the
//! distance minus one.

/// The `length` bytes `compressed` holds, or None when it is malformed or holds another length.
pub fn decompress(compressed: &[u8], length: usize) -> Option<Vec<u8>> {
    // A hostile length is not allocated up front: the output grows as the input gives it bytes.
    let mut out = Vec::with_capacity(length.min(compressed.len().saturating_mul(4)));
    let mut at = 0;
    while at < compressed.len() {
        let control = usize::from(compressed[at]);
        at += 1;
        if control < 32 {
            let literal = compressed.get(at..at + control + 1)?;
            out.extend_from_slice(literal);
            at += control + 1;
        } else {
            let mut run = control >> 5;
            if run == 7 {
                run += usize::from(*compressed.get(at)?);
                at += 1;
            }
            let distance = ((control & 0x1f) << 8) + usize::from(*compressed.get(at)?) + 1;
            at += 1;
            let start = out.len().checked_sub(distance)?;
            // Byte by byte: a reference may overlap the bytes it produces.
            for from in start..start + run + 2 {
                let byte = out[from];
                out.push(byte);
            }
        }
        if out.len() > length {
            return None;
        }
    }
    (out.len() == length).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_overlapping_references() {
        // "abc" as a literal run, then a reference 3 back, 6 long: "abcabcabc".
        assert_eq!(decompress(b"\x02abc\x80\x02", 9).as_deref(), Some(&b"abcabcabc"[..]));
        // One byte repeated by a long reference (run byte follows the control).
        assert_eq!(decompress(b"\x00a\xe0\x03\x00", 13).as_deref(), Some(&[b'a'; 13][..]));
    }

    #[test]
    fn malformed_input_is_refused() {
        assert_eq!(decompress(b"\x05ab", 6), None, "a literal run past the end");
        assert_eq!(decompress(b"\x20\x05", 3), None, "a reference before the start");
        assert_eq!(decompress(b"\x02abc", 4), None, "another length");
    }
}
