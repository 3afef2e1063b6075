//! Ranges of a sorted set — by rank, by score, by member (lex) — for reading (ZRANGE and its
//! older forms), counting (ZCOUNT, ZLEXCOUNT), storing (ZRANGESTORE) and removing
//! (ZREMRANGEBY*). Every range becomes a span of ranks `start..end` found in O(log n), so the
//! work is that plus the elements touched.

use super::{Ctx, Lookup, SYNTAX_ERROR, Zset, is, limits, parse_i64, plain_integer, read_zset, store_or_delete, stored, write_zset};
use crate::commands::NOT_AN_INTEGER;

const NOT_A_FLOAT_RANGE: &str = "ERR min or max is not a float";
const NOT_A_LEX_RANGE: &str = "ERR min or max not valid string range item";

/// One end of a score range: the score and whether it is excluded (`(1.5`).
#[derive(Clone, Copy)]
struct ScoreBound {
    score: f64,
    exclusive: bool,
}

/// A score bound as Redis reads one: `(` for exclusive, then what `strtod` takes (leading
/// spaces, `inf`, overflow to infinity; nothing at all is 0), but not NaN.
fn score_bound(arg: &[u8]) -> Option<ScoreBound> {
    let (exclusive, number) = match arg.strip_prefix(b"(") {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    if number.is_empty() {
        return Some(ScoreBound { score: 0.0, exclusive });
    }
    if let Some(score) = plain_integer(number) {
        return Some(ScoreBound { score, exclusive });
    }
    let text = std::str::from_utf8(number).ok()?.trim_start();
    let score = match text.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        lower if lower.contains("inf") || lower.contains("nan") || lower.is_empty() => return None,
        _ => text.parse().ok()?,
    };
    Some(ScoreBound { score, exclusive })
}

/// One end of a lex range: `-` and `+` (below and above every member), `[m` or `(m`.
#[derive(Clone)]
enum LexBound {
    Lowest,
    Highest,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

fn lex_bound(arg: &[u8]) -> Option<LexBound> {
    match arg.split_first() {
        Some((b'-', [])) => Some(LexBound::Lowest),
        Some((b'+', [])) => Some(LexBound::Highest),
        Some((b'[', rest)) => Some(LexBound::Inclusive(rest.to_vec())),
        Some((b'(', rest)) => Some(LexBound::Exclusive(rest.to_vec())),
        _ => None,
    }
}

/// Whether `member` lies before the range that starts at `min`.
fn before_lex_min(member: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::Lowest => false,
        LexBound::Highest => true,
        LexBound::Inclusive(m) => member < m.as_slice(),
        LexBound::Exclusive(m) => member <= m.as_slice(),
    }
}

/// Whether `member` lies at or before the end `max` of a range.
fn within_lex_max(member: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::Lowest => false,
        LexBound::Highest => true,
        LexBound::Inclusive(m) => member <= m.as_slice(),
        LexBound::Exclusive(m) => member < m.as_slice(),
    }
}

/// A parsed range of any kind.
enum Range {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound, LexBound),
}

impl Range {
    /// Parses `min` and `max` as `kind` wants them, or answers with Redis's error.
    fn parse(ctx: &mut Ctx, kind: Kind, min: &[u8], max: &[u8]) -> Option<Range> {
        let (range, error) = match kind {
            Kind::Rank => (parse_i64(min).zip(parse_i64(max)).map(|(a, b)| Range::Rank(a, b)), NOT_AN_INTEGER),
            Kind::Score => (score_bound(min).zip(score_bound(max)).map(|(a, b)| Range::Score(a, b)), NOT_A_FLOAT_RANGE),
            Kind::Lex => (lex_bound(min).zip(lex_bound(max)).map(|(a, b)| Range::Lex(a, b)), NOT_A_LEX_RANGE),
        };
        if range.is_none() {
            ctx.reply.error(error);
        }
        range
    }

