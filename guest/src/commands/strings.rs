//! String commands: reading, writing and counting with the values keys hold.

use super::{
    Command, Ctx, Flag, NOT_A_FLOAT, NOT_AN_INTEGER, OVERFLOW, SYNTAX_ERROR, WRONG_TYPE, int_arg, invalid_expire, is,
    parse_i64,
};
use crate::notify;
use crate::keyspace::{StrValue, Value};
use crate::long_double::LongDouble;

pub const COMMANDS: &[Command] = &[
    Command::new("get", 2, get).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Returns the string value of a key.", "1.0.0", "O(1)", "key"),
    Command::new("set", -3, set).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("string")
        .doc("Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "1.0.0", "O(1)",
            "key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]"),
    Command::new("setnx", 3, setnx).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Set the string value of a key only when the key doesn't exist.", "1.0.0", "O(1)", "key value"),
    Command::new("setex", 4, setex).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("string")
        .doc("Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "2.0.0", "O(1)", "key seconds value"),
    Command::new("psetex", 4, psetex).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("string")
        .doc("Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "2.6.0", "O(1)", "key milliseconds value"),
    Command::new("getset", 3, getset).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Returns the previous string value of a key after setting it to a new value.", "1.0.0", "O(1)", "key value"),
    Command::new("getdel", 2, getdel).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Returns the string value of a key after deleting the key.", "6.2.0", "O(1)", "key"),
    Command::new("getex", -2, getex).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Returns the string value of a key after setting its expiration time.", "6.2.0", "O(1)",
            "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]"),
    Command::new("mget", -2, mget).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, -1, 1).group("string")
        .doc("Atomically returns the string values of one or more keys.", "1.0.0", "O(N) where N is the number of keys to retrieve.", "key [key ...]"),
    Command::new("mset", -3, mset).flags(&[Flag::Write, Flag::DenyOom]).keys(1, -1, 2).group("string")
        .doc("Atomically creates or modifies the string values of one or more keys.", "1.0.1", "O(N) where N is the number of keys to set.", "key value [key value ...]"),
    Command::new("msetnx", -3, msetnx).flags(&[Flag::Write, Flag::DenyOom]).keys(1, -1, 2).group("string")
        .doc("Atomically modifies the string values of one or more keys only when all keys don't exist.", "1.0.1", "O(N) where N is the number of keys to set.", "key value [key value ...]"),
    Command::new("append", 3, append).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0", "O(1)", "key value"),
    Command::new("strlen", 2, strlen).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Returns the length of a string value.", "2.2.0", "O(1)", "key"),
    Command::new("getrange", 4, getrange).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("string")
        .doc("Returns a substring of the string stored at a key.", "2.4.0", "O(N) where N is the length of the returned string.", "key start end"),
    Command::new("substr", 4, getrange).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("string")
        .doc("Returns a substring from a string value.", "1.0.0", "O(N) where N is the length of the returned string.", "key start end"),
    Command::new("setrange", 4, setrange).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("string")
        .doc("Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "2.2.0", "O(1)", "key offset value"),
    Command::new("incr", 2, incr).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key"),
    Command::new("decr", 2, decr).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key"),
    Command::new("incrby", 3, incrby).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key increment"),
    Command::new("decrby", 3, decrby).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key decrement"),
    Command::new("incrbyfloat", 3, incrbyfloat).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("string")
        .doc("Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "2.6.0", "O(1)", "key increment"),
];

/// What a write does to the key's time to live: SET's and GETEX's expiry option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExpiryChange {
    /// Drop any TTL (a plain SET).
    Clear,
    /// Keep the TTL the key has (KEEPTTL).
    Keep,
    /// Expire at this Unix time in milliseconds.
    At(u64),
    /// Remove the TTL (GETEX PERSIST).
    Persist,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Condition {
    Always,
    /// NX: only when the key does not exist.
    IfMissing,
    /// XX: only when it does.
    IfExists,
}

/// The string a key holds, `Ok(None)` when it does not exist, and `Err(())` after answering
/// WRONGTYPE when it holds another type. A read (`counted`) counts as a keyspace hit or miss; a
/// command about to change the key does not.
fn string_value(ctx: &mut Ctx, key: &[u8], counted: bool) -> Result<Option<Vec<u8>>, ()> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let entry = if counted { ctx.keyspace.get(db, key, now) } else { ctx.keyspace.lookup(db, key, now) };
    match entry.map(|e| e.value.as_string().map(<[u8]>::to_vec)) {
        None => Ok(None),
        Some(Some(bytes)) => Ok(Some(bytes)),
        Some(None) => {
            ctx.reply.error(WRONG_TYPE);
            Err(())
        }
    }
}

fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    string_value(ctx, key, true)
}

