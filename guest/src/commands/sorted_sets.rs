//! Sorted set commands: members ordered by score, then by their bytes. The encodings (listpack,
//! skiplist) live in keyspace/zset.rs; here are the commands, with Redis 7's replies, errors and
//! edge cases. A sorted set whose last member goes is removed from the keyspace, as Redis does.
//!
//! Scores are written as Redis 7.0 writes them: `%.17g` text, a bulk string in RESP2 and a double
//! in RESP3 (see [`crate::resp::G17`]).

use super::keys::{parse_scan_options, scan_cursor};
use super::{Command, Ctx, Flag, NOT_AN_INTEGER, SYNTAX_ERROR, WRONG_TYPE, is, parse_i64};
use crate::glob;
use crate::notify;
use crate::keyspace::{Value, Zset, ZsetLimits};
use smallvec::SmallVec;

mod range;
mod setops;

use range::{zrange, zrangebylex, zrangebyscore, zrangestore, zremrangebylex, zremrangebyrank, zremrangebyscore, zrevrange,
    zrevrangebylex, zrevrangebyscore, zcount, zlexcount};
use setops::{zdiff, zdiffstore, zinter, zintercard, zinterstore, zunion, zunionstore};

const LOG_N: &str = "O(log(N)) where N is the number of elements in the sorted set.";
const RANGE: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
const REMOVE_RANGE: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.";
const UNION: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.";
const INTER: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.";
const DIFF: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.";
const READ: &[Flag] = &[Flag::ReadOnly];
const READ_FAST: &[Flag] = &[Flag::ReadOnly, Flag::Fast];
const READ_MOVABLE: &[Flag] = &[Flag::ReadOnly, Flag::MovableKeys];
const STORE_MOVABLE: &[Flag] = &[Flag::Write, Flag::DenyOom, Flag::MovableKeys];

