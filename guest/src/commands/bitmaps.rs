//! Bitmap commands: strings read and written as arrays of bits, the first bit being the most
//! significant bit of the first byte. Writes past the end grow the string with zero bytes, up to
//! `proto-max-bulk-len`. BITFIELD is in [`super::bitfield`].

use super::{Command, Ctx, Flag, NOT_AN_INTEGER, SYNTAX_ERROR, WRONG_TYPE, is, parse_i64};
use crate::notify;
use crate::keyspace::{Keyspace, StrValue, Value};
use crate::resp::Reply;

pub const COMMANDS: &[Command] = &[
    Command::new("setbit", 4, setbit).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("bitmap")
        .doc("Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", "2.2.0", "O(1)",
            "key offset value"),
    Command::new("getbit", 3, getbit).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("bitmap")
        .doc("Returns a bit value by offset.", "2.2.0", "O(1)", "key offset"),
    Command::new("bitcount", -2, bitcount).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("bitmap")
        .doc("Counts the number of set bits (population counting) in a string.", "2.6.0", "O(N)",
            "key [start end [BYTE | BIT]]"),
    Command::new("bitpos", -3, bitpos).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("bitmap")
        .doc("Finds the first set (1) or clear (0) bit in a string.", "2.8.7", "O(N)",
            "key bit [start [end [BYTE | BIT]]]"),
    Command::new("bitop", -4, bitop).flags(&[Flag::Write, Flag::DenyOom]).keys(2, -1, 1).group("bitmap")
        .doc("Performs bitwise operations on multiple strings, and stores the result.", "2.6.0", "O(N)",
            "<AND | OR | XOR | NOT> destkey key [key ...]"),
];

pub const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";

/// A bit offset argument: a non-negative integer whose byte is within `proto-max-bulk-len`.
/// With `width` (BITFIELD), `#N` means the N-th field of that width. Answers Redis's error and
/// returns `None` for anything else.
pub fn bit_offset(ctx: &mut Ctx, arg: &[u8], width: Option<u32>) -> Option<u64> {
    let (digits, multiplier) = match (width, arg) {
        (Some(width), [b'#', rest @ ..]) if !rest.is_empty() => (rest, i64::from(width)),
        _ => (arg, 1),
    };
    // Redis multiplies without an overflow check; a wrapped product is refused below as negative
    // or too large, or taken as Redis takes it. No string can outgrow `isize::MAX` bytes.
    let limit = ctx.config.proto_max_bulk_len.min(isize::MAX as u64);
    let offset = parse_i64(digits)
        .map(|n| n.wrapping_mul(multiplier))
        .filter(|&n| n >= 0 && ((n as u64) >> 3) < limit);
    if offset.is_none() {
        ctx.reply.error(BAD_OFFSET);
    }
    offset.map(|n| n as u64)
}

/// The string at `key` for a command that writes bits up to `last_bit`: created when missing,
/// grown with zero bytes when shorter. `None` after answering WRONGTYPE.
pub fn writable_bits<'k>(
    keyspace: &'k mut Keyspace,
    reply: &mut Reply,
    (db, key, now): (usize, &[u8], u64),
    last_bit: u64,
) -> Option<&'k mut StrValue> {
    let length = (last_bit >> 3) as usize + 1;
    if !keyspace.contains(db, key, now) {
        keyspace.set(db, key, Value::String(StrValue::zeroed(length)), None, now);
    }
    let Some(bytes) = keyspace.get_mut(db, key, now).and_then(|entry| entry.value.as_string_mut()) else {
        reply.error(WRONG_TYPE);
        return None;
    };
    bytes.zero_extend(length);
    Some(bytes)
}

/// How a key reads for a bit command: its bytes, or why there are none.
enum Readable<'k> {
    Bytes(&'k [u8]),
    Missing,
    WrongType,
}

fn readable<'k>(keyspace: &'k mut Keyspace, db: usize, key: &[u8], now: u64) -> Readable<'k> {
    match keyspace.get(db, key, now).map(|entry| entry.value.as_string()) {
        None => Readable::Missing,
        Some(None) => Readable::WrongType,
        Some(Some(bytes)) => Readable::Bytes(bytes),
    }
}

