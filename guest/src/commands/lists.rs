//! List commands: sequences of byte strings with cheap pushes and pops at both ends (the packed
//! nodes live in keyspace/list.rs). A list whose last element goes is removed from the keyspace,
//! as Redis does. The blocking pops (BLPOP and friends) are in `blocking.rs` and share the pops
//! here.

use super::{Command, Ctx, Flag, Lookup, NOT_AN_INTEGER, SYNTAX_ERROR, WRONG_TYPE, int_arg, is, parse_i64, read_as, write_as};
use crate::keyspace::{List, ListLimits, Value};
use crate::notify;
use smallvec::SmallVec;

const PUSH: &str = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";

pub const COMMANDS: &[Command] = &[
    Command::new("lpush", -3, lpush).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("list")
        .doc("Prepends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0", PUSH, "key element [element ...]"),
    Command::new("rpush", -3, rpush).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("list")
        .doc("Appends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0", PUSH, "key element [element ...]"),
    Command::new("lpushx", -3, lpushx).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("list")
        .doc("Prepends one or more elements to a list only when the list exists.", "2.2.0", PUSH, "key element [element ...]"),
    Command::new("rpushx", -3, rpushx).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("list")
        .doc("Appends an element to a list only when the list exists.", "2.2.0", PUSH, "key element [element ...]"),
    Command::new("lpop", -2, lpop).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("list")
        .doc("Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "1.0.0",
            "O(N) where N is the number of elements returned", "key [count]"),
    Command::new("rpop", -2, rpop).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("list")
        .doc("Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "1.0.0",
            "O(N) where N is the number of elements returned", "key [count]"),
    Command::new("llen", 2, llen).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("list")
        .doc("Returns the length of a list.", "1.0.0", "O(1)", "key"),
    Command::new("lrange", 4, lrange).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("list")
        .doc("Returns a range of elements from a list.", "1.0.0",
            "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
            "key start stop"),
    Command::new("lindex", 3, lindex).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("list")
        .doc("Returns an element from a list by its index.", "1.0.0",
            "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
            "key index"),
    Command::new("lset", 4, lset).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("list")
        .doc("Sets the value of an element in a list by its index.", "1.0.0",
            "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", "key index element"),
    Command::new("linsert", 5, linsert).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 1, 1).group("list")
        .doc("Inserts an element before or after another element in a list.", "2.2.0",
            "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
            "key <BEFORE | AFTER> pivot element"),
    Command::new("lrem", 4, lrem).flags(&[Flag::Write]).keys(1, 1, 1).group("list")
        .doc("Removes elements from a list. Deletes the list if the last element was removed.", "1.0.0",
            "O(N+M) where N is the length of the list and M is the number of elements removed.", "key count element"),
    Command::new("ltrim", 4, ltrim).flags(&[Flag::Write]).keys(1, 1, 1).group("list")
        .doc("Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "1.0.0",
            "O(N) where N is the number of elements to be removed by the operation.", "key start stop"),
    Command::new("lpos", -3, lpos).flags(&[Flag::ReadOnly]).keys(1, 1, 1).group("list")
        .doc("Returns the index of matching elements in a list.", "6.0.6",
            "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
            "key element [RANK rank] [COUNT num-matches] [MAXLEN len]"),
    Command::new("lmove", 5, lmove).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 2, 1).group("list")
        .doc("Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "6.2.0",
            "O(1)", "source destination <LEFT | RIGHT> <LEFT | RIGHT>"),
    Command::new("rpoplpush", 3, rpoplpush).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 2, 1).group("list")
        .doc("Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "1.2.0",
            "O(1)", "source destination"),
    Command::new("lmpop", -4, lmpop).flags(&[Flag::Write, Flag::MovableKeys]).counted_keys(1).group("list")
        .doc("Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "7.0.0",
            "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
            "numkeys key [key ...] <LEFT | RIGHT> [COUNT count]"),
];

/// The node size setting as configured now.
pub(crate) fn limits(ctx: &Ctx) -> ListLimits {
    ListLimits::from_setting(ctx.config.list_max_listpack_size)
}

/// The list at `key` for reading (counted as a keyspace hit or miss). Answers WRONGTYPE itself.
fn read_list<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Lookup<&'a List> {
    read_as(ctx, key, Value::as_list)
}

/// The list at `key` for a command about to change it. Answers WRONGTYPE itself.
pub(crate) fn write_list<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Lookup<&'a mut List> {
    write_as(ctx, key, Value::as_list_mut)
}

