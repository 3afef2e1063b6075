//! BITFIELD and BITFIELD_RO: signed and unsigned integers of 1 to 64 bits (unsigned up to 63, so
//! every value fits a RESP integer) at any bit offset of a string, read, written and incremented
//! with a chosen overflow rule.

use super::bitmaps::{bit_offset, writable_bits};
use super::{Command, Ctx, Flag, NOT_AN_INTEGER, SYNTAX_ERROR, WRONG_TYPE, is, parse_i64};
use crate::notify;
use crate::resp::Reply;
use std::collections::BTreeMap;

pub const COMMANDS: &[Command] = &[
    Command::new("bitfield", -2, bitfield).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("bitmap")
        .doc("Performs arbitrary bitfield integer operations on strings.", "3.2.0", "O(1) for each subcommand specified",
            "key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...]]"),
    Command::new("bitfield_ro", -2, bitfield_ro).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("bitmap")
        .doc("Performs arbitrary read-only bitfield integer operations on strings.", "6.0.0", "O(1) for each subcommand specified",
            "key [GET encoding offset [GET encoding offset ...]]"),
];

const BAD_TYPE: &str = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// What to do when a write or increment does not fit the field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    /// Keep the low bits (two's complement for signed fields).
    Wrap,
    /// Clamp to the field's minimum or maximum.
    Sat,
    /// Write nothing and answer null.
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One GET, SET or INCRBY, with the type and OVERFLOW rule in force where it was written.
#[derive(Clone, Copy)]
struct Field {
    action: Action,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// Where a result falls against a field's range, by Redis's test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fit {
    Fits,
    Above,
    Below,
}

impl Field {
    fn last_bit(&self) -> u64 {
        self.offset + u64::from(self.bits) - 1
    }

    /// The field's low bits set.
    fn mask(&self) -> u64 {
        u64::MAX >> (64 - self.bits)
    }

    /// The field's raw bits read as its type.
    fn value(&self, raw: u64) -> i64 {
        let unused = 64 - self.bits;
        if self.signed { ((raw << unused) as i64) >> unused } else { raw as i64 }
    }

    /// The largest and smallest values, as raw bits.
    fn limits(&self) -> (u64, u64) {
        if self.signed { (self.mask() >> 1, !(self.mask() >> 1)) } else { (self.mask(), 0) }
    }

    /// Whether `value + increment` fits, tested as Redis tests it: in 64-bit arithmetic that
    /// wraps, so that (as in Redis) a SET far below a signed field's range can count as above it.
    fn fit(&self, value: i64, increment: i64) -> Fit {
        if self.signed {
            let max = (self.mask() >> 1) as i64;
            let min = -max - 1;
            let max_increment = (max as u64).wrapping_sub(value as u64) as i64;
            let min_increment = min.wrapping_sub(value);
            let narrow = self.bits != 64;
            if value > max || (narrow && increment > max_increment) || (value >= 0 && increment > 0 && increment > max_increment) {
                Fit::Above
            } else if value < min || (narrow && increment < min_increment) || (value < 0 && increment < 0 && increment < min_increment) {
                Fit::Below
            } else {
                Fit::Fits
            }
        } else {
            let value = value as u64;
            let max_increment = self.mask().wrapping_sub(value) as i64;
            let min_increment = value.wrapping_neg() as i64;
            if value > self.mask() || (increment > 0 && increment > max_increment) {
                Fit::Above
            } else if increment < 0 && increment < min_increment {
                Fit::Below
            } else {
                Fit::Fits
            }
        }
    }

    /// The raw bits to store for `value + increment` under the overflow rule; `None` to fail.
    fn result(&self, value: i64, increment: i64) -> Option<u64> {
        let sum = (value as u64).wrapping_add(increment as u64);
        let (max, min) = self.limits();
        let stored = match (self.fit(value, increment), self.overflow) {
            (Fit::Fits, _) | (_, Overflow::Wrap) => sum,
            (_, Overflow::Fail) => return None,
            (Fit::Above, Overflow::Sat) => max,
            (Fit::Below, Overflow::Sat) => min,
        };
        Some(stored & self.mask())
    }
}

fn bitfield(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, false);
}

fn bitfield_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, true);
}

