//! Bitmaps and HyperLogLog against a real `cachet serve` process and Debian's redis-server 7.0.15:
//! every bitmap command and its errors replied byte for byte as Redis replies, a seeded random
//! walk through their ranges and overflow rules, and HyperLogLog sketches that are the same bytes
//! on both servers and move between them with GET and SET.

mod common;

use common::{Redis, Server, assert_same_as_redis};
use redis::Commands;

/// Bitmap commands, their documented examples and every error text.
#[test]
fn bitmap_commands_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SETBIT", "b", "7", "1"],
        &["SETBIT", "b", "7", "0"],
        &["SETBIT", "b", "100", "1"],
        &["GETBIT", "b", "100"],
        &["GETBIT", "b", "99"],
        &["GETBIT", "b", "100000"],
        &["GETBIT", "missing", "3"],
        &["GET", "b"],
        &["STRLEN", "b"],
        &["SETBIT", "b", "-1", "1"],
        &["SETBIT", "b", "x", "1"],
        &["SETBIT", "b", "4294967296", "1"],
        &["SETBIT", "b", "1", "2"],
        &["SETBIT", "b", "1", "-1"],
        &["SETBIT", "b", "1", "one"],
        &["SETBIT", "b", "#1", "1"],
        &["GETBIT", "b", "#1"],
        &["GETBIT", "b", "4294967296"],
        &["SETBIT", "b", "1"],
        // BITCOUNT, with the documentation's examples.
        &["SET", "mykey", "foobar"],
        &["BITCOUNT", "mykey"],
        &["BITCOUNT", "mykey", "0", "0"],
        &["BITCOUNT", "mykey", "1", "1"],
        &["BITCOUNT", "mykey", "1", "1", "BYTE"],
        &["BITCOUNT", "mykey", "5", "30", "BIT"],
        &["BITCOUNT", "mykey", "-3", "-1", "bit"],
        &["BITCOUNT", "mykey", "-1", "-3"],
        &["BITCOUNT", "mykey", "-1", "-3", "NOPE"],
        &["BITCOUNT", "mykey", "2", "1", "NOPE"],
        &["BITCOUNT", "mykey", "0"],
        &["BITCOUNT", "mykey", "0", "1", "BIT", "x"],
        &["BITCOUNT", "mykey", "a", "1"],
        &["BITCOUNT", "mykey", "0", "b"],
        &["BITCOUNT", "missing", "a"],
        &["BITCOUNT", "missing", "0", "1", "BIT", "x"],
        &["BITCOUNT", "mykey", "100", "200"],
        &["BITCOUNT", "mykey", "-100", "100", "BIT"],
        // BITPOS, with the documentation's examples.
        &["SET", "mykey", "\u{7f}"],
        &["SETRANGE", "p", "0", "\u{0}\u{7f}\u{7f}"],
        &["BITPOS", "mykey", "0"],
        &["BITPOS", "p", "1"],
        &["BITPOS", "p", "1", "2"],
        &["BITPOS", "p", "1", "2", "-1", "BYTE"],
        &["BITPOS", "p", "1", "7", "15", "BIT"],
        &["BITPOS", "p", "0", "7", "15", "BIT"],
        &["BITPOS", "p", "0", "9", "-1", "bit"],
        &["BITPOS", "missing", "0"],
        &["BITPOS", "missing", "1"],
        &["BITPOS", "missing", "2"],
        &["BITPOS", "p", "2"],
        &["BITPOS", "p", "x"],
        &["BITPOS", "p", "1", "x"],
        &["BITPOS", "p", "1", "0", "x"],
        &["BITPOS", "p", "1", "0", "1", "WORD"],
        &["BITPOS", "p", "1", "x", "1", "WORD"],
        &["BITPOS", "p", "1", "0", "x", "WORD"],
        &["BITPOS", "p", "1", "0", "1", "BIT", "x"],
        &["BITPOS", "p", "1", "5", "2"],
        &["BITPOS", "p", "0", "100"],
        &["SET", "ones", "\u{7f}\u{7f}"],
        &["SETBIT", "ones", "0", "1"],
        &["SETBIT", "ones", "8", "1"],
        &["BITPOS", "ones", "0"],
        &["BITPOS", "ones", "0", "1"],
        &["BITPOS", "ones", "0", "0", "-1"],
        &["BITPOS", "ones", "0", "3", "12", "BIT"],
        &["SET", "empty", ""],
        &["BITPOS", "empty", "0"],
        &["BITPOS", "empty", "1"],
        &["BITCOUNT", "empty"],
        // BITOP, with the documentation's example.
        &["SET", "key1", "foobar"],
        &["SET", "key2", "abcdef"],
        &["BITOP", "AND", "dest", "key1", "key2"],
        &["GET", "dest"],
        &["BITOP", "or", "dest", "key1", "key2", "missing"],
        &["GET", "dest"],
        &["SET", "short", "ab"],
        &["BITOP", "XOR", "dest", "key1", "short"],
        &["GET", "dest"],
        &["BITOP", "AND", "dest", "key1", "short"],
        &["GET", "dest"],
        &["BITOP", "NOT", "dest", "key1"],
        &["GET", "dest"],
        &["BITOP", "NOT", "dest", "key1", "key2"],
        &["BITOP", "NAND", "dest", "key1"],
        &["BITOP", "AND", "dest"],
        &["EXPIRE", "dest", "100"],
        &["BITOP", "OR", "dest", "key1"],
        &["TTL", "dest"],
        &["BITOP", "AND", "dest", "missing", "missing2"],
        &["EXISTS", "dest"],
        &["BITOP", "AND", "key1", "key1", "short"],
        &["GET", "key1"],
        // Bit commands on integers read their digits.
        &["SET", "n", "12345"],
        &["BITCOUNT", "n"],
        &["SETBIT", "n", "7", "0"],
        &["GET", "n"],
        // Growth stops at proto-max-bulk-len.
        &["CONFIG", "SET", "proto-max-bulk-len", "1mb"],
        &["SETBIT", "big", "8388608", "1"],
        &["BITFIELD", "big", "SET", "u8", "8388608", "1"],
        &["BITFIELD", "big", "SET", "u8", "#1048576", "1"],
        &["SETBIT", "big", "8388607", "1"],
        &["STRLEN", "big"],
        &["BITCOUNT", "big"],
        &["BITPOS", "big", "1"],
        &["BITPOS", "big", "0", "-1"],
        &["BITFIELD", "big", "GET", "u4", "8388604", "GET", "i8", "8388604"],
        &["CONFIG", "SET", "proto-max-bulk-len", "512mb"],
    ]);
}

