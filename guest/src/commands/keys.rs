//! Commands about keys rather than their values: existence, names, types, moving keys between
//! names and databases, and whole databases.

use super::{Command, Ctx, Flag, DB_OUT_OF_RANGE, NO_SUCH_KEY, NOT_AN_INTEGER, SYNTAX_ERROR, is, parse_i64};
use crate::glob;
use crate::notify;
use crate::keyspace::Key;

pub const COMMANDS: &[Command] = &[
    Command::new("del", -2, del).flags(&[Flag::Write]).keys(1, -1, 1).group("generic")
        .doc("Deletes one or more keys.", "1.0.0", "O(N) where N is the number of keys that will be removed.", "key [key ...]"),
    Command::new("unlink", -2, del).flags(&[Flag::Write, Flag::Fast]).keys(1, -1, 1).group("generic")
        .doc("Asynchronously deletes one or more keys.", "4.0.0", "O(1) for each key removed regardless of its size.", "key [key ...]"),
    Command::new("exists", -2, exists).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, -1, 1).group("generic")
        .doc("Determines whether one or more keys exist.", "1.0.0", "O(N) where N is the number of keys to check.", "key [key ...]"),
    Command::new("touch", -2, touch).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, -1, 1).group("generic")
        .doc("Returns the number of existing keys out of those specified after updating the time they were last accessed.", "3.2.1", "O(N) where N is the number of keys that will be touched.", "key [key ...]"),
    Command::new("type", 2, type_of).flags(&[Flag::ReadOnly, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Determines the type of value stored at a key.", "1.0.0", "O(1)", "key"),
    Command::new("keys", 2, keys).flags(&[Flag::ReadOnly]).group("generic")
        .doc("Returns all key names that match a pattern.", "1.0.0", "O(N) with N being the number of keys in the database.", "pattern"),
    Command::new("scan", -2, scan).flags(&[Flag::ReadOnly]).group("generic")
        .doc("Iterates over the key names in the database.", "2.8.0", "O(1) for every call. O(N) for a complete iteration.", "cursor [MATCH pattern] [COUNT count] [TYPE type]"),
    Command::new("randomkey", 1, randomkey).flags(&[Flag::ReadOnly]).group("generic")
        .doc("Returns a random key name from the database.", "1.0.0", "O(1)", ""),
    Command::new("rename", 3, rename).flags(&[Flag::Write]).keys(1, 2, 1).group("generic")
        .doc("Renames a key and overwrites the destination.", "1.0.0", "O(1)", "key newkey"),
    Command::new("renamenx", 3, renamenx).flags(&[Flag::Write, Flag::Fast]).keys(1, 2, 1).group("generic")
        .doc("Renames a key only when the target key name doesn't exist.", "1.0.0", "O(1)", "key newkey"),
    Command::new("copy", -3, copy).flags(&[Flag::Write, Flag::DenyOom]).keys(1, 2, 1).group("generic")
        .doc("Copies the value of a key to a new key.", "6.2.0", "O(N) worst case for collections, where N is the number of nested items.", "source destination [DB destination-db] [REPLACE]"),
    Command::new("move", 3, move_key).flags(&[Flag::Write, Flag::Fast]).keys(1, 1, 1).group("generic")
        .doc("Moves a key to another database.", "1.0.0", "O(1)", "key db"),
    Command::new("dbsize", 1, dbsize).flags(&[Flag::ReadOnly, Flag::Fast]).group("server")
        .doc("Returns the number of keys in the database.", "1.0.0", "O(1)", ""),
    Command::new("flushdb", -1, flushdb).flags(&[Flag::Write]).group("server")
        .doc("Removes all keys from the current database.", "1.0.0", "O(N) where N is the number of keys in the selected database", "[ASYNC | SYNC]"),
    Command::new("flushall", -1, flushall).flags(&[Flag::Write]).group("server")
        .doc("Removes all keys from all databases.", "1.0.0", "O(N) where N is the total number of keys in all databases", "[ASYNC | SYNC]"),
    Command::new("swapdb", 3, swapdb).flags(&[Flag::Write, Flag::Fast]).group("server")
        .doc("Swaps two Redis databases.", "4.0.0", "O(N) where N is the count of clients watching or blocking on keys from both databases.", "index1 index2"),
];

fn del(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let mut removed = 0;
    for key in &args[1..] {
        if ctx.keyspace.delete(db, key, now) {
            ctx.notify(notify::GENERIC, "del", key);
            removed += 1;
        }
    }
    ctx.reply.integer(removed);
}

/// EXISTS and TOUCH: how many of the named keys exist, a key named twice counting twice.
fn exists(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let mut found = 0;
    for key in &args[1..] {
        if ctx.keyspace.contains(db, key, now) {
            found += 1;
        } else {
            ctx.notify(notify::KEY_MISS, "keymiss", key);
        }
    }
    ctx.reply.integer(found);
}

/// TOUCH: EXISTS that counts as using the keys (their LRU/LFU data is updated), even for a client
/// in CLIENT NO-TOUCH mode.
fn touch(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    ctx.keyspace.set_touches(true);
    let mut found = 0;
    for key in &args[1..] {
        if ctx.keyspace.lookup(db, key, now).is_some() {
            found += 1;
        } else {
            ctx.notify(notify::KEY_MISS, "keymiss", key);
        }
    }
    ctx.reply.integer(found);
}

fn type_of(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let name = ctx.keyspace.lookup(db, args[1], now).map(|e| e.value.type_name());
    if name.is_none() {
        ctx.notify(notify::KEY_MISS, "keymiss", args[1]);
    }
    ctx.reply.simple(name.unwrap_or("none"));
}

fn keys(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now, pattern) = (ctx.db(), ctx.now_ms(), args[1]);
    let everything = pattern == b"*";
    let matching: Vec<Key> =
        ctx.keyspace.keys(db, now).filter(|key| everything || glob::matches(pattern, key, false)).cloned().collect();
    ctx.reply.array(matching.len());
    for key in &matching {
        ctx.reply.bulk(key);
    }
}

