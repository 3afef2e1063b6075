//! Set commands: unordered collections of distinct byte strings. The encodings (intset, listpack,
//! hashtable) live in keyspace/set.rs; here are the commands, with Redis's replies, errors and
//! edge cases. A set whose last member goes is removed from the keyspace, as Redis does.

use super::keys::{parse_scan_options, scan_cursor};
use super::{Command, Ctx, Flag, Lookup, NOT_AN_INTEGER, SYNTAX_ERROR, is, parse_i64, read_as, write_as};
use crate::notify;
use crate::glob;
use crate::keyspace::{Set, SetLimits, Value};
use std::collections::HashMap;

const INTER: &str = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.";
const UNION: &str = "O(N) where N is the total number of elements in all given sets.";

pub const COMMANDS: &[Command] = &[
    Command::new("sadd", -3, sadd).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("set")
        .doc("Adds one or more members to a set. Creates the key if it doesn't exist.", "1.0.0",
            "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", "key member [member ...]"),
    Command::new("srem", -3, srem).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("set")
        .doc("Removes one or more members from a set. Deletes the set if the last member was removed.", "1.0.0",
            "O(N) where N is the number of members to be removed.", "key member [member ...]"),
    Command::new("sismember", 3, sismember).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("set")
        .doc("Determines whether a member belongs to a set.", "1.0.0", "O(1)", "key member"),
    Command::new("smismember", -3, smismember).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("set")
        .doc("Determines whether multiple members belong to a set.", "6.2.0",
            "O(N) where N is the number of elements being checked for membership", "key member [member ...]"),
    Command::new("scard", 2, scard).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("set")
        .doc("Returns the number of members in a set.", "1.0.0", "O(1)", "key"),
    Command::new("smembers", 2, smembers).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("set")
        .doc("Returns all members of a set.", "1.0.0", "O(N) where N is the set cardinality.", "key"),
    Command::new("srandmember", -2, srandmember).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("set")
        .doc("Get one or multiple random members from a set", "1.0.0",
            "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", "key [count]"),
    Command::new("spop", -2, spop).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("set")
        .doc("Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "1.0.0",
            "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", "key [count]"),
    Command::new("smove", 4, smove).flags(&[Flag::Write, Flag::Fast]).keys(1, 2, 1).group("set")
        .doc("Moves a member from one set to another.", "1.0.0", "O(1)", "source destination member"),
    Command::new("sinter", -2, sinter).flags(&[Flag::ReadOnly]).keys(1, -1, 1).group("set")
        .doc("Returns the intersect of multiple sets.", "1.0.0", INTER, "key [key ...]"),
    Command::new("sintercard", -3, sintercard).flags(&[Flag::ReadOnly, Flag::MovableKeys]).counted_keys(1).group("set")
        .doc("Returns the number of members of the intersect of multiple sets.", "7.0.0", INTER, "numkeys key [key ...] [LIMIT limit]"),
    Command::new("sinterstore", -3, sinterstore).flags(&[Flag::Write, Flag::DenyOom]).keys(1, -1, 1).group("set")
        .doc("Stores the intersect of multiple sets in a key.", "1.0.0", INTER, "destination key [key ...]"),
    Command::new("sunion", -2, sunion).flags(&[Flag::ReadOnly]).keys(1, -1, 1).group("set")
        .doc("Returns the union of multiple sets.", "1.0.0", UNION, "key [key ...]"),
    Command::new("sunionstore", -3, sunionstore).flags(&[Flag::Write, Flag::DenyOom]).keys(1, -1, 1).group("set")
        .doc("Stores the union of multiple sets in a key.", "1.0.0", UNION, "destination key [key ...]"),
    Command::new("sdiff", -2, sdiff).flags(&[Flag::ReadOnly]).keys(1, -1, 1).group("set")
        .doc("Returns the difference of multiple sets.", "1.0.0", UNION, "key [key ...]"),
    Command::new("sdiffstore", -3, sdiffstore).flags(&[Flag::Write, Flag::DenyOom]).keys(1, -1, 1).group("set")
        .doc("Stores the difference of multiple sets in a key.", "1.0.0", UNION, "destination key [key ...]"),
    Command::new("sscan", -3, sscan).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("set")
        .doc("Iterates over members of a set.", "2.0.0",
            "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
            "key cursor [MATCH pattern] [COUNT count]"),
];

