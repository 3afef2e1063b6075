//! HyperLogLog sketches stored as strings, in the byte layout Redis uses, so a value written by
//! cachet (read with GET) means the same on a Redis server and the other way round, and the same
//! additions give the same bytes on both.
//!
//! A sketch is a 16-byte header — the magic `HYLL`, an encoding byte (0 dense, 1 sparse), three
//! unused bytes and an 8-byte little-endian cached cardinality whose top bit marks it stale —
//! followed by 16384 registers of 6 bits. Dense sketches pack the registers least significant bit
//! first (12288 bytes). Sparse sketches run-length encode them with three opcodes, and turn dense
//! once they outgrow `hll-sparse-max-bytes` or must hold a register above 32:
//!
//! - `00xxxxxx`: 1 to 64 zero registers;
//! - `01xxxxxx yyyyyyyy`: 1 to 16384 zero registers (14 bits);
//! - `1vvvvvxx`: 1 to 4 registers holding the value 1 to 32.
//!
//! The estimate is Ertl's improved estimator ("New cardinality estimation algorithms for
//! HyperLogLog sketches", 2017) over the registers' histogram, as Redis computes it, so both
//! servers give the same count for the same registers. Its standard error is 1.04/√16384 = 0.81%.

/// Registers in a sketch (2^14: the low 14 bits of an element's hash choose one).
pub const REGISTERS: usize = 1 << INDEX_BITS;
const INDEX_BITS: u32 = 14;
/// Hash bits left to count leading zeros in, after the register index.
const COUNT_BITS: u32 = 64 - INDEX_BITS;
/// The largest value a register can take: `COUNT_BITS + 1`.
const MAX_COUNT: u8 = COUNT_BITS as u8 + 1;
const HEADER: usize = 16;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const REGISTER_BITS: usize = 6;
const REGISTER_MASK: u16 = (1 << REGISTER_BITS) - 1;
/// A dense sketch's size: header and 6-bit registers.
pub const DENSE_SIZE: usize = HEADER + REGISTERS * REGISTER_BITS / 8;
/// The largest value a sparse `VAL` opcode holds, and how many registers it spans at most.
const SPARSE_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_RUN: usize = 4;
const SPARSE_ZERO_MAX_RUN: usize = 64;
const SPARSE_XZERO_MAX_RUN: usize = 16384;
/// The seed Redis hashes elements with.
const SEED: u64 = 0xadc8_3b19;
/// The bias correction for m → ∞: 1 / (2 ln 2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// A sketch whose bytes cannot be walked: its registers do not add up to 16384.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// An empty sparse sketch: the header and one `XZERO` opcode covering every register. Its
/// cached cardinality (0) is valid.
pub fn empty() -> Vec<u8> {
    let mut hll = b"HYLL".to_vec();
    hll.extend_from_slice(&[SPARSE, 0, 0, 0]);
    hll.extend_from_slice(&[0; 8]);
    push_zero_run(&mut hll, REGISTERS);
    hll
}

/// Whether a string is a sketch at all: long enough for the header, the magic, a known encoding,
/// and exactly the dense size when dense. (Whether a sparse sketch's opcodes add up is found out
/// only when they are walked.)
pub fn is_sketch(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER
        && bytes.starts_with(b"HYLL")
        && bytes[4] <= SPARSE
        && (bytes[4] != DENSE || bytes.len() == DENSE_SIZE)
}

/// The cached cardinality, when it is not stale.
pub fn cached_count(hll: &[u8]) -> Option<u64> {
    let card: [u8; 8] = hll.get(8..HEADER)?.try_into().ok()?;
    (card[7] & 0x80 == 0).then(|| u64::from_le_bytes(card))
}

pub fn store_count(hll: &mut [u8], count: u64) {
    hll[8..HEADER].copy_from_slice(&count.to_le_bytes());
}

/// Marks the cached cardinality stale; its other bits stay as they were, as in Redis.
pub fn invalidate_count(hll: &mut [u8]) {
    hll[HEADER - 1] |= 0x80;
}