/// SCAN's options after the cursor.
pub(super) struct ScanOptions<'a> {
    pub pattern: Option<&'a [u8]>,
    pub count: usize,
    pub type_name: Option<&'a [u8]>,
}

/// SCAN's options; SSCAN and the other collection scans share them.
pub(super) fn parse_scan_options<'a>(ctx: &mut Ctx, options: &[&'a [u8]]) -> Option<ScanOptions<'a>> {
    let mut parsed = ScanOptions { pattern: None, count: 10, type_name: None };
    for pair in options.chunks(2) {
        let [option, value] = pair else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        };
        if is(option, "MATCH") {
            parsed.pattern = (*value != b"*").then_some(*value);
        } else if is(option, "COUNT") {
            match parse_i64(value) {
                None => {
                    ctx.reply.error(NOT_AN_INTEGER);
                    return None;
                }
                Some(count) if count < 1 => {
                    ctx.reply.error(SYNTAX_ERROR);
                    return None;
                }
                Some(count) => parsed.count = count.min(1 << 20) as usize,
            }
        } else if is(option, "TYPE") {
            parsed.type_name = Some(value);
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
    }
    Some(parsed)
}

/// A SCAN cursor: an unsigned 64-bit number, or the reply Redis gives for a bad one.
pub(super) fn scan_cursor(ctx: &mut Ctx, arg: &[u8]) -> Option<u64> {
    let cursor = std::str::from_utf8(arg).ok().and_then(|c| c.parse::<u64>().ok());
    if cursor.is_none() {
        ctx.reply.error("ERR invalid cursor");
    }
    cursor
}

