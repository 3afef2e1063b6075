//! HyperLogLog commands: PFADD, PFCOUNT and PFMERGE on sketches stored as strings in Redis's own
//! layout (see [`crate::hyperloglog`]), so a sketch moves between cachet and Redis with GET and SET.

use super::{Command, Ctx, Flag, WRONG_TYPE};
use crate::notify;
use crate::hyperloglog::{self as hll, REGISTERS};
use crate::keyspace::Value;
use crate::resp::Reply;

pub const COMMANDS: &[Command] = &[
    Command::new("pfadd", -2, pfadd).flags(&[Flag::Write, Flag::DenyOom, Flag::Fast]).keys(1, 1, 1).group("hyperloglog")
        .doc("Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", "2.8.9",
            "O(1) to add every element.", "key [element [element ...]]"),
    Command::new("pfcount", -2, pfcount).flags(&[Flag::ReadOnly]).keys(1, -1, 1).group("hyperloglog")
        .doc("Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", "2.8.9",
            "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
            "key [key ...]"),
    Command::new("pfmerge", -2, pfmerge).flags(&[Flag::Write, Flag::DenyOom]).keys(1, -1, 1).group("hyperloglog")
        .doc("Merges one or more HyperLogLog values into a single key.", "2.8.9",
            "O(N) to merge N HyperLogLogs, but with high constant times.", "destkey [sourcekey [sourcekey ...]]"),
];

const NOT_A_SKETCH: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

/// Answers and returns false unless a value is a string holding a sketch's header.
fn check_sketch(reply: &mut Reply, value: &Value) -> bool {
    match value.as_string() {
        None => reply.error(WRONG_TYPE),
        Some(bytes) if !hll::is_sketch(bytes) => reply.error(NOT_A_SKETCH),
        Some(_) => return true,
    }
    false
}

fn pfadd(ctx: &mut Ctx, args: &[&[u8]]) {
    let (db, now, key, elements) = (ctx.db(), ctx.now_ms(), args[1], &args[2..]);
    let sparse_max = ctx.config.hll_sparse_max_bytes as usize;
    let Some(entry) = ctx.keyspace.lookup(db, key, now) else {
        let mut sketch = hll::empty();
        for element in elements {
            // A fresh sketch is never corrupt.
            let _ = hll::add(&mut sketch, element, sparse_max);
        }
        hll::invalidate_count(&mut sketch);
        ctx.keyspace.set(db, key, Value::String(sketch.into()), None, now);
        ctx.notify(notify::STRING, "pfadd", key);
        ctx.reply.integer(1);
        return;
    };
    if !check_sketch(&mut ctx.reply, &entry.value) {
        return;
    }
    // Elements already counted change nothing, and WATCH does not see a change.
    if !hll::would_grow(entry.value.as_bytes(), elements) {
        return ctx.reply.integer(0);
    }
    let Some(sketch) = ctx.keyspace.get_mut(db, key, now).and_then(|e| e.value.as_string_mut()) else { return };
    let added = sketch.edit_as_vec(|sketch| add_all(sketch, elements, sparse_max));
    match added {
        Ok(true) => {
            hll::invalidate_count(sketch);
            ctx.notify(notify::STRING, "pfadd", key);
        }
        Ok(false) => {}
        Err(hll::Corrupt) => return ctx.reply.error(CORRUPT),
    }
    ctx.reply.integer(i64::from(added == Ok(true)));
}

/// Adds `elements` to a sketch; whether any register grew. Stops at the first sign of corruption.
fn add_all(sketch: &mut Vec<u8>, elements: &[&[u8]], sparse_max: usize) -> Result<bool, hll::Corrupt> {
    let mut changed = false;
    for element in elements {
        changed |= hll::add(sketch, element, sparse_max)?;
    }
    Ok(changed)
}

fn pfcount(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() > 2 {
        return count_union(ctx, &args[1..]);
    }
    let (db, now) = (ctx.db(), ctx.now_ms());
    let Some(entry) = ctx.keyspace.get(db, args[1], now) else {
        return ctx.reply.integer(0);
    };
    if !check_sketch(&mut ctx.reply, &entry.value) {
        return;
    }
    // The count is cached in the sketch's header until an addition changes a register; writing
    // it there is a change of the key (WATCH sees it), as in Redis.
    if let Some(count) = hll::cached_count(entry.value.as_bytes()) {
        return ctx.reply.integer(count as i64);
    }
    let Some(sketch) = ctx.keyspace.get_mut(db, args[1], now).and_then(|e| e.value.as_string_mut()) else { return };
    match hll::count(sketch) {
        Ok(count) => {
            hll::store_count(sketch, count);
            ctx.reply.integer(count as i64);
        }
        Err(hll::Corrupt) => ctx.reply.error(CORRUPT),
    }
}

/// The registers of every sketch named, each at its highest; `None` after answering an error.
/// Missing keys count as empty sketches.
fn union(ctx: &mut Ctx, keys: &[&[u8]]) -> Option<(Box<[u8; REGISTERS]>, bool)> {
    let (db, now) = (ctx.db(), ctx.now_ms());
    let mut max = Box::new([0u8; REGISTERS]);
    let mut any_dense = false;
    for key in keys {
        let Some(entry) = ctx.keyspace.get(db, key, now) else { continue };
        if !check_sketch(&mut ctx.reply, &entry.value) {
            return None;
        }
        let sketch = entry.value.as_bytes();
        any_dense |= hll::is_dense(sketch);
        if hll::merge_into(&mut max, sketch).is_err() {
            ctx.reply.error(CORRUPT);
            return None;
        }
    }
    Some((max, any_dense))
}