fn setbit(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(offset) = bit_offset(ctx, args[2], None) else { return };
    let on = match parse_i64(args[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return ctx.reply.error(BAD_BIT),
    };
    let (db, key, now) = (ctx.db(), args[1], ctx.now_ms());
    let (byte, mask) = ((offset >> 3) as usize, 0x80u8 >> (offset & 7));
    // A SETBIT that neither grows the string nor changes the bit is no change (WATCH does not
    // see it), as in Redis.
    if let Some(entry) = ctx.keyspace.lookup(db, key, now) {
        match entry.value.as_string().map(|bytes| bytes.get(byte).map(|b| b & mask != 0)) {
            None => return ctx.reply.error(WRONG_TYPE),
            Some(Some(was)) if was == on => return ctx.reply.integer(i64::from(was)),
            Some(_) => {}
        }
    }
    let Some(bytes) = writable_bits(ctx.keyspace, &mut ctx.reply, (db, key, now), offset) else { return };
    let was = bytes[byte] & mask != 0;
    if on {
        bytes[byte] |= mask;
    } else {
        bytes[byte] &= !mask;
    }
    ctx.notify(notify::STRING, "setbit", key);
    ctx.reply.integer(i64::from(was));
}

fn getbit(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(offset) = bit_offset(ctx, args[2], None) else { return };
    let (db, now) = (ctx.db(), ctx.now_ms());
    match readable(ctx.keyspace, db, args[1], now) {
        Readable::WrongType => ctx.reply.error(WRONG_TYPE),
        Readable::Missing => ctx.reply.integer(0),
        Readable::Bytes(bytes) => {
            let byte = bytes.get((offset >> 3) as usize).copied().unwrap_or(0);
            ctx.reply.integer(i64::from(byte & (0x80 >> (offset & 7)) != 0));
        }
    }
}

/// An inclusive range of bits.
type BitRange = (u64, u64);

/// BITCOUNT's and BITPOS's range over a string of `length` bytes: `start` and `end` count bytes,
/// or bits with `in_bits`; negative ones count from the end; the range is clipped to the string.
/// `None` when it selects nothing.
fn bit_range(length: usize, start: i64, end: i64, in_bits: bool) -> Option<BitRange> {
    let total = length as i64 * if in_bits { 8 } else { 1 };
    let from_end = |n: i64| if n < 0 { (total + n).max(0) } else { n };
    let (start, end) = (from_end(start), from_end(end).min(total - 1));
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits { (start, end) } else { (start * 8, end * 8 + 7) })
}

/// The BYTE or BIT word ending a range; `None` for anything else.
fn in_bits(word: &[u8]) -> Option<bool> {
    if is(word, "BIT") {
        Some(true)
    } else if is(word, "BYTE") {
        Some(false)
    } else {
        None
    }
}

/// The bits of byte `index` that lie in `range`.
fn range_mask(index: usize, (first, last): BitRange) -> u8 {
    let mut mask: u16 = 0xff;
    if index as u64 == first >> 3 {
        mask &= 0xff >> (first & 7);
    }
    if index as u64 == last >> 3 {
        mask &= 0xff << (7 - (last & 7));
    }
    mask as u8
}

fn masked_byte(bytes: &[u8], index: usize, range: BitRange) -> u8 {
    bytes[index] & range_mask(index, range)
}

/// Set bits in `range`, eight bytes at a time in the middle.
fn count_ones(bytes: &[u8], range: BitRange) -> u64 {
    let (first_byte, last_byte) = ((range.0 >> 3) as usize, (range.1 >> 3) as usize);
    let edges = if first_byte == last_byte {
        u64::from(masked_byte(bytes, first_byte, range).count_ones())
    } else {
        u64::from(masked_byte(bytes, first_byte, range).count_ones() + masked_byte(bytes, last_byte, range).count_ones())
    };
    let middle = bytes.get(first_byte + 1..last_byte).unwrap_or_default();
    let mut words = middle.chunks_exact(8);
    let mut count: u64 = words.by_ref().map(|w| u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]).count_ones() as u64).sum();
    count += words.remainder().iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
    count + edges
}