fn scan(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(cursor) = scan_cursor(ctx, args[1]) else { return };
    let Some(options) = parse_scan_options(ctx, &args[2..]) else { return };
    let (db, now) = (ctx.db(), ctx.now_ms());
    let (next, found) = ctx.keyspace.scan(db, cursor, options.count, now);
    let keep = |ctx: &mut Ctx, key: &Key| {
        let pattern_ok = options.pattern.is_none_or(|p| glob::matches(p, key, false));
        let type_ok = options.type_name.is_none_or(|wanted| {
            ctx.keyspace.lookup(db, key, now).is_some_and(|e| e.value.type_name().as_bytes().eq_ignore_ascii_case(wanted))
        });
        pattern_ok && type_ok
    };
    let mut kept = Vec::with_capacity(found.len());
    for key in found {
        if keep(ctx, &key) {
            kept.push(key);
        }
    }
    ctx.reply.array(2);
    ctx.reply.bulk(next.to_string().as_bytes());
    ctx.reply.array(kept.len());
    for key in &kept {
        ctx.reply.bulk(key);
    }
}

fn randomkey(ctx: &mut Ctx, _args: &[&[u8]]) {
    let (db, now) = (ctx.db(), ctx.now_ms());
    match ctx.keyspace.random_key(db, ctx.rng, now) {
        Some(key) => ctx.reply.bulk(&key),
        None => ctx.reply.null(),
    }
}

/// Moves `from` to `to` in the current database. With `only_if_free`, a taken destination leaves
/// everything as it was. Returns whether the key moved; replies `ERR no such key` itself.
fn move_name(ctx: &mut Ctx, from: &[u8], to: &[u8], only_if_free: bool) -> Option<bool> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    if !ctx.keyspace.contains(db, from, now) {
        ctx.reply.error(NO_SUCH_KEY);
        return None;
    }
    if from == to {
        return Some(!only_if_free);
    }
    if only_if_free && ctx.keyspace.contains(db, to, now) {
        return Some(false);
    }
    // A destination that exists is deleted first: the key arrives as a new one, as in Redis.
    let entry = ctx.keyspace.take(db, from, now)?;
    ctx.keyspace.remove(db, to);
    ctx.keyspace.put(db, to, entry);
    ctx.notify(notify::GENERIC, "rename_from", from);
    ctx.notify(notify::GENERIC, "rename_to", to);
    Some(true)
}

fn rename(ctx: &mut Ctx, args: &[&[u8]]) {
    if move_name(ctx, args[1], args[2], false).is_some() {
        ctx.reply.ok();
    }
}

fn renamenx(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(moved) = move_name(ctx, args[1], args[2], true) {
        ctx.reply.integer(i64::from(moved));
    }
}

/// A database index argument: an integer within the configured number of databases. Replies
/// with Redis's error otherwise.
pub fn db_index(ctx: &mut Ctx, arg: &[u8]) -> Option<usize> {
    let Some(index) = parse_i64(arg) else {
        ctx.reply.error(NOT_AN_INTEGER);
        return None;
    };
    match usize::try_from(index) {
        Ok(index) if index < ctx.keyspace.databases() => Some(index),
        _ => {
            ctx.reply.error(DB_OUT_OF_RANGE);
            None
        }
    }
}

fn copy(ctx: &mut Ctx, args: &[&[u8]]) {
    let (from, to) = (args[1], args[2]);
    let mut target_db = ctx.db();
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(args[i], "REPLACE") {
            replace = true;
        } else if is(args[i], "DB") && i + 1 < args.len() {
            let Some(db) = db_index(ctx, args[i + 1]) else { return };
            target_db = db;
            i += 1;
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return;
        }
        i += 1;
    }
    let (db, now) = (ctx.db(), ctx.now_ms());
    if db == target_db && from == to {
        ctx.reply.error("ERR source and destination objects are the same");
        return;
    }
    let Some(entry) = ctx.keyspace.lookup_copy(db, from, now) else {
        // The source is read as a read command reads: a missing one is a miss.
        ctx.notify(notify::KEY_MISS, "keymiss", from);
        ctx.reply.integer(0);
        return;
    };
    if !replace && ctx.keyspace.contains(target_db, to, now) {
        ctx.reply.integer(0);
        return;
    }
    ctx.keyspace.remove(target_db, to);
    ctx.keyspace.put(target_db, to, entry);
    ctx.keyspace.events.note(notify::GENERIC, "copy_to", target_db, to);
    ctx.reply.integer(1);
}

