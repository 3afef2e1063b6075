//! Times to live on single hash fields. HEXPIRE, HPEXPIRE, HEXPIREAT, HPEXPIREAT, HTTL, HPTTL,
//! HEXPIRETIME, HPEXPIRETIME and HPERSIST follow Redis 7.4's documentation; HGETEX, HSETEX and
//! HGETDEL follow Redis 8.0's. Each takes its fields as `FIELDS numfields field ...` and answers
//! per field: -2 for a field (or key) that does not exist, as those documents describe.

use super::hashes::{create, drop_if_empty, limits, modify, read};
use super::{Command, Ctx, Flag, SYNTAX_ERROR, WRONG_TYPE, int_arg, invalid_expire, is};
use crate::notify;

/// The latest expiry a field can have, in Unix milliseconds (2^48 - 1, as in Redis).
const MAX_EXPIRY_MS: i64 = (1 << 48) - 1;

macro_rules! ttl_write {
    ($name:literal, $handler:ident, $summary:literal, $syntax:literal) => {
        Command::new($name, -6, $handler).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hash")
            .doc($summary, "7.4.0", "O(N) where N is the number of specified fields", $syntax)
    };
}

macro_rules! ttl_read {
    ($name:literal, $handler:ident, $summary:literal) => {
        Command::new($name, -5, $handler).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("hash")
            .doc($summary, "7.4.0", "O(N) where N is the number of specified fields", "key FIELDS numfields field [field ...]")
    };
}

pub const COMMANDS: &[Command] = &[
    ttl_write!("hexpire", hexpire, "Set expiry for hash field using relative time to expire (seconds)", "key seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]"),
    ttl_write!("hpexpire", hpexpire, "Set expiry for hash field using relative time to expire (milliseconds)", "key milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]"),
    ttl_write!("hexpireat", hexpireat, "Set expiry for hash field using an absolute Unix timestamp (seconds)", "key unix-time-seconds [NX | XX | GT | LT] FIELDS numfields field [field ...]"),
    ttl_write!("hpexpireat", hpexpireat, "Set expiry for hash field using an absolute Unix timestamp (milliseconds)", "key unix-time-milliseconds [NX | XX | GT | LT] FIELDS numfields field [field ...]"),
    ttl_read!("httl", httl, "Returns the TTL in seconds of a hash field."),
    ttl_read!("hpttl", hpttl, "Returns the TTL in milliseconds of a hash field."),
    ttl_read!("hexpiretime", hexpiretime, "Returns the expiration time of a hash field as a Unix timestamp, in seconds."),
    ttl_read!("hpexpiretime", hpexpiretime, "Returns the expiration time of a hash field as a Unix timestamp, in msec."),
    Command::new("hpersist", -5, hpersist).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Removes the expiration time for each specified field", "7.4.0", "O(N) where N is the number of specified fields", "key FIELDS numfields field [field ...]"),
    Command::new("hgetex", -5, hgetex).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Get the value of one or more fields of a given hash key, and optionally set their expiration.", "8.0.0", "O(N) where N is the number of specified fields",
            "key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST] FIELDS numfields field [field ...]"),
    Command::new("hsetex", -6, hsetex).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Set the value of one or more fields of a given hash key, and optionally set their expiration.", "8.0.0", "O(N) where N is the number of fields being set.",
            "key [FNX | FXX] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL] FIELDS numfields field value [field value ...]"),
    Command::new("hgetdel", -5, hgetdel).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("hash")
        .doc("Returns the value of a field and deletes it from the hash.", "8.0.0", "O(N) where N is the number of specified fields", "key FIELDS numfields field [field ...]"),
];

/// The fields of `FIELDS numfields field ...` starting at `args[at]`, each `per_field` arguments
/// long; `None` after answering the error.
fn fields_arg<'a, 'b>(ctx: &mut Ctx, args: &'b [&'a [u8]], at: usize, per_field: usize) -> Option<&'b [&'a [u8]]> {
    if !args.get(at).is_some_and(|word| is(word, "FIELDS")) {
        ctx.reply.error("ERR Mandatory argument FIELDS is missing or not at the right position");
        return None;
    }
    let Some(count) = args.get(at + 1).and_then(|n| super::parse_i64(n)).filter(|&n| n > 0) else {
        ctx.reply.error("ERR Parameter `numFields` should be greater than 0");
        return None;
    };
    let rest = &args[at + 2..];
    if u64::try_from(rest.len()).ok() != (count as u64).checked_mul(per_field as u64) {
        ctx.reply.error("ERR The `numfields` parameter must match the number of arguments");
        return None;
    }
    Some(rest)
}

