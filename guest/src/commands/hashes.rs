//! Hash commands: fields and values under one key. The field-TTL commands are in `hash_ttl.rs`;
//! the helpers here (finding a hash, creating one, dropping an empty one) serve both.

use super::{Command, Ctx, Flag, NOT_A_FLOAT, OVERFLOW, SYNTAX_ERROR, WRONG_TYPE, int_arg, is, parse_i64, wrong_arity};
use crate::glob;
use crate::keyspace::{Hash, HashLimits, Keyspace, Value};
use crate::long_double::LongDouble;
use crate::notify;

pub const COMMANDS: &[Command] = &[
    Command::new("hset", -4, hset).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Creates or modifies the value of a field in a hash.", "2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", "key field value [field value ...]"),
    Command::new("hsetnx", 4, hsetnx).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0", "O(1)", "key field value"),
    Command::new("hmset", -4, hmset).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Sets the values of multiple fields.", "2.0.0", "O(N) where N is the number of fields being set.", "key field value [field value ...]"),
    Command::new("hget", 3, hget).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Returns the value of a field in a hash.", "2.0.0", "O(1)", "key field"),
    Command::new("hmget", -3, hmget).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Returns the values of all fields in a hash.", "2.0.0", "O(N) where N is the number of fields being requested.", "key field [field ...]"),
    Command::new("hdel", -3, hdel).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "2.0.0", "O(N) where N is the number of fields to be removed.", "key field [field ...]"),
    Command::new("hexists", 3, hexists).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Determines whether a field exists in a hash.", "2.0.0", "O(1)", "key field"),
    Command::new("hlen", 2, hlen).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Returns the number of fields in a hash.", "2.0.0", "O(1)", "key"),
    Command::new("hstrlen", 3, hstrlen).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Returns the length of the value of a field.", "3.2.0", "O(1)", "key field"),
    Command::new("hkeys", 2, hkeys).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("hash")
        .doc("Returns all fields in a hash.", "2.0.0", "O(N) where N is the size of the hash.", "key"),
    Command::new("hvals", 2, hvals).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("hash")
        .doc("Returns all values in a hash.", "2.0.0", "O(N) where N is the size of the hash.", "key"),
    Command::new("hgetall", 2, hgetall).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("hash")
        .doc("Returns all fields and values in a hash.", "2.0.0", "O(N) where N is the size of the hash.", "key"),
    Command::new("hincrby", 4, hincrby).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "2.0.0", "O(1)", "key field increment"),
    Command::new("hincrbyfloat", 4, hincrbyfloat).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "2.6.0", "O(1)", "key field increment"),
    Command::new("hrandfield", -2, hrandfield).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("hash")
        .doc("Returns one or more random fields from a hash.", "6.2.0", "O(N) where N is the number of fields returned", "key [count [WITHVALUES]]"),
    Command::new("hscan", -3, hscan).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("hash")
        .doc("Iterates over fields and values of a hash.", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "key cursor [MATCH pattern] [COUNT count] [NOVALUES]"),
];

/// The encoding thresholds as configured now, and a fresh seed for a hash that outgrows them.
pub(super) fn limits(ctx: &mut Ctx) -> HashLimits {
    let clamp = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let (entries, value) = (clamp(ctx.config.hash_max_listpack_entries), clamp(ctx.config.hash_max_listpack_value));
    HashLimits { entries, value, seed: ctx.rng.next_u64() }
}

/// The hash at `key` for a read, counted as a keyspace hit or miss, after its expired fields
/// are gone: `Ok(None)` when there is none, `Err(())` when the key holds another type.
pub(super) fn read<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8], now: u64) -> Result<Option<&'k Hash>, ()> {
    ks.reap_fields(db, key, now);
    match ks.get(db, key, now) {
        None => Ok(None),
        Some(entry) => entry.value.as_hash().map(Some).ok_or(()),
    }
}