/// PFCOUNT of several keys: the count of their union, changing none of them.
fn count_union(ctx: &mut Ctx, keys: &[&[u8]]) {
    if let Some((max, _)) = union(ctx, keys) {
        ctx.reply.integer(hll::count_registers(&max) as i64);
    }
}

/// PFMERGE: the destination (itself one of the sources) gets the union's registers; it turns
/// dense when any source is dense, and otherwise stays sparse while it fits.
fn pfmerge(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some((max, any_dense)) = union(ctx, &args[1..]) else { return };
    let (db, now, key) = (ctx.db(), ctx.now_ms(), args[1]);
    let sparse_max = ctx.config.hll_sparse_max_bytes as usize;
    if !ctx.keyspace.contains(db, key, now) {
        ctx.keyspace.set(db, key, Value::String(hll::empty().into()), None, now);
    }
    let Some(sketch) = ctx.keyspace.get_mut(db, key, now).and_then(|e| e.value.as_string_mut()) else { return };
    if sketch.edit_as_vec(|sketch| raise_to(sketch, &max, any_dense, sparse_max)).is_err() {
        return ctx.reply.error(CORRUPT);
    }
    hll::invalidate_count(sketch);
    ctx.notify(notify::STRING, "pfadd", key);
    ctx.reply.ok();
}

/// Raises a sketch's registers to `max`'s, making it dense first when `dense` says so.
fn raise_to(sketch: &mut Vec<u8>, max: &[u8; REGISTERS], dense: bool, sparse_max: usize) -> Result<(), hll::Corrupt> {
    if dense {
        hll::to_dense(sketch)?;
    }
    for (index, &value) in max.iter().enumerate().filter(|(_, value)| **value > 0) {
        // The destination was walked whole before, so raising its registers cannot fail.
        let _ = hll::set_register(sketch, index, value, sparse_max);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn pfadd_and_pfcount() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["PFADD", "h", "a", "b", "c"]), ":1\r\n");
        assert_eq!(c.run(&["PFADD", "h", "a"]), ":0\r\n");
        assert_eq!(c.run(&["PFCOUNT", "h"]), ":3\r\n");
        assert_eq!(c.run(&["PFCOUNT", "missing"]), ":0\r\n");
        assert_eq!(c.run(&["PFADD", "empty"]), ":1\r\n");
        assert_eq!(c.run(&["PFADD", "empty"]), ":0\r\n");
        assert_eq!(c.run(&["TYPE", "h"]), "+string\r\n");
    }

    #[test]
    fn pfcount_caches_its_count_until_a_register_changes() {
        let mut c = Harness::new();
        c.run(&["PFADD", "h", "a", "b", "c"]);
        let stale = c.run(&["GET", "h"]);
        assert_eq!(c.run(&["PFCOUNT", "h"]), ":3\r\n");
        assert_ne!(c.run(&["GET", "h"]), stale, "the count is written into the header");
        assert_eq!(c.run(&["PFCOUNT", "h"]), ":3\r\n");
        c.run(&["PFADD", "h", "d"]);
        assert_eq!(c.run(&["PFCOUNT", "h"]), ":4\r\n");
    }

    #[test]
    fn union_and_merge() {
        let mut c = Harness::new();
        c.run(&["PFADD", "a", "1", "2", "3"]);
        c.run(&["PFADD", "b", "3", "4"]);
        let before = c.run(&["GET", "a"]);
        assert_eq!(c.run(&["PFCOUNT", "a", "b", "missing"]), ":4\r\n");
        assert_eq!(c.run(&["GET", "a"]), before, "counting a union changes no key");
        assert_eq!(c.run(&["PFMERGE", "d", "a", "b"]), "+OK\r\n");
        assert_eq!(c.run(&["PFCOUNT", "d"]), ":4\r\n");
        assert_eq!(c.run(&["PFMERGE", "e"]), "+OK\r\n");
        assert_eq!(c.run(&["PFCOUNT", "e"]), ":0\r\n");
    }

    #[test]
    fn other_values_are_refused() {
        let mut c = Harness::new();
        c.run(&["SET", "s", "not a sketch at all"]);
        let refused = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
        assert_eq!(c.run(&["PFADD", "s", "x"]), refused);
        assert_eq!(c.run(&["PFCOUNT", "s"]), refused);
        assert_eq!(c.run(&["PFCOUNT", "s", "t"]), refused);
        assert_eq!(c.run(&["PFMERGE", "d", "s"]), refused);
        c.run_bytes(&[b"SET", b"broken", b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x80"]);
        let corrupt = "-INVALIDOBJ Corrupted HLL object detected\r\n";
        assert_eq!(c.run(&["PFCOUNT", "broken"]), corrupt);
        assert_eq!(c.run(&["PFCOUNT", "broken", "x"]), corrupt);
        assert_eq!(c.run(&["PFMERGE", "d", "broken"]), corrupt);
        assert_eq!(c.run(&["PFADD", "broken", "x"]), corrupt);
        assert_eq!(c.run(&["GET", "d"]), "$-1\r\n");
    }

    #[test]
    fn a_sketch_turns_dense_past_hll_sparse_max_bytes() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["CONFIG", "GET", "hll-sparse-max-bytes"]), format!("*2\r\n{}{}", bulk("hll-sparse-max-bytes"), bulk("3000")));
        assert_eq!(c.run(&["CONFIG", "SET", "hll-sparse-max-bytes", "100"]), "+OK\r\n");
        let elements: Vec<String> = (0..200).map(|i| format!("e{i}")).collect();
        let mut args = vec!["PFADD", "h"];
        args.extend(elements.iter().map(String::as_str));
        c.run(&args);
        assert_eq!(c.run(&["STRLEN", "h"]), ":12304\r\n");
    }
}