fn current_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, ()> {
    string_value(ctx, key, false)
}

fn get(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.get(db, args[1], now).map(|e| e.value.as_string()) {
        None => ctx.reply.null(),
        Some(Some(bytes)) => ctx.reply.bulk(bytes),
        Some(None) => ctx.reply.error(WRONG_TYPE),
    }
}

/// SET's options after the value.
struct SetOptions {
    condition: Condition,
    get: bool,
    expiry: ExpiryChange,
}

fn parse_set_options(ctx: &mut Ctx, options: &[&[u8]]) -> Option<SetOptions> {
    let mut parsed = SetOptions { condition: Condition::Always, get: false, expiry: ExpiryChange::Clear };
    // Redis reads every option before any number: a syntax error is reported before a bad
    // number, and the same expiry option given twice is accepted (the last one counts).
    let mut expiry: Option<(ExpiryUnit, &[u8])> = None;
    let mut i = 0;
    while i < options.len() {
        let option = options[i];
        if is(option, "NX") && parsed.condition != Condition::IfExists {
            parsed.condition = Condition::IfMissing;
        } else if is(option, "XX") && parsed.condition != Condition::IfMissing {
            parsed.condition = Condition::IfExists;
        } else if is(option, "GET") {
            parsed.get = true;
        } else if is(option, "KEEPTTL") && expiry.is_none() {
            parsed.expiry = ExpiryChange::Keep;
        } else if let Some(unit) = expiry_unit(option)
            .filter(|unit| parsed.expiry != ExpiryChange::Keep && expiry.is_none_or(|(given, _)| given == *unit))
            && let Some(&amount) = options.get(i + 1)
        {
            expiry = Some((unit, amount));
            i += 1;
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
        i += 1;
    }
    if let Some((unit, amount)) = expiry {
        parsed.expiry = ExpiryChange::At(expiry_deadline(ctx, unit, amount, "set")?);
    }
    Some(parsed)
}

/// How an expiry option's number is to be read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpiryUnit {
    Seconds,
    Milliseconds,
    UnixSeconds,
    UnixMilliseconds,
}

fn expiry_unit(option: &[u8]) -> Option<ExpiryUnit> {
    [("EX", ExpiryUnit::Seconds), ("PX", ExpiryUnit::Milliseconds), ("EXAT", ExpiryUnit::UnixSeconds), ("PXAT", ExpiryUnit::UnixMilliseconds)]
        .into_iter()
        .find_map(|(name, unit)| is(option, name).then_some(unit))
}

/// The absolute deadline an expiry option names, in Unix milliseconds; replies with Redis's error
/// and returns `None` for a number that is not a positive integer or overflows.
fn expiry_deadline(ctx: &mut Ctx, unit: ExpiryUnit, amount: &[u8], command: &str) -> Option<u64> {
    let value = int_arg(ctx, amount)?;
    let deadline = (value > 0)
        .then(|| match unit {
            ExpiryUnit::Seconds => super::seconds_as_ms(value).and_then(|ms| ms.checked_add(ctx.now_ms() as i64)),
            ExpiryUnit::Milliseconds => value.checked_add(ctx.now_ms() as i64),
            ExpiryUnit::UnixSeconds => super::seconds_as_ms(value),
            ExpiryUnit::UnixMilliseconds => Some(value),
        })
        .flatten();
    match deadline {
        Some(at) => Some(at as u64),
        None => {
            ctx.reply.error(&invalid_expire(command));
            None
        }
    }
}

fn set(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(options) = parse_set_options(ctx, &args[3..]) else { return };
    let (key, value) = (args[1], args[2]);
    // GET reads the old value as GET would: a missing key counts as a miss.
    let old = if options.get {
        match read_string(ctx, key) {
            Ok(old) => old,
            Err(()) => return,
        }
    } else {
        None
    };
    let stored = store(ctx, key, value, options.condition, options.expiry);
    match (options.get, stored) {
        (true, _) => match old {
            Some(old) => ctx.reply.bulk(&old),
            None => ctx.reply.null(),
        },
        (false, true) => ctx.reply.ok(),
        (false, false) => ctx.reply.null(),
    }
}