/// The register an element lands in and the value it offers it: one more than the number of
/// trailing zero bits of the rest of its hash.
fn register_of(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    // The bit above the counted ones bounds the count at COUNT_BITS + 1.
    let rest = (hash >> INDEX_BITS) | (1 << COUNT_BITS);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// MurmurHash64A, the 64-bit hash Redis uses: eight bytes at a time, little endian.
fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut k = u64::from_le_bytes([block[0], block[1], block[2], block[3], block[4], block[5], block[6], block[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &byte) in tail.iter().enumerate() {
            h ^= u64::from(byte) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^ (h >> R)
}

/// Adds an element; returns whether a register grew. The caller has checked [`is_sketch`].
pub fn add(hll: &mut Vec<u8>, element: &[u8], sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = register_of(element);
    set_register(hll, index, count, sparse_max_bytes)
}

/// Whether adding `elements` would raise a register (or meet damage that adding reports),
/// without changing anything: a PFADD that raises nothing is not a write.
pub fn would_grow(hll: &[u8], elements: &[&[u8]]) -> bool {
    elements.iter().any(|element| {
        let (index, count) = register_of(element);
        let current = if hll[4] == DENSE {
            Some(dense_get(&hll[HEADER..], index))
        } else {
            find_opcode(hll, index).map(|(at, _, _)| opcode_at(hll, at).value)
        };
        current.is_none_or(|value| value < count)
    })
}

/// Raises register `index` to `count` if it is lower; returns whether it did.
pub fn set_register(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    if hll[4] == DENSE {
        return Ok(dense_raise(&mut hll[HEADER..], index, count));
    }
    sparse_raise(hll, index, count, sparse_max_bytes)
}

/// Whether the sketch is dense.
pub fn is_dense(hll: &[u8]) -> bool {
    hll[4] == DENSE
}

fn dense_get(registers: &[u8], index: usize) -> u8 {
    let (byte, shift) = (index * REGISTER_BITS / 8, index * REGISTER_BITS % 8);
    let low = u16::from(registers[byte]);
    let high = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((low >> shift) | (high << (8 - shift))) & REGISTER_MASK) as u8
}

fn dense_put(registers: &mut [u8], index: usize, value: u8) {
    let (byte, shift) = (index * REGISTER_BITS / 8, index * REGISTER_BITS % 8);
    let value = u16::from(value);
    registers[byte] = (u16::from(registers[byte]) & !(REGISTER_MASK << shift) | (value << shift)) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        let spill = 8 - shift;
        *next = (u16::from(*next) & !(REGISTER_MASK >> spill) | (value >> spill)) as u8;
    }
}

fn dense_raise(registers: &mut [u8], index: usize, count: u8) -> bool {
    if dense_get(registers, index) >= count {
        return false;
    }
    dense_put(registers, index, count);
    true
}

/// A sparse opcode: how many registers it spans and the value they hold (0 for the zero runs).
#[derive(Clone, Copy)]
struct Opcode {
    run: usize,
    value: u8,
    /// Its size in bytes: 2 for `XZERO`, else 1.
    size: usize,
}

/// The opcode at `at`. A two-byte opcode cut short by the end of the string reads its missing
/// byte as 0, as Redis's terminating zero byte makes it.
fn opcode_at(hll: &[u8], at: usize) -> Opcode {
    let byte = hll[at];
    if byte & 0x80 != 0 {
        Opcode { run: usize::from(byte & 0x3) + 1, value: ((byte >> 2) & 0x1f) + 1, size: 1 }
    } else if byte & 0x40 != 0 {
        let low = usize::from(hll.get(at + 1).copied().unwrap_or(0));
        Opcode { run: ((usize::from(byte & 0x3f) << 8) | low) + 1, value: 0, size: 2 }
    } else {
        Opcode { run: usize::from(byte & 0x3f) + 1, value: 0, size: 1 }
    }
}

fn val_opcode(value: u8, run: usize) -> u8 {
    0x80 | ((value - 1) << 2) | (run as u8 - 1)
}

/// Appends the shortest opcode for a run of 1 to 16384 zero registers.
fn push_zero_run(out: &mut Vec<u8>, mut run: usize) {
    while run > 0 {
        let this = run.min(SPARSE_XZERO_MAX_RUN);
        if this > SPARSE_ZERO_MAX_RUN {
            out.extend_from_slice(&[0x40 | ((this - 1) >> 8) as u8, ((this - 1) & 0xff) as u8]);
        } else {
            out.push((this - 1) as u8);
        }
        run -= this;
    }
}

/// The opcode covering register `index`: its offset, the first register it covers, and the
/// offset of the opcode before it.
fn find_opcode(hll: &[u8], index: usize) -> Option<(usize, usize, Option<usize>)> {
    let (mut at, mut first, mut previous) = (HEADER, 0, None);
    while at < hll.len() {
        let op = opcode_at(hll, at);
        if index < first + op.run {
            return Some((at, first, previous));
        }
        previous = Some(at);
        at += op.size;
        first += op.run;
    }
    None
}

/// Raises a register of a sparse sketch in place, splitting the opcode that covers it; turns the
/// sketch dense when the value does not fit an opcode or the sketch would outgrow
/// `sparse_max_bytes`.
fn sparse_raise(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max_bytes: usize) -> Result<bool, Corrupt> {
    if count > SPARSE_MAX_VALUE {
        return promote(hll, index, count);
    }
    let (at, first, previous) = find_opcode(hll, index).ok_or(Corrupt)?;
    let op = opcode_at(hll, at);
    if at + op.size > hll.len() {
        return Err(Corrupt);
    }
    if op.value >= count {
        return Ok(false);
    }
    if op.run == 1 && op.size == 1 {
        hll[at] = val_opcode(count, 1);
    } else {
        let replacement = split(op, index - first, count);
        let growth = replacement.len().saturating_sub(op.size);
        if growth > 0 && hll.len() + growth > sparse_max_bytes {
            return promote(hll, index, count);
        }
        hll.splice(at..at + op.size, replacement);
    }
    merge_neighbours(hll, previous.unwrap_or(HEADER));
    Ok(true)
}

/// The opcodes that replace `op` once its register at `offset` (counted from its first) holds
/// `count`: the run before it, the register, the run after it.
fn split(op: Opcode, offset: usize, count: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(5);
    let after = op.run - offset - 1;
    let push_run = |out: &mut Vec<u8>, run: usize| {
        if run == 0 {
            return;
        }
        if op.value == 0 {
            push_zero_run(out, run);
        } else {
            out.push(val_opcode(op.value, run));
        }
    };
    push_run(&mut out, offset);
    out.push(val_opcode(count, 1));
    push_run(&mut out, after);
    out
}

/// Joins adjacent `VAL` opcodes of the same value that fit one opcode, looking at up to five
/// opcodes from `at` (the neighbourhood of the one just changed).
fn merge_neighbours(hll: &mut Vec<u8>, mut at: usize) {
    for _ in 0..5 {
        if at >= hll.len() {
            return;
        }
        let op = opcode_at(hll, at);
        if op.value == 0 {
            at += op.size;
            continue;
        }
        if let Some(&next) = hll.get(at + 1)
            && next & 0x80 != 0
        {
            let next = opcode_at(hll, at + 1);
            if next.value == op.value && op.run + next.run <= SPARSE_VAL_MAX_RUN {
                hll[at + 1] = val_opcode(op.value, op.run + next.run);
                hll.remove(at);
                // Look at the joined opcode again: it may join the one after it too.
                continue;
            }
        }
        at += 1;
    }
}

/// Turns a sparse sketch dense, then raises the register.
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(hll)?;
    Ok(dense_raise(&mut hll[HEADER..], index, count))
}