pub const COMMANDS: &[Command] = &[
    Command::new("zadd", -4, zadd).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("sorted-set")
        .doc("Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "1.2.0",
            "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
            "key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]"),
    Command::new("zincrby", 4, zincrby).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("sorted-set")
        .doc("Increments the score of a member in a sorted set.", "1.2.0", LOG_N, "key increment member"),
    Command::new("zrem", -3, zrem).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("sorted-set")
        .doc("Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "1.2.0",
            "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", "key member [member ...]"),
    Command::new("zcard", 2, zcard).flags(READ_FAST).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the number of members in a sorted set.", "1.2.0", "O(1)", "key"),
    Command::new("zcount", 4, zcount).flags(READ_FAST).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the count of members in a sorted set that have scores within a range.", "2.0.0", LOG_N, "key min max"),
    Command::new("zlexcount", 4, zlexcount).flags(READ_FAST).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the number of members in a sorted set within a lexicographical range.", "2.8.9", LOG_N, "key min max"),
    Command::new("zscore", 3, zscore).flags(READ_FAST).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the score of a member in a sorted set.", "1.2.0", "O(1)", "key member"),
    Command::new("zmscore", -3, zmscore).flags(READ_FAST).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the score of one or more members in a sorted set.", "6.2.0",
            "O(N) where N is the number of members being requested.", "key member [member ...]"),
    Command::new("zrank", -3, zrank).flags(READ_FAST).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the index of a member in a sorted set ordered by ascending scores.", "2.0.0", LOG_N, "key member [WITHSCORE]"),
    Command::new("zrevrank", -3, zrevrank).flags(READ_FAST).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the index of a member in a sorted set ordered by descending scores.", "2.0.0", LOG_N, "key member [WITHSCORE]"),
    Command::new("zrange", -4, zrange).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Returns members in a sorted set within a range of indexes.", "1.2.0", RANGE,
            "key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"),
    Command::new("zrangestore", -5, zrangestore).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 2, 1).group("sorted-set")
        .doc("Stores a range of members from sorted set in a key.", "6.2.0",
            "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
            "dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]"),
    Command::new("zrangebyscore", -4, zrangebyscore).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Returns members in a sorted set within a range of scores.", "1.0.5", RANGE, "key min max [WITHSCORES] [LIMIT offset count]"),
    Command::new("zrevrangebyscore", -4, zrevrangebyscore).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Returns members in a sorted set within a range of scores in reverse order.", "2.2.0", RANGE,
            "key max min [WITHSCORES] [LIMIT offset count]"),
    Command::new("zrangebylex", -4, zrangebylex).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Returns members in a sorted set within a lexicographical range.", "2.8.9", RANGE, "key min max [LIMIT offset count]"),
    Command::new("zrevrangebylex", -4, zrevrangebylex).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Returns members in a sorted set within a lexicographical range in reverse order.", "2.8.9", RANGE,
            "key max min [LIMIT offset count]"),
    Command::new("zrevrange", -4, zrevrange).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Returns members in a sorted set within a range of indexes in reverse order.", "1.2.0", RANGE, "key start stop [WITHSCORES]"),
    Command::new("zremrangebyrank", 4, zremrangebyrank).flags(&[Flag::Write]).keys(1, 1, 1).group("sorted-set")
        .doc("Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "2.0.0",
            REMOVE_RANGE, "key start stop"),
    Command::new("zremrangebyscore", 4, zremrangebyscore).flags(&[Flag::Write]).keys(1, 1, 1).group("sorted-set")
        .doc("Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "1.2.0",
            REMOVE_RANGE, "key min max"),
    Command::new("zremrangebylex", 4, zremrangebylex).flags(&[Flag::Write]).keys(1, 1, 1).group("sorted-set")
        .doc("Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
            "2.8.9", REMOVE_RANGE, "key min max"),
    Command::new("zpopmin", -2, zpopmin).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "key [count]"),
    Command::new("zpopmax", -2, zpopmax).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("sorted-set")
        .doc("Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
            "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", "key [count]"),
    Command::new("zmpop", -4, zmpop).flags(&[Flag::Write, Flag::MovableKeys]).counted_keys(1).group("sorted-set")
        .doc("Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
            "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
            "numkeys key [key ...] MIN | MAX [COUNT count]"),
    Command::new("zrandmember", -2, zrandmember).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Returns one or more random members from a sorted set.", "6.2.0",
            "O(N) where N is the number of members returned", "key [count [WITHSCORES]]"),
    Command::new("zunion", -3, zunion).flags(READ_MOVABLE).counted_keys(1).group("sorted-set")
        .doc("Returns the union of multiple sorted sets.", "6.2.0", UNION,
            "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]"),
    Command::new("zinter", -3, zinter).flags(READ_MOVABLE).counted_keys(1).group("sorted-set")
        .doc("Returns the intersect of multiple sorted sets.", "6.2.0", INTER,
            "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]"),
    Command::new("zdiff", -3, zdiff).flags(READ_MOVABLE).counted_keys(1).group("sorted-set")
        .doc("Returns the difference between multiple sorted sets.", "6.2.0", DIFF, "numkeys key [key ...] [WITHSCORES]"),
    Command::new("zunionstore", -4, zunionstore).flags(STORE_MOVABLE).keys(1, 1, 1).counted_keys(2).group("sorted-set")
        .doc("Stores the union of multiple sorted sets in a key.", "2.0.0", UNION,
            "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]"),
    Command::new("zinterstore", -4, zinterstore).flags(STORE_MOVABLE).keys(1, 1, 1).counted_keys(2).group("sorted-set")
        .doc("Stores the intersect of multiple sorted sets in a key.", "2.0.0", INTER,
            "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX]"),
    Command::new("zdiffstore", -4, zdiffstore).flags(STORE_MOVABLE).keys(1, 1, 1).counted_keys(2).group("sorted-set")
        .doc("Stores the difference of multiple sorted sets in a key.", "6.2.0", DIFF, "destination numkeys key [key ...]"),
    Command::new("zintercard", -3, zintercard).flags(READ_MOVABLE).counted_keys(1).group("sorted-set")
        .doc("Returns the number of members of the intersect of multiple sorted sets.", "7.0.0",
            "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
            "numkeys key [key ...] [LIMIT limit]"),
    Command::new("zscan", -3, zscan).flags(READ).keys(1, 1, 1).group("sorted-set")
        .doc("Iterates over members and scores of a sorted set.", "2.8.0",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
            "key cursor [MATCH pattern] [COUNT count]"),
];