/// HEXPIRE's condition on the field's current expiry.
#[derive(Clone, Copy, PartialEq)]
enum Condition {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

impl Condition {
    fn parse(word: &[u8]) -> Option<Self> {
        [("NX", Condition::Nx), ("XX", Condition::Xx), ("GT", Condition::Gt), ("LT", Condition::Lt)]
            .into_iter()
            .find(|(name, _)| is(word, name))
            .map(|(_, c)| c)
    }

    /// Whether a field expiring at `current` (`None`: never) may be given `new`. No TTL counts
    /// as an infinite one, as for keys.
    fn allows(self, current: Option<u64>, new: u64) -> bool {
        match self {
            Condition::Always => true,
            Condition::Nx => current.is_none(),
            Condition::Xx => current.is_some(),
            Condition::Gt => current.is_some_and(|c| new > c),
            Condition::Lt => current.is_none_or(|c| new < c),
        }
    }
}

/// The unit and origin of an expiry argument.
#[derive(Clone, Copy)]
struct TimeArg {
    millis: bool,
    absolute: bool,
}

/// An expiry argument as Unix milliseconds; `None` after answering the error.
fn expiry_ms(ctx: &mut Ctx, arg: &[u8], kind: TimeArg, command: &str) -> Option<u64> {
    let value = int_arg(ctx, arg)?;
    if value < 0 {
        ctx.reply.error("ERR invalid expire time, must be >= 0");
        return None;
    }
    let ms = if kind.millis { Some(value) } else { super::seconds_as_ms(value) };
    let at = ms.and_then(|ms| if kind.absolute { Some(ms) } else { ms.checked_add(ctx.now_ms() as i64) });
    match at {
        Some(at) if at <= MAX_EXPIRY_MS => Some(at as u64),
        _ => {
            ctx.reply.error(&invalid_expire(command));
            None
        }
    }
}

/// Runs `f` on each field of the hash at `key` and collects the answers; `missing` for each field
/// when there is no hash. `None` after answering WRONGTYPE. A `counted` lookup counts as a read
/// (a keyspace hit or miss).
fn per_field<T: Clone>(
    ctx: &mut Ctx,
    key: &[u8],
    fields: &[&[u8]],
    counted: bool,
    missing: T,
    mut f: impl FnMut(&mut crate::keyspace::Hash, &[u8]) -> T,
) -> Option<Vec<T>> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let found = if counted { read(ctx.keyspace, db, key, now).map(|h| h.is_some()) } else { Ok(true) };
    let answers = match found.and_then(|found| if found { modify(ctx.keyspace, db, key, now) } else { Ok(None) }) {
        Err(()) => {
            ctx.reply.error(WRONG_TYPE);
            return None;
        }
        Ok(None) => vec![missing; fields.len()],
        Ok(Some(hash)) => fields.iter().map(|field| f(hash, field)).collect(),
    };
    Some(answers)
}

fn hexpire_generic(ctx: &mut Ctx, args: &[&[u8]], kind: TimeArg, command: &str) {
    let Some(at) = expiry_ms(ctx, args[2], kind, command) else { return };
    let (condition, fields_at) = match Condition::parse(args[3]) {
        Some(condition) => (condition, 4),
        None => (Condition::Always, 3),
    };
    let Some(fields) = fields_arg(ctx, args, fields_at, 1) else { return };
    let now = ctx.now_ms();
    let Some(codes) = per_field(ctx, args[1], fields, false, -2, |hash, field| match hash.expiry(field) {
        None => -2,
        Some(current) if !condition.allows(current, at) => 0,
        Some(_) if at <= now => {
            hash.remove(field);
            2
        }
        Some(_) => {
            hash.set_expiry(field, Some(at));
            1
        }
    }) else {
        return;
    };
    let db = ctx.db();
    if codes.contains(&1) {
        ctx.keyspace.note_field_ttls(db, args[1]);
    }
    // As Redis 7.4: `hdel` when a deadline already past removed a field, else `hexpire`.
    if codes.contains(&2) {
        ctx.notify(notify::HASH, "hdel", args[1]);
    } else if codes.contains(&1) {
        ctx.notify(notify::HASH, "hexpire", args[1]);
    }
    drop_if_empty(ctx, args[1]);
    write_codes(ctx, &codes);
}

fn write_codes(ctx: &mut Ctx, codes: &[i64]) {
    ctx.reply.array(codes.len());
    for &code in codes {
        ctx.reply.integer(code);
    }
}