/// BITFIELD and BITFIELD_RO, with the documentation's examples, every type width's edge and every
/// error.
#[test]
fn bitfield_replies_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["BITFIELD", "mykey", "INCRBY", "i5", "100", "1", "GET", "u4", "0"],
        &["BITFIELD", "mystring", "SET", "i8", "#0", "100", "SET", "i8", "#1", "200"],
        &["BITFIELD", "mystring", "GET", "i8", "#0", "GET", "i8", "#1"],
        &["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"],
        &["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"],
        &["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"],
        &["BITFIELD", "mykey", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"],
        &["BITFIELD", "mykey", "OVERFLOW", "FAIL", "incrby", "u2", "102", "1"],
        &["GET", "mykey"],
        &["BITFIELD", "w", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1"],
        &["BITFIELD", "w", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "1", "INCRBY", "i64", "0", "-9223372036854775808"],
        &["BITFIELD", "w", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "9223372036854775807", "GET", "i64", "0"],
        &["BITFIELD", "w", "SET", "u63", "1", "-1", "GET", "u63", "1", "GET", "u1", "0", "GET", "i1", "63"],
        &["BITFIELD", "w", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "SET", "i8", "8", "-1000", "SET", "i8", "16", "1000"],
        &["BITFIELD", "w", "OVERFLOW", "FAIL", "SET", "u8", "0", "256", "SET", "i8", "8", "127", "SET", "i8", "16", "128"],
        &["BITFIELD", "w", "OVERFLOW", "WRAP", "SET", "u8", "0", "257", "SET", "i8", "8", "-129", "INCRBY", "u3", "13", "-9"],
        &["GET", "w"],
        &["BITFIELD", "w", "GET", "i64", "#3", "GET", "u5", "#1000", "GET", "i7", "3"],
        &["BITFIELD", "grown", "OVERFLOW", "FAIL", "INCRBY", "u8", "#3", "300"],
        &["GET", "grown"],
        &["BITFIELD", "missing"],
        &["BITFIELD", "missing", "GET", "u8", "0"],
        &["EXISTS", "missing"],
        &["BITFIELD", "missing", "OVERFLOW", "SAT"],
        &["BITFIELD_RO", "w", "GET", "i8", "0", "GET", "u3", "5"],
        &["BITFIELD_RO", "w", "GET", "i8", "0", "SET", "u3", "5", "1"],
        &["BITFIELD_RO", "w", "OVERFLOW", "SAT", "GET", "i8", "0"],
        &["BITFIELD_RO", "w", "INCRBY", "i8", "0"],
        &["BITFIELD", "w", "GET", "u64", "0"],
        &["BITFIELD", "w", "GET", "i65", "0"],
        &["BITFIELD", "w", "GET", "i0", "0"],
        &["BITFIELD", "w", "GET", "I8", "0"],
        &["BITFIELD", "w", "GET", "x8", "0"],
        &["BITFIELD", "w", "GET", "i08", "0"],
        &["BITFIELD", "w", "GET", "i8", "-1"],
        &["BITFIELD", "w", "GET", "i8", "#-1"],
        &["BITFIELD", "w", "GET", "i8", "#"],
        &["BITFIELD", "w", "GET", "i8", "4294967296"],
        &["BITFIELD", "w", "GET", "i8", "#536870912"],
        &["BITFIELD", "w", "GET", "i8"],
        &["BITFIELD", "w", "SET", "i8", "0"],
        &["BITFIELD", "w", "SET", "i8", "0", "x"],
        &["BITFIELD", "w", "INCRBY", "i8", "0", "1.5"],
        &["BITFIELD", "w", "OVERFLOW"],
        &["BITFIELD", "w", "OVERFLOW", "CLAMP", "GET", "i8", "0"],
        &["BITFIELD", "w", "FETCH", "i8", "0"],
        &["BITFIELD", "w", "GET", "i8", "0", "SET", "i8", "0", "1", "GET", "x", "0"],
        &["BITFIELD"],
    ]);
}