fn bitcount(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    // Redis looks the key up before reading the range: a missing key counts 0 whatever follows.
    let bytes = match readable(ctx.keyspace, db, args[1], now) {
        Readable::WrongType => return ctx.reply.error(WRONG_TYPE),
        Readable::Missing => return ctx.reply.integer(0),
        Readable::Bytes(bytes) => bytes,
    };
    let range = match args.len() {
        2 => bit_range(bytes.len(), 0, -1, false),
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_i64(args[2]), parse_i64(args[3])) else {
                return ctx.reply.error(NOT_AN_INTEGER);
            };
            if start < 0 && end < 0 && start > end {
                return ctx.reply.integer(0);
            }
            let Some(unit) = args.get(4).map_or(Some(false), |word| in_bits(word)) else {
                return ctx.reply.error(SYNTAX_ERROR);
            };
            bit_range(bytes.len(), start, end, unit)
        }
        _ => return ctx.reply.error(SYNTAX_ERROR),
    };
    let count = range.map_or(0, |range| count_ones(bytes, range));
    ctx.reply.integer(count as i64);
}

/// The first bit equal to `want` in `range`.
fn first_bit(bytes: &[u8], range: BitRange, want: bool) -> Option<u64> {
    let flip = if want { 0 } else { 0xff };
    let (first_byte, last_byte) = ((range.0 >> 3) as usize, (range.1 >> 3) as usize);
    (first_byte..=last_byte).find_map(|index| {
        let byte = (bytes[index] ^ flip) & range_mask(index, range);
        (byte != 0).then(|| index as u64 * 8 + u64::from(byte.leading_zeros()))
    })
}

fn bitpos(ctx: &mut Ctx, args: &[&[u8]]) {
    let want = match parse_i64(args[2]) {
        Some(bit @ (0 | 1)) => bit == 1,
        Some(_) => return ctx.reply.error("ERR The bit argument must be 1 or 0."),
        None => return ctx.reply.error(NOT_AN_INTEGER),
    };
    let (db, now) = (ctx.db(), ctx.now_ms());
    // A missing key is an endless run of zero bits.
    let bytes = match readable(ctx.keyspace, db, args[1], now) {
        Readable::WrongType => return ctx.reply.error(WRONG_TYPE),
        Readable::Missing => return ctx.reply.integer(if want { -1 } else { 0 }),
        Readable::Bytes(bytes) => bytes,
    };
    let (range, end_given) = match parse_bitpos_range(bytes.len(), &args[3..]) {
        Ok(parsed) => parsed,
        Err(error) => return ctx.reply.error(error),
    };
    let Some(range) = range else { return ctx.reply.integer(-1) };
    let position = match first_bit(bytes, range, want) {
        Some(position) => position as i64,
        // Past a range the caller ended, there is no clear bit to find; past the string's end,
        // the bits read as zero.
        None if want || end_given => -1,
        None => range.1 as i64 + 1,
    };
    ctx.reply.integer(position);
}

/// BITPOS's `[start [end [BYTE | BIT]]]`: the range, and whether an end was given.
fn parse_bitpos_range(length: usize, args: &[&[u8]]) -> Result<(Option<BitRange>, bool), &'static str> {
    if args.len() > 3 {
        return Err(SYNTAX_ERROR);
    }
    let Some(start) = args.first() else { return Ok((bit_range(length, 0, -1, false), false)) };
    let start = parse_i64(start).ok_or(NOT_AN_INTEGER)?;
    let unit = match args.get(2) {
        Some(word) => in_bits(word).ok_or(SYNTAX_ERROR)?,
        None => false,
    };
    let end = match args.get(1) {
        Some(end) => parse_i64(end).ok_or(NOT_AN_INTEGER)?,
        None => -1,
    };
    Ok((bit_range(length, start, end, unit), args.len() > 1))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bit_op(name: &[u8]) -> Option<BitOp> {
    [("AND", BitOp::And), ("OR", BitOp::Or), ("XOR", BitOp::Xor), ("NOT", BitOp::Not)]
        .into_iter()
        .find_map(|(word, op)| is(name, word).then_some(op))
}