/// The encoding thresholds as configured now, and a fresh seed for a set that becomes hashed.
fn limits(ctx: &mut Ctx) -> SetLimits {
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    SetLimits {
        max_intset_entries: size(ctx.config.set_max_intset_entries),
        max_listpack_entries: size(ctx.config.set_max_listpack_entries),
        max_listpack_value: size(ctx.config.set_max_listpack_value),
        seed: ctx.rng.next_u64(),
    }
}

/// The set at `key` for reading (counted as a keyspace hit or miss). Answers WRONGTYPE itself.
fn read_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Lookup<&'a Set> {
    read_as(ctx, key, Value::as_set)
}

/// The set at `key` for a command about to change it. Answers WRONGTYPE itself.
fn write_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Lookup<&'a mut Set> {
    write_as(ctx, key, Value::as_set_mut)
}

/// Removes the key when its set has no members left (a `del` event).
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db();
    if ctx.keyspace.stored(db, key).and_then(|e| e.value.as_set()).is_some_and(Set::is_empty) {
        ctx.keyspace.remove(db, key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

fn store_set(ctx: &mut Ctx, key: &[u8], set: Set) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    ctx.keyspace.set(db, key, Value::Set(Box::new(set)), None, now);
}

fn write_members(ctx: &mut Ctx, members: &[Vec<u8>]) {
    ctx.reply.set(members.len());
    for member in members {
        ctx.reply.bulk(member);
    }
}

fn sadd(ctx: &mut Ctx, args: &[&[u8]]) {
    let limits = limits(ctx);
    let (key, members) = (args[1], &args[2..]);
    let added = match write_set(ctx, key) {
        Lookup::WrongType => return,
        Lookup::Found(set) => members.iter().filter(|m| set.add(m, &limits)).count(),
        Lookup::Missing => {
            let mut set = Set::with_hint(members[0], members.len(), &limits);
            let added = members.iter().filter(|m| set.add(m, &limits)).count();
            store_set(ctx, key, set);
            added
        }
    };
    if added > 0 {
        ctx.notify(notify::SET, "sadd", key);
    }
    ctx.reply.integer(added as i64);
}

fn srem(ctx: &mut Ctx, args: &[&[u8]]) {
    let removed = match write_set(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(set) => args[2..].iter().filter(|m| set.remove(m)).count(),
    };
    if removed > 0 {
        ctx.notify(notify::SET, "srem", args[1]);
        drop_if_empty(ctx, args[1]);
    }
    ctx.reply.integer(removed as i64);
}

fn sismember(ctx: &mut Ctx, args: &[&[u8]]) {
    let found = match read_set(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => false,
        Lookup::Found(set) => set.contains(args[2]),
    };
    ctx.reply.integer(i64::from(found));
}

fn smismember(ctx: &mut Ctx, args: &[&[u8]]) {
    let found: Vec<bool> = match read_set(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => vec![false; args.len() - 2],
        Lookup::Found(set) => args[2..].iter().map(|m| set.contains(m)).collect(),
    };
    ctx.reply.array(found.len());
    for found in found {
        ctx.reply.integer(i64::from(found));
    }
}

fn scard(ctx: &mut Ctx, args: &[&[u8]]) {
    let len = match read_set(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(set) => set.len(),
    };
    ctx.reply.integer(len as i64);
}

fn smembers(ctx: &mut Ctx, args: &[&[u8]]) {
    let members = match read_set(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => Vec::new(),
        Lookup::Found(set) => set.members(),
    };
    write_members(ctx, &members);
}

/// `count` distinct positions in `0..len` (`count <= len`), in random order: a partial
/// Fisher-Yates shuffle that remembers only the positions it swapped, so the work and memory
/// follow `count`, not the set's size.
pub(super) fn distinct_positions(ctx: &mut Ctx, len: usize, count: usize) -> Vec<usize> {
    let mut swapped: HashMap<usize, usize, foldhash::fast::FixedState> = HashMap::default();
    let mut picked = Vec::with_capacity(count);
    for i in 0..count.min(len) {
        let j = i + ctx.rng.below((len - i) as u64) as usize;
        let at_j = swapped.get(&j).copied().unwrap_or(j);
        let at_i = swapped.get(&i).copied().unwrap_or(i);
        swapped.insert(j, at_i);
        picked.push(at_j);
    }
    picked
}

/// The members at `positions` of the set at `key` (which the caller has found to be a set).
fn members_at(ctx: &mut Ctx, key: &[u8], positions: &[usize]) -> Vec<Vec<u8>> {
    let db = ctx.db();
    let Some(set) = ctx.keyspace.stored(db, key).and_then(|e| e.value.as_set()) else { return Vec::new() };
    positions.iter().filter_map(|&at| set.member_at(at)).collect()
}

/// The size of the set at `key` for SRANDMEMBER (`write` false) or SPOP; `None` after replying
/// for a missing key (`missing` is that reply) or one of another type.
fn random_source(ctx: &mut Ctx, key: &[u8], write: bool, missing: fn(&mut Ctx)) -> Option<usize> {
    let len = if write {
        match write_set(ctx, key) {
            Lookup::Found(set) => Some(set.len()),
            Lookup::Missing => None,
            Lookup::WrongType => return None,
        }
    } else {
        match read_set(ctx, key) {
            Lookup::Found(set) => Some(set.len()),
            Lookup::Missing => None,
            Lookup::WrongType => return None,
        }
    };
    if len.is_none() {
        missing(ctx);
    }
    len
}

fn srandmember(ctx: &mut Ctx, args: &[&[u8]]) {
    match args.len() {
        2 => random_member(ctx, args[1], false),
        3 => srandmember_count(ctx, args),
        _ => ctx.reply.error(SYNTAX_ERROR),
    }
}

/// SRANDMEMBER and SPOP without a count: one random member, or null.
fn random_member(ctx: &mut Ctx, key: &[u8], pop: bool) {
    let Some(len) = random_source(ctx, key, pop, |ctx| ctx.reply.null()) else { return };
    let at = ctx.rng.below(len as u64) as usize;
    let Some(member) = members_at(ctx, key, &[at]).pop() else { return ctx.reply.null() };
    if pop {
        remove_members(ctx, key, std::slice::from_ref(&member));
    }
    ctx.reply.bulk(&member);
}

/// SPOP's removal of the members it picked.
fn remove_members(ctx: &mut Ctx, key: &[u8], members: &[Vec<u8>]) {
    if members.is_empty() {
        return;
    }
    if let Lookup::Found(set) = write_set(ctx, key) {
        for member in members {
            set.remove(member);
        }
    }
    ctx.notify(notify::SET, "spop", key);
    drop_if_empty(ctx, key);
}

/// SRANDMEMBER with a count: that many distinct members when positive (at most the whole set),
/// that many independent picks (repeats allowed) when negative. Always an array, never a set.
fn srandmember_count(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(count) = parse_i64(args[2]) else { return ctx.reply.error(NOT_AN_INTEGER) };
    if count == i64::MIN {
        return ctx.reply.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
    }
    let empty = |ctx: &mut Ctx| ctx.reply.array(0);
    let Some(len) = random_source(ctx, args[1], false, empty) else { return };
    let wanted = count.unsigned_abs();
    if count < 0 && super::too_many_picks(ctx, wanted) {
        return;
    }
    if count < 0 {
        // Written as picked: the reply may be longer than the set, and is never held whole here.
        ctx.reply.array(usize::try_from(wanted).unwrap_or(usize::MAX));
        for _ in 0..wanted {
            let at = ctx.rng.below(len as u64) as usize;
            for member in members_at(ctx, args[1], &[at]) {
                ctx.reply.bulk(&member);
            }
        }
        return;
    }
    let positions = if wanted >= len as u64 { (0..len).collect() } else { distinct_positions(ctx, len, wanted as usize) };
    let members = members_at(ctx, args[1], &positions);
    ctx.reply.array(members.len());
    for member in &members {
        ctx.reply.bulk(member);
    }
}

fn spop(ctx: &mut Ctx, args: &[&[u8]]) {
    match args.len() {
        2 => random_member(ctx, args[1], true),
        3 => spop_count(ctx, args),
        _ => ctx.reply.error(SYNTAX_ERROR),
    }
}

/// SPOP with a count: up to that many distinct members, removed; a set reply.
fn spop_count(ctx: &mut Ctx, args: &[&[u8]]) {
    // Redis gives one answer for a count that is negative or no integer at all.
    let Some(count) = parse_i64(args[2]).and_then(|n| u64::try_from(n).ok()) else {
        return ctx.reply.error("ERR value is out of range, must be positive");
    };
    let Some(len) = random_source(ctx, args[1], true, |ctx| ctx.reply.set(0)) else { return };
    let positions = if count >= len as u64 { (0..len).collect() } else { distinct_positions(ctx, len, count as usize) };
    let members = members_at(ctx, args[1], &positions);
    if members.len() == len {
        let db = ctx.db();
        ctx.keyspace.remove(db, args[1]);
        ctx.notify(notify::SET, "spop", args[1]);
        ctx.notify(notify::GENERIC, "del", args[1]);
    } else {
        remove_members(ctx, args[1], &members);
    }
    write_members(ctx, &members);
}

fn smove(ctx: &mut Ctx, args: &[&[u8]]) {
    let (from, to, member) = (args[1], args[2], args[3]);
    match write_set(ctx, from) {
        Lookup::WrongType => return,
        Lookup::Missing => return ctx.reply.integer(0),
        Lookup::Found(_) => {}
    }
    let to_exists = match write_set(ctx, to) {
        Lookup::WrongType => return,
        Lookup::Missing => false,
        Lookup::Found(_) => true,
    };
    let moved = match write_set(ctx, from) {
        Lookup::Found(set) if from == to => set.contains(member),
        Lookup::Found(set) => set.remove(member),
        _ => false,
    };
    if !moved || from == to {
        return ctx.reply.integer(i64::from(moved));
    }
    ctx.notify(notify::SET, "srem", from);
    drop_if_empty(ctx, from);
    let limits = limits(ctx);
    if !to_exists {
        store_set(ctx, to, Set::with_hint(member, 1, &limits));
    }
    if let Lookup::Found(set) = write_set(ctx, to)
        && set.add(member, &limits)
    {
        ctx.notify(notify::SET, "sadd", to);
    }
    ctx.reply.integer(1);
}

/// Checks that every key holds a set or nothing, looking each up as a read (counted) or for a
/// write; answers WRONGTYPE and returns false otherwise. Afterwards the sets can be read together
/// with [`sets_of`].
fn all_sets(ctx: &mut Ctx, keys: &[&[u8]], counted: bool) -> bool {
    keys.iter().all(|key| {
        let wrong = if counted {
            matches!(read_set(ctx, key), Lookup::WrongType)
        } else {
            matches!(write_set(ctx, key), Lookup::WrongType)
        };
        !wrong
    })
}

/// The sets at `keys` (checked by [`all_sets`]); `None` for a missing key.
fn sets_of<'a>(ctx: &'a Ctx, keys: &[&[u8]]) -> Vec<Option<&'a Set>> {
    let db = ctx.db();
    keys.iter().map(|key| ctx.keyspace.stored(db, key).and_then(|e| e.value.as_set())).collect()
}