/// Removes the key when its list has no elements left (a `del` event).
pub(crate) fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db();
    if ctx.keyspace.stored(db, key).and_then(|e| e.value.as_list()).is_some_and(List::is_empty) {
        remove_emptied(ctx, key);
    }
}

/// Removes the key of a list just emptied (a `del` event).
fn remove_emptied(ctx: &mut Ctx, key: &[u8]) {
    let db = ctx.db();
    ctx.keyspace.remove(db, key);
    ctx.notify(notify::GENERIC, "del", key);
}

/// The event of a push or a pop at `end`.
fn event(end: End, push: bool) -> &'static str {
    match (end, push) {
        (End::Left, true) => "lpush",
        (End::Right, true) => "rpush",
        (End::Left, false) => "lpop",
        (End::Right, false) => "rpop",
    }
}

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum End {
    Left,
    Right,
}

impl End {
    pub fn parse(arg: &[u8]) -> Option<End> {
        if is(arg, "LEFT") {
            Some(End::Left)
        } else if is(arg, "RIGHT") {
            Some(End::Right)
        } else {
            None
        }
    }
}

/// Pushes `elements` at `end` of the list at `key`, creating it unless `only_existing`. Returns
/// the new length (0 when the key is missing and `only_existing`), or `None` after WRONGTYPE.
pub(crate) fn push(ctx: &mut Ctx, key: &[u8], elements: &[&[u8]], end: End, only_existing: bool) -> Option<usize> {
    let limits = limits(ctx);
    let (db, now) = (ctx.db(), ctx.now_ms());
    let entry = if only_existing {
        ctx.keyspace.get_mut(db, key, now)
    } else {
        ctx.keyspace.get_mut_or_insert(db, key, now, || Value::List(Box::default()))
    };
    let Some(entry) = entry else { return Some(0) };
    let Some(list) = entry.value.as_list_mut() else {
        ctx.reply.error(WRONG_TYPE);
        return None;
    };
    for element in elements {
        match end {
            End::Left => list.push_front(element, &limits),
            End::Right => list.push_back(element, &limits),
        }
    }
    let len = list.len();
    ctx.notify(notify::LIST, event(end, true), key);
    Some(len)
}

fn push_command(ctx: &mut Ctx, args: &[&[u8]], end: End, only_existing: bool) {
    if let Some(len) = push(ctx, args[1], &args[2..], end, only_existing) {
        ctx.reply.integer(len as i64);
    }
}

fn lpush(ctx: &mut Ctx, args: &[&[u8]]) {
    push_command(ctx, args, End::Left, false);
}

fn rpush(ctx: &mut Ctx, args: &[&[u8]]) {
    push_command(ctx, args, End::Right, false);
}

fn lpushx(ctx: &mut Ctx, args: &[&[u8]]) {
    push_command(ctx, args, End::Left, true);
}

fn rpushx(ctx: &mut Ctx, args: &[&[u8]]) {
    push_command(ctx, args, End::Right, true);
}

/// Pops up to `count` elements from `end` of the list at `key`, with the pop's event, removing
/// the key when it empties: one lookup of the key, which also tells a missing key and answers
/// WRONGTYPE.
pub(crate) fn pop_some(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Lookup<Popped> {
    let (popped, emptied) = match write_list(ctx, key) {
        Lookup::Found(list) => (take_from(list, end, count), list.is_empty()),
        Lookup::Missing => return Lookup::Missing,
        Lookup::WrongType => return Lookup::WrongType,
    };
    if !popped.is_empty() {
        ctx.notify(notify::LIST, event(end, false), key);
    }
    if emptied {
        remove_emptied(ctx, key);
    }
    Lookup::Found(popped)
}

/// Elements popped; most pops take one, which needs no allocation beyond the element's own.
pub(crate) type Popped = SmallVec<[Vec<u8>; 1]>;

/// Up to `count` elements taken from `end` of `list`.
fn take_from(list: &mut List, end: End, count: usize) -> Popped {
    (0..count)
        .map_while(|_| match end {
            End::Left => list.pop_front(),
            End::Right => list.pop_back(),
        })
        .collect()
}

/// [`pop_some`] without its events, leaving an emptied list in place.
fn take_some(ctx: &mut Ctx, key: &[u8], end: End, count: usize) -> Popped {
    let Lookup::Found(list) = write_list(ctx, key) else { return Popped::new() };
    take_from(list, end, count)
}

/// After a pop: its event, then the list's removal if it emptied.
fn popped_from(ctx: &mut Ctx, key: &[u8], end: End) {
    ctx.notify(notify::LIST, event(end, false), key);
    drop_if_empty(ctx, key);
}

/// LPOP and RPOP: one element (a bulk string), or with a count an array of up to that many.
fn pop(ctx: &mut Ctx, args: &[&[u8]], end: End) {
    if args.len() > 3 {
        let name = if end == End::Left { "lpop" } else { "rpop" };
        return ctx.reply.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match parse_i64(arg) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.reply.error("ERR value is out of range, must be positive"),
        },
    };
    let popped = match pop_some(ctx, args[1], end, count.unwrap_or(1)) {
        Lookup::WrongType => return,
        Lookup::Missing => return if count.is_some() { ctx.reply.null_array() } else { ctx.reply.null() },
        Lookup::Found(popped) => popped,
    };
    match (count, popped.first()) {
        (Some(_), _) => write_elements(ctx, &popped),
        (None, Some(element)) => ctx.reply.bulk(element),
        (None, None) => ctx.reply.null(),
    }
}