/// Bit and HyperLogLog commands on other values, and string commands on bitmaps and sketches.
#[test]
fn wrong_values_are_refused_as_redis_refuses_them() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SET", "s", "a plain string"],
        &["PFADD", "s", "x"],
        &["PFCOUNT", "s"],
        &["PFCOUNT", "s", "missing"],
        &["PFMERGE", "d", "s"],
        &["PFMERGE", "s", "missing"],
        &["SET", "n", "1234567890123456789"],
        &["PFADD", "n", "x"],
        &["SET", "short", "HYLL"],
        &["PFCOUNT", "short"],
        &["SET", "enc", "HYLL\u{2}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}"],
        &["PFCOUNT", "enc"],
        &["SET", "dense", "HYLL\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{7f}"],
        &["PFCOUNT", "dense"],
        // Sparse opcodes that cover too few registers, and too many.
        &["SET", "few", "HYLL\u{1}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{7f}~"],
        &["PFCOUNT", "few"],
        &["PFCOUNT", "few", "missing"],
        &["PFMERGE", "d", "few"],
        &["EXISTS", "d"],
        &["SET", "many", "HYLL\u{1}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{7f}\u{7f}???"],
        &["PFCOUNT", "many"],
        &["PFADD", "many", "a"],
        // String commands work on sketches and bitmaps: they are strings.
        &["PFADD", "h", "a", "b"],
        &["TYPE", "h"],
        &["STRLEN", "h"],
        &["APPEND", "h", "tail"],
        &["PFCOUNT", "h"],
        &["SETBIT", "bits", "3", "1"],
        &["INCR", "bits"],
        &["GETRANGE", "bits", "0", "-1"],
        &["PFADD", "h2"],
        &["GET", "h2"],
        &["PFADD", "h2"],
        &["PFCOUNT"],
        &["PFADD"],
        &["PFMERGE"],
    ]);
}