pub(crate) const NOT_A_VALID_FLOAT: &str = "ERR value is not a valid float";
const NAN_RESULT: &str = "ERR resulting score is not a number (NaN)";

/// The encoding thresholds as configured now, and a fresh seed for a set that becomes a skiplist.
fn limits(ctx: &mut Ctx) -> ZsetLimits {
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    ZsetLimits {
        max_listpack_entries: size(ctx.config.zset_max_listpack_entries),
        max_listpack_value: size(ctx.config.zset_max_listpack_value),
        seed: ctx.rng.next_u64(),
    }
}

/// A key as a sorted set command sees it.
enum Lookup<T> {
    Missing,
    Found(T),
    /// Holds another type; WRONGTYPE has been answered.
    WrongType,
}

/// The sorted set at `key` for reading (counted as a keyspace hit or miss). Answers WRONGTYPE.
fn read_zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Lookup<&'a Zset> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.get(db, key, now).map(|e| e.value.as_zset()) {
        None => Lookup::Missing,
        Some(Some(zset)) => Lookup::Found(zset),
        Some(None) => {
            ctx.reply.error(WRONG_TYPE);
            Lookup::WrongType
        }
    }
}

/// The sorted set at `key` for a command about to change it. Answers WRONGTYPE itself.
fn write_zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Lookup<&'a mut Zset> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.get_mut(db, key, now).map(|e| e.value.as_zset_mut()) {
        None => Lookup::Missing,
        Some(Some(zset)) => Lookup::Found(zset),
        Some(None) => {
            ctx.reply.error(WRONG_TYPE);
            Lookup::WrongType
        }
    }
}

/// The sorted set at a key this command has already looked up.
fn stored<'a>(ctx: &'a Ctx, key: &[u8]) -> Option<&'a Zset> {
    ctx.keyspace.stored(ctx.db(), key).and_then(|e| e.value.as_zset())
}

/// Removes the key when its sorted set has no members left (a `del` event).
pub(super) fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db();
    if stored(ctx, key).is_some_and(Zset::is_empty) {
        ctx.keyspace.remove(db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// Stores `zset` at `key` (replacing any value and TTL) with the STORE command's `event`, or
/// deletes the key when it is empty (a `del` event if there was one).
fn store_or_delete(ctx: &mut Ctx, key: &[u8], zset: Zset, event: &'static str) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    if zset.is_empty() {
        if ctx.keyspace.delete(db, key, now) {
            ctx.notify(notify::GENERIC, "del", key);
        }
    } else {
        ctx.keyspace.set(db, key, Value::Zset(Box::new(zset)), None, now);
        ctx.notify(notify::ZSET, event, key);
    }
}

/// A score argument as ZADD, ZINCRBY and WEIGHTS read one (`strtod` with Redis's checks): no
/// spaces, no NaN, and a number too large or too small for a double is refused rather than
/// rounded to infinity or zero.
pub(crate) fn parse_score(arg: &[u8]) -> Option<f64> {
    if let Some(value) = plain_integer(arg) {
        return Some(value);
    }
    let text = std::str::from_utf8(arg).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_whitespace()) || text.ends_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let unsigned = text.trim_start_matches(['+', '-']);
    let spelled_infinite = unsigned.len() >= 3 && unsigned.as_bytes()[..3].eq_ignore_ascii_case(b"inf");
    let value: f64 = if spelled_infinite {
        infinity(text)?
    } else {
        text.parse().ok()?
    };
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let overflow = value.is_infinite() && !spelled_infinite;
    let underflow = value == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    (!value.is_nan() && !overflow && !underflow).then_some(value)
}