pub(crate) fn write_elements(ctx: &mut Ctx, elements: &[Vec<u8>]) {
    ctx.reply.array(elements.len());
    for element in elements {
        ctx.reply.bulk(element);
    }
}

fn lpop(ctx: &mut Ctx, args: &[&[u8]]) {
    pop(ctx, args, End::Left);
}

fn rpop(ctx: &mut Ctx, args: &[&[u8]]) {
    pop(ctx, args, End::Right);
}

fn llen(ctx: &mut Ctx, args: &[&[u8]]) {
    let len = match read_list(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(list) => list.len(),
    };
    ctx.reply.integer(len as i64);
}

/// Redis's index rules: negative counts from the end; the range is clamped to the list.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let stop = if stop < 0 { len + stop } else { stop.min(len - 1) };
    (start <= stop && start < len).then(|| (start as usize, stop as usize + 1))
}

/// Two integer arguments, or Redis's error.
fn two_ints(ctx: &mut Ctx, a: &[u8], b: &[u8]) -> Option<(i64, i64)> {
    match (parse_i64(a), parse_i64(b)) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => {
            ctx.reply.error(NOT_AN_INTEGER);
            None
        }
    }
}

/// LRANGE writes the elements straight from the list into the reply.
fn lrange(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((start, stop)) = two_ints(ctx, args[2], args[3]) else { return };
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.get(db, args[1], now).map(|e| e.value.as_list()) {
        None => ctx.reply.array(0),
        Some(None) => ctx.reply.error(WRONG_TYPE),
        Some(Some(list)) => match clamp_range(start, stop, list.len()) {
            Some((from, to)) => {
                ctx.reply.array(to - from);
                list.visit_range(from, to, |element| ctx.reply.bulk(element));
            }
            None => ctx.reply.array(0),
        },
    }
}

/// A list index (negative from the end) as a position, if inside a list of `len`.
fn position(index: i64, len: usize) -> Option<usize> {
    let index = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&index).then_some(index as usize)
}

fn lindex(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(index) = int_arg(ctx, args[2]) else { return };
    let element = match read_list(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => None,
        Lookup::Found(list) => position(index, list.len()).and_then(|at| list.get(at)).map(<[u8]>::to_vec),
    };
    match element {
        Some(element) => ctx.reply.bulk(&element),
        None => ctx.reply.null(),
    }
}

fn lset(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(index) = int_arg(ctx, args[2]) else { return };
    let limits = limits(ctx);
    match write_list(ctx, args[1]) {
        Lookup::WrongType => {}
        Lookup::Missing => ctx.reply.error(super::NO_SUCH_KEY),
        Lookup::Found(list) => match position(index, list.len()) {
            Some(at) => {
                list.set(at, args[3], &limits);
                ctx.notify(notify::LIST, "lset", args[1]);
                ctx.reply.ok();
            }
            None => ctx.reply.error("ERR index out of range"),
        },
    }
}