/// WATCH sees exactly the changes Redis signals: SETBIT and BITFIELD writes even when no bit
/// changes, PFADD only when a register grows, PFCOUNT only when it caches a new count.
#[test]
fn watch_sees_the_changes_redis_signals() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let watched = |setup: &'static [&'static str], change: &'static [&'static str]| -> Vec<&'static [&'static str]> {
        vec![setup, &["WATCH", "k"], change, &["MULTI"], &["PING"], &["EXEC"], &["DEL", "k"]]
    };
    let mut commands: Vec<&[&str]> = Vec::new();
    for (setup, change) in [
        (&["SETBIT", "k", "1", "1"][..], &["SETBIT", "k", "1", "1"][..]),
        (&["SETBIT", "k", "1", "1"], &["GETBIT", "k", "1"]),
        (&["SETBIT", "k", "1", "1"], &["BITCOUNT", "k"]),
        (&["SETBIT", "k", "1", "1"], &["BITFIELD", "k", "GET", "u8", "0"]),
        (&["SETBIT", "k", "1", "1"], &["BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u1", "1", "1"]),
        (&["SETBIT", "k", "1", "1"], &["SETBIT", "k", "100", "0"]),
        (&["SETBIT", "k", "1", "1"], &["BITFIELD", "k", "SET", "u1", "1", "1"]),
        (&["SETBIT", "k", "1", "1"], &["BITFIELD", "k", "SET", "u1", "1", "0", "SET", "u1", "1", "1"]),
        (&["SETBIT", "k", "1", "1"], &["BITFIELD", "k", "SET", "u8", "100", "0"]),
        (&["SETBIT", "k", "1", "1"], &["BITFIELD", "k", "INCRBY", "u8", "0", "0"]),
        (&["SETBIT", "k", "1", "1"], &["BITOP", "NOT", "other", "k"]),
        (&["SETBIT", "k", "1", "1"], &["BITOP", "AND", "k", "missing"]),
        (&["PING"], &["BITOP", "AND", "k", "missing"]),
        (&["PFADD", "k", "a"], &["PFADD", "k", "a"]),
        (&["PFADD", "k", "a"], &["PFADD", "k", "b"]),
        (&["PFADD", "k", "a"], &["PFCOUNT", "k"]),
        (&["PFADD", "k", "a"], &["PFCOUNT", "k", "missing"]),
        (&["PFADD", "k", "a"], &["PFMERGE", "k"]),
    ] {
        commands.extend(watched(setup, change));
        commands.extend(watched(setup, &["PING"]));
    }
    // A count already cached is read, not written.
    commands.extend([&["PFADD", "k", "a"][..], &["PFCOUNT", "k"], &["WATCH", "k"], &["PFCOUNT", "k"], &["MULTI"], &["PING"], &["EXEC"]]);
    assert_same_as_redis(&server, &redis, &commands);
}

/// The same additions give the same bytes on both servers, sparse and dense, before and after a
/// count is cached in the header, and after merges.
#[test]
fn sketches_are_the_same_bytes_as_redis_makes() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let many: Vec<String> = (0..300).map(|i| format!("element-{i}")).collect();
    let mut add_many: Vec<&str> = vec!["PFADD", "big"];
    add_many.extend(many.iter().map(String::as_str));
    let mut add_more: Vec<&str> = vec!["PFADD", "other"];
    add_more.extend(many[150..].iter().map(String::as_str));
    assert_same_as_redis(&server, &redis, &[
        &["PFADD", "h", "a", "b", "c"],
        &["GET", "h"],
        &["PFCOUNT", "h"],
        &["GET", "h"],
        &["PFADD", "h", "a"],
        &["GET", "h"],
        &["PFADD", "h", "d", "e", "foo", "bar", "a longer element than eight bytes"],
        &["GET", "h"],
        &["PFCOUNT", "h"],
        &add_many,
        &["GET", "big"],
        &["PFCOUNT", "big"],
        &["PFCOUNT", "big", "h", "missing"],
        &["GET", "big"],
        &add_more,
        &["PFMERGE", "merged", "h", "big", "other"],
        &["GET", "merged"],
        &["PFCOUNT", "merged"],
        &["PFMERGE", "h", "other"],
        &["GET", "h"],
        &["PFMERGE", "fresh"],
        &["GET", "fresh"],
        // A small size limit turns sketches dense early; merging a dense one makes dense.
        &["CONFIG", "SET", "hll-sparse-max-bytes", "120"],
        &["CONFIG", "GET", "hll-sparse-max-bytes"],
        &add_more,
        &["STRLEN", "other"],
        &["PFADD", "s1", "x", "y"],
        &["PFMERGE", "s1", "other"],
        &["STRLEN", "s1"],
        &["GET", "s1"],
        &["PFCOUNT", "s1"],
        &["GET", "s1"],
        &["PFADD", "grow", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"],
        &["PFADD", "grow", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30"],
        &["PFADD", "grow", "31", "32", "33", "34", "35", "36", "37", "38", "39", "40", "41", "42", "43", "44"],
        &["GET", "grow"],
        &["CONFIG", "SET", "hll-sparse-max-bytes", "3000"],
    ]);
}

fn query(conn: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("a command name"));
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(conn).expect("a reply")
}