/// Stores a string if `condition` allows it; returns whether it did. A deadline already in the
/// past is stored as any other, as Redis does: the key is then expired by the next look at it.
fn store(ctx: &mut Ctx, key: &[u8], value: &[u8], condition: Condition, expiry: ExpiryChange) -> bool {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let allowed = match condition {
        Condition::Always => true,
        Condition::IfMissing => !ctx.keyspace.contains(db, key, now),
        Condition::IfExists => ctx.keyspace.contains(db, key, now),
    };
    if !allowed {
        return false;
    }
    match expiry {
        ExpiryChange::Keep => ctx.keyspace.set_keep_ttl(db, key, Value::from_bytes(value), now),
        ExpiryChange::At(at) => ctx.keyspace.set_bytes(db, key, value, Some(at), now),
        ExpiryChange::Clear | ExpiryChange::Persist => ctx.keyspace.set_bytes(db, key, value, None, now),
    }
    ctx.notify(notify::STRING, "set", key);
    if let ExpiryChange::At(_) = expiry {
        ctx.notify(notify::GENERIC, "expire", key);
    }
    true
}

fn setnx(ctx: &mut Ctx, args: &[&[u8]]) {
    let stored = store(ctx, args[1], args[2], Condition::IfMissing, ExpiryChange::Clear);
    ctx.reply.integer(i64::from(stored));
}

fn setex(ctx: &mut Ctx, args: &[&[u8]]) {
    set_with_expiry(ctx, args, ExpiryUnit::Seconds, "setex");
}

fn psetex(ctx: &mut Ctx, args: &[&[u8]]) {
    set_with_expiry(ctx, args, ExpiryUnit::Milliseconds, "psetex");
}

/// SETEX and PSETEX: `key amount value`.
fn set_with_expiry(ctx: &mut Ctx, args: &[&[u8]], unit: ExpiryUnit, command: &str) {
    let Some(at) = expiry_deadline(ctx, unit, args[2], command) else { return };
    store(ctx, args[1], args[3], Condition::Always, ExpiryChange::At(at));
    ctx.reply.ok();
}

fn getset(ctx: &mut Ctx, args: &[&[u8]]) {
    let Ok(old) = read_string(ctx, args[1]) else { return };
    store(ctx, args[1], args[2], Condition::Always, ExpiryChange::Clear);
    match old {
        Some(old) => ctx.reply.bulk(&old),
        None => ctx.reply.null(),
    }
}

fn getdel(ctx: &mut Ctx, args: &[&[u8]]) {
    let Ok(old) = read_string(ctx, args[1]) else { return };
    match old {
        Some(old) => {
            let db = ctx.db();
            ctx.keyspace.remove(db, args[1]);
            ctx.notify(notify::GENERIC, "del", args[1]);
            ctx.reply.bulk(&old);
        }
        None => ctx.reply.null(),
    }
}

fn getex(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(change) = parse_getex_options(ctx, &args[2..]) else { return };
    let Ok(value) = read_string(ctx, args[1]) else { return };
    let Some(value) = value else {
        ctx.reply.null();
        return;
    };
    // As in Redis, the key is looked up before the expiry's number is read.
    let expiry = match change {
        GetexChange::Keep => ExpiryChange::Keep,
        GetexChange::Persist => ExpiryChange::Persist,
        GetexChange::At(unit, amount) => match expiry_deadline(ctx, unit, amount, "getex") {
            Some(at) => ExpiryChange::At(at),
            None => return,
        },
    };
    let (db, now) = (ctx.db(), ctx.now_ms());
    match expiry {
        ExpiryChange::At(at) => {
            ctx.keyspace.set_expiry(db, args[1], Some(at), now);
            ctx.notify(notify::GENERIC, if at <= now { "del" } else { "expire" }, args[1]);
        }
        ExpiryChange::Persist => {
            let had_ttl = ctx.keyspace.peek(db, args[1], now).is_some_and(|e| e.has_ttl());
            if had_ttl {
                ctx.keyspace.set_expiry(db, args[1], None, now);
                ctx.notify(notify::GENERIC, "persist", args[1]);
            }
        }
        ExpiryChange::Keep | ExpiryChange::Clear => {}
    }
    ctx.reply.bulk(&value);
}