fn linsert(ctx: &mut Ctx, args: &[&[u8]]) {
    let after = match args[2] {
        w if is(w, "AFTER") => true,
        w if is(w, "BEFORE") => false,
        _ => return ctx.reply.error(SYNTAX_ERROR),
    };
    let (pivot, element) = (args[3], args[4]);
    let limits = limits(ctx);
    let len = match write_list(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(list) => match { list.iter().position(|e| e == pivot) } {
            Some(at) => {
                list.insert(at + usize::from(after), element, &limits);
                list.len() as i64
            }
            None => -1,
        },
    };
    if len > 0 {
        ctx.notify(notify::LIST, "linsert", args[1]);
    }
    ctx.reply.integer(len);
}

/// LREM key count element: `count` > 0 removes the first matches, < 0 the last, 0 all of them.
fn lrem(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(count) = int_arg(ctx, args[2]) else { return };
    let (key, element) = (args[1], args[3]);
    let limits = limits(ctx);
    let removed = match write_list(ctx, key) {
        Lookup::WrongType => return,
        Lookup::Missing => 0,
        Lookup::Found(list) => {
            let matches: Vec<usize> = list.iter().enumerate().filter(|(_, e)| *e == element).map(|(i, _)| i).collect();
            let limit = if count == 0 { matches.len() } else { (count.unsigned_abs() as usize).min(matches.len()) };
            let chosen: &[usize] = if count < 0 { &matches[matches.len() - limit..] } else { &matches[..limit] };
            if !chosen.is_empty() {
                let mut next = 0;
                list.retain(&limits, |i, _| {
                    if chosen.get(next) == Some(&i) {
                        next += 1;
                        false
                    } else {
                        true
                    }
                });
            }
            chosen.len()
        }
    };
    if removed > 0 {
        ctx.notify(notify::LIST, "lrem", key);
        drop_if_empty(ctx, key);
    }
    ctx.reply.integer(removed as i64);
}

fn ltrim(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((start, stop)) = two_ints(ctx, args[2], args[3]) else { return };
    let key = args[1];
    match write_list(ctx, key) {
        Lookup::WrongType => return,
        Lookup::Missing => {}
        Lookup::Found(list) => {
            match clamp_range(start, stop, list.len()) {
                Some((from, to)) => list.trim(from, to),
                None => list.trim(0, 0),
            }
            ctx.notify(notify::LIST, "ltrim", key);
            drop_if_empty(ctx, key);
        }
    }
    ctx.reply.ok();
}