/// Parses every operation first (any error answers before anything is done), then runs them in
/// order on one string, grown once to hold the furthest bit written.
fn run(ctx: &mut Ctx, args: &[&[u8]], read_only: bool) {
    let Some(fields) = parse(ctx, &args[2..]) else { return };
    let (db, now, key) = (ctx.db(), ctx.now_ms(), args[1]);
    let last_write = fields.iter().filter(|f| f.action != Action::Get).map(Field::last_bit).max();
    let Some(last_write) = last_write else {
        return read_fields(ctx, key, &fields);
    };
    if read_only {
        return ctx.reply.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let stored = match ctx.keyspace.lookup(db, key, now).map(|e| e.value.as_string()) {
        Some(None) => return ctx.reply.error(WRONG_TYPE),
        Some(Some(bytes)) => Some(bytes),
        None => None,
    };
    // Growing the string is a change even when every write fails.
    let grows = stored.is_none_or(|bytes| bytes.len() <= (last_write >> 3) as usize);
    let mut view = Overlay { stored: stored.unwrap_or_default(), written: BTreeMap::new() };
    let mut changed = grows;
    // Redis publishes `setbit` only when a SET or INCRBY changed a value, not for growing alone.
    let mut wrote = false;
    ctx.reply.array(fields.len());
    for field in &fields {
        let applied = apply(&mut ctx.reply, &mut view, field);
        changed |= applied == Some(true);
        wrote |= applied == Some(true);
    }
    // Only a write that changes the string (or its length) is seen by WATCH, as in Redis.
    let written = view.written;
    if changed && let Some(bytes) = writable_bits(ctx.keyspace, &mut ctx.reply, (db, key, now), last_write) {
        for (at, byte) in written {
            bytes[at] = byte;
        }
    }
    if wrote {
        ctx.notify(notify::STRING, "setbit", key);
    }
}

/// Runs one operation on the string's view and answers it; returns whether it changed a value,
/// or `None` when it wrote nothing (a GET, or a write refused by OVERFLOW FAIL).
fn apply(reply: &mut Reply, view: &mut Overlay, field: &Field) -> Option<bool> {
    let raw = read(|at| view.byte(at), field.offset, field.bits);
    let old = field.value(raw);
    let (value, increment, answer_old) = match field.action {
        Action::Get => {
            reply.integer(old);
            return None;
        }
        Action::Set(value) => (value, 0, true),
        Action::IncrBy(increment) => (old, increment, false),
    };
    let Some(new) = field.result(value, increment) else {
        reply.null();
        return None;
    };
    view.write(field.offset, field.bits, new);
    reply.integer(if answer_old { old } else { field.value(new) });
    Some(new != raw)
}

/// The string as a BITFIELD's operations see it: the stored bytes, under those written so far.
/// The writes reach the key only once all operations ran, and only if they changed something.
struct Overlay<'a> {
    stored: &'a [u8],
    written: BTreeMap<usize, u8>,
}

impl Overlay<'_> {
    fn byte(&self, at: usize) -> u8 {
        self.written.get(&at).or_else(|| self.stored.get(at)).copied().unwrap_or(0)
    }

    /// Writes the low `bits` bits of `value` from `offset`.
    fn write(&mut self, offset: u64, bits: u32, value: u64) {
        for i in 0..bits {
            let at = offset + u64::from(i);
            let (index, mask) = ((at >> 3) as usize, 0x80u8 >> (at & 7));
            let byte = self.byte(index);
            let byte = if (value >> (bits - 1 - i)) & 1 == 1 { byte | mask } else { byte & !mask };
            self.written.insert(index, byte);
        }
    }
}

/// Only GETs: a missing key reads as zeros and is not created.
fn read_fields(ctx: &mut Ctx, key: &[u8], fields: &[Field]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let bytes = match ctx.keyspace.get(db, key, now).map(|e| e.value.as_string()) {
        Some(None) => return ctx.reply.error(WRONG_TYPE),
        Some(Some(bytes)) => bytes,
        None => &[],
    };
    ctx.reply.array(fields.len());
    for field in fields {
        let raw = read(|at| bytes.get(at).copied().unwrap_or(0), field.offset, field.bits);
        ctx.reply.integer(field.value(raw));
    }
}

/// The operations after the key; `None` after answering the first error.
fn parse(ctx: &mut Ctx, args: &[&[u8]]) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut i = 0;
    while i < args.len() {
        let (word, rest) = (args[i], &args[i + 1..]);
        if is(word, "OVERFLOW") && !rest.is_empty() {
            overflow = parse_overflow(ctx, rest[0])?;
            i += 2;
            continue;
        }
        let action_args = if is(word, "GET") { 2 } else if is(word, "SET") || is(word, "INCRBY") { 3 } else { usize::MAX };
        if rest.len() < action_args {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
        let (signed, bits) = parse_type(ctx, rest[0])?;
        let offset = bit_offset(ctx, rest[1], Some(bits))?;
        let action = if action_args == 2 {
            Action::Get
        } else {
            let Some(number) = parse_i64(rest[2]) else {
                ctx.reply.error(NOT_AN_INTEGER);
                return None;
            };
            if is(word, "SET") { Action::Set(number) } else { Action::IncrBy(number) }
        };
        fields.push(Field { action, signed, bits, offset, overflow });
        i += 1 + action_args;
    }
    Some(fields)
}

fn parse_overflow(ctx: &mut Ctx, word: &[u8]) -> Option<Overflow> {
    let rule = [("WRAP", Overflow::Wrap), ("SAT", Overflow::Sat), ("FAIL", Overflow::Fail)]
        .into_iter()
        .find_map(|(name, rule)| is(word, name).then_some(rule));
    if rule.is_none() {
        ctx.reply.error("ERR Invalid OVERFLOW type specified");
    }
    rule
}