/// `inf` and `infinity`, any case, with one optional sign: the infinities `strtod` reads.
fn infinity(text: &str) -> Option<f64> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let spelled = unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity");
    spelled.then_some(if negative { f64::NEG_INFINITY } else { f64::INFINITY })
}

/// A score written as an optional sign and at most 15 decimal digits, the way benchmarks and most
/// clients send integer scores: below 2^53, so the double is exact and equals what `strtod`
/// returns (`-0` included), read without the general float parser. `None` for anything else.
pub(super) fn plain_integer(arg: &[u8]) -> Option<f64> {
    let (negative, digits) = match arg.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, arg),
    };
    if digits.is_empty() || digits.len() > 15 {
        return None;
    }
    let mut value = 0u64;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u64::from(digit - b'0');
    }
    let value = value as f64;
    Some(if negative { -value } else { value })
}

/// Writes elements as a range reply: members alone, or with their scores — flat in RESP2,
/// `[member, score]` pairs in RESP3 — as ZRANGE, ZUNION and friends reply.
fn write_elements(ctx: &mut Ctx, elements: &[(Vec<u8>, f64)], withscores: bool) {
    let resp3 = ctx.session.resp3();
    ctx.reply.array(if withscores && !resp3 { elements.len() * 2 } else { elements.len() });
    for (member, score) in elements {
        if withscores && resp3 {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(member);
        if withscores {
            ctx.reply.double(*score);
        }
    }
}

/// ZADD's options.
#[derive(Default)]
struct AddOptions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What adding one element did.
enum Added {
    New,
    Updated,
    Unchanged,
    /// Not done: NX, XX, GT or LT said no.
    Skipped,
}

/// Parses ZADD's options; returns them and where the score/member pairs start, or answers.
fn add_options(ctx: &mut Ctx, args: &[&[u8]]) -> Option<(AddOptions, usize)> {
    let mut options = AddOptions::default();
    let mut at = 2;
    while let Some(arg) = args.get(at) {
        let flag = match arg {
            _ if is(arg, "nx") => &mut options.nx,
            _ if is(arg, "xx") => &mut options.xx,
            _ if is(arg, "gt") => &mut options.gt,
            _ if is(arg, "lt") => &mut options.lt,
            _ if is(arg, "ch") => &mut options.ch,
            _ if is(arg, "incr") => &mut options.incr,
            _ => break,
        };
        *flag = true;
        at += 1;
    }
    let pairs = args.len() - at;
    let error = if pairs == 0 || pairs % 2 == 1 {
        Some(SYNTAX_ERROR)
    } else if options.nx && options.xx {
        Some("ERR XX and NX options at the same time are not compatible")
    } else if [options.gt, options.lt, options.nx].iter().filter(|&&on| on).count() > 1 {
        Some("ERR GT, LT, and/or NX options at the same time are not compatible")
    } else if options.incr && pairs > 2 {
        Some("ERR INCR option supports a single increment-element pair")
    } else {
        None
    };
    if let Some(error) = error {
        ctx.reply.error(error);
        return None;
    }
    Some((options, at))
}

/// Adds or updates one element as Redis's `zsetAdd` does; `Err` when INCR makes the score NaN.
fn add_one(zset: &mut Zset, member: &[u8], score: f64, options: &AddOptions, limits: &ZsetLimits) -> Result<(Added, f64), ()> {
    let Some(found) = zset.find(member) else {
        if options.xx {
            return Ok((Added::Skipped, score));
        }
        zset.insert_absent(member, score, limits);
        return Ok((Added::New, score));
    };
    let current = found.score;
    if options.nx {
        return Ok((Added::Skipped, current));
    }
    let score = if options.incr { current + score } else { score };
    if score.is_nan() {
        return Err(());
    }
    if (options.lt && score >= current) || (options.gt && score <= current) {
        return Ok((Added::Skipped, current));
    }
    if score == current {
        return Ok((Added::Unchanged, score));
    }
    zset.rescore_found(found, member, score);
    Ok((Added::Updated, score))
}

fn zadd(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((options, at)) = add_options(ctx, args) else { return };
    // Most ZADDs carry one pair: kept on the stack.
    let mut pairs: SmallVec<[(f64, &[u8]); 2]> = SmallVec::with_capacity((args.len() - at) / 2);
    for pair in args[at..].chunks_exact(2) {
        let Some(score) = parse_score(pair[0]) else { return ctx.reply.error(NOT_A_VALID_FLOAT) };
        pairs.push((score, pair[1]));
    }
    add_pairs(ctx, args[1], &pairs, &options);
}

fn zincrby(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(increment) = parse_score(args[2]) else { return ctx.reply.error(NOT_A_VALID_FLOAT) };
    let options = AddOptions { incr: true, ..AddOptions::default() };
    add_pairs(ctx, args[1], &[(increment, args[3])], &options);
}

/// ZADD and ZINCRBY once their arguments are read: adds the pairs, creating the key unless XX,
/// and replies with the count (CH: changed too) or, for INCR, the new score or null.
fn add_pairs(ctx: &mut Ctx, key: &[u8], pairs: &[(f64, &[u8])], options: &AddOptions) {
    let limits = limits(ctx);
    let (db, now) = (ctx.db(), ctx.now_ms());
    let entry = if options.xx {
        ctx.keyspace.get_mut(db, key, now)
    } else {
        ctx.keyspace.get_mut_or_insert(db, key, now, || Value::Zset(Box::default()))
    };
    let Some(entry) = entry else { return reply_added(ctx, options, 0, None) };
    let Some(zset) = entry.value.as_zset_mut() else { return ctx.reply.error(WRONG_TYPE) };
    let (mut changed, mut added, mut last) = (0, 0, None);
    let mut failed = false;
    for &(score, member) in pairs {
        match add_one(zset, member, score, options, &limits) {
            Err(()) => {
                failed = true;
                break;
            }
            Ok((outcome, score)) => match outcome {
                Added::New => (added, changed, last) = (added + 1, changed + 1, Some(score)),
                Added::Updated => (changed, last) = (changed + 1, Some(score)),
                Added::Unchanged => last = Some(score),
                Added::Skipped => {}
            },
        }
    }
    let emptied = zset.is_empty();
    if changed > 0 {
        ctx.notify(notify::ZSET, if options.incr { "zincr" } else { "zadd" }, key);
    }
    if emptied {
        // Only a set this command made can be empty: an existing one never loses a member here.
        drop_if_empty(ctx, key);
    }
    if failed {
        return ctx.reply.error(NAN_RESULT);
    }
    reply_added(ctx, options, if options.ch { changed } else { added }, last);
}

fn reply_added(ctx: &mut Ctx, options: &AddOptions, count: i64, last: Option<f64>) {
    match (options.incr, last) {
        (true, Some(score)) => ctx.reply.double(score),
        (true, None) => ctx.reply.null(),
        (false, _) => ctx.reply.integer(count),
    }
}

fn zrem(ctx: &mut Ctx, args: &[&[u8]]) {
    let removed = match write_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(zset) => args[2..].iter().filter(|m| zset.remove(m).is_some()).count(),
    };
    if removed > 0 {
        ctx.notify(notify::ZSET, "zrem", args[1]);
    }
    drop_if_empty(ctx, args[1]);
    ctx.reply.integer(removed as i64);
}

