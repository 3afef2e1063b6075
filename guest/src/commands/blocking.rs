//! The blocking pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP on lists, BZPOPMIN BZPOPMAX BZMPOP on
//! sorted sets. Each does what its non-blocking
//! form does when it can; when every key is empty it asks to wait (see [`crate::blocking`]), and
//! the engine runs it again when one of its keys changes, or answers its timeout. Inside MULTI
//! there is no waiting: an empty key answers as a timeout at once, as in Redis (and so for UDP
//! senders).

use super::Lookup;
use super::lists::{End, move_element, multi_pop, parse_multi_pop, pop_some, write_list};
use super::sorted_sets::{PopShape, parse_mpop, pop as pop_zset};
use super::{Command, Ctx, Flag, SYNTAX_ERROR};
use crate::long_double::LongDouble;
use crate::blocking::{OnTimeout, Request, Wants, Words};

const POP: &[Flag] = &[Flag::Write, Flag::NoScript, Flag::Blocking];
const MOVE: &[Flag] = &[Flag::Write, Flag::DenyOom, Flag::NoScript, Flag::Blocking];

pub const COMMANDS: &[Command] = &[
    Command::new("blpop", -3, blpop).flags(POP).keys(1, -2, 1).group("list")
        .doc("Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0",
            "O(N) where N is the number of provided keys.", "key [key ...] timeout"),
    Command::new("brpop", -3, brpop).flags(POP).keys(1, -2, 1).group("list")
        .doc("Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "2.0.0",
            "O(N) where N is the number of provided keys.", "key [key ...] timeout"),
    Command::new("blmove", 6, blmove).flags(MOVE).keys(1, 2, 1).group("list")
        .doc("Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "6.2.0",
            "O(1)", "source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout"),
    Command::new("brpoplpush", 4, brpoplpush).flags(MOVE).keys(1, 2, 1).group("list")
        .doc("Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "2.2.0",
            "O(1)", "source destination timeout"),
    Command::new("blmpop", -5, blmpop).flags(&[Flag::Write, Flag::Blocking, Flag::MovableKeys]).counted_keys(2).group("list")
        .doc("Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "7.0.0",
            "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
            "timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]"),
    Command::new("bzpopmin", -3, bzpopmin).flags(&[Flag::Write, Flag::NoScript, Flag::Fast, Flag::Blocking]).keys(1, -2, 1).group("sorted-set")
        .doc("Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "5.0.0",
            "O(log(N)) with N being the number of elements in the sorted set.", "key [key ...] timeout"),
    Command::new("bzpopmax", -3, bzpopmax).flags(&[Flag::Write, Flag::NoScript, Flag::Fast, Flag::Blocking]).keys(1, -2, 1).group("sorted-set")
        .doc("Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", "5.0.0",
            "O(log(N)) with N being the number of elements in the sorted set.", "key [key ...] timeout"),
    Command::new("bzmpop", -5, bzmpop).flags(&[Flag::Write, Flag::Blocking, Flag::MovableKeys]).counted_keys(2).group("sorted-set")
        .doc("Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "7.0.0",
            "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
            "timeout numkeys key [key ...] <MIN | MAX> [COUNT count]"),
];

/// A timeout in seconds (a decimal; 0 waits for ever) as a deadline, or Redis's error.
pub(crate) fn deadline(ctx: &mut Ctx, arg: &[u8]) -> Option<Option<u64>> {
    if let Some(seconds) = whole_seconds(arg) {
        return Some((seconds > 0).then(|| ctx.now.mono_ns.saturating_add(seconds * 1_000_000_000)));
    }
    let Some(seconds) = LongDouble::parse(arg).map(LongDouble::to_f64) else {
        ctx.reply.error("ERR timeout is not a float or out of range");
        return None;
    };
    let ms = (seconds * 1000.0).ceil();
    // Redis converts to a 64-bit integer: what overflows it reads as negative.
    if seconds < 0.0 || !(ms < i64::MAX as f64) {
        ctx.reply.error("ERR timeout is negative");
        return None;
    }
    let ms = ms as u64;
    Some((ms > 0).then(|| ctx.now.mono_ns.saturating_add(ms.saturating_mul(1_000_000))))
}

/// A timeout of whole seconds written in plain digits, as job queues mostly send it (`0`, `5`, or
/// `0.0` from clients that send floats): read without the long double parser, with the same
/// result. Longer numbers, and fractions, take that parser.
fn whole_seconds(arg: &[u8]) -> Option<u64> {
    let digits = match arg.iter().position(|&b| b == b'.') {
        Some(point) if arg[point + 1..].iter().all(|&b| b == b'0') => &arg[..point],
        Some(_) => return None,
        None => arg,
    };
    if digits.len() > 9 {
        return None;
    }
    super::digits_value(digits)
}