/// GETEX's options as written: one kind of EX, PX, EXAT, PXAT or PERSIST, possibly repeated (the
/// last counts, as in Redis); without one the TTL is kept.
enum GetexChange<'a> {
    Keep,
    Persist,
    At(ExpiryUnit, &'a [u8]),
}

fn parse_getex_options<'a>(ctx: &mut Ctx, options: &[&'a [u8]]) -> Option<GetexChange<'a>> {
    let mut change = GetexChange::Keep;
    let mut i = 0;
    while i < options.len() {
        let option = options[i];
        match (&change, expiry_unit(option), options.get(i + 1)) {
            (GetexChange::Keep | GetexChange::Persist, None, _) if is(option, "PERSIST") => change = GetexChange::Persist,
            (GetexChange::Keep, Some(unit), Some(amount)) => {
                change = GetexChange::At(unit, amount);
                i += 1;
            }
            (GetexChange::At(given, _), Some(unit), Some(amount)) if *given == unit => {
                change = GetexChange::At(unit, amount);
                i += 1;
            }
            _ => {
                ctx.reply.error(SYNTAX_ERROR);
                return None;
            }
        }
        i += 1;
    }
    Some(change)
}

fn mget(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    ctx.reply.array(args.len() - 1);
    for key in &args[1..] {
        // A key of another type reads as absent here, as in Redis.
        match ctx.keyspace.get(db, key, now).and_then(|e| e.value.as_string()) {
            Some(bytes) => ctx.reply.bulk(bytes),
            None => ctx.reply.null(),
        }
    }
}

fn mset(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() % 2 == 0 {
        ctx.reply.error("ERR wrong number of arguments for 'mset' command");
        return;
    }
    for pair in args[1..].chunks_exact(2) {
        store(ctx, pair[0], pair[1], Condition::Always, ExpiryChange::Clear);
    }
    ctx.reply.ok();
}

fn msetnx(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() % 2 == 0 {
        ctx.reply.error("ERR wrong number of arguments for 'msetnx' command");
        return;
    }
    let (db, now) = (ctx.db(), ctx.now_ms());
    if args[1..].chunks_exact(2).any(|pair| ctx.keyspace.contains(db, pair[0], now)) {
        ctx.reply.integer(0);
        return;
    }
    for pair in args[1..].chunks_exact(2) {
        store(ctx, pair[0], pair[1], Condition::Always, ExpiryChange::Clear);
    }
    ctx.reply.integer(1);
}

/// Refuses a string longer than `proto-max-bulk-len` before it is built.
fn check_length(ctx: &mut Ctx, length: u64) -> bool {
    if length > ctx.config.proto_max_bulk_len {
        ctx.reply.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }
    true
}

fn append(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let Ok(current) = current_string(ctx, args[1]).map(|v| v.map_or(0, |v| v.len())) else { return };
    if !check_length(ctx, (current + args[2].len()) as u64) {
        return;
    }
    let length = match ctx.keyspace.get_mut(db, args[1], now).and_then(|e| e.value.as_string_mut()) {
        Some(bytes) => {
            bytes.extend_from_slice(args[2]);
            bytes.len()
        }
        None => {
            ctx.keyspace.set(db, args[1], Value::from_bytes(args[2]), None, now);
            args[2].len()
        }
    };
    ctx.notify(notify::STRING, "append", args[1]);
    ctx.reply.integer(length as i64);
}

fn strlen(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Ok(value) = read_string(ctx, args[1]) {
        ctx.reply.integer(value.map_or(0, |v| v.len() as i64));
    }
}

fn getrange(ctx: &mut Ctx, args: &[&[u8]]) {
    let (Some(start), Some(end)) = (parse_i64(args[2]), parse_i64(args[3])) else {
        ctx.reply.error(NOT_AN_INTEGER);
        return;
    };
    let Ok(value) = read_string(ctx, args[1]) else { return };
    let value = value.unwrap_or_default();
    match byte_range(value.len(), start, end) {
        Some((from, to)) => ctx.reply.bulk(&value[from..=to]),
        None => ctx.reply.bulk(b""),
    }
}