/// Adds `elements` in batches of a thousand.
fn add_all(conn: &mut redis::Connection, key: &str, elements: &[String]) {
    for batch in elements.chunks(1000) {
        let _: i64 = conn.pfadd(key, batch).expect("PFADD");
    }
}

/// Sketches written by one server, read with GET and SET on the other, count the same there; the
/// same additions are the same bytes on both.
#[test]
fn sketches_move_between_cachet_and_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let mut ours = server.connect();
    let mut theirs = redis::Client::open(redis.url()).expect("a URL").get_connection().expect("redis-server accepts");
    for (key, size) in [("small", 50usize), ("medium", 800), ("large", 100_000)] {
        let elements: Vec<String> = (0..size).map(|i| format!("{key}:{i}")).collect();
        add_all(&mut ours, key, &elements);
        add_all(&mut theirs, key, &elements);
        let (our_bytes, their_bytes): (Vec<u8>, Vec<u8>) = (ours.get(key).unwrap(), theirs.get(key).unwrap());
        assert!(our_bytes == their_bytes, "{key}: the same additions make the same bytes");
        let dense = our_bytes.len() == 12304;
        assert_eq!(dense, size == 100_000, "{key}: {} bytes", our_bytes.len());

        let our_count: i64 = ours.pfcount(key).unwrap();
        let their_count: i64 = theirs.pfcount(key).unwrap();
        assert_eq!(our_count, their_count, "{key}");
        let error = (our_count - size as i64).abs() as f64 / size as f64;
        assert!(error < 3.0 * 0.0081 || size < 1000, "{key}: counted {our_count} of {size}");

        // Each server's bytes, moved to the other with SET, count the same there.
        let moved = format!("{key}:moved");
        let _: () = theirs.set(&moved, &our_bytes).unwrap();
        let _: () = ours.set(&moved, &their_bytes).unwrap();
        assert_eq!(theirs.pfcount::<_, i64>(&moved).unwrap(), our_count, "{key}: cachet's sketch on redis-server");
        assert_eq!(ours.pfcount::<_, i64>(&moved).unwrap(), their_count, "{key}: redis-server's sketch on cachet");
        // And keep growing there the same way.
        let more: Vec<String> = (0..100).map(|i| format!("more:{i}")).collect();
        add_all(&mut ours, &moved, &more);
        add_all(&mut theirs, &moved, &more);
        let (ours_after, theirs_after): (Vec<u8>, Vec<u8>) = (ours.get(&moved).unwrap(), theirs.get(&moved).unwrap());
        assert!(ours_after == theirs_after, "{key}: additions to a moved sketch");
    }
    // A union of all three, counted on both.
    let union: &[&[u8]] = &[b"PFCOUNT", b"small", b"medium", b"large"];
    assert_eq!(query(&mut ours, union), query(&mut theirs, union));
    let merge: &[&[u8]] = &[b"PFMERGE", b"all", b"small", b"medium", b"large"];
    assert_eq!(query(&mut ours, merge), query(&mut theirs, merge));
    let (ours_all, theirs_all): (Vec<u8>, Vec<u8>) = (ours.get("all").unwrap(), theirs.get("all").unwrap());
    assert!(ours_all == theirs_all, "PFMERGE makes the same bytes");
}

/// A dense sketch whose registers all hold `value`.
fn dense_sketch(value: u8) -> Vec<u8> {
    let mut bytes = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    bytes.resize(16 + 12288, 0);
    for bit in (0..16384 * 6).filter(|bit| (value >> (bit % 6)) & 1 == 1) {
        bytes[16 + bit / 8] |= 1 << (bit % 8);
    }
    bytes
}