fn zcard(ctx: &mut Ctx, args: &[&[u8]]) {
    let len = match read_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(zset) => zset.len(),
    };
    ctx.reply.integer(len as i64);
}

fn zscore(ctx: &mut Ctx, args: &[&[u8]]) {
    let score = match read_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => None,
        Lookup::Found(zset) => zset.score(args[2]),
    };
    match score {
        Some(score) => ctx.reply.double(score),
        None => ctx.reply.null(),
    }
}

fn zmscore(ctx: &mut Ctx, args: &[&[u8]]) {
    let scores: Vec<Option<f64>> = match read_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => vec![None; args.len() - 2],
        Lookup::Found(zset) => args[2..].iter().map(|m| zset.score(m)).collect(),
    };
    ctx.reply.array(scores.len());
    for score in scores {
        match score {
            Some(score) => ctx.reply.double(score),
            None => ctx.reply.null(),
        }
    }
}

fn zrank(ctx: &mut Ctx, args: &[&[u8]]) {
    rank(ctx, args, false);
}

fn zrevrank(ctx: &mut Ctx, args: &[&[u8]]) {
    rank(ctx, args, true);
}

/// ZRANK and ZREVRANK key member [WITHSCORE] (WITHSCORE: Redis 7.2): the rank, or `[rank,
/// score]`; null (a null array with WITHSCORE) for a missing key or member.
fn rank(ctx: &mut Ctx, args: &[&[u8]], rev: bool) {
    if args.len() > 4 {
        return ctx.reply.error(&super::wrong_arity(if rev { "zrevrank" } else { "zrank" }));
    }
    let withscore = match args.get(3) {
        None => false,
        Some(arg) if is(arg, "WITHSCORE") => true,
        Some(_) => return ctx.reply.error(SYNTAX_ERROR),
    };
    let found = match read_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => None,
        Lookup::Found(zset) => zset.rank(args[2]).zip(zset.score(args[2])).map(|(rank, score)| {
            (if rev { zset.len() - 1 - rank } else { rank }, score)
        }),
    };
    match (found, withscore) {
        (None, false) => ctx.reply.null(),
        (None, true) => ctx.reply.null_array(),
        (Some((rank, _)), false) => ctx.reply.integer(rank as i64),
        (Some((rank, score)), true) => {
            ctx.reply.array(2);
            ctx.reply.integer(rank as i64);
            ctx.reply.double(score);
        }
    }
}