/// Rewrites a sparse sketch as a dense one, keeping its header (and so its cached cardinality).
pub fn to_dense(hll: &mut Vec<u8>) -> Result<(), Corrupt> {
    if hll[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HEADER].copy_from_slice(&hll[..HEADER]);
    dense[4] = DENSE;
    let covered = walk_sparse(hll, |first, run, value| {
        for i in first..first + run {
            dense_put(&mut dense[HEADER..], i, value);
        }
    })?;
    if covered != REGISTERS {
        return Err(Corrupt);
    }
    *hll = dense;
    Ok(())
}

/// Calls `visit(first, run, value)` for every nonzero run of a sparse sketch, in order; returns
/// how many registers the opcodes cover, and fails when a run would pass the last register.
fn walk_sparse(hll: &[u8], mut visit: impl FnMut(usize, usize, u8)) -> Result<usize, Corrupt> {
    let (mut at, mut index) = (HEADER, 0usize);
    while at < hll.len() {
        let op = opcode_at(hll, at);
        if op.value > 0 {
            if index + op.run > REGISTERS {
                return Err(Corrupt);
            }
            visit(index, op.run, op.value);
        }
        index = index.saturating_add(op.run);
        at += op.size;
    }
    Ok(index)
}

/// Raises each of `max`'s registers to the sketch's (PFCOUNT of several keys, PFMERGE).
pub fn merge_into(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), Corrupt> {
    if hll[4] == DENSE {
        for (i, register) in max.iter_mut().enumerate() {
            *register = (*register).max(dense_get(&hll[HEADER..], i));
        }
        return Ok(());
    }
    let covered = walk_sparse(hll, |first, run, value| {
        for register in &mut max[first..first + run] {
            *register = (*register).max(value);
        }
    })?;
    if covered == REGISTERS { Ok(()) } else { Err(Corrupt) }
}