/// Sketches no real elements make — every register at its largest values — count the same on
/// both servers, alone and in unions.
#[test]
fn extreme_sketches_count_as_redis_counts_them() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let mut ours = server.connect();
    let mut theirs = redis::Client::open(redis.url()).expect("a URL").get_connection().expect("redis-server accepts");
    for value in [1, 20, 32, 33, 50, 51, 63] {
        let sketch = dense_sketch(value);
        for conn in [&mut ours, &mut theirs] {
            let _: () = conn.set("d", &sketch).unwrap();
            let _: () = conn.set("e", dense_sketch(value / 2)).unwrap();
        }
        for args in [&[&b"PFCOUNT"[..], b"d"][..], &[b"PFCOUNT", b"d", b"e"], &[b"PFMERGE", b"m", b"e", b"d"], &[b"GET", b"d"], &[b"GET", b"m"], &[b"PFADD", b"d", b"x"]] {
            assert_eq!(query(&mut ours, args), query(&mut theirs, args), "registers at {value}: {:?}", String::from_utf8_lossy(args[0]));
        }
    }
}

/// A tiny deterministic generator, so the random walk below is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn signed(&mut self, span: i64) -> i64 {
        self.below(2 * span as u64 + 1) as i64 - span
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len() as u64) as usize]
    }
}

/// One random bit command on keys `a`, `b` and `c`.
fn random_command(rng: &mut Lcg) -> Vec<String> {
    let key = rng.pick(&["a", "b", "c"]).to_string();
    let unit = || ["", "BYTE", "BIT", "bit"];
    let mut command: Vec<String> = match rng.below(7) {
        0 | 1 => vec!["SETBIT".into(), key, rng.below(160).to_string(), rng.below(2).to_string()],
        2 => vec!["BITCOUNT".into(), key, rng.signed(25).to_string(), rng.signed(25).to_string(), rng.pick(&unit()).into()],
        3 => {
            let mut args = vec!["BITPOS".into(), key, rng.below(2).to_string()];
            let extra = rng.below(4);
            if extra >= 1 {
                args.push(rng.signed(25).to_string());
            }
            if extra >= 2 {
                args.push(rng.signed(25).to_string());
            }
            if extra >= 3 {
                args.push(rng.pick(&unit()).into());
            }
            args
        }
        4 => {
            let op = rng.pick(&["AND", "OR", "XOR", "NOT"]);
            let sources = if op == "NOT" { 1 } else { 1 + rng.below(3) };
            let mut args = vec!["BITOP".into(), op.into(), key];
            args.extend((0..sources).map(|_| rng.pick(&["a", "b", "c", "none"]).to_string()));
            args
        }
        5 => vec!["GETBIT".into(), key, rng.below(200).to_string()],
        _ => {
            let mut args = vec!["BITFIELD".into(), key];
            for _ in 0..1 + rng.below(3) {
                args.extend(random_field(rng));
            }
            args
        }
    };
    command.retain(|arg| !arg.is_empty());
    command
}

/// One BITFIELD operation, sometimes after an OVERFLOW rule.
fn random_field(rng: &mut Lcg) -> Vec<String> {
    let mut out = Vec::new();
    if rng.below(3) == 0 {
        out.extend(["OVERFLOW".to_string(), rng.pick(&["WRAP", "SAT", "FAIL"]).to_string()]);
    }
    let signed = rng.below(2) == 0;
    let bits = 1 + rng.below(if signed { 64 } else { 63 });
    let kind = format!("{}{bits}", if signed { "i" } else { "u" });
    let offset = if rng.below(4) == 0 { format!("#{}", rng.below(6)) } else { rng.below(120).to_string() };
    let value = match rng.below(3) {
        0 => rng.signed(300),
        1 => rng.signed(i64::MAX / 2) * 2 + rng.signed(1),
        _ => [i64::MIN, i64::MAX, -1, 0, 1][rng.below(5) as usize],
    };
    match rng.below(3) {
        0 => out.extend(["GET".to_string(), kind, offset]),
        1 => out.extend(["SET".to_string(), kind, offset, value.to_string()]),
        _ => out.extend(["INCRBY".to_string(), kind, offset, value.to_string()]),
    }
    out
}