/// The members every set has, in the order of the smallest set, stopping at `limit` (0: none).
/// A missing key is an empty set, so the intersection is empty.
fn intersection(sets: &[Option<&Set>], limit: usize) -> Vec<Vec<u8>> {
    let Some(mut sets) = sets.iter().copied().collect::<Option<Vec<&Set>>>() else { return Vec::new() };
    sets.sort_by_key(|set| set.len());
    let Some((smallest, others)) = sets.split_first() else { return Vec::new() };
    let mut found = Vec::new();
    for member in smallest.members() {
        if limit != 0 && found.len() >= limit {
            break;
        }
        if others.iter().all(|set| set.contains(&member)) {
            found.push(member);
        }
    }
    found
}

/// Every member of any of the sets, as a set built the way Redis builds it (from an intset up).
fn union(sets: &[Option<&Set>], limits: &SetLimits) -> Set {
    Set::from_members(sets.iter().flatten().flat_map(|set| set.members()), limits)
}

/// The members of the first set that no other set has.
fn difference(sets: &[Option<&Set>], limits: &SetLimits) -> Set {
    let Some((Some(first), others)) = sets.split_first() else { return Set::new() };
    let kept = first.members().into_iter().filter(|m| !others.iter().flatten().any(|set| set.contains(m)));
    Set::from_members(kept, limits)
}