/// The hash at `key` for a command about to change it (not counted as a hit or miss).
pub(super) fn modify<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8], now: u64) -> Result<Option<&'k mut Hash>, ()> {
    ks.reap_fields(db, key, now);
    match ks.get_mut(db, key, now) {
        None => Ok(None),
        Some(entry) => entry.value.as_hash_mut().map(Some).ok_or(()),
    }
}

/// The hash at `key`, created empty when missing; `Err(())` for another type. The caller must
/// add a field (or call [`drop_if_empty`]) so no empty hash is left behind.
pub(super) fn create<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8], now: u64) -> Result<&'k mut Hash, ()> {
    ks.reap_fields(db, key, now);
    let entry = ks.get_mut_or_insert(db, key, now, || Value::Hash(Box::default())).ok_or(())?;
    entry.value.as_hash_mut().ok_or(())
}

/// Deletes the hash at `key` if its last field went, as Redis never keeps an empty hash (a `del`
/// event, after the command's own).
pub(super) fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db();
    if ctx.keyspace.peek_hash_len(db, key) == Some(0) {
        ctx.keyspace.remove(db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// Runs `f` on the hash read from `args[1]`, or answers WRONGTYPE, or `missing` when absent.
fn with_read(ctx: &mut Ctx, key: &[u8], missing: impl FnOnce(&mut Ctx), f: impl FnOnce(&Hash, &mut crate::resp::Reply)) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match read(ctx.keyspace, db, key, now) {
        Err(()) => ctx.reply.error(WRONG_TYPE),
        Ok(Some(hash)) => f(hash, &mut ctx.reply),
        Ok(None) => missing(ctx),
    }
}

/// Writes field/value pairs; replies with the WRONGTYPE error and returns `None` on another type,
/// else how many fields were new. HSET drops a field's TTL, as Redis 7.4 does.
fn write_pairs(ctx: &mut Ctx, key: &[u8], pairs: &[&[u8]]) -> Option<i64> {
    let (db, now, limits) = (ctx.db(), ctx.now_ms(), limits(ctx));
    let Ok(hash) = create(ctx.keyspace, db, key, now) else {
        ctx.reply.error(WRONG_TYPE);
        return None;
    };
    Some(pairs.chunks_exact(2).map(|p| i64::from(hash.set(p[0], p[1], None, limits))).sum())
}

fn hset(ctx: &mut Ctx, args: &[&[u8]]) {
    if !args.len().is_multiple_of(2) {
        ctx.reply.error(&wrong_arity("hset"));
        return;
    }
    if let Some(added) = write_pairs(ctx, args[1], &args[2..]) {
        ctx.notify(notify::HASH, "hset", args[1]);
        ctx.reply.integer(added);
    }
}

fn hmset(ctx: &mut Ctx, args: &[&[u8]]) {
    if !args.len().is_multiple_of(2) {
        ctx.reply.error(&wrong_arity("hmset"));
        return;
    }
    if write_pairs(ctx, args[1], &args[2..]).is_some() {
        ctx.notify(notify::HASH, "hset", args[1]);
        ctx.reply.ok();
    }
}

fn hsetnx(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let exists = match modify(ctx.keyspace, db, args[1], now) {
        Err(()) => return ctx.reply.error(WRONG_TYPE),
        Ok(hash) => hash.is_some_and(|h| h.get(args[2]).is_some()),
    };
    if exists {
        return ctx.reply.integer(0);
    }
    if write_pairs(ctx, args[1], &args[2..4]).is_some() {
        ctx.notify(notify::HASH, "hset", args[1]);
        ctx.reply.integer(1);
    }
}

fn hget(ctx: &mut Ctx, args: &[&[u8]]) {
    with_read(ctx, args[1], |ctx| ctx.reply.null(), |hash, reply| match hash.get(args[2]) {
        Some(value) => reply.bulk(value),
        None => reply.null(),
    });
}

fn hmget(ctx: &mut Ctx, args: &[&[u8]]) {
    let fields = &args[2..];
    let nulls = |ctx: &mut Ctx| {
        ctx.reply.array(fields.len());
        fields.iter().for_each(|_| ctx.reply.null());
    };
    with_read(ctx, args[1], nulls, |hash, reply| {
        reply.array(fields.len());
        for field in fields {
            match hash.get(field) {
                Some(value) => reply.bulk(value),
                None => reply.null(),
            }
        }
    });
}

fn hdel(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let removed = match modify(ctx.keyspace, db, args[1], now) {
        Err(()) => return ctx.reply.error(WRONG_TYPE),
        Ok(None) => 0,
        Ok(Some(hash)) => args[2..].iter().filter(|field| hash.remove(field)).count(),
    };
    if removed > 0 {
        ctx.notify(notify::HASH, "hdel", args[1]);
        drop_if_empty(ctx, args[1]);
    }
    ctx.reply.integer(removed as i64);
}

fn hexists(ctx: &mut Ctx, args: &[&[u8]]) {
    with_read(ctx, args[1], |ctx| ctx.reply.integer(0), |hash, reply| reply.integer(i64::from(hash.get(args[2]).is_some())));
}

fn hlen(ctx: &mut Ctx, args: &[&[u8]]) {
    with_read(ctx, args[1], |ctx| ctx.reply.integer(0), |hash, reply| reply.integer(hash.len() as i64));
}

fn hstrlen(ctx: &mut Ctx, args: &[&[u8]]) {
    with_read(ctx, args[1], |ctx| ctx.reply.integer(0), |hash, reply| {
        reply.integer(hash.get(args[2]).map_or(0, <[u8]>::len) as i64)
    });
}

/// HKEYS, HVALS and HGETALL: the whole hash, as fields, values or both.
fn whole(ctx: &mut Ctx, key: &[u8], fields: bool, values: bool) {
    let empty = |ctx: &mut Ctx| if fields && values { ctx.reply.map(0) } else { ctx.reply.array(0) };
    with_read(ctx, key, empty, |hash, reply| {
        let pairs = hash.pairs();
        if fields && values { reply.map(pairs.len()) } else { reply.array(pairs.len()) }
        for (field, value) in pairs {
            if fields {
                reply.bulk(field);
            }
            if values {
                reply.bulk(value);
            }
        }
    });
}

fn hkeys(ctx: &mut Ctx, args: &[&[u8]]) {
    whole(ctx, args[1], true, false);
}

fn hvals(ctx: &mut Ctx, args: &[&[u8]]) {
    whole(ctx, args[1], false, true);
}

fn hgetall(ctx: &mut Ctx, args: &[&[u8]]) {
    whole(ctx, args[1], true, true);
}

/// The current value of a field about to be incremented: `Ok(None)` when absent, `Err(())`
/// after answering WRONGTYPE.
fn field_value(ctx: &mut Ctx, key: &[u8], field: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match modify(ctx.keyspace, db, key, now) {
        Err(()) => {
            ctx.reply.error(WRONG_TYPE);
            Err(())
        }
        Ok(hash) => Ok(hash.and_then(|h| h.get(field)).map(<[u8]>::to_vec)),
    }
}

/// Stores an incremented field, keeping its TTL.
fn store_incremented(ctx: &mut Ctx, key: &[u8], field: &[u8], value: &[u8]) {
    let (db, now, limits) = (ctx.db(), ctx.now_ms(), limits(ctx));
    if let Ok(hash) = create(ctx.keyspace, db, key, now) {
        hash.set_keep_ttl(field, value, limits);
    }
}

fn hincrby(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(increment) = int_arg(ctx, args[3]) else { return };
    let Ok(current) = field_value(ctx, args[1], args[2]) else { return };
    let current = match current {
        None => 0,
        Some(bytes) => match parse_i64(&bytes) {
            Some(n) => n,
            None => return ctx.reply.error("ERR hash value is not an integer"),
        },
    };
    let Some(result) = current.checked_add(increment) else { return ctx.reply.error(OVERFLOW) };
    store_incremented(ctx, args[1], args[2], itoa::Buffer::new().format(result).as_bytes());
    ctx.notify(notify::HASH, "hincrby", args[1]);
    ctx.reply.integer(result);
}

/// Reads and adds as INCRBYFLOAT does (C's long double), as Redis does.
fn hincrbyfloat(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(increment) = LongDouble::parse(args[3]) else { return ctx.reply.error(NOT_A_FLOAT) };
    if !increment.is_finite() {
        return ctx.reply.error("ERR value is NaN or Infinity");
    }
    let Ok(current) = field_value(ctx, args[1], args[2]) else { return };
    let current = match current {
        None => LongDouble::ZERO,
        Some(bytes) => match LongDouble::parse(&bytes) {
            Some(n) => n,
            None => return ctx.reply.error("ERR hash value is not a float"),
        },
    };
    let result = current.add(increment);
    if !result.is_finite() {
        return ctx.reply.error("ERR increment would produce NaN or Infinity");
    }
    let text = result.to_human();
    store_incremented(ctx, args[1], args[2], text.as_bytes());
    ctx.notify(notify::HASH, "hincrbyfloat", args[1]);
    ctx.reply.bulk(text.as_bytes());
}

fn hrandfield(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() == 2 {
        let (db, now) = (ctx.db(), ctx.now_ms());
        return match read(ctx.keyspace, db, args[1], now) {
            Err(()) => ctx.reply.error(WRONG_TYPE),
            Ok(None) => ctx.reply.null(),
            Ok(Some(hash)) => match hash.pair_at(ctx.rng.below(hash.len() as u64) as usize) {
                Some((field, _)) => ctx.reply.bulk(field),
                None => ctx.reply.null(),
            },
        };
    }
    let with_values = match args.get(3) {
        None => false,
        Some(word) if args.len() == 4 && is(word, "WITHVALUES") => true,
        Some(_) => return ctx.reply.error(SYNTAX_ERROR),
    };
    let Some(count) = int_arg(ctx, args[2]) else { return };
    if with_values && count < -(i64::MAX / 2) {
        return ctx.reply.error("ERR value is out of range");
    }
    let (db, now) = (ctx.db(), ctx.now_ms());
    if count < 0 && ctx.keyspace.contains(db, args[1], now) && super::too_many_picks(ctx, count.unsigned_abs()) {
        return;
    }
    match read(ctx.keyspace, db, args[1], now) {
        Err(()) => ctx.reply.error(WRONG_TYPE),
        Ok(None) => ctx.reply.array(0),
        Ok(Some(hash)) => {
            let len = hash.len();
            // A negative count repeats picks: they are written as drawn, never collected.
            let total = if count < 0 { count.unsigned_abs() as usize } else { len.min(count as usize) };
            let resp3 = ctx.session.resp3();
            ctx.reply.array(if with_values && !resp3 { total.saturating_mul(2) } else { total });
            let mut write = |(field, value): (&[u8], &[u8])| {
                if with_values && resp3 {
                    ctx.reply.array(2);
                }
                ctx.reply.bulk(field);
                if with_values {
                    ctx.reply.bulk(value);
                }
            };
            if count < 0 {
                for _ in 0..total {
                    hash.pair_at(ctx.rng.below(len as u64) as usize).map(&mut write);
                }
            } else {
                distinct_positions(len, total, ctx.rng).into_iter().filter_map(|at| hash.pair_at(at)).for_each(write);
            }
        }
    }
}

/// `count` distinct positions of a hash of `len` fields: all of them, in order, when it has no
/// more; near all, by dropping random positions until `count` are left; few, by drawing until
/// `count` different ones came up, so a small sample of a large hash costs O(count).
fn distinct_positions(len: usize, count: usize, rng: &mut crate::rng::Rng) -> Vec<usize> {
    if count.saturating_mul(3) <= len {
        // Ordered, not hashed: std's hashed sets would make the component import an OS seed.
        let mut seen = std::collections::BTreeSet::new();
        let mut picks = Vec::with_capacity(count);
        while picks.len() < count {
            let at = rng.below(len as u64) as usize;
            if seen.insert(at) {
                picks.push(at);
            }
        }
        return picks;
    }
    let mut all: Vec<usize> = (0..len).collect();
    while all.len() > count {
        let at = rng.below(all.len() as u64) as usize;
        all.swap_remove(at);
    }
    all
}

/// A field and its value, borrowed from the hash.
type Pair<'h> = (&'h [u8], &'h [u8]);

/// HSCAN's options after the cursor.
struct ScanOptions<'a> {
    pattern: Option<&'a [u8]>,
    count: usize,
    values: bool,
}