/// LPOS's options.
struct PosOptions {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn parse_pos_options(ctx: &mut Ctx, options: &[&[u8]]) -> Option<PosOptions> {
    let mut parsed = PosOptions { rank: 1, count: None, maxlen: 0 };
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let Some(value) = rest.next() else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        };
        let number = int_arg(ctx, value)?;
        if is(option, "RANK") {
            if number == 0 {
                ctx.reply.error("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                return None;
            }
            parsed.rank = number;
        } else if is(option, "COUNT") {
            if number < 0 {
                ctx.reply.error("ERR COUNT can't be negative");
                return None;
            }
            parsed.count = Some(number as usize);
        } else if is(option, "MAXLEN") {
            if number < 0 {
                ctx.reply.error("ERR MAXLEN can't be negative");
                return None;
            }
            parsed.maxlen = number as usize;
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
    }
    Some(parsed)
}

/// LPOS: positions of `element`, from the head (positive RANK) or the tail (negative), skipping
/// the first |RANK|-1 matches, comparing at most MAXLEN elements.
fn lpos(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(options) = parse_pos_options(ctx, &args[3..]) else { return };
    let element = args[2];
    let found: Vec<usize> = match read_list(ctx, args[1]) {
        Lookup::WrongType => return,
        Lookup::Missing => Vec::new(),
        Lookup::Found(list) => {
            let wanted = match options.count {
                Some(0) => usize::MAX,
                Some(n) => n,
                None => 1,
            };
            let scanned = if options.maxlen == 0 { list.len() } else { options.maxlen.min(list.len()) };
            let skip = (options.rank.unsigned_abs() - 1) as usize;
            let matches = |(i, e): (usize, &[u8])| (e == element).then_some(i);
            if options.rank > 0 {
                list.iter().take(scanned).enumerate().filter_map(matches).skip(skip).take(wanted).collect()
            } else {
                let len = list.len();
                list.iter_rev().take(scanned).enumerate().map(|(i, e)| (len - 1 - i, e)).filter_map(matches).skip(skip).take(wanted).collect()
            }
        }
    };
    match (options.count, found.first()) {
        (Some(_), _) => {
            ctx.reply.array(found.len());
            for at in found {
                ctx.reply.integer(at as i64);
            }
        }
        (None, Some(at)) => ctx.reply.integer(*at as i64),
        (None, None) => ctx.reply.null(),
    }
}

/// Moves one element from `from`'s `from_end` to `to`'s `to_end`. Checks both keys' types first
/// (answering WRONGTYPE). Returns the element, `Some(None)` when `from` is missing, `None` after an
/// error.
pub(crate) fn move_element(ctx: &mut Ctx, from: &[u8], to: &[u8], from_end: End, to_end: End) -> Option<Option<Vec<u8>>> {
    match write_list(ctx, from) {
        Lookup::WrongType => return None,
        Lookup::Missing => return Some(None),
        Lookup::Found(_) => {}
    }
    if let Lookup::WrongType = write_list(ctx, to) {
        return None;
    }
    // As in Redis: the push (and the destination's creation) is told before the pop, and an
    // emptied source goes last, so moving a list's last element onto itself keeps the key.
    let element = take_some(ctx, from, from_end, 1).pop()?;
    push(ctx, to, &[&element], to_end, false)?;
    popped_from(ctx, from, from_end);
    Some(Some(element))
}

fn reply_moved(ctx: &mut Ctx, moved: Option<Option<Vec<u8>>>) {
    match moved {
        None => {}
        Some(Some(element)) => ctx.reply.bulk(&element),
        Some(None) => ctx.reply.null(),
    }
}

fn lmove(ctx: &mut Ctx, args: &[&[u8]]) {
    let (Some(from_end), Some(to_end)) = (End::parse(args[3]), End::parse(args[4])) else {
        return ctx.reply.error(SYNTAX_ERROR);
    };
    let moved = move_element(ctx, args[1], args[2], from_end, to_end);
    reply_moved(ctx, moved);
}

fn rpoplpush(ctx: &mut Ctx, args: &[&[u8]]) {
    let moved = move_element(ctx, args[1], args[2], End::Right, End::Left);
    reply_moved(ctx, moved);
}

/// LMPOP's and BLMPOP's arguments after the numkeys position: the keys, the end, the count.
pub(crate) struct MultiPop<'a> {
    pub keys: Vec<&'a [u8]>,
    pub end: End,
    pub count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]`, answering Redis's errors.
pub(crate) fn parse_multi_pop<'a>(ctx: &mut Ctx, args: &[&'a [u8]]) -> Option<MultiPop<'a>> {
    let numkeys = match parse_i64(args[0]) {
        Some(n) if n > 0 => n as usize,
        _ => {
            ctx.reply.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    if numkeys >= args.len() {
        ctx.reply.error(SYNTAX_ERROR);
        return None;
    }
    let keys = args[1..=numkeys].to_vec();
    let rest = &args[numkeys + 1..];
    let end = rest.first().and_then(|arg| End::parse(arg));
    let count = match (end, &rest[1.min(rest.len())..]) {
        (Some(_), []) => Some(1),
        (Some(_), [word, count]) if is(word, "COUNT") => match parse_i64(count) {
            Some(n) if n > 0 => Some(n as usize),
            _ => {
                ctx.reply.error("ERR count should be greater than 0");
                return None;
            }
        },
        _ => None,
    };
    match (end, count) {
        (Some(end), Some(count)) => Some(MultiPop { keys, end, count }),
        _ => {
            ctx.reply.error(SYNTAX_ERROR);
            None
        }
    }
}

/// Pops from the first non-empty list among `keys` and answers `[key, [elements]]`. Returns
/// false, answering nothing, when every list is empty (or after WRONGTYPE, answered).
pub(crate) fn multi_pop(ctx: &mut Ctx, request: &MultiPop) -> bool {
    for key in &request.keys {
        match pop_some(ctx, key, request.end, request.count) {
            Lookup::WrongType => return true,
            Lookup::Missing => continue,
            Lookup::Found(popped) => {
                ctx.reply.array(2);
                ctx.reply.bulk(key);
                write_elements(ctx, &popped);
                return true;
            }
        }
    }
    false
}

fn lmpop(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(request) = parse_multi_pop(ctx, &args[1..]) else { return };
    if !multi_pop(ctx, &request) {
        ctx.reply.null_array();
    }
}

#[cfg(test)]
mod tests;