/// How a pop's reply is shaped; Redis shapes each command's differently.
#[derive(Clone, Copy)]
pub(crate) struct PopShape {
    /// The popped key comes first (ZMPOP, and BZPOPMIN/BZPOPMAX/BZMPOP).
    pub with_key: bool,
    /// Each element a `[member, score]` pair (ZMPOP always; ZPOPMIN/ZPOPMAX with a count in
    /// RESP3) rather than a flat list.
    pub nested: bool,
    /// A null array when no key has elements (ZMPOP), instead of an empty array.
    pub null_when_empty: bool,
}

/// Pops up to `count` elements (None: one, without a count) with the lowest scores, or the
/// highest when `max`, from the first of `keys` that holds a sorted set, and writes the reply
/// shaped by `shape`, as Redis's `genericZpopCommand` does; the key goes once it is empty.
/// Answers WRONGTYPE when a key before the first sorted set holds another type. Returns whether
/// anything was popped: the blocking forms (BZPOPMIN, BZPOPMAX, BZMPOP) call this when a key is
/// ready and block otherwise.
pub(crate) fn pop(ctx: &mut Ctx, keys: &[&[u8]], max: bool, count: Option<u64>, shape: PopShape) -> bool {
    let mut source = None;
    for key in keys {
        match write_zset(ctx, key) {
            Lookup::WrongType => return false,
            Lookup::Missing => continue,
            Lookup::Found(zset) => {
                source = Some((*key, zset.len()));
                break;
            }
        }
    }
    let Some((key, len)) = source else {
        if shape.null_when_empty { ctx.reply.null_array() } else { ctx.reply.array(0) }
        return false;
    };
    if count == Some(0) {
        ctx.reply.array(0);
        return false;
    }
    let wanted = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX).min(len);
    let popped = match write_zset(ctx, key) {
        Lookup::Found(zset) => {
            let popped = zset.range(0, wanted, max);
            for (member, _) in &popped {
                zset.remove(member);
            }
            popped
        }
        _ => Vec::new(),
    };
    if !popped.is_empty() {
        ctx.notify(notify::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    }
    drop_if_empty(ctx, key);
    write_popped(ctx, key, &popped, shape);
    !popped.is_empty()
}