    /// The ranks `start..end` (ascending) the range covers in `zset`.
    fn ranks(&self, zset: &Zset) -> (usize, usize) {
        let len = zset.len() as i64;
        let (start, end) = match self {
            Range::Rank(start, stop) => {
                let start = if *start < 0 { (len + start).max(0) } else { *start };
                let stop = if *stop < 0 { len + stop } else { (*stop).min(len - 1) };
                if start > stop || start >= len {
                    return (0, 0);
                }
                (start as usize, stop as usize + 1)
            }
            Range::Score(min, max) => {
                let start = zset.count_before_score(|s| if min.exclusive { s <= min.score } else { s < min.score });
                let end = zset.count_before_score(|s| if max.exclusive { s < max.score } else { s <= max.score });
                (start, end)
            }
            Range::Lex(min, max) => {
                let start = zset.count_before(|_, m| before_lex_min(m, min));
                let end = zset.count_before(|_, m| within_lex_max(m, max));
                (start, end)
            }
        };
        (start, end.max(start))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

/// What a range command was asked for.
struct Request {
    kind: Kind,
    rev: bool,
    withscores: bool,
    /// LIMIT offset count; a negative count is no limit.
    limit: Option<(i64, i64)>,
}

/// Parses the options after `key min max` as `zrangeGenericCommand` does. `kind` and `rev` are
/// fixed for the older commands (ZRANGEBYSCORE...), which then refuse BYSCORE, BYLEX and REV.
fn parse_request(ctx: &mut Ctx, options: &[&[u8]], kind: Option<Kind>, rev: Option<bool>, store: bool) -> Option<Request> {
    let (mut kind_given, mut rev_given) = (kind, rev);
    let (mut withscores, mut limit) = (false, None);
    let mut at = 0;
    while let Some(option) = options.get(at) {
        let left = options.len() - at - 1;
        if !store && is(option, "WITHSCORES") {
            withscores = true;
        } else if is(option, "LIMIT") && left >= 2 {
            let Some(offset) = parse_i64(options[at + 1]).zip(parse_i64(options[at + 2])) else {
                ctx.reply.error(NOT_AN_INTEGER);
                return None;
            };
            limit = Some(offset);
            at += 2;
        } else if rev_given.is_none() && is(option, "REV") {
            rev_given = Some(true);
        } else if kind_given.is_none() && is(option, "BYLEX") {
            kind_given = Some(Kind::Lex);
        } else if kind_given.is_none() && is(option, "BYSCORE") {
            kind_given = Some(Kind::Score);
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
        at += 1;
    }
    let kind = kind_given.unwrap_or(Kind::Rank);
    if limit.is_some() && kind == Kind::Rank {
        ctx.reply.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return None;
    }
    if withscores && kind == Kind::Lex {
        ctx.reply.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    Some(Request { kind, rev: rev_given.unwrap_or(false), withscores, limit })
}

/// Where the elements a request selects from `zset` start (a rank in the reply's direction) and
/// how many there are.
fn select(zset: &Zset, range: &Range, request: &Request) -> (usize, usize) {
    let (start, end) = range.ranks(zset);
    let (mut first, mut count) = (0, end - start);
    if let Some((offset, limit)) = request.limit {
        if offset < 0 {
            return (0, 0);
        }
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        first = offset.min(count);
        count -= first;
        if limit >= 0 {
            count = count.min(usize::try_from(limit).unwrap_or(usize::MAX));
        }
    }
    // A rank range is in the reply's order already; a score or lex range is in ascending order.
    let from = if request.rev && request.kind != Kind::Rank { zset.len() - end + first } else { start + first };
    (from, count)
}

/// Writes `count` elements from `from` on as a range reply, straight from the sorted set.
fn write_range(ctx: &mut Ctx, key: &[u8], (from, count): (usize, usize), rev: bool, withscores: bool) {
    let resp3 = ctx.session.resp3();
    ctx.reply.array(if withscores && !resp3 { count * 2 } else { count });
    let db = ctx.db();
    let Some(zset) = ctx.keyspace.stored(db, key).and_then(|e| e.value.as_zset()) else { return };
    let reply = &mut ctx.reply;
    zset.visit(from, count, rev, |member, score| {
        if withscores && resp3 {
            reply.array(2);
        }
        reply.bulk(member);
        if withscores {
            reply.double(score);
        }
    });
}

/// The shared body of ZRANGE, ZRANGESTORE and the older range commands; `args` start at the
/// source key.
fn range_command(ctx: &mut Ctx, args: &[&[u8]], kind: Option<Kind>, rev: Option<bool>, destination: Option<&[u8]>) {
    let Some(request) = parse_request(ctx, &args[3..], kind, rev, destination.is_some()) else { return };
    // A reversed score or lex range is written max first.
    let (min, max) = if request.rev && request.kind != Kind::Rank { (args[2], args[1]) } else { (args[1], args[2]) };
    let Some(range) = Range::parse(ctx, request.kind, min, max) else { return };
    let key = args[0];
    let (from, count) = match read_zset(ctx, key) {
        Lookup::WrongType => return,
        Lookup::Missing => (0, 0),
        Lookup::Found(zset) => {
            let (from, count) = select(zset, &range, &request);
            (from, count.min(zset.len().saturating_sub(from)))
        }
    };
    let Some(destination) = destination else {
        return write_range(ctx, key, (from, count), request.rev, request.withscores);
    };
    let selected = stored(ctx, key).map(|zset| zset.range(from, count, request.rev)).unwrap_or_default();
    let limits = limits(ctx);
    store_or_delete(ctx, destination, Zset::from_elements(selected, &limits), "zrangestore");
    ctx.reply.integer(count as i64);
}

pub(super) fn zrange(ctx: &mut Ctx, args: &[&[u8]]) {
    range_command(ctx, &args[1..], None, None, None);
}

pub(super) fn zrangestore(ctx: &mut Ctx, args: &[&[u8]]) {
    range_command(ctx, &args[2..], None, None, Some(args[1]));
}

pub(super) fn zrevrange(ctx: &mut Ctx, args: &[&[u8]]) {
    range_command(ctx, &args[1..], Some(Kind::Rank), Some(true), None);
}

pub(super) fn zrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) {
    range_command(ctx, &args[1..], Some(Kind::Score), Some(false), None);
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) {
    range_command(ctx, &args[1..], Some(Kind::Score), Some(true), None);
}

pub(super) fn zrangebylex(ctx: &mut Ctx, args: &[&[u8]]) {
    range_command(ctx, &args[1..], Some(Kind::Lex), Some(false), None);
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx, args: &[&[u8]]) {
    range_command(ctx, &args[1..], Some(Kind::Lex), Some(true), None);
}

/// ZCOUNT and ZLEXCOUNT: the size of a score or lex range.
fn count(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) {
    let Some(range) = Range::parse(ctx, kind, args[2], args[3]) else { return };
    let count = match read_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(zset) => {
            let (start, end) = range.ranks(zset);
            end - start
        }
    };
    ctx.reply.integer(count as i64);
}

pub(super) fn zcount(ctx: &mut Ctx, args: &[&[u8]]) {
    count(ctx, args, Kind::Score);
}

pub(super) fn zlexcount(ctx: &mut Ctx, args: &[&[u8]]) {
    count(ctx, args, Kind::Lex);
}

/// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX: removes a range, replies how many went.
fn remove_range(ctx: &mut Ctx, args: &[&[u8]], kind: Kind) {
    let Some(range) = Range::parse(ctx, kind, args[2], args[3]) else { return };
    let removed = match write_zset(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(zset) => {
            let (start, end) = range.ranks(zset);
            zset.remove_range(start, end - start)
        }
    };
    if removed > 0 {
        let event = match kind {
            Kind::Rank => "zremrangebyrank",
            Kind::Score => "zremrangebyscore",
            Kind::Lex => "zremrangebylex",
        };
        ctx.notify(crate::notify::ZSET, event, args[1]);
    }
    super::drop_if_empty(ctx, args[1]);
    ctx.reply.integer(removed as i64);
}

pub(super) fn zremrangebyrank(ctx: &mut Ctx, args: &[&[u8]]) {
    remove_range(ctx, args, Kind::Rank);
}

pub(super) fn zremrangebyscore(ctx: &mut Ctx, args: &[&[u8]]) {
    remove_range(ctx, args, Kind::Score);
}

pub(super) fn zremrangebylex(ctx: &mut Ctx, args: &[&[u8]]) {
    remove_range(ctx, args, Kind::Lex);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_like_redis() {
        assert!(score_bound(b"(1.5").is_some_and(|b| b.exclusive && b.score == 1.5));
        assert!(score_bound(b" 2").is_some_and(|b| b.score == 2.0));
        assert!(score_bound(b"1e400").is_some_and(|b| b.score == f64::INFINITY));
        assert!(score_bound(b"-inf").is_some_and(|b| b.score == f64::NEG_INFINITY));
        assert!(score_bound(b"(").is_some_and(|b| b.exclusive && b.score == 0.0));
        assert!(score_bound(b"nan").is_none() && score_bound(b" ").is_none() && score_bound(b"x").is_none());
        assert!(matches!(lex_bound(b"[a"), Some(LexBound::Inclusive(m)) if m == b"a"));
        assert!(matches!(lex_bound(b"-"), Some(LexBound::Lowest)));
        assert!(lex_bound(b"a").is_none() && lex_bound(b"").is_none() && lex_bound(b"-a").is_none());
        assert!(before_lex_min(b"a", &LexBound::Exclusive(b"a".to_vec())) && !before_lex_min(b"a", &LexBound::Inclusive(b"a".to_vec())));
    }
}