/// Nothing to serve now: wait for one of `keys`, or, where a client cannot wait (inside EXEC; a
/// UDP sender, whose session ends with its datagram's reply; a host calling the engine directly),
/// answer as a timeout at once.
///
/// `at_once` is the answer when it cannot wait (see [`OnTimeout`]).
pub(crate) fn wait(ctx: &mut Ctx, keys: &[&[u8]], deadline_ns: Option<u64>, wants: Wants, at_once: OnTimeout) {
    if !ctx.session.may_block() {
        write_timeout(ctx, at_once);
        return;
    }
    ctx.session.block_request = Some(Request { keys: Words::new(keys), deadline_ns, wants });
}

pub(crate) fn write_timeout(ctx: &mut Ctx, on_timeout: OnTimeout) {
    match on_timeout {
        OnTimeout::NullArray => ctx.reply.null_array(),
        OnTimeout::Null => ctx.reply.null(),
    }
}

/// BLPOP and BRPOP: `[key, element]` from the first non-empty list.
fn pop(ctx: &mut Ctx, args: &[&[u8]], end: End) {
    let Some(deadline_ns) = deadline(ctx, args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    for key in keys {
        match pop_some(ctx, key, end, 1) {
            Lookup::WrongType => return,
            Lookup::Missing => continue,
            Lookup::Found(popped) => {
                ctx.reply.array(2);
                ctx.reply.bulk(key);
                ctx.reply.bulk(popped.first().map_or(&[][..], Vec::as_slice));
                return;
            }
        }
    }
    wait(ctx, keys, deadline_ns, Wants::List, OnTimeout::NullArray);
}

fn blpop(ctx: &mut Ctx, args: &[&[u8]]) {
    pop(ctx, args, End::Left);
}

fn brpop(ctx: &mut Ctx, args: &[&[u8]]) {
    pop(ctx, args, End::Right);
}

/// BLMOVE and BRPOPLPUSH: LMOVE once the source has an element.
fn move_blocking(ctx: &mut Ctx, from: &[u8], to: &[u8], ends: (End, End), timeout: &[u8]) {
    let Some(deadline_ns) = deadline(ctx, timeout) else { return };
    match write_list(ctx, from) {
        Lookup::WrongType => {}
        Lookup::Missing => wait(ctx, &[from], deadline_ns, Wants::List, OnTimeout::Null),
        Lookup::Found(_) => match move_element(ctx, from, to, ends.0, ends.1) {
            Some(Some(element)) => ctx.reply.bulk(&element),
            Some(None) => ctx.reply.null(),
            None => {}
        },
    }
}

fn blmove(ctx: &mut Ctx, args: &[&[u8]]) {
    let (Some(from_end), Some(to_end)) = (End::parse(args[3]), End::parse(args[4])) else {
        return ctx.reply.error(SYNTAX_ERROR);
    };
    move_blocking(ctx, args[1], args[2], (from_end, to_end), args[5]);
}

fn brpoplpush(ctx: &mut Ctx, args: &[&[u8]]) {
    move_blocking(ctx, args[1], args[2], (End::Right, End::Left), args[3]);
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: the timeout is checked after the
/// other arguments, as in Redis.
fn blmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(request) = parse_multi_pop(ctx, &args[2..]) else { return };
    let Some(deadline_ns) = deadline(ctx, args[1]) else { return };
    if !multi_pop(ctx, &request) {
        wait(ctx, &request.keys, deadline_ns, Wants::List, OnTimeout::NullArray);
    }
}

/// Whether any of `keys` holds a sorted set (one is never empty); `None` after WRONGTYPE.
fn any_sorted_set(ctx: &mut Ctx, keys: &[&[u8]]) -> Option<bool> {
    for key in keys {
        match super::write_as(ctx, key, crate::keyspace::Value::as_zset_mut) {
            Lookup::WrongType => return None,
            Lookup::Missing => continue,
            Lookup::Found(_) => return Some(true),
        }
    }
    Some(false)
}

/// BZPOPMIN and BZPOPMAX: `[key, member, score]` from the first non-empty sorted set.
fn bzpop(ctx: &mut Ctx, args: &[&[u8]], max: bool) {
    let Some(deadline_ns) = deadline(ctx, args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    match any_sorted_set(ctx, keys) {
        None => {}
        Some(true) => {
            pop_zset(ctx, keys, max, None, PopShape { with_key: true, nested: false, null_when_empty: true });
        }
        Some(false) => wait(ctx, keys, deadline_ns, Wants::SortedSet, OnTimeout::NullArray),
    }
}

fn bzpopmin(ctx: &mut Ctx, args: &[&[u8]]) {
    bzpop(ctx, args, false);
}

fn bzpopmax(ctx: &mut Ctx, args: &[&[u8]]) {
    bzpop(ctx, args, true);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP once a key has members.
fn bzmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(request) = parse_mpop(ctx, &args[2..]) else { return };
    let Some(deadline_ns) = deadline(ctx, args[1]) else { return };
    match any_sorted_set(ctx, request.keys) {
        None => {}
        Some(true) => {
            pop_zset(ctx, request.keys, request.max, Some(request.count), PopShape { with_key: true, nested: true, null_when_empty: true });
        }
        Some(false) => wait(ctx, request.keys, deadline_ns, Wants::SortedSet, OnTimeout::NullArray),
    }
}

#[cfg(test)]
mod tests;