/// GETRANGE's inclusive range over a string of `len` bytes: negative offsets count from the end,
/// and the range is clipped to the string. `None` when it selects nothing.
fn byte_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return None;
    }
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { (len + end).max(0) } else { end.min(len - 1) };
    (start <= end && start < len).then_some((start as usize, end as usize))
}

fn setrange(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(offset) = int_arg(ctx, args[2]) else { return };
    if offset < 0 {
        ctx.reply.error("ERR offset is out of range");
        return;
    }
    let (key, patch) = (args[1], args[3]);
    let Ok(current) = current_string(ctx, key) else { return };
    if patch.is_empty() {
        ctx.reply.integer(current.map_or(0, |v| v.len() as i64));
        return;
    }
    let offset = offset as u64;
    if !check_length(ctx, offset + patch.len() as u64) {
        return;
    }
    let (db, now) = (ctx.db(), ctx.now_ms());
    let offset = offset as usize;
    let write = |bytes: &mut StrValue| {
        bytes.zero_extend(offset + patch.len());
        bytes[offset..offset + patch.len()].copy_from_slice(patch);
        bytes.len()
    };
    let length = match ctx.keyspace.get_mut(db, key, now).and_then(|e| e.value.as_string_mut()) {
        Some(bytes) => write(bytes),
        None => {
            let mut bytes = StrValue::new();
            let length = write(&mut bytes);
            ctx.keyspace.set(db, key, Value::String(bytes), None, now);
            length
        }
    };
    ctx.notify(notify::STRING, "setrange", key);
    ctx.reply.integer(length as i64);
}

fn incr(ctx: &mut Ctx, args: &[&[u8]]) {
    add_integer(ctx, args[1], 1);
}

fn decr(ctx: &mut Ctx, args: &[&[u8]]) {
    add_integer(ctx, args[1], -1);
}

fn incrby(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(increment) = int_arg(ctx, args[2]) {
        add_integer(ctx, args[1], increment);
    }
}

fn decrby(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(decrement) = int_arg(ctx, args[2]) else { return };
    match decrement.checked_neg() {
        Some(increment) => add_integer(ctx, args[1], increment),
        None => ctx.reply.error("ERR decrement would overflow"),
    }
}

/// The INCR family: the key's value read as a 64-bit integer (0 when missing), plus `increment`.
/// The key keeps its TTL. It is looked up once: the new number is written where the old one was.
fn add_integer(ctx: &mut Ctx, key: &[u8], increment: i64) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let (found, current) = match ctx.keyspace.find(db, key, now) {
        None => (None, Some(0)),
        Some((found, entry)) => match entry.value.as_string() {
            Some(bytes) => (Some(found), parse_i64(bytes)),
            None => return ctx.reply.error(WRONG_TYPE),
        },
    };
    let Some(current) = current else { return ctx.reply.error(NOT_AN_INTEGER) };
    let Some(result) = current.checked_add(increment) else { return ctx.reply.error(OVERFLOW) };
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(result).as_bytes();
    match found {
        Some(found) => ctx.keyspace.rewrite(found, key, digits),
        None => ctx.keyspace.set(db, key, Value::from_bytes(digits), None, now),
    }
    ctx.notify(notify::STRING, "incrby", key);
    ctx.reply.integer(result);
}

