//! SORT and SORT_RO: the elements of a list, set or sorted set (its members, in score order), ordered as numbers or as bytes,
//! by themselves or by other keys (`BY weight_*`, `BY h_*->field`), with LIMIT, GET patterns,
//! and STORE into a list. Redis's rules: equal numbers are ordered by their bytes so the result
//! is deterministic; a BY pattern without `*` does not sort.

use super::{Command, Ctx, Flag, NOT_AN_INTEGER, SYNTAX_ERROR, WRONG_TYPE, is, parse_i64};
use crate::keyspace::{List, ListLimits, Value};
use crate::notify;
use std::cmp::Ordering;

const SYNTAX: &str = "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]";

pub const COMMANDS: &[Command] = &[
    Command::new("sort", -2, sort).flags(&[Flag::Write, Flag::DenyOom, Flag::MovableKeys]).keys(1, 1, 1).group("generic")
        .doc("Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", "1.0.0",
            "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
            "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]"),
    Command::new("sort_ro", -2, sort_ro).flags(&[Flag::ReadOnly, Flag::MovableKeys]).keys(1, 1, 1).group("generic")
        .doc("Returns the sorted elements of a list, a set, or a sorted set.", "7.0.0",
            "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
            SYNTAX),
];

/// SORT's options.
#[derive(Default)]
struct Options<'a> {
    by: Option<&'a [u8]>,
    limit: Option<(i64, i64)>,
    get: Vec<&'a [u8]>,
    desc: bool,
    alpha: bool,
    store: Option<&'a [u8]>,
}

/// SORT's options (`args` is the whole command line). BY and GET patterns read keys made from
/// the data, so a restricted user needs read access to every key for them, as in Redis.
fn parse<'a>(ctx: &mut Ctx, args: &[&'a [u8]], may_store: bool) -> Option<Options<'a>> {
    let command_line = args;
    let args = &args[2..];
    let mut options = Options::default();
    let mut i = 0;
    while i < args.len() {
        let (option, rest) = (args[i], &args[i + 1..]);
        match option {
            o if is(o, "ASC") => options.desc = false,
            o if is(o, "DESC") => options.desc = true,
            o if is(o, "ALPHA") => options.alpha = true,
            o if is(o, "LIMIT") && rest.len() >= 2 => {
                let (Some(offset), Some(count)) = (parse_i64(rest[0]), parse_i64(rest[1])) else {
                    ctx.reply.error(NOT_AN_INTEGER);
                    return None;
                };
                options.limit = Some((offset, count));
                i += 2;
            }
            o if is(o, "STORE") && may_store && !rest.is_empty() => {
                options.store = Some(rest[0]);
                i += 1;
            }
            o if is(o, "BY") && !rest.is_empty() => {
                if rest[0].contains(&b'*') && !reads_every_key(ctx, command_line) {
                    ctx.reply.error("ERR BY option of SORT denied due to insufficient ACL permissions.");
                    return None;
                }
                options.by = Some(rest[0]);
                i += 1;
            }
            o if is(o, "GET") && !rest.is_empty() => {
                if !reads_every_key(ctx, command_line) {
                    ctx.reply.error("ERR GET option of SORT denied due to insufficient ACL permissions.");
                    return None;
                }
                options.get.push(rest[0]);
                i += 1;
            }
            _ => {
                ctx.reply.error(SYNTAX_ERROR);
                return None;
            }
        }
        i += 1;
    }
    Some(options)
}

/// Whether the client's user may read any key with this command line (always, for a user the
/// checks skip).
fn reads_every_key(ctx: &Ctx, command_line: &[&[u8]]) -> bool {
    if !ctx.session.acl_limited.get() {
        return true;
    }
    let catalog = crate::acl::catalog();
    let Some(id) = catalog.find(command_line[0]) else { return false };
    ctx.acl.users.get(&ctx.session.user).is_some_and(|user| user.reads_every_key(id, command_line))
}

fn sort(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, true);
}

fn sort_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, false);
}

/// One element being sorted, with what it is compared by.
struct Item {
    element: Vec<u8>,
    score: f64,
    /// ALPHA with BY: the weight's bytes (`None` when the weight key is missing).
    weight: Option<Vec<u8>>,
}

fn run(ctx: &mut Ctx, args: &[&[u8]], may_store: bool) {
    let Some(options) = parse(ctx, args, may_store) else { return };
    let Some(elements) = elements(ctx, args[1]) else { return };
    let (ordered, elements) = elements;
    // A BY pattern without `*` means "do not sort"; a set still is (alphabetically) when the
    // result is stored, so the stored list does not depend on the set's layout.
    let mut dont_sort = options.by.is_some_and(|by| !by.contains(&b'*'));
    let mut alpha = options.alpha;
    if dont_sort && !ordered && options.store.is_some() {
        dont_sort = false;
        alpha = true;
    }
    let mut items: Vec<Item> = elements.into_iter().map(|element| Item { element, score: 0.0, weight: None }).collect();
    if !dont_sort && !weigh(ctx, &mut items, options.by.filter(|_| !dont_sort), alpha) {
        return;
    }
    if !dont_sort {
        let by_weight = options.by.is_some();
        items.sort_by(|a, b| {
            let order = compare(a, b, alpha, by_weight);
            if options.desc { order.reverse() } else { order }
        });
    } else if options.desc && ordered {
        items.reverse();
    }
    let (start, count) = window(options.limit, items.len());
    let chosen = &items[start..start + count];
    let rows: Vec<Option<Vec<u8>>> = if options.get.is_empty() {
        chosen.iter().map(|item| Some(item.element.clone())).collect()
    } else {
        chosen.iter().flat_map(|item| options.get.iter().map(move |pattern| (pattern, item))).map(|(pattern, item)| lookup(ctx, pattern, &item.element)).collect()
    };
    match options.store {
        Some(destination) => store(ctx, destination, rows),
        None => {
            ctx.reply.array(rows.len());
            for row in rows {
                match row {
                    Some(bytes) => ctx.reply.bulk(&bytes),
                    None => ctx.reply.null(),
                }
            }
        }
    }
}