fn write_popped(ctx: &mut Ctx, key: &[u8], popped: &[(Vec<u8>, f64)], shape: PopShape) {
    match (shape.with_key, shape.nested) {
        (false, false) => ctx.reply.array(popped.len() * 2),
        (false, true) => ctx.reply.array(popped.len()),
        (true, false) => {
            ctx.reply.array(popped.len() * 2 + 1);
            ctx.reply.bulk(key);
        }
        (true, true) => {
            ctx.reply.array(2);
            ctx.reply.bulk(key);
            ctx.reply.array(popped.len());
        }
    }
    for (member, score) in popped {
        if shape.nested {
            ctx.reply.array(2);
        }
        ctx.reply.bulk(member);
        ctx.reply.double(*score);
    }
}

fn zpopmin(ctx: &mut Ctx, args: &[&[u8]]) {
    pop_command(ctx, args, false);
}

fn zpopmax(ctx: &mut Ctx, args: &[&[u8]]) {
    pop_command(ctx, args, true);
}

/// ZPOPMIN and ZPOPMAX key [count]: a flat reply, but pairs for a count in RESP3.
fn pop_command(ctx: &mut Ctx, args: &[&[u8]], max: bool) {
    if args.len() > 3 {
        return ctx.reply.error(SYNTAX_ERROR);
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match parse_i64(arg).and_then(|n| u64::try_from(n).ok()) {
            Some(n) => Some(n),
            None => return ctx.reply.error("ERR value is out of range, must be positive"),
        },
    };
    let shape = PopShape { with_key: false, nested: count.is_some() && ctx.session.resp3(), null_when_empty: false };
    pop(ctx, &args[1..2], max, count, shape);
}

/// What ZMPOP and BZMPOP share after their keys: `MIN | MAX [COUNT count]`.
pub(crate) struct MpopArgs<'a> {
    pub keys: &'a [&'a [u8]],
    pub max: bool,
    pub count: u64,
}

/// Parses `numkeys key [key ...] MIN|MAX [COUNT count]` (from `args[0]`, the count), or answers.
pub(crate) fn parse_mpop<'a>(ctx: &mut Ctx, args: &'a [&'a [u8]]) -> Option<MpopArgs<'a>> {
    let Some(numkeys) = parse_i64(args[0]).filter(|&n| n > 0) else {
        ctx.reply.error("ERR numkeys should be greater than 0");
        return None;
    };
    // More keys than arguments, however many: Redis finds no MIN or MAX there.
    let numkeys = usize::try_from(numkeys).unwrap_or(usize::MAX).min(args.len());
    let (Some(keys), Some(which)) = (args.get(1..=numkeys), args.get(numkeys + 1)) else {
        ctx.reply.error(SYNTAX_ERROR);
        return None;
    };
    let max = if is(which, "MIN") {
        false
    } else if is(which, "MAX") {
        true
    } else {
        ctx.reply.error(SYNTAX_ERROR);
        return None;
    };
    let mut count = None;
    let mut rest = args[numkeys + 2..].iter();
    while let Some(option) = rest.next() {
        match rest.next() {
            Some(value) if count.is_none() && is(option, "COUNT") => match parse_i64(value).filter(|&n| n > 0) {
                Some(n) => count = Some(n as u64),
                None => {
                    ctx.reply.error("ERR count should be greater than 0");
                    return None;
                }
            },
            _ => {
                ctx.reply.error(SYNTAX_ERROR);
                return None;
            }
        }
    }
    Some(MpopArgs { keys, max, count: count.unwrap_or(1) })
}

fn zmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(parsed) = parse_mpop(ctx, &args[1..]) else { return };
    pop(ctx, parsed.keys, parsed.max, Some(parsed.count), PopShape { with_key: true, nested: true, null_when_empty: true });
}