/// A seeded random walk of bit commands — ranges from either end in bytes and bits, every
/// BITFIELD width and overflow rule — replied the same by both servers, and the strings left
/// the same bytes.
#[test]
fn a_random_walk_of_bit_commands_replies_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    for seed in [2026, 7, 99] {
        let mut rng = Lcg(seed);
        let mut commands: Vec<Vec<String>> = (0..1500).map(|_| random_command(&mut rng)).collect();
        commands.extend([["GET", "a"], ["GET", "b"], ["GET", "c"]].map(|c| c.map(String::from).to_vec()));
        assert_same_as_redis(&server, &redis, &as_slices(&commands).iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
}

fn as_slices(commands: &[Vec<String>]) -> Vec<Vec<&str>> {
    commands.iter().map(|c| c.iter().map(String::as_str).collect()).collect()
}

/// One random HyperLogLog command on keys `x`, `y` and `z`, or a GET of one of them.
fn random_sketch_command(rng: &mut Lcg) -> Vec<String> {
    let key = || ["x", "y", "z"];
    let mut command = match rng.below(6) {
        0..=2 => {
            let mut args = vec!["PFADD".to_string(), rng.pick(&key()).to_string()];
            args.extend((0..rng.below(40)).map(|_| format!("e{}", rng.below(5000))));
            args
        }
        3 => vec!["PFCOUNT".to_string()],
        4 => vec!["PFMERGE".to_string()],
        _ => vec!["GET".to_string(), rng.pick(&key()).to_string()],
    };
    if command.len() == 1 {
        command.extend((0..1 + rng.below(3)).map(|_| rng.pick(&key()).to_string()));
    }
    command
}

/// A seeded random walk of additions, counts and merges, under several sparse size limits: the
/// sketches stay the same bytes as Redis's through every split, join and turn to dense.
#[test]
fn a_random_walk_of_sketch_commands_makes_the_same_bytes() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    for (seed, limit) in [(1, "3000"), (2, "300"), (3, "60"), (4, "0")] {
        let mut rng = Lcg(seed);
        let mut commands = vec![["CONFIG", "SET", "hll-sparse-max-bytes", limit].map(String::from).to_vec()];
        commands.extend((0..400).map(|_| random_sketch_command(&mut rng)));
        commands.extend([["GET", "x"], ["GET", "y"], ["GET", "z"]].map(|c| c.map(String::from).to_vec()));
        assert_same_as_redis(&server, &redis, &as_slices(&commands).iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
    server.cli(&["CONFIG", "SET", "hll-sparse-max-bytes", "3000"]);
}

/// The commands through the `redis` crate, as an application uses them.
#[test]
fn the_redis_crate_drives_bitmaps_and_sketches() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    assert!(!c.setbit::<_, bool>("visits", 3, true).unwrap());
    assert!(c.getbit::<_, bool>("visits", 3).unwrap());
    let _: () = c.set("text", "foobar").unwrap();
    assert_eq!(c.bitcount::<_, i64>("text").unwrap(), 26);
    assert_eq!(c.bitcount_range::<_, i64>("text", 1, 1).unwrap(), 6);
    assert_eq!(c.bit_and::<_, _, i64>("both", &["text", "visits"]).unwrap(), 6);
    assert_eq!(c.bit_not::<_, _, i64>("inverse", "text").unwrap(), 6);
    let fields: Vec<i64> = redis::cmd("BITFIELD").arg("f").arg("SET").arg("u8").arg("#1").arg(200).arg("GET").arg("u8").arg("#1").query(&mut c).unwrap();
    assert_eq!(fields, vec![0, 200]);
    assert_eq!(c.pfadd::<_, _, i64>("hll", &["a", "b", "c"]).unwrap(), 1);
    assert_eq!(c.pfcount::<_, i64>("hll").unwrap(), 3);
    let _: () = c.pfmerge("union", &["hll", "missing"]).unwrap();
    assert_eq!(c.pfcount::<_, i64>(&["union", "hll"]).unwrap(), 3);
}

/// The commands through redis-py, in RESP2 and RESP3.
#[test]
fn redis_py_drives_bitmaps_and_sketches() {
    let server = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/bitmaps_py.py");
    common::run_redis_py(&[script], server.port);
}