fn bitop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(op) = bit_op(args[1]) else { return ctx.reply.error(SYNTAX_ERROR) };
    let (destination, sources) = (args[2], &args[3..]);
    if op == BitOp::Not && sources.len() != 1 {
        return ctx.reply.error("ERR BITOP NOT must be called with a single source key.");
    }
    let (db, now) = (ctx.db(), ctx.now_ms());
    let mut longest = 0;
    for key in sources {
        match readable(ctx.keyspace, db, key, now) {
            Readable::WrongType => return ctx.reply.error(WRONG_TYPE),
            Readable::Missing => {}
            Readable::Bytes(bytes) => longest = longest.max(bytes.len()),
        }
    }
    let result = combine(ctx.keyspace, (db, now), op, sources, longest);
    if result.is_empty() {
        if ctx.keyspace.delete(db, destination, now) {
            ctx.notify(notify::GENERIC, "del", destination);
        }
    } else {
        ctx.keyspace.set(db, destination, Value::String(result.into()), None, now);
        ctx.notify(notify::STRING, "set", destination);
    }
    ctx.reply.integer(longest as i64);
}

/// The bytes BITOP stores: the sources combined byte by byte, each padded with zero bytes to
/// the longest one's length.
fn combine(keyspace: &mut Keyspace, (db, now): (usize, u64), op: BitOp, sources: &[&[u8]], longest: usize) -> Vec<u8> {
    let mut result = vec![0u8; longest];
    for (i, key) in sources.iter().enumerate() {
        // Already looked up (and counted as a hit or miss) once: only peek now.
        let bytes = keyspace.peek(db, key, now).and_then(|entry| entry.value.as_string()).unwrap_or_default();
        let byte_at = |j: usize| bytes.get(j).copied().unwrap_or(0);
        for (j, out) in result.iter_mut().enumerate() {
            *out = match (op, i) {
                (BitOp::Not, _) => !byte_at(j),
                (_, 0) => byte_at(j),
                (BitOp::And, _) => *out & byte_at(j),
                (BitOp::Or, _) => *out | byte_at(j),
                (BitOp::Xor, _) => *out ^ byte_at(j),
            };
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::{bit_range, count_ones, first_bit};
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn ranges_count_from_either_end() {
        assert_eq!(bit_range(3, 0, -1, false), Some((0, 23)));
        assert_eq!(bit_range(3, 1, 1, false), Some((8, 15)));
        assert_eq!(bit_range(3, 5, 30, true), Some((5, 23)));
        assert_eq!(bit_range(3, -100, -2, false), Some((0, 15)));
        assert_eq!(bit_range(3, 2, 1, false), None);
        assert_eq!(bit_range(0, 0, -1, false), None);
        assert_eq!(count_ones(b"\xff\xff\xff", (3, 20)), 18);
        assert_eq!(count_ones(&[0xff; 40], (1, 318)), 318);
        assert_eq!(first_bit(b"\x00\x01", (0, 15), true), Some(15));
        assert_eq!(first_bit(b"\xff\xfe", (3, 15), false), Some(15));
        assert_eq!(first_bit(b"\xff\xfe", (3, 14), false), None);
    }

    #[test]
    fn setbit_grows_and_getbit_reads() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["SETBIT", "k", "7", "1"]), ":0\r\n");
        assert_eq!(c.run(&["SETBIT", "k", "7", "0"]), ":1\r\n");
        assert_eq!(c.run(&["SETBIT", "k", "1", "1"]), ":0\r\n");
        assert_eq!(c.run(&["SETBIT", "k", "2", "1"]), ":0\r\n");
        assert_eq!(c.run(&["GET", "k"]), bulk("`"));
        assert_eq!(c.run(&["SETBIT", "k", "23", "1"]), ":0\r\n");
        assert_eq!(c.run(&["STRLEN", "k"]), ":3\r\n");
        assert_eq!(c.run(&["GETBIT", "k", "23"]), ":1\r\n");
        assert_eq!(c.run(&["GETBIT", "k", "1000"]), ":0\r\n");
        assert_eq!(c.run(&["GETBIT", "missing", "0"]), ":0\r\n");
        let bad_offset = "-ERR bit offset is not an integer or out of range\r\n";
        assert_eq!(c.run(&["SETBIT", "k", "-1", "1"]), bad_offset);
        assert_eq!(c.run(&["SETBIT", "k", "4294967296", "1"]), bad_offset, "past proto-max-bulk-len");
        assert_eq!(c.run(&["GETBIT", "k", "#1"]), bad_offset);
        assert_eq!(c.run(&["SETBIT", "k", "1", "2"]), "-ERR bit is not an integer or out of range\r\n");
        c.run(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]);
        assert_eq!(c.run(&["SETBIT", "k", "8388608", "1"]), bad_offset);
        assert_eq!(c.run(&["SETBIT", "k", "8388607", "1"]), ":0\r\n");
        assert_eq!(c.run(&["STRLEN", "k"]), ":1048576\r\n");
    }

    #[test]
    fn bitcount_and_bitpos() {
        let mut c = Harness::new();
        c.run(&["SET", "k", "foobar"]);
        assert_eq!(c.run(&["BITCOUNT", "k"]), ":26\r\n");
        assert_eq!(c.run(&["BITCOUNT", "k", "0", "0"]), ":4\r\n");
        assert_eq!(c.run(&["BITCOUNT", "k", "1", "1"]), ":6\r\n");
        assert_eq!(c.run(&["BITCOUNT", "k", "1", "1", "BYTE"]), ":6\r\n");
        assert_eq!(c.run(&["BITCOUNT", "k", "5", "30", "BIT"]), ":17\r\n");
        assert_eq!(c.run(&["BITCOUNT", "k", "0"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["BITCOUNT", "missing", "x"]), ":0\r\n");
        c.run_bytes(&[b"SET", b"p", b"\xff\xf0\x00"]);
        assert_eq!(c.run(&["BITPOS", "p", "0"]), ":12\r\n");
        c.run_bytes(&[b"SET", b"p", b"\x00\xff\xf0"]);
        assert_eq!(c.run(&["BITPOS", "p", "1", "0"]), ":8\r\n");
        assert_eq!(c.run(&["BITPOS", "p", "1", "2"]), ":16\r\n");
        assert_eq!(c.run(&["BITPOS", "p", "1", "2", "-1", "BYTE"]), ":16\r\n");
        assert_eq!(c.run(&["BITPOS", "p", "1", "7", "15", "BIT"]), ":8\r\n");
        assert_eq!(c.run(&["BITPOS", "p", "1", "7", "-3", "BIT"]), ":8\r\n");
        c.run_bytes(&[b"SET", b"ones", b"\xff\xff"]);
        assert_eq!(c.run(&["BITPOS", "ones", "0"]), ":16\r\n");
        assert_eq!(c.run(&["BITPOS", "ones", "0", "0", "-1"]), ":-1\r\n");
        assert_eq!(c.run(&["BITPOS", "missing", "0"]), ":0\r\n");
        assert_eq!(c.run(&["BITPOS", "missing", "1"]), ":-1\r\n");
        assert_eq!(c.run(&["BITPOS", "p", "2"]), "-ERR The bit argument must be 1 or 0.\r\n");
    }

    #[test]
    fn bitop() {
        let mut c = Harness::new();
        c.run(&["SET", "a", "foobar"]);
        c.run(&["SET", "b", "abcdef"]);
        assert_eq!(c.run(&["BITOP", "AND", "d", "a", "b"]), ":6\r\n");
        assert_eq!(c.run(&["GET", "d"]), bulk("`bc`ab"));
        assert_eq!(c.run(&["BITOP", "or", "d", "a", "missing"]), ":6\r\n");
        assert_eq!(c.run(&["GET", "d"]), bulk("foobar"));
        assert_eq!(c.run(&["BITOP", "XOR", "d", "a", "a"]), ":6\r\n");
        assert_eq!(c.run(&["GET", "d"]), bulk("\0\0\0\0\0\0"));
        assert_eq!(c.run(&["BITOP", "NOT", "d", "a", "b"]), "-ERR BITOP NOT must be called with a single source key.\r\n");
        assert_eq!(c.run(&["BITOP", "NAND", "d", "a"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["BITOP", "AND", "d", "missing"]), ":0\r\n");
        assert_eq!(c.run(&["EXISTS", "d"]), ":0\r\n", "an empty result deletes the destination");
    }
}