fn incrbyfloat(ctx: &mut Ctx, args: &[&[u8]]) {
    let Ok(current) = current_string(ctx, args[1]) else { return };
    let current = match current {
        None => Some(LongDouble::ZERO),
        Some(bytes) => LongDouble::parse(&bytes),
    };
    let (Some(current), Some(increment)) = (current, LongDouble::parse(args[2])) else {
        ctx.reply.error(NOT_A_FLOAT);
        return;
    };
    let result = current.add(increment);
    if !result.is_finite() {
        ctx.reply.error("ERR increment would produce NaN or Infinity");
        return;
    }
    let text = result.to_human();
    let (db, now) = (ctx.db(), ctx.now_ms());
    ctx.keyspace.set_keep_ttl(db, args[1], Value::from_bytes(text.as_bytes()), now);
    ctx.notify(notify::STRING, "incrbyfloat", args[1]);
    ctx.reply.bulk(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::byte_range;
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn set_options() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["SET", "k", "v", "NX", "GET"]), "$-1\r\n");
        assert_eq!(c.run(&["SET", "k", "w", "GET"]), bulk("v"));
        assert_eq!(c.run(&["SET", "k", "x", "NX"]), "$-1\r\n");
        assert_eq!(c.run(&["SET", "missing", "x", "XX"]), "$-1\r\n");
        assert_eq!(c.run(&["SET", "k", "x", "xx"]), "+OK\r\n");
        for bad in [&["NX", "XX"][..], &["EX", "1", "PX", "1"], &["KEEPTTL", "EX", "1"], &["EX"], &["FOO"]] {
            let mut args = vec!["SET", "k", "v"];
            args.extend_from_slice(bad);
            assert_eq!(c.run(&args), "-ERR syntax error\r\n", "{bad:?}");
        }
        assert_eq!(c.run(&["SET", "k", "v", "EX", "0"]), "-ERR invalid expire time in 'set' command\r\n");
        assert_eq!(c.run(&["SET", "k", "v", "EX", "-1"]), "-ERR invalid expire time in 'set' command\r\n");
        assert_eq!(c.run(&["SET", "k", "v", "EX", "9223372036854775807"]), "-ERR invalid expire time in 'set' command\r\n");
        assert_eq!(c.run(&["SET", "k", "v", "EX", "ten"]), "-ERR value is not an integer or out of range\r\n");
    }

    #[test]
    fn set_expiry_and_keepttl() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["SET", "k", "v", "PX", "1500"]), "+OK\r\n");
        assert_eq!(c.run(&["SET", "k", "w", "KEEPTTL"]), "+OK\r\n");
        c.advance_ms(1000);
        assert_eq!(c.run(&["GET", "k"]), bulk("w"));
        c.advance_ms(500);
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n");
        let at = (c.now.wall_ms / 1000 + 10).to_string();
        assert_eq!(c.run(&["SET", "k", "v", "EXAT", &at]), "+OK\r\n");
        c.advance_ms(11_000);
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n");
        assert_eq!(c.run(&["SET", "k", "v", "PXAT", "1"]), "+OK\r\n");
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n", "a deadline in the past deletes the key");
    }

    #[test]
    fn setnx_setex_getset_getdel() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["SETNX", "k", "1"]), ":1\r\n");
        assert_eq!(c.run(&["SETNX", "k", "2"]), ":0\r\n");
        assert_eq!(c.run(&["SETEX", "e", "10", "v"]), "+OK\r\n");
        assert_eq!(c.run(&["SETEX", "e", "0", "v"]), "-ERR invalid expire time in 'setex' command\r\n");
        assert_eq!(c.run(&["PSETEX", "p", "-5", "v"]), "-ERR invalid expire time in 'psetex' command\r\n");
        assert_eq!(c.run(&["PSETEX", "p", "100", "v"]), "+OK\r\n");
        c.advance_ms(100);
        assert_eq!(c.run(&["GET", "p"]), "$-1\r\n");
        assert_eq!(c.run(&["GETSET", "e", "new"]), bulk("v"));
        c.advance_ms(20_000);
        assert_eq!(c.run(&["GET", "e"]), bulk("new"), "GETSET dropped the TTL");
        assert_eq!(c.run(&["GETSET", "fresh", "x"]), "$-1\r\n");
        assert_eq!(c.run(&["GETDEL", "fresh"]), bulk("x"));
        assert_eq!(c.run(&["GETDEL", "fresh"]), "$-1\r\n");
    }

    #[test]
    fn getex_options() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["GETEX", "missing", "EX", "10"]), "$-1\r\n");
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["GETEX", "k", "PX", "100"]), bulk("v"));
        assert_eq!(c.run(&["GETEX", "k", "PERSIST"]), bulk("v"));
        c.advance_ms(200);
        assert_eq!(c.run(&["GETEX", "k"]), bulk("v"));
        assert_eq!(c.run(&["GETEX", "k", "EX", "0"]), "-ERR invalid expire time in 'getex' command\r\n");
        assert_eq!(c.run(&["GETEX", "k", "PERSIST", "EX", "1"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["GETEX", "k", "KEEPTTL"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["GETEX", "k", "EX", "1"]), bulk("v"));
        c.advance_ms(1000);
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n");
    }

    #[test]
    fn multi_key() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["MSET", "a", "1", "b", "2"]), "+OK\r\n");
        assert_eq!(c.run(&["MSET", "a", "1", "b"]), "-ERR wrong number of arguments for 'mset' command\r\n");
        assert_eq!(c.run(&["MGET", "a", "nope", "b"]), format!("*3\r\n{}$-1\r\n{}", bulk("1"), bulk("2")));
        assert_eq!(c.run(&["MSETNX", "a", "3", "c", "4"]), ":0\r\n");
        assert_eq!(c.run(&["GET", "c"]), "$-1\r\n");
        assert_eq!(c.run(&["MSETNX", "c", "3", "d", "4"]), ":1\r\n");
    }

    #[test]
    fn append_strlen_ranges() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["APPEND", "k", "Hello"]), ":5\r\n");
        assert_eq!(c.run(&["APPEND", "k", " World"]), ":11\r\n");
        assert_eq!(c.run(&["STRLEN", "k"]), ":11\r\n");
        assert_eq!(c.run(&["STRLEN", "nope"]), ":0\r\n");
        assert_eq!(c.run(&["GETRANGE", "k", "0", "4"]), bulk("Hello"));
        assert_eq!(c.run(&["GETRANGE", "k", "-5", "-1"]), bulk("World"));
        assert_eq!(c.run(&["GETRANGE", "k", "0", "-1"]), bulk("Hello World"));
        assert_eq!(c.run(&["GETRANGE", "k", "5", "2"]), bulk(""));
        assert_eq!(c.run(&["GETRANGE", "k", "20", "30"]), bulk(""));
        assert_eq!(c.run(&["SUBSTR", "k", "6", "100"]), bulk("World"));
        assert_eq!(c.run(&["GETRANGE", "nope", "0", "-1"]), bulk(""));
        assert_eq!(c.run(&["GETRANGE", "k", "a", "1"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(byte_range(5, -100, 100), Some((0, 4)));
        assert_eq!(byte_range(5, -1, -5), None);
    }

    #[test]
    fn setrange() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["SETRANGE", "k", "6", "Redis"]), ":11\r\n");
        assert_eq!(c.run(&["GET", "k"]), "$11\r\n\0\0\0\0\0\0Redis\r\n");
        assert_eq!(c.run(&["SETRANGE", "k", "0", "Hello!"]), ":11\r\n");
        assert_eq!(c.run(&["GET", "k"]), bulk("Hello!Redis"));
        assert_eq!(c.run(&["SETRANGE", "empty", "5", ""]), ":0\r\n");
        assert_eq!(c.run(&["GET", "empty"]), "$-1\r\n", "an empty patch creates no key");
        assert_eq!(c.run(&["SETRANGE", "k", "-1", "x"]), "-ERR offset is out of range\r\n");
        assert_eq!(
            c.run(&["SETRANGE", "k", "536870912", "x"]),
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
        );
    }

    /// Strings of up to 11 bytes are kept in the entry and longer ones on the heap: commands that
    /// grow a string across that line read back what they wrote, OBJECT ENCODING does not see
    /// it, and MEMORY USAGE counts the heap bytes only.
    #[test]
    fn strings_grow_across_the_in_place_limit() {
        let mut c = Harness::new();
        let usage = |c: &mut Harness, key: &str| -> i64 {
            c.run(&["MEMORY", "USAGE", key]).trim_start_matches(':').trim_end().parse().expect("an integer")
        };
        assert_eq!(c.run(&["APPEND", "a", "0123456789"]), ":10\r\n");
        assert_eq!(c.run(&["APPEND", "a", "A"]), ":11\r\n");
        let in_place = usage(&mut c, "a");
        assert_eq!(c.run(&["APPEND", "a", "B"]), ":12\r\n");
        assert_eq!(c.run(&["GET", "a"]), bulk("0123456789AB"));
        // The string moved out with room to spare, as a `Vec` of 11 grows: 22 bytes.
        assert_eq!(usage(&mut c, "a"), in_place + 22);
        c.run(&["SET", "empty", ""]);
        assert_eq!(usage(&mut c, "empty"), in_place, "an in-place string costs nothing beyond its entry");

        assert_eq!(c.run(&["SETRANGE", "r", "10", "x"]), ":11\r\n");
        assert_eq!(c.run(&["SETRANGE", "r", "11", "yz"]), ":13\r\n");
        assert_eq!(c.run(&["GET", "r"]), "$13\r\n\0\0\0\0\0\0\0\0\0\0xyz\r\n");
        assert_eq!(c.run(&["SETBIT", "b", "87", "1"]), ":0\r\n");
        assert_eq!(c.run(&["STRLEN", "b"]), ":11\r\n");
        assert_eq!(c.run(&["SETBIT", "b", "88", "1"]), ":0\r\n");
        assert_eq!(c.run(&["STRLEN", "b"]), ":12\r\n");
        assert_eq!((c.run(&["GETBIT", "b", "87"]), c.run(&["GETBIT", "b", "88"])), (":1\r\n".into(), ":1\r\n".into()));
        assert_eq!(c.run(&["BITCOUNT", "b"]), ":2\r\n");

        for (value, encoding) in [("12345678901", "int"), ("123456789012", "int"), ("abcdefghijk", "embstr"), ("abcdefghijkl", "embstr")] {
            c.run(&["SET", "e", value]);
            assert_eq!(c.run(&["OBJECT", "ENCODING", "e"]), bulk(encoding), "{value}");
            assert_eq!(c.run(&["GET", "e"]), bulk(value));
        }
        c.run(&["SET", "n", "99999999999"]);
        assert_eq!(c.run(&["INCR", "n"]), ":100000000000\r\n");
        assert_eq!(c.run(&["GETDEL", "n"]), bulk("100000000000"));
        c.run(&["SET", "n", "-1000000000"]);
        assert_eq!(c.run(&["DECR", "n"]), ":-1000000001\r\n");
        assert_eq!(c.run(&["GETEX", "n", "PX", "100000"]), bulk("-1000000001"));
    }

    #[test]
    fn counters() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["INCR", "n"]), ":1\r\n");
        assert_eq!(c.run(&["INCRBY", "n", "41"]), ":42\r\n");
        assert_eq!(c.run(&["DECR", "n"]), ":41\r\n");
        assert_eq!(c.run(&["DECRBY", "n", "50"]), ":-9\r\n");
        assert_eq!(c.run(&["GET", "n"]), bulk("-9"));
        assert_eq!(c.run(&["DECRBY", "n", "-9223372036854775808"]), "-ERR decrement would overflow\r\n");
        c.run(&["SET", "max", "9223372036854775807"]);
        assert_eq!(c.run(&["INCR", "max"]), "-ERR increment or decrement would overflow\r\n");
        c.run(&["SET", "s", "abc"]);
        assert_eq!(c.run(&["INCR", "s"]), "-ERR value is not an integer or out of range\r\n");
        c.run(&["SET", "sp", " 1"]);
        assert_eq!(c.run(&["INCR", "sp"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["INCRBY", "n", "1.5"]), "-ERR value is not an integer or out of range\r\n");
        c.run(&["SET", "t", "1", "EX", "100"]);
        c.run(&["INCR", "t"]);
        c.advance_ms(99_000);
        assert_eq!(c.run(&["GET", "t"]), bulk("2"), "INCR keeps the TTL");
        c.advance_ms(1_000);
        assert_eq!(c.run(&["GET", "t"]), "$-1\r\n");
    }

    #[test]
    fn float_counters() {
        let mut c = Harness::new();
        c.run(&["SET", "f", "10.50"]);
        assert_eq!(c.run(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
        assert_eq!(c.run(&["INCRBYFLOAT", "f", "-5"]), bulk("5.6"));
        c.run(&["SET", "g", "5.0e3"]);
        assert_eq!(c.run(&["INCRBYFLOAT", "g", "2.0e2"]), bulk("5200"));
        assert_eq!(c.run(&["INCRBYFLOAT", "new", "3"]), bulk("3"));
        assert_eq!(c.run(&["INCRBYFLOAT", "f", "x"]), "-ERR value is not a valid float\r\n");
        c.run(&["SET", "s", "abc"]);
        assert_eq!(c.run(&["INCRBYFLOAT", "s", "1"]), "-ERR value is not a valid float\r\n");
        assert_eq!(c.run(&["INCRBYFLOAT", "f", "inf"]), "-ERR increment would produce NaN or Infinity\r\n");
    }

    #[test]
    fn arity_errors() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
        assert_eq!(c.run(&["SET", "k"]), "-ERR wrong number of arguments for 'set' command\r\n");
        assert_eq!(c.run(&["GETRANGE", "k", "1"]), "-ERR wrong number of arguments for 'getrange' command\r\n");
    }
}