fn move_key(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(target_db) = db_index(ctx, args[2]) else { return };
    let (db, now, key) = (ctx.db(), ctx.now_ms(), args[1]);
    if db == target_db {
        ctx.reply.error("ERR source and destination objects are the same");
        return;
    }
    if !ctx.keyspace.contains(db, key, now) || ctx.keyspace.contains(target_db, key, now) {
        ctx.reply.integer(0);
        return;
    }
    if let Some(entry) = ctx.keyspace.take(db, key, now) {
        ctx.keyspace.put(target_db, key, entry);
        ctx.keyspace.events.note(notify::GENERIC, "move_from", db, key);
        ctx.keyspace.events.note(notify::GENERIC, "move_to", target_db, key);
    }
    ctx.reply.integer(1);
}

fn dbsize(ctx: &mut Ctx, _args: &[&[u8]]) {
    let db = ctx.db();
    ctx.reply.integer(ctx.keyspace.len(db) as i64);
}

/// How FLUSHDB and FLUSHALL free what they remove.
#[derive(PartialEq)]
enum FlushMode {
    /// No option, or ASYNC: a big database is freed lazily, so other clients do not wait for it.
    Lazy,
    /// SYNC: everything is freed before the reply, as the client asked.
    Sync,
}

/// The optional ASYNC or SYNC of FLUSHDB and FLUSHALL, or `None` after answering a syntax error.
fn flush_mode(ctx: &mut Ctx, args: &[&[u8]]) -> Option<FlushMode> {
    match args {
        [_] => Some(FlushMode::Lazy),
        [_, mode] if is(mode, "ASYNC") => Some(FlushMode::Lazy),
        [_, mode] if is(mode, "SYNC") => Some(FlushMode::Sync),
        _ => {
            ctx.reply.error(SYNTAX_ERROR);
            None
        }
    }
}

/// Finishes a flush: with SYNC, frees everything waiting to be freed before answering.
fn flushed(ctx: &mut Ctx, mode: FlushMode) {
    if mode == FlushMode::Sync {
        ctx.keyspace.free_lazily(usize::MAX);
    }
    ctx.reply.ok();
}

fn flushdb(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(mode) = flush_mode(ctx, args) {
        let db = ctx.db();
        touch_watched_in(ctx, db, db);
        ctx.keyspace.flush(db);
        ctx.tracking.invalidate_everything();
        flushed(ctx, mode);
    }
}

fn flushall(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(mode) = flush_mode(ctx, args) {
        for db in 0..ctx.keyspace.databases() {
            touch_watched_in(ctx, db, db);
        }
        ctx.keyspace.flush_all();
        ctx.tracking.invalidate_everything();
        flushed(ctx, mode);
    }
}

fn swapdb(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(a) = parse_i64(args[1]) else {
        ctx.reply.error("ERR invalid first DB index");
        return;
    };
    let Some(b) = parse_i64(args[2]) else {
        ctx.reply.error("ERR invalid second DB index");
        return;
    };
    let databases = ctx.keyspace.databases();
    let (Some(a), Some(b)) = (usize::try_from(a).ok().filter(|a| *a < databases), usize::try_from(b).ok().filter(|b| *b < databases))
    else {
        ctx.reply.error(DB_OUT_OF_RANGE);
        return;
    };
    touch_watched_in(ctx, a, b);
    touch_watched_in(ctx, b, a);
    ctx.keyspace.swap(a, b);
    ctx.reply.ok();
}

