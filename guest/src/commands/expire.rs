//! Time to live: setting, reading and removing a key's expiry.

use super::{Command, Ctx, Flag, int_arg, invalid_expire, is};
use crate::notify;

pub const COMMANDS: &[Command] = &[
    Command::new("expire", -3, expire).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Sets the expiration time of a key in seconds.", "1.0.0", "O(1)", "key seconds [NX | XX | GT | LT]"),
    Command::new("pexpire", -3, pexpire).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Sets the expiration time of a key in milliseconds.", "2.6.0", "O(1)", "key milliseconds [NX | XX | GT | LT]"),
    Command::new("expireat", -3, expireat).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Sets the expiration time of a key to a Unix timestamp.", "1.2.0", "O(1)", "key unix-time-seconds [NX | XX | GT | LT]"),
    Command::new("pexpireat", -3, pexpireat).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0", "O(1)", "key unix-time-milliseconds [NX | XX | GT | LT]"),
    Command::new("ttl", 2, ttl).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Returns the expiration time in seconds of a key.", "1.0.0", "O(1)", "key"),
    Command::new("pttl", 2, pttl).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Returns the expiration time in milliseconds of a key.", "2.6.0", "O(1)", "key"),
    Command::new("expiretime", 2, expiretime).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Returns the expiration time of a key as a Unix timestamp.", "7.0.0", "O(1)", "key"),
    Command::new("pexpiretime", 2, pexpiretime).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0", "O(1)", "key"),
    Command::new("persist", 2, persist).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Removes the expiration time of a key.", "2.2.0", "O(1)", "key"),
];

/// What the number given to the EXPIRE family means.
#[derive(Clone, Copy)]
enum Deadline {
    SecondsFromNow,
    MillisecondsFromNow,
    UnixSeconds,
    UnixMilliseconds,
}

/// EXPIRE's options: conditions on the key's current expiry, all of which must hold.
#[derive(Clone, Copy, Default)]
struct Conditions {
    /// NX: only when the key has no expiry.
    no_expiry: bool,
    /// XX: only when it has one.
    has_expiry: bool,
    /// GT: only when the new expiry is later (no expiry counts as infinitely late).
    later: bool,
    /// LT: only when the new expiry is earlier.
    earlier: bool,
}

impl Conditions {
    fn allow(&self, current: Option<u64>, deadline: i64) -> bool {
        let later_than_current = current.is_some_and(|at| deadline > at as i64);
        let earlier_than_current = current.is_none_or(|at| deadline < at as i64);
        !(self.no_expiry && current.is_some())
            && !(self.has_expiry && current.is_none())
            && !(self.later && !later_than_current)
            && !(self.earlier && !earlier_than_current)
    }
}

fn expire(ctx: &mut Ctx, args: &[&[u8]]) {
    set_expiry(ctx, args, Deadline::SecondsFromNow, "expire");
}

fn pexpire(ctx: &mut Ctx, args: &[&[u8]]) {
    set_expiry(ctx, args, Deadline::MillisecondsFromNow, "pexpire");
}

fn expireat(ctx: &mut Ctx, args: &[&[u8]]) {
    set_expiry(ctx, args, Deadline::UnixSeconds, "expireat");
}

fn pexpireat(ctx: &mut Ctx, args: &[&[u8]]) {
    set_expiry(ctx, args, Deadline::UnixMilliseconds, "pexpireat");
}