/// ZRANDMEMBER key [count [WITHSCORES]].
fn zrandmember(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() == 2 {
        return random_member(ctx, args[1]);
    }
    let Some(count) = parse_i64(args[2]) else { return ctx.reply.error(NOT_AN_INTEGER) };
    if count == i64::MIN {
        return ctx.reply.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
    }
    let withscores = match args.get(3) {
        _ if args.len() > 4 => return ctx.reply.error(SYNTAX_ERROR),
        None => false,
        Some(arg) if is(arg, "WITHSCORES") => true,
        Some(_) => return ctx.reply.error(SYNTAX_ERROR),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return ctx.reply.error("ERR value is out of range");
    }
    random_members(ctx, args[1], count, withscores);
}

fn random_member(ctx: &mut Ctx, key: &[u8]) {
    let len = match read_zset(ctx, key) {
        Lookup::WrongType => return,
        Lookup::Missing => return ctx.reply.null(),
        Lookup::Found(zset) => zset.len(),
    };
    let at = ctx.rng.below(len as u64) as usize;
    match stored(ctx, key).and_then(|zset| zset.element_at(at)) {
        Some((member, _)) => ctx.reply.bulk(&member),
        None => ctx.reply.null(),
    }
}

/// ZRANDMEMBER with a count: that many distinct members when positive (the whole set, from the
/// highest score, when it has no more), that many independent picks when negative (or 1).
fn random_members(ctx: &mut Ctx, key: &[u8], count: i64, withscores: bool) {
    let len = match read_zset(ctx, key) {
        Lookup::WrongType => return,
        Lookup::Missing => return ctx.reply.array(0),
        Lookup::Found(zset) => zset.len(),
    };
    let wanted = count.unsigned_abs();
    if wanted == 0 {
        return ctx.reply.array(0);
    }
    if count > 0 && wanted >= len as u64 {
        // The whole set, highest score first, as Redis 7.0 lists it.
        let all = stored(ctx, key).map(|zset| zset.range(0, len, true)).unwrap_or_default();
        return write_elements(ctx, &all, withscores);
    }
    if (count < 0 || wanted == 1) && super::too_many_picks(ctx, wanted) {
        return;
    }
    let positions: Vec<usize> = if count < 0 || wanted == 1 {
        (0..wanted).map(|_| ctx.rng.below(len as u64) as usize).collect()
    } else {
        super::sets::distinct_positions(ctx, len, wanted as usize)
    };
    let picked: Vec<(Vec<u8>, f64)> = match stored(ctx, key) {
        Some(zset) => positions.iter().filter_map(|&at| zset.element_at(at)).collect(),
        None => Vec::new(),
    };
    write_elements(ctx, &picked, withscores);
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: members and scores (both bulk strings, in
/// either protocol, as Redis replies).
fn zscan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = scan_cursor(ctx, args[2]) else { return };
    let (next, elements) = match read_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => (0, Vec::new()),
        Lookup::Found(_) => {
            let Some(options) = parse_scan_options(ctx, &args[3..]) else { return };
            if options.type_name.is_some() {
                return ctx.reply.error(SYNTAX_ERROR);
            }
            let Some(zset) = stored(ctx, args[1]) else { return };
            let (next, mut elements) = zset.scan(cursor, options.count);
            if let Some(pattern) = options.pattern {
                elements.retain(|(member, _)| glob::matches(pattern, member, false));
            }
            (next, elements)
        }
    };
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(elements.len() * 2);
    for (member, score) in &elements {
        ctx.reply.bulk(member);
        ctx.reply.bulk(crate::resp::G17::new(*score).as_bytes());
    }
}

#[cfg(test)]
mod tests;