/// The elements of the key to sort, and whether their order means something (a list, a sorted
/// set); `None` after WRONGTYPE.
fn elements(ctx: &mut Ctx, key: &[u8]) -> Option<(bool, Vec<Vec<u8>>)> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let found = match ctx.keyspace.get(db, key, now).map(|entry| &entry.value) {
        None => Some((true, Vec::new())),
        Some(Value::List(list)) => Some((true, list.iter().map(<[u8]>::to_vec).collect())),
        Some(Value::Set(set)) => Some((false, set.members())),
        Some(Value::Zset(zset)) => Some((true, zset.range(0, zset.len(), false).into_iter().map(|(member, _)| member).collect())),
        Some(_) => None,
    };
    if found.is_none() {
        ctx.reply.error(WRONG_TYPE);
    }
    found
}

/// Gives each item what it is compared by: its number (its own, or its BY weight's; a missing
/// weight counts as 0), or, with ALPHA and BY, its weight's bytes. Answers Redis's error when a
/// number cannot be read.
fn weigh(ctx: &mut Ctx, items: &mut [Item], by: Option<&[u8]>, alpha: bool) -> bool {
    for item in items.iter_mut() {
        let weight = match by {
            Some(pattern) => lookup(ctx, pattern, &item.element),
            None => None,
        };
        if alpha {
            item.weight = weight;
            continue;
        }
        let number = match (by, &weight) {
            (Some(_), None) => Some(0.0),
            (Some(_), Some(bytes)) => number(bytes),
            (None, _) => number(&item.element),
        };
        match number {
            Some(score) => item.score = score,
            None => {
                ctx.reply.error("ERR One or more scores can't be converted into double");
                return false;
            }
        }
    }
    true
}

/// A number as SORT reads one (C's strtod: leading spaces, `inf`, hex; not NaN).
fn number(bytes: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(bytes).ok()?.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let value = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()? as f64
    } else {
        match text.to_ascii_lowercase().as_str() {
            "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
            "-inf" | "-infinity" => f64::NEG_INFINITY,
            t => t.parse().ok()?,
        }
    };
    (!value.is_nan()).then_some(value)
}

fn compare(a: &Item, b: &Item, alpha: bool, by_weight: bool) -> Ordering {
    if !alpha {
        return a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.element.cmp(&b.element));
    }
    if by_weight {
        match (&a.weight, &b.weight) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => x.cmp(y),
        }
    } else {
        a.element.cmp(&b.element)
    }
}

/// LIMIT offset count as a window into `len` items: a negative offset is 0, a negative count
/// means all the rest.
fn window(limit: Option<(i64, i64)>, len: usize) -> (usize, usize) {
    let Some((offset, count)) = limit else { return (0, len) };
    let start = usize::try_from(offset.max(0)).unwrap_or(usize::MAX).min(len);
    let rest = len - start;
    let count = if count < 0 { rest } else { usize::try_from(count).unwrap_or(usize::MAX).min(rest) };
    (start, count)
}

/// What a BY or GET pattern gives for `element`: `#` is the element itself; otherwise the first
/// `*` is replaced by the element, and the key's string value is read — or, with `->field`
/// after the `*`, that field of the hash. `None` when there is nothing (or no `*`).
fn lookup(ctx: &mut Ctx, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|b| *b == b'*')?;
    let after = &pattern[star + 1..];
    let (suffix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(at) if at + 2 < after.len() => (&after[..at], Some(&after[at + 2..])),
        _ => (after, None),
    };
    let key = [&pattern[..star], element, suffix].concat();
    let (db, now) = (ctx.db(), ctx.now_ms());
    // One read of the key, a hit or a miss as Redis counts it.
    match field {
        None => ctx.keyspace.get(db, &key, now)?.value.as_string().map(<[u8]>::to_vec),
        Some(field) => super::hashes::read(ctx.keyspace, db, &key, now).ok().flatten()?.get(field).map(<[u8]>::to_vec),
    }
}

/// STORE: the rows become a list (missing values as empty strings), replacing the destination;
/// an empty result deletes it. Answers the list's length.
fn store(ctx: &mut Ctx, destination: &[u8], rows: Vec<Option<Vec<u8>>>) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let len = rows.len();
    if rows.is_empty() {
        if ctx.keyspace.delete(db, destination, now) {
            ctx.notify(notify::GENERIC, "del", destination);
        }
    } else {
        let limits = ListLimits::from_setting(ctx.config.list_max_listpack_size);
        let mut list = List::new();
        for row in &rows {
            list.push_back(row.as_deref().unwrap_or_default(), &limits);
        }
        ctx.keyspace.set(db, destination, Value::List(Box::new(list)), None, now);
        ctx.notify(notify::LIST, "sortstore", destination);
    }
    ctx.reply.integer(len as i64);
}