/// The EXPIRE family: `key amount [NX | XX | GT | LT]`. A deadline already past deletes the key.
/// As in Redis, the options are checked before the amount.
fn set_expiry(ctx: &mut Ctx, args: &[&[u8]], kind: Deadline, command: &str) {
    let Some(conditions) = parse_conditions(ctx, &args[3..]) else { return };
    let Some(amount) = int_arg(ctx, args[2]) else { return };
    let now = ctx.now_ms() as i64;
    let deadline = match kind {
        Deadline::SecondsFromNow => super::seconds_as_ms(amount).and_then(|ms| ms.checked_add(now)),
        Deadline::MillisecondsFromNow => amount.checked_add(now),
        Deadline::UnixSeconds => super::seconds_as_ms(amount),
        Deadline::UnixMilliseconds => Some(amount),
    };
    let Some(deadline) = deadline else {
        ctx.reply.error(&invalid_expire(command));
        return;
    };
    let (db, key) = (ctx.db(), args[1]);
    let Some((found, _)) = ctx.keyspace.find(db, key, now as u64) else {
        ctx.reply.integer(0);
        return;
    };
    let allowed = conditions.allow(ctx.keyspace.expiry(found), deadline);
    if allowed {
        // A negative deadline is simply in the past.
        ctx.keyspace.expire_found(found, key, deadline.max(0) as u64, now as u64);
        ctx.notify(notify::GENERIC, if deadline <= now { "del" } else { "expire" }, key);
    }
    ctx.reply.integer(i64::from(allowed));
}

fn parse_conditions(ctx: &mut Ctx, options: &[&[u8]]) -> Option<Conditions> {
    let mut parsed = Conditions::default();
    for option in options {
        let flag = if is(option, "NX") {
            &mut parsed.no_expiry
        } else if is(option, "XX") {
            &mut parsed.has_expiry
        } else if is(option, "GT") {
            &mut parsed.later
        } else if is(option, "LT") {
            &mut parsed.earlier
        } else {
            ctx.reply.error(&format!("ERR Unsupported option {}", String::from_utf8_lossy(option)));
            return None;
        };
        *flag = true;
    }
    if parsed.no_expiry && (parsed.has_expiry || parsed.later || parsed.earlier) {
        ctx.reply.error("ERR NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if parsed.later && parsed.earlier {
        ctx.reply.error("ERR GT and LT options at the same time are not compatible");
        return None;
    }
    Some(parsed)
}

/// The key's expiry: `Err(-2)` when it does not exist, `Err(-1)` when it has none.
fn deadline_of(ctx: &mut Ctx, key: &[u8]) -> Result<u64, i64> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.lookup_expiry(db, key, now) {
        None => Err(-2),
        Some(expires_at) => expires_at.ok_or(-1),
    }
}

/// [`deadline_of`] for the TTL readings, which are reads: a missing key is a `keymiss`.
fn read_deadline(ctx: &mut Ctx, key: &[u8]) -> Result<u64, i64> {
    let deadline = deadline_of(ctx, key);
    if deadline == Err(-2) {
        ctx.notify(notify::KEY_MISS, "keymiss", key);
    }
    deadline
}

fn ttl(ctx: &mut Ctx, args: &[&[u8]]) {
    let now = ctx.now_ms();
    let reply = read_deadline(ctx, args[1]).map_or_else(|code| code, |at| ((at.saturating_sub(now) + 500) / 1000) as i64);
    ctx.reply.integer(reply);
}

fn pttl(ctx: &mut Ctx, args: &[&[u8]]) {
    let now = ctx.now_ms();
    let reply = read_deadline(ctx, args[1]).map_or_else(|code| code, |at| at.saturating_sub(now) as i64);
    ctx.reply.integer(reply);
}

fn expiretime(ctx: &mut Ctx, args: &[&[u8]]) {
    let reply = read_deadline(ctx, args[1]).map_or_else(|code| code, |at| (at / 1000) as i64);
    ctx.reply.integer(reply);
}

fn pexpiretime(ctx: &mut Ctx, args: &[&[u8]]) {
    let reply = read_deadline(ctx, args[1]).map_or_else(|code| code, |at| at as i64);
    ctx.reply.integer(reply);
}