/// `i1`..`i64` or `u1`..`u63` (lower case only, as Redis reads them).
fn parse_type(ctx: &mut Ctx, word: &[u8]) -> Option<(bool, u32)> {
    let parsed = match word.split_first() {
        Some((b'i', digits)) => parse_i64(digits).filter(|n| (1..=64).contains(n)).map(|n| (true, n as u32)),
        Some((b'u', digits)) => parse_i64(digits).filter(|n| (1..=63).contains(n)).map(|n| (false, n as u32)),
        _ => None,
    };
    if parsed.is_none() {
        ctx.reply.error(BAD_TYPE);
    }
    parsed
}

/// `bits` bits from `offset`, the first the most significant, with `byte_at` giving the bytes.
fn read(byte_at: impl Fn(usize) -> u8, offset: u64, bits: u32) -> u64 {
    (offset..offset + u64::from(bits)).fold(0, |value, at| {
        let byte = byte_at((at >> 3) as usize);
        (value << 1) | u64::from((byte >> (7 - (at & 7))) & 1)
    })
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::Harness;

    #[test]
    fn documented_examples() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["BITFIELD", "mykey", "INCRBY", "i5", "100", "1", "GET", "u4", "0"]), "*2\r\n:1\r\n:0\r\n");
        assert_eq!(c.run(&["BITFIELD", "mystring", "SET", "i8", "#0", "100", "SET", "i8", "#1", "200"]), "*2\r\n:0\r\n:0\r\n");
        assert_eq!(c.run(&["BITFIELD", "mystring", "GET", "i8", "#0", "GET", "i8", "#1"]), "*2\r\n:100\r\n:-56\r\n");
        assert_eq!(c.run(&["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"]), "*2\r\n:1\r\n:1\r\n");
        assert_eq!(c.run(&["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"]), "*2\r\n:2\r\n:2\r\n");
        assert_eq!(c.run(&["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"]), "*2\r\n:3\r\n:3\r\n");
        assert_eq!(c.run(&["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"]), "*2\r\n:0\r\n:3\r\n");
        assert_eq!(c.run(&["BITFIELD", "mykey", "OVERFLOW", "FAIL", "incrby", "u2", "102", "1"]), "*1\r\n$-1\r\n");
    }

    #[test]
    fn wide_fields_and_errors() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["BITFIELD", "k", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1"]), "*2\r\n:0\r\n:9223372036854775807\r\n");
        assert_eq!(c.run(&["BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "1"]), "*1\r\n:9223372036854775807\r\n");
        assert_eq!(c.run(&["BITFIELD", "w", "SET", "u63", "3", "-1", "GET", "u63", "3"]), "*2\r\n:0\r\n:9223372036854775807\r\n");
        assert_eq!(c.run(&["BITFIELD", "u", "OVERFLOW", "SAT", "SET", "u8", "0", "-1"]), "*1\r\n:0\r\n");
        assert_eq!(c.run(&["BITFIELD", "u", "GET", "u8", "0"]), "*1\r\n:255\r\n");
        // Redis's wrapping range test takes this number, far below an i57, as above it.
        c.run(&["BITFIELD", "q", "OVERFLOW", "SAT", "SET", "i57", "0", "-9223372032571236597"]);
        assert_eq!(c.run(&["BITFIELD", "q", "GET", "i57", "0"]), "*1\r\n:72057594037927935\r\n");
        let bad_type = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
        assert_eq!(c.run(&["BITFIELD", "k", "GET", "u64", "0"]), bad_type);
        assert_eq!(c.run(&["BITFIELD", "k", "GET", "I8", "0"]), bad_type);
        assert_eq!(c.run(&["BITFIELD", "k", "GET", "i0", "0"]), bad_type);
        assert_eq!(c.run(&["BITFIELD", "k", "GET", "i8"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["BITFIELD", "k", "OVERFLOW", "MAYBE"]), "-ERR Invalid OVERFLOW type specified\r\n");
        assert_eq!(c.run(&["BITFIELD", "k", "SET", "i8", "0", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["BITFIELD", "k", "GET", "i8", "-1"]), "-ERR bit offset is not an integer or out of range\r\n");
        assert_eq!(c.run(&["BITFIELD_RO", "k", "GET", "i8", "0"]), "*1\r\n:127\r\n");
        assert_eq!(c.run(&["BITFIELD_RO", "k", "SET", "i8", "0", "1"]), "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
        assert_eq!(c.run(&["BITFIELD", "missing"]), "*0\r\n");
        assert_eq!(c.run(&["EXISTS", "missing"]), ":0\r\n");
        assert_eq!(c.run(&["BITFIELD", "created", "OVERFLOW", "FAIL", "INCRBY", "u8", "#1", "300"]), "*1\r\n$-1\r\n");
        assert_eq!(c.run(&["STRLEN", "created"]), ":2\r\n", "the string grows even when the write fails");
    }
}