/// The sketch's cardinality estimate.
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let mut histogram = [0u64; 64];
    if hll[4] == DENSE {
        for i in 0..REGISTERS {
            histogram[usize::from(dense_get(&hll[HEADER..], i))] += 1;
        }
    } else {
        let covered = walk_sparse(hll, |_, run, value| histogram[usize::from(value)] += run as u64)?;
        if covered != REGISTERS {
            return Err(Corrupt);
        }
        histogram[0] = (REGISTERS - histogram[1..].iter().sum::<u64>() as usize) as u64;
    }
    Ok(estimate(&histogram))
}

/// The cardinality estimate of plain registers, one byte each.
pub fn count_registers(registers: &[u8; REGISTERS]) -> u64 {
    let mut histogram = [0u64; 64];
    for &value in registers {
        histogram[usize::from(value & REGISTER_MASK as u8)] += 1;
    }
    estimate(&histogram)
}

/// Ertl's estimator over the histogram of register values.
fn estimate(histogram: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let top = usize::from(MAX_COUNT);
    let mut z = m * tau((m - histogram[top] as f64) / m);
    for j in (1..top).rev() {
        z += histogram[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histogram[0] as f64 / m);
    let estimate = (ALPHA_INF * m * m / z).round();
    // Registers no sketch of real elements has (all at their maximum) give an infinite estimate;
    // Redis's conversion to an integer then yields 2^63, and so does this.
    if estimate < 9_223_372_036_854_775_808.0 { estimate as u64 } else { 1 << 63 }
}

/// σ(x) = x + Σ x^(2^k) 2^(k-1), summed until it stops changing.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// τ(x) = (1 - x - Σ (1 - x^(2^-k))² 2^-k) / 3, summed until it stops changing.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registers(hll: &[u8]) -> [u8; REGISTERS] {
        let mut max = [0u8; REGISTERS];
        merge_into(&mut max, hll).unwrap();
        max
    }

    #[test]
    fn an_empty_sketch_is_the_header_and_one_zero_run() {
        let hll = empty();
        assert_eq!(hll, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert!(is_sketch(&hll));
        assert_eq!(cached_count(&hll), Some(0));
        assert_eq!(count(&hll), Ok(0));
    }

    #[test]
    fn the_same_additions_give_the_bytes_redis_gives() {
        // `PFADD h a b c` then GET on Redis 7.0.15, before and after PFCOUNT cached the count.
        let mut hll = empty();
        for element in [&b"a"[..], b"b", b"c"] {
            assert_eq!(add(&mut hll, element, 3000), Ok(true));
        }
        invalidate_count(&mut hll);
        let registers = b"`\xf3\x80P\xb1\x84K\xfb\x80BZ";
        let mut expected = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
        expected.extend_from_slice(registers);
        assert_eq!(hll, expected);
        assert_eq!(cached_count(&hll), None);
        assert_eq!(count(&hll), Ok(3));
        store_count(&mut hll, 3);
        assert_eq!(&hll[8..16], b"\x03\0\0\0\0\0\0\0");
    }

    #[test]
    fn murmur_takes_every_tail_length() {
        assert_eq!(murmur64a(b"", 0), 0);
        // Every length of tail takes its own path.
        let hashes: std::collections::HashSet<u64> = (0..17).map(|n| murmur64a(&b"abcdefghijklmnopq"[..n], SEED)).collect();
        assert_eq!(hashes.len(), 17);
    }

    #[test]
    fn sparse_and_dense_hold_the_same_registers() {
        let mut sparse = empty();
        for i in 0..500 {
            add(&mut sparse, format!("element:{i}").as_bytes(), 3000).unwrap();
        }
        assert!(!is_dense(&sparse));
        let mut dense = sparse.clone();
        to_dense(&mut dense).unwrap();
        assert_eq!(dense.len(), DENSE_SIZE);
        assert_eq!(registers(&sparse), registers(&dense));
        assert_eq!(count(&sparse), count(&dense));
        for i in 0..REGISTERS {
            dense_put(&mut dense[HEADER..], i, (i % 64) as u8);
        }
        assert!((0..REGISTERS).all(|i| dense_get(&dense[HEADER..], i) == (i % 64) as u8));
    }

    #[test]
    fn a_sparse_sketch_turns_dense_past_its_size_limit() {
        let mut hll = empty();
        let mut i = 0;
        while !is_dense(&hll) {
            add(&mut hll, format!("{i}").as_bytes(), 300).unwrap();
            assert!(is_dense(&hll) || hll.len() <= 300);
            i += 1;
        }
        assert_eq!(hll.len(), DENSE_SIZE);
    }

    #[test]
    fn would_grow_agrees_with_add() {
        let mut hll = empty();
        for i in 0..3000 {
            let element = format!("{}", i % 1700);
            let predicted = would_grow(&hll, &[element.as_bytes()]);
            assert_eq!(add(&mut hll, element.as_bytes(), 3000), Ok(predicted), "{element}");
        }
        assert!(is_dense(&hll));
        assert!(!would_grow(&hll, &[b"5", b"17"]));
    }

    #[test]
    fn adjacent_equal_values_join() {
        let mut hll = empty();
        for index in [10, 11, 12, 13] {
            set_register(&mut hll, index, 3, 3000).unwrap();
        }
        // ZERO(10) VAL(3,4) XZERO(16370).
        assert_eq!(&hll[HEADER..], &[9, 0x80 | (2 << 2) | 3, 0x40 | (16369 >> 8) as u8, (16369 & 0xff) as u8]);
        assert_eq!(set_register(&mut hll, 12, 2, 3000), Ok(false));
        assert_eq!(set_register(&mut hll, 12, 5, 3000), Ok(true));
        assert_eq!(registers(&hll)[10..15], [3, 3, 5, 3, 0]);
    }

    #[test]
    fn broken_sketches_are_reported() {
        let mut short = empty();
        short.truncate(HEADER + 1);
        assert_eq!(count(&short), Err(Corrupt));
        assert_eq!(add(&mut short, b"x", 3000), Err(Corrupt));
        let mut long = empty();
        long.extend_from_slice(&[0x80, 0x80]);
        assert_eq!(count(&long), Err(Corrupt));
        assert_eq!(to_dense(&mut long), Err(Corrupt));
        assert!(!is_sketch(b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"), "dense with the wrong size");
        assert!(!is_sketch(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"));
        assert!(!is_sketch(b"HYLL"));
    }

    #[test]
    fn a_million_elements_are_counted_within_three_standard_errors() {
        let mut hll = empty();
        let total = 1_000_000u64;
        for i in 0..total {
            add(&mut hll, format!("member:{i}").as_bytes(), 3000).unwrap();
        }
        let estimate = count(&hll).unwrap() as f64;
        let error = (estimate - total as f64).abs() / total as f64;
        assert!(error < 0.0081 * 3.0, "estimate {estimate}, error {error}");
    }

    #[test]
    fn damaged_sketches_never_panic() {
        let mut seed = 12345u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize
        };
        let mut base = empty();
        for i in 0..300 {
            add(&mut base, format!("{i}").as_bytes(), 3000).unwrap();
        }
        for _ in 0..3000 {
            let mut hll = base.clone();
            for _ in 0..1 + next() % 4 {
                let at = HEADER + next() % (hll.len() - HEADER);
                match next() % 3 {
                    0 => hll[at] = next() as u8,
                    1 => hll.truncate(at.max(HEADER + 1)),
                    _ => hll.insert(at, next() as u8),
                }
            }
            let mut max = [0u8; REGISTERS];
            let _ = (count(&hll), merge_into(&mut max, &hll));
            for i in 0..5 {
                let _ = add(&mut hll, format!("x{i}").as_bytes(), 3000);
                let _ = set_register(&mut hll, next() % REGISTERS, (next() % 64) as u8, 3000);
            }
            let _ = to_dense(&mut hll);
        }
    }

    #[test]
    fn registers_at_their_maximum_count_as_redis_counts_them() {
        let mut full = [MAX_COUNT; REGISTERS];
        assert_eq!(count_registers(&full), 1 << 63);
        full[0] = 0;
        assert!(count_registers(&full) < 1 << 63);
    }

    #[test]
    fn small_counts_are_exact_or_nearly() {
        let mut hll = empty();
        for i in 0..100 {
            add(&mut hll, format!("{i}").as_bytes(), 3000).unwrap();
        }
        let estimate = count(&hll).unwrap();
        assert!((99..=101).contains(&estimate), "{estimate}");
    }
}