/// The set operations SINTER, SUNION and SDIFF and their STORE forms share.
#[derive(Clone, Copy)]
enum Operation {
    Inter,
    Union,
    Diff,
}

/// The operation's result over the sets at `keys` (checked by [`all_sets`]), as a new set built
/// the way Redis builds a STORE form's result: from an intset up, member by member.
fn combine(ctx: &mut Ctx, operation: Operation, keys: &[&[u8]]) -> Set {
    let limits = limits(ctx);
    let sets = sets_of(ctx, keys);
    match operation {
        Operation::Inter => Set::from_members(intersection(&sets, 0), &limits),
        Operation::Union => union(&sets, &limits),
        Operation::Diff => difference(&sets, &limits),
    }
}

/// SINTER, SUNION, SDIFF: the result as a set reply.
fn reply_with(ctx: &mut Ctx, operation: Operation, keys: &[&[u8]]) {
    if !all_sets(ctx, keys, true) {
        return;
    }
    let members = match operation {
        // Replied in the smallest set's order, as Redis does, not rebuilt as a new set.
        Operation::Inter => intersection(&sets_of(ctx, keys), 0),
        _ => combine(ctx, operation, keys).members(),
    };
    write_members(ctx, &members);
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: the result replaces whatever `destination` held (any
/// type, TTL dropped), or deletes it when empty; the reply is its size. The sources are read as
/// the plain forms read them (a missing one is a miss).
fn store_with(ctx: &mut Ctx, operation: Operation, destination: &[u8], keys: &[&[u8]]) {
    if !all_sets(ctx, keys, true) {
        return;
    }
    let result = combine(ctx, operation, keys);
    let len = result.len();
    if len == 0 {
        let (db, now) = (ctx.db(), ctx.now_ms());
        if ctx.keyspace.delete(db, destination, now) {
            ctx.notify(notify::GENERIC, "del", destination);
        }
    } else {
        store_set(ctx, destination, result);
        ctx.notify(notify::SET, operation.event(), destination);
    }
    ctx.reply.integer(len as i64);
}

impl Operation {
    /// The event its STORE form publishes.
    fn event(self) -> &'static str {
        match self {
            Operation::Inter => "sinterstore",
            Operation::Union => "sunionstore",
            Operation::Diff => "sdiffstore",
        }
    }
}

fn sinter(ctx: &mut Ctx, args: &[&[u8]]) {
    reply_with(ctx, Operation::Inter, &args[1..]);
}

fn sunion(ctx: &mut Ctx, args: &[&[u8]]) {
    reply_with(ctx, Operation::Union, &args[1..]);
}

fn sdiff(ctx: &mut Ctx, args: &[&[u8]]) {
    reply_with(ctx, Operation::Diff, &args[1..]);
}

fn sinterstore(ctx: &mut Ctx, args: &[&[u8]]) {
    store_with(ctx, Operation::Inter, args[1], &args[2..]);
}

fn sunionstore(ctx: &mut Ctx, args: &[&[u8]]) {
    store_with(ctx, Operation::Union, args[1], &args[2..]);
}

fn sdiffstore(ctx: &mut Ctx, args: &[&[u8]]) {
    store_with(ctx, Operation::Diff, args[1], &args[2..]);
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: the intersection's size, counting stopped
/// at the limit (0: no limit).
fn sintercard(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(numkeys) = parse_i64(args[1]).filter(|&n| n > 0) else {
        return ctx.reply.error("ERR numkeys should be greater than 0");
    };
    let Some(keys) = usize::try_from(numkeys).ok().and_then(|n| args.get(2..2 + n)) else {
        return ctx.reply.error("ERR Number of keys can't be greater than number of args");
    };
    let mut limit = 0;
    let mut options = args[2 + keys.len()..].iter();
    while let Some(option) = options.next() {
        match options.next() {
            Some(value) if is(option, "LIMIT") => match parse_i64(value).filter(|&l| l >= 0) {
                Some(l) => limit = usize::try_from(l).unwrap_or(usize::MAX),
                None => return ctx.reply.error("ERR LIMIT can't be negative"),
            },
            _ => return ctx.reply.error(SYNTAX_ERROR),
        }
    }
    if !all_sets(ctx, keys, true) {
        return;
    }
    let found = intersection(&sets_of(ctx, keys), limit).len();
    ctx.reply.integer(found as i64);
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. A missing key is an empty, finished scan
/// whatever the options, as in Redis; TYPE is SCAN's alone.
fn sscan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = scan_cursor(ctx, args[2]) else { return };
    let (next, members) = match read_set(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => (0, Vec::new()),
        Lookup::Found(_) => {
            let Some(options) = parse_scan_options(ctx, &args[3..]) else { return };
            if options.type_name.is_some() {
                return ctx.reply.error(SYNTAX_ERROR);
            }
            let db = ctx.db();
            let Some(set) = ctx.keyspace.stored(db, args[1]).and_then(|e| e.value.as_set()) else { return };
            let (next, mut members) = set.scan(cursor, options.count);
            if let Some(pattern) = options.pattern {
                members.retain(|m| glob::matches(pattern, m, false));
            }
            (next, members)
        }
    };
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(members.len());
    for member in &members {
        ctx.reply.bulk(member);
    }
}

#[cfg(test)]
mod tests;