fn persist(ctx: &mut Ctx, args: &[&[u8]]) {
    let had_expiry = deadline_of(ctx, args[1]).is_ok();
    if had_expiry {
        let (db, now) = (ctx.db(), ctx.now_ms());
        ctx.keyspace.set_expiry(db, args[1], None, now);
        ctx.notify(notify::GENERIC, "persist", args[1]);
    }
    ctx.reply.integer(i64::from(had_expiry));
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn expire_options() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["EXPIRE", "missing", "10"]), ":0\r\n");
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["EXPIRE", "k", "100", "XX"]), ":0\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "100", "GT"]), ":0\r\n", "no expiry counts as infinite");
        assert_eq!(c.run(&["EXPIRE", "k", "100", "LT"]), ":1\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "100", "NX"]), ":0\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "200", "GT"]), ":1\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "150", "GT"]), ":0\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "150", "LT", "XX"]), ":1\r\n");
        assert_eq!(c.run(&["TTL", "k"]), ":150\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "1", "NX", "XX"]), "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "1", "GT", "LT"]), "-ERR GT and LT options at the same time are not compatible\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "1", "YY"]), "-ERR Unsupported option YY\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["EXPIRE", "k", "9223372036854775807"]), "-ERR invalid expire time in 'expire' command\r\n");
        assert_eq!(c.run(&["PEXPIRE", "k", "9223372036854775807"]), "-ERR invalid expire time in 'pexpire' command\r\n");
    }

    #[test]
    fn ttl_readings() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["TTL", "missing"]), ":-2\r\n");
        assert_eq!(c.run(&["PTTL", "missing"]), ":-2\r\n");
        assert_eq!(c.run(&["EXPIRETIME", "missing"]), ":-2\r\n");
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["TTL", "k"]), ":-1\r\n");
        assert_eq!(c.run(&["PEXPIRETIME", "k"]), ":-1\r\n");
        assert_eq!(c.run(&["PEXPIRE", "k", "1499"]), ":1\r\n");
        assert_eq!(c.run(&["PTTL", "k"]), ":1499\r\n");
        assert_eq!(c.run(&["TTL", "k"]), ":1\r\n", "rounded to the nearest second");
        let at = c.now.wall_ms / 1000 + 100;
        assert_eq!(c.run(&["EXPIREAT", "k", &at.to_string()]), ":1\r\n");
        assert_eq!(c.run(&["EXPIRETIME", "k"]), format!(":{at}\r\n"));
        assert_eq!(c.run(&["PEXPIREAT", "k", &(at * 1000 + 5).to_string()]), ":1\r\n");
        assert_eq!(c.run(&["PEXPIRETIME", "k"]), format!(":{}\r\n", at * 1000 + 5));
        assert_eq!(c.run(&["PERSIST", "k"]), ":1\r\n");
        assert_eq!(c.run(&["PERSIST", "k"]), ":0\r\n");
        assert_eq!(c.run(&["PERSIST", "missing"]), ":0\r\n");
    }

    #[test]
    fn past_deadlines_delete() {
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["EXPIRE", "k", "-1"]), ":1\r\n");
        assert_eq!(c.run(&["EXISTS", "k"]), ":0\r\n");
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["EXPIREAT", "k", "1"]), ":1\r\n");
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n");
    }

    #[test]
    fn lazy_and_active_expiry() {
        let mut c = Harness::new();
        c.run(&["SET", "lazy", "v", "PX", "100"]);
        c.advance_ms(99);
        assert_eq!(c.run(&["GET", "lazy"]), bulk("v"));
        c.advance_ms(1);
        assert_eq!(c.run(&["GET", "lazy"]), "$-1\r\n");
        for i in 0..500 {
            c.run(&["SET", &format!("tmp:{i}"), "v", "PX", "50"]);
        }
        c.run(&["SET", "stays", "v"]);
        assert_eq!(c.run(&["DBSIZE"]), ":501\r\n");
        c.advance_ms(60);
        for _ in 0..100 {
            c.advance_ms(100);
            c.engine.tick(c.now);
        }
        assert_eq!(c.run(&["DBSIZE"]), ":1\r\n", "keys nobody read were reclaimed by the timer");
    }
}