fn hexpire(ctx: &mut Ctx, args: &[&[u8]]) {
    hexpire_generic(ctx, args, TimeArg { millis: false, absolute: false }, "hexpire");
}

fn hpexpire(ctx: &mut Ctx, args: &[&[u8]]) {
    hexpire_generic(ctx, args, TimeArg { millis: true, absolute: false }, "hpexpire");
}

fn hexpireat(ctx: &mut Ctx, args: &[&[u8]]) {
    hexpire_generic(ctx, args, TimeArg { millis: false, absolute: true }, "hexpireat");
}

fn hpexpireat(ctx: &mut Ctx, args: &[&[u8]]) {
    hexpire_generic(ctx, args, TimeArg { millis: true, absolute: true }, "hpexpireat");
}

/// HTTL and friends: per field -2 (no field), -1 (no TTL), or `report(expires_at, now)`.
fn ttl_generic(ctx: &mut Ctx, args: &[&[u8]], report: fn(u64, u64) -> i64) {
    let Some(fields) = fields_arg(ctx, args, 2, 1) else { return };
    let now = ctx.now_ms();
    let codes = per_field(ctx, args[1], fields, true, -2, |hash, field| match hash.expiry(field) {
        None => -2,
        Some(None) => -1,
        Some(Some(at)) => report(at, now),
    });
    if let Some(codes) = codes {
        write_codes(ctx, &codes);
    }
}

fn httl(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args, |at, now| (at.saturating_sub(now) as i64 + 999) / 1000);
}

fn hpttl(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args, |at, now| at.saturating_sub(now) as i64);
}

fn hexpiretime(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args, |at, _| (at as i64 + 999) / 1000);
}

fn hpexpiretime(ctx: &mut Ctx, args: &[&[u8]]) {
    ttl_generic(ctx, args, |at, _| at as i64);
}

fn hpersist(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(fields) = fields_arg(ctx, args, 2, 1) else { return };
    let codes = per_field(ctx, args[1], fields, false, -2, |hash, field| match hash.expiry(field) {
        None => -2,
        Some(None) => -1,
        Some(Some(_)) => {
            hash.set_expiry(field, None);
            1
        }
    });
    if let Some(codes) = codes {
        if codes.contains(&1) {
            ctx.notify(notify::HASH, "hpersist", args[1]);
        }
        write_codes(ctx, &codes);
    }
}

/// What HGETEX and HSETEX do to the TTL of the fields they touch.
#[derive(Clone, Copy, PartialEq)]
enum TtlChange {
    /// No option: HGETEX leaves TTLs alone, HSETEX drops them (as HSET does).
    Default,
    At(u64),
    Persist,
    KeepTtl,
}

/// Parses HGETEX's and HSETEX's options before FIELDS; returns the TTL change, the FNX/FXX
/// condition (HSETEX only) and where FIELDS is. `None` after answering the error.
fn ex_options(ctx: &mut Ctx, args: &[&[u8]], command: &str, setex: bool) -> Option<(TtlChange, Option<bool>, usize)> {
    let (mut ttl, mut only_new, mut i) = (TtlChange::Default, None, 2);
    let last_option = if setex { "KEEPTTL" } else { "PERSIST" };
    while i < args.len() && !is(args[i], "FIELDS") {
        let word = args[i];
        let kind = [("EX", false, false), ("PX", true, false), ("EXAT", false, true), ("PXAT", true, true)]
            .into_iter()
            .find(|(name, _, _)| is(word, name))
            .map(|(_, millis, absolute)| TimeArg { millis, absolute });
        let fresh = ttl == TtlChange::Default;
        match kind {
            Some(kind) if fresh && i + 1 < args.len() => {
                let value = int_arg(ctx, args[i + 1])?;
                if value <= 0 {
                    ctx.reply.error(&invalid_expire(command));
                    return None;
                }
                ttl = TtlChange::At(expiry_ms(ctx, args[i + 1], kind, command)?);
                i += 1;
            }
            None if fresh && !setex && is(word, "PERSIST") => ttl = TtlChange::Persist,
            None if fresh && setex && is(word, "KEEPTTL") => ttl = TtlChange::KeepTtl,
            None if setex && only_new.is_none() && (is(word, "FNX") || is(word, "FXX")) => only_new = Some(is(word, "FNX")),
            _ if !fresh && (kind.is_some() || is(word, last_option)) => {
                ctx.reply.error(&format!("ERR Only one of EX, PX, EXAT, PXAT or {last_option} arguments can be specified"));
                return None;
            }
            _ => {
                ctx.reply.error(SYNTAX_ERROR);
                return None;
            }
        }
        i += 1;
    }
    Some((ttl, only_new, i))
}