fn scan_options<'a>(ctx: &mut Ctx, options: &[&'a [u8]]) -> Option<ScanOptions<'a>> {
    let mut parsed = ScanOptions { pattern: None, count: 10, values: true };
    let mut i = 0;
    while i < options.len() {
        let (option, value) = (options[i], options.get(i + 1).copied());
        match value {
            Some(pattern) if is(option, "MATCH") => parsed.pattern = Some(pattern),
            Some(count) if is(option, "COUNT") => {
                let count = int_arg(ctx, count)?;
                if count < 1 {
                    ctx.reply.error(SYNTAX_ERROR);
                    return None;
                }
                parsed.count = count as usize;
            }
            _ if is(option, "NOVALUES") => {
                parsed.values = false;
                i += 1;
                continue;
            }
            _ => {
                ctx.reply.error(SYNTAX_ERROR);
                return None;
            }
        }
        i += 2;
    }
    Some(parsed)
}

fn hscan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = std::str::from_utf8(args[2]).ok().and_then(|c| c.parse::<u64>().ok()) else {
        return ctx.reply.error("ERR invalid cursor");
    };
    let (db, now) = (ctx.db(), ctx.now_ms());
    match read(ctx.keyspace, db, args[1], now) {
        Err(()) => return ctx.reply.error(WRONG_TYPE),
        Ok(None) => {
            ctx.reply.array(2);
            ctx.reply.bulk(b"0");
            return ctx.reply.array(0);
        }
        Ok(Some(_)) => {}
    }
    let Some(options) = scan_options(ctx, &args[3..]) else { return };
    let Ok(Some(hash)) = modify(ctx.keyspace, db, args[1], now) else { return };
    let (next, found) = scan_step(hash, cursor, options.count);
    let kept: Vec<_> = found.into_iter().filter(|(f, _)| options.pattern.is_none_or(|p| glob::matches(p, f, false))).collect();
    ctx.reply.array(2);
    ctx.reply.bulk(itoa::Buffer::new().format(next).as_bytes());
    ctx.reply.array(if options.values { kept.len() * 2 } else { kept.len() });
    for (field, value) in kept {
        ctx.reply.bulk(field);
        if options.values {
            ctx.reply.bulk(value);
        }
    }
}

/// One HSCAN step: a packed hash whole (cursor 0 after it), a table `count` positions at a time,
/// walking from its end so that removals, which move the last field into the hole, never hide a
/// field that exists for the whole scan.
fn scan_step(hash: &Hash, cursor: u64, count: usize) -> (u64, Vec<Pair<'_>>) {
    if hash.is_packed() {
        return (0, hash.pairs());
    }
    let len = hash.len() as u64;
    let mut remaining = if cursor == 0 || cursor > len { len } else { cursor };
    let mut found = Vec::new();
    while remaining > 0 && found.len() < count {
        remaining -= 1;
        found.extend(hash.pair_at(remaining as usize));
    }
    (remaining, found)
}

#[cfg(test)]
mod tests;