/// Database `db`'s contents are replaced by `other`'s (or emptied, when `other` is `db`): a watched
/// key of `db` that exists in either changes, as Redis counts it.
fn touch_watched_in(ctx: &mut Ctx, db: usize, other: usize) {
    let now = ctx.now_ms();
    let keyspace = &mut *ctx.keyspace;
    ctx.watches.touch_db(db, |key| keyspace.contains(db, key, now) || keyspace.contains(other, key, now));
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    fn sorted_array(reply: &str) -> Vec<String> {
        let mut items: Vec<String> = reply.split("\r\n").skip(1).filter(|l| !l.starts_with('$') && !l.is_empty()).map(String::from).collect();
        items.sort();
        items
    }

    #[test]
    fn del_exists_type() {
        let mut c = Harness::new();
        c.run(&["MSET", "a", "1", "b", "2"]);
        assert_eq!(c.run(&["EXISTS", "a", "a", "z"]), ":2\r\n");
        assert_eq!(c.run(&["TOUCH", "a", "z"]), ":1\r\n");
        assert_eq!(c.run(&["TYPE", "a"]), "+string\r\n");
        assert_eq!(c.run(&["TYPE", "z"]), "+none\r\n");
        assert_eq!(c.run(&["DEL", "a", "b", "z"]), ":2\r\n");
        assert_eq!(c.run(&["UNLINK", "a"]), ":0\r\n");
        c.run(&["SET", "e", "v", "PX", "10"]);
        c.advance_ms(10);
        assert_eq!(c.run(&["DEL", "e"]), ":0\r\n", "an expired key is not counted as deleted");
    }

    #[test]
    fn keys_and_scan() {
        let mut c = Harness::new();
        c.run(&["MSET", "user:1", "a", "user:2", "b", "other", "c"]);
        assert_eq!(sorted_array(&c.run(&["KEYS", "user:*"])), vec!["user:1", "user:2"]);
        assert_eq!(sorted_array(&c.run(&["KEYS", "*"])).len(), 3);
        assert_eq!(c.run(&["KEYS", "nomatch*"]), "*0\r\n");
        assert_eq!(c.run(&["SCAN", "0", "COUNT", "100", "MATCH", "other"]), format!("*2\r\n{}*1\r\n{}", bulk("0"), bulk("other")));
        assert_eq!(c.run(&["SCAN", "0", "TYPE", "hash"]), format!("*2\r\n{}*0\r\n", bulk("0")));
        assert_eq!(c.run(&["SCAN", "x"]), "-ERR invalid cursor\r\n");
        assert_eq!(c.run(&["SCAN", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["SCAN", "0", "COUNT", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["SCAN", "0", "MATCH"]), "-ERR syntax error\r\n");
        // A full iteration in small steps sees every key.
        let mut seen = Vec::new();
        let mut cursor = "0".to_string();
        loop {
            let reply = c.run(&["SCAN", &cursor, "COUNT", "1"]);
            let lines: Vec<&str> = reply.split("\r\n").collect();
            cursor = lines[2].to_string();
            seen.extend(lines[4..].iter().filter(|l| !l.starts_with('$') && !l.is_empty()).map(|l| l.to_string()));
            if cursor == "0" {
                break;
            }
        }
        seen.sort();
        assert_eq!(seen, vec!["other", "user:1", "user:2"]);
    }

    #[test]
    fn randomkey() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["RANDOMKEY"]), "$-1\r\n");
        c.run(&["SET", "only", "v"]);
        assert_eq!(c.run(&["RANDOMKEY"]), bulk("only"));
    }

    #[test]
    fn rename_and_renamenx() {
        let mut c = Harness::new();
        c.run(&["SET", "a", "1", "EX", "100"]);
        c.run(&["SET", "b", "2"]);
        assert_eq!(c.run(&["RENAME", "missing", "x"]), "-ERR no such key\r\n");
        assert_eq!(c.run(&["RENAMENX", "a", "b"]), ":0\r\n");
        assert_eq!(c.run(&["RENAME", "a", "b"]), "+OK\r\n");
        assert_eq!(c.run(&["GET", "b"]), bulk("1"));
        assert_eq!(c.run(&["TTL", "b"]), ":100\r\n", "the TTL moves with the key");
        assert_eq!(c.run(&["RENAME", "b", "b"]), "+OK\r\n");
        assert_eq!(c.run(&["RENAMENX", "b", "b"]), ":0\r\n");
        assert_eq!(c.run(&["RENAMENX", "b", "c"]), ":1\r\n");
        assert_eq!(c.run(&["EXISTS", "b"]), ":0\r\n");
    }

    #[test]
    fn copy_and_move() {
        let mut c = Harness::new();
        c.run(&["SET", "src", "v", "EX", "50"]);
        assert_eq!(c.run(&["COPY", "src", "src"]), "-ERR source and destination objects are the same\r\n");
        assert_eq!(c.run(&["COPY", "missing", "dst"]), ":0\r\n");
        assert_eq!(c.run(&["COPY", "src", "dst"]), ":1\r\n");
        assert_eq!(c.run(&["TTL", "dst"]), ":50\r\n");
        assert_eq!(c.run(&["COPY", "src", "dst"]), ":0\r\n");
        assert_eq!(c.run(&["COPY", "src", "dst", "REPLACE"]), ":1\r\n");
        assert_eq!(c.run(&["COPY", "src", "src", "DB", "1"]), ":1\r\n");
        assert_eq!(c.run(&["COPY", "src", "x", "DB", "99"]), "-ERR DB index is out of range\r\n");
        assert_eq!(c.run(&["COPY", "src", "x", "BOGUS"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["MOVE", "dst", "0"]), "-ERR source and destination objects are the same\r\n");
        assert_eq!(c.run(&["MOVE", "dst", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["MOVE", "dst", "-1"]), "-ERR DB index is out of range\r\n");
        assert_eq!(c.run(&["MOVE", "src", "1"]), ":0\r\n", "the destination already has the key");
        assert_eq!(c.run(&["MOVE", "dst", "2"]), ":1\r\n");
        assert_eq!(c.run(&["MOVE", "dst", "2"]), ":0\r\n");
        assert_eq!(c.run(&["SELECT", "2"]), "+OK\r\n");
        assert_eq!(c.run(&["GET", "dst"]), bulk("v"));
    }

    #[test]
    fn databases() {
        let mut c = Harness::new();
        c.run(&["MSET", "a", "1", "b", "2"]);
        assert_eq!(c.run(&["DBSIZE"]), ":2\r\n");
        assert_eq!(c.run(&["SWAPDB", "0", "5"]), "+OK\r\n");
        assert_eq!(c.run(&["DBSIZE"]), ":0\r\n");
        assert_eq!(c.run(&["SWAPDB", "0", "16"]), "-ERR DB index is out of range\r\n");
        assert_eq!(c.run(&["SWAPDB", "0", "5"]), "+OK\r\n");
        assert_eq!(c.run(&["FLUSHDB", "LAZY"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["FLUSHDB", "async"]), "+OK\r\n");
        assert_eq!(c.run(&["DBSIZE"]), ":0\r\n");
        c.run(&["COPY", "x", "y"]);
        c.run(&["SET", "a", "1"]);
        c.run(&["COPY", "a", "a", "DB", "3"]);
        assert_eq!(c.run(&["FLUSHALL", "SYNC"]), "+OK\r\n");
        c.run(&["SELECT", "3"]);
        assert_eq!(c.run(&["DBSIZE"]), ":0\r\n");
    }
}