fn hgetex(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((ttl, _, at)) = ex_options(ctx, args, "hgetex", false) else { return };
    let Some(fields) = fields_arg(ctx, args, at, 1) else { return };
    let now = ctx.now_ms();
    let mut changed = false;
    let Some(values) = per_field(ctx, args[1], fields, false, None, |hash, field| {
        let value = hash.get(field).map(<[u8]>::to_vec);
        changed |= match ttl {
            TtlChange::At(at) if at <= now => hash.remove(field),
            TtlChange::At(at) => hash.set_expiry(field, Some(at)),
            TtlChange::Persist => hash.set_expiry(field, None),
            TtlChange::Default | TtlChange::KeepTtl => false,
        };
        value
    }) else {
        return;
    };
    let db = ctx.db();
    if matches!(ttl, TtlChange::At(_)) {
        ctx.keyspace.note_field_ttls(db, args[1]);
    }
    if changed {
        let event = match ttl {
            TtlChange::At(at) if at <= now => "hdel",
            TtlChange::Persist => "hpersist",
            _ => "hexpire",
        };
        ctx.notify(notify::HASH, event, args[1]);
    }
    drop_if_empty(ctx, args[1]);
    write_values(ctx, &values);
}

fn write_values(ctx: &mut Ctx, values: &[Option<Vec<u8>>]) {
    ctx.reply.array(values.len());
    for value in values {
        match value {
            Some(value) => ctx.reply.bulk(value),
            None => ctx.reply.null(),
        }
    }
}

/// Whether HSETEX's FNX (`Some(true)`: none of the fields exists) or FXX (`Some(false)`: all
/// do) lets it write `pairs` into `hash`.
fn fields_condition_met(hash: Option<&crate::keyspace::Hash>, pairs: &[&[u8]], only_new: Option<bool>) -> bool {
    let present = |pair: &[&[u8]]| hash.is_some_and(|h| h.get(pair[0]).is_some());
    match only_new {
        None => true,
        Some(true) => !pairs.chunks_exact(2).any(present),
        Some(false) => pairs.chunks_exact(2).all(present),
    }
}

fn hsetex(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((ttl, only_new, at)) = ex_options(ctx, args, "hsetex", true) else { return };
    let Some(pairs) = fields_arg(ctx, args, at, 2) else { return };
    let (db, now, limits) = (ctx.db(), ctx.now_ms(), limits(ctx));
    match modify(ctx.keyspace, db, args[1], now) {
        Err(()) => return ctx.reply.error(WRONG_TYPE),
        Ok(hash) if !fields_condition_met(hash.as_deref(), pairs, only_new) => return ctx.reply.integer(0),
        Ok(_) => {}
    }
    let Ok(hash) = create(ctx.keyspace, db, args[1], now) else { return ctx.reply.error(WRONG_TYPE) };
    for pair in pairs.chunks_exact(2) {
        let (field, value) = (pair[0], pair[1]);
        match ttl {
            TtlChange::At(at) if at <= now => hash.remove(field),
            TtlChange::At(at) => hash.set(field, value, Some(at), limits),
            TtlChange::KeepTtl => hash.set_keep_ttl(field, value, limits),
            TtlChange::Default | TtlChange::Persist => hash.set(field, value, None, limits),
        };
    }
    if hash.has_field_ttls() {
        ctx.keyspace.note_field_ttls(db, args[1]);
    }
    match ttl {
        TtlChange::At(at) if at <= now => ctx.notify(notify::HASH, "hdel", args[1]),
        TtlChange::At(_) => {
            ctx.notify(notify::HASH, "hset", args[1]);
            ctx.notify(notify::HASH, "hexpire", args[1]);
        }
        _ => ctx.notify(notify::HASH, "hset", args[1]),
    }
    drop_if_empty(ctx, args[1]);
    ctx.reply.integer(1);
}

fn hgetdel(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(fields) = fields_arg(ctx, args, 2, 1) else { return };
    let values = per_field(ctx, args[1], fields, false, None, |hash, field| {
        let value = hash.get(field).map(<[u8]>::to_vec);
        hash.remove(field);
        value
    });
    let Some(values) = values else { return };
    if values.iter().any(Option::is_some) {
        ctx.notify(notify::HASH, "hdel", args[1]);
    }
    drop_if_empty(ctx, args[1]);
    write_values(ctx, &values);
}
