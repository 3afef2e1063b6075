//! Set commands against a real `cachet serve` and Debian's redis-server 7.0.15, reply for reply.
//!
//! Redis 7.0.15 keeps all-integer sets as an `intset` (ascending order) and every other set as a
//! `hashtable`, whose order depends on its hash seed. cachet follows Redis 7.2's documented
//! encodings, which add a `listpack` (insertion order) for small sets of other members. So
//! integer sets are compared byte for byte; sets with other members are compared with each
//! reply's members sorted, and the listpack encoding and its settings are checked against the
//! documented 7.2 behaviour. Random commands are checked for their properties and error cases.

mod common;

use common::{Raw, Redis, Server, assert_same_as_redis, resp};
use redis::Commands;
use std::collections::HashSet;
use std::net::TcpStream;

/// Integer members: cachet and Redis 7.0.15 both use an intset and agree on every byte.
#[test]
fn integer_sets_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SADD", "a", "3", "1", "2", "3", "-7"],
        &["SADD", "a", "2", "10"],
        &["SMEMBERS", "a"],
        &["OBJECT", "ENCODING", "a"],
        &["TYPE", "a"],
        &["SCARD", "a"],
        &["SCARD", "missing"],
        &["SISMEMBER", "a", "10"],
        &["SISMEMBER", "a", "11"],
        &["SISMEMBER", "missing", "1"],
        &["SMISMEMBER", "a", "1", "4", "-7"],
        &["SMISMEMBER", "missing", "1"],
        &["SADD", "b", "2", "3", "4", "5"],
        &["SINTER", "a", "b"],
        &["SINTER", "a"],
        &["SINTER", "a", "missing"],
        &["SUNION", "a", "b", "missing"],
        &["SDIFF", "a", "b"],
        &["SDIFF", "missing", "a"],
        &["SINTERCARD", "2", "a", "b"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "0"],
        &["SINTERCARD", "1", "missing"],
        &["SINTERCARD", "0", "a"],
        &["SINTERCARD", "-1", "a"],
        &["SINTERCARD", "x", "a"],
        &["SINTERCARD", "3", "a", "b"],
        &["SINTERCARD", "1", "a", "LIMIT", "-1"],
        &["SINTERCARD", "1", "a", "LIMIT", "x"],
        &["SINTERCARD", "1", "a", "LIMIT"],
        &["SINTERCARD", "1", "a", "FOO", "1"],
        &["SINTERSTORE", "i", "a", "b"],
        &["SMEMBERS", "i"],
        &["SUNIONSTORE", "u", "a", "b"],
        &["SMEMBERS", "u"],
        &["SDIFFSTORE", "d", "a", "b"],
        &["SMEMBERS", "d"],
        &["SDIFFSTORE", "d", "missing", "a"],
        &["EXISTS", "d"],
        &["SET", "str", "text"],
        &["EXPIRE", "str", "100"],
        &["SUNIONSTORE", "str", "a"],
        &["TYPE", "str"],
        &["TTL", "str"],
        &["SINTERSTORE", "str", "a", "missing"],
        &["EXISTS", "str"],
        &["SREM", "a", "1", "99"],
        &["SREM", "missing", "1"],
        &["SMOVE", "a", "b", "10"],
        &["SMOVE", "a", "b", "10"],
        &["SMOVE", "a", "a", "2"],
        &["SMOVE", "missing", "b", "1"],
        &["SMOVE", "a", "fresh", "-7"],
        &["SMEMBERS", "fresh"],
        &["SMEMBERS", "b"],
        &["SSCAN", "b", "0"],
        &["SSCAN", "b", "0", "MATCH", "1*"],
        &["SSCAN", "b", "0", "COUNT", "1"],
        &["SSCAN", "missing", "0"],
        &["SSCAN", "b", "x"],
        &["SSCAN", "b", "0", "COUNT", "0"],
        &["SSCAN", "b", "0", "COUNT", "x"],
        &["SSCAN", "b", "0", "MATCH"],
        &["SSCAN", "b", "0", "TYPE", "set"],
        &["SREM", "fresh", "-7"],
        &["EXISTS", "fresh"],
        &["TYPE", "fresh"],
        &["SADD", "a"],
        &["SCARD"],
        &["SMISMEMBER", "a"],
        &["SINTERCARD", "1"],
        &["DEL", "a", "b", "i", "u"],
        &["DBSIZE"],
    ]);
}

/// Errors, empty replies and WRONGTYPE (both ways) of every command, including the random ones.
#[test]
fn errors_and_empty_replies_match_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SET", "str", "v"],
        &["SADD", "s", "1", "2"],
        &["SADD", "str", "a"],
        &["SREM", "str", "a"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SMEMBERS", "str"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SRANDMEMBER", "str", "0"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SMOVE", "str", "s", "1"],
        &["SMOVE", "s", "str", "1"],
        &["SMOVE", "missing", "str", "1"],
        &["SINTER", "missing", "str"],
        &["SINTER", "str", "missing"],
        &["SUNION", "s", "str"],
        &["SDIFF", "missing", "str"],
        &["SDIFF", "s", "str"],
        &["SINTERCARD", "2", "missing", "str"],
        &["SINTERSTORE", "d", "missing", "str"],
        &["SUNIONSTORE", "d", "s", "str"],
        &["SDIFFSTORE", "d", "s", "str"],
        &["SSCAN", "str", "0"],
        &["GET", "s"],
        &["APPEND", "s", "x"],
        &["INCR", "s"],
        &["STRLEN", "s"],
        &["SETRANGE", "s", "0", "x"],
        &["SRANDMEMBER", "missing"],
        &["SRANDMEMBER", "missing", "5"],
        &["SRANDMEMBER", "missing", "-5"],
        &["SRANDMEMBER", "s", "0"],
        &["SRANDMEMBER", "s", "x"],
        &["SRANDMEMBER", "s", "1", "2"],
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        &["SRANDMEMBER", "s", "9223372036854775808"],
        &["SRANDMEMBER", "s", "5"],
        &["SPOP", "missing"],
        &["SPOP", "missing", "5"],
        &["SPOP", "missing", "0"],
        &["SPOP", "s", "0"],
        &["SPOP", "s", "-1"],
        &["SPOP", "s", "x"],
        &["SPOP", "s", "1", "2"],
        &["SPOP", "s", "5"],
        &["EXISTS", "s"],
        &["SADD", "one", "42"],
        &["SPOP", "one"],
        &["SPOP", "one"],
        &["EXISTS", "one"],
        &["SADD", "one", "x"],
        &["SRANDMEMBER", "one"],
        &["SRANDMEMBER", "one", "-3"],
        &["SSCAN", "one", "0"],
        &["SMEMBERS", "one"],
        &["SPOP", "one", "1"],
        &["EXISTS", "one"],
    ]);
}

/// Sends the same commands to cachet and Redis, in RESP2 and RESP3, and compares each reply with
/// the members of a flat aggregate (array or set of bulk strings) sorted: the form to compare
/// replies in whose order Redis leaves undefined.
fn assert_same_sorted(cachet: &Server, redis: &Redis, commands: &[&[&str]]) {
    for protocol in ["2", "3"] {
        let mut ours = cachet.raw();
        let mut theirs = Raw(TcpStream::connect(("127.0.0.1", redis.port)).expect("redis-server accepts"));
        for setup in [&["FLUSHALL"][..], &["HELLO", protocol]] {
            for conn in [&mut ours, &mut theirs] {
                conn.send(resp(setup).as_bytes());
                conn.reply();
            }
        }
        for (i, args) in commands.iter().enumerate() {
            ours.send(resp(args).as_bytes());
            theirs.send(resp(args).as_bytes());
            let (ours, theirs) = (sorted_reply(&ours.reply()), sorted_reply(&theirs.reply()));
            assert_eq!(ours, theirs, "RESP{protocol}, command {i} {args:?}");
        }
    }
}

/// A reply's header line and its items, the items sorted when it is a flat aggregate of bulks.
fn sorted_reply(reply: &[u8]) -> (String, Vec<String>) {
    let text = String::from_utf8_lossy(reply).into_owned();
    let Some((header, mut rest)) = text.split_once("\r\n") else { return (text, Vec::new()) };
    if !(header.starts_with('*') || header.starts_with('~')) || !rest.starts_with('$') {
        return (text.clone(), Vec::new());
    }
    let mut items = Vec::new();
    while let Some((len, after)) = rest.strip_prefix('$').and_then(|r| r.split_once("\r\n")) {
        let Ok(len) = len.parse::<usize>() else { return (text.clone(), Vec::new()) };
        items.push(after[..len].to_string());
        rest = &after[len + 2..];
    }
    if !rest.is_empty() {
        return (text.clone(), Vec::new());
    }
    items.sort();
    (header.to_string(), items)
}

/// Sets of other members: Redis 7.0.15 lists them in hash order, so replies are compared sorted.
#[test]
fn string_sets_reply_as_redis_does_sorted() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let many: Vec<String> = (0..200).map(|i| format!("member:{i}")).collect();
    let mut sadd_many = vec!["SADD", "big"];
    sadd_many.extend(many.iter().map(String::as_str));
    let long = "x".repeat(100);
    assert_same_sorted(&server, &redis, &[
        &["SADD", "s", "banana", "apple", "cherry", "apple", "1", "2"],
        &["SMEMBERS", "s"],
        &["SADD", "t", "cherry", "date", "2", &long],
        &["SINTER", "s", "t"],
        &["SUNION", "s", "t"],
        &["SDIFF", "s", "t"],
        &["SDIFF", "t", "s"],
        &["SINTERCARD", "2", "s", "t"],
        &["SINTERSTORE", "st", "s", "t"],
        &["SMEMBERS", "st"],
        &["SUNIONSTORE", "su", "s", "t"],
        &["SMEMBERS", "su"],
        &["SCARD", "su"],
        &["SDIFFSTORE", "sd", "s", "t"],
        &["SMEMBERS", "sd"],
        &["SMISMEMBER", "s", "apple", "date", "1"],
        &["SISMEMBER", "t", &long],
        &["SMOVE", "s", "t", "banana"],
        &["SMEMBERS", "t"],
        &["SREM", "t", "banana", "cherry", "nope"],
        &["SMEMBERS", "t"],
        &sadd_many,
        &["SCARD", "big"],
        &["OBJECT", "ENCODING", "big"],
        &["SMEMBERS", "big"],
        &["SRANDMEMBER", "big", "500"],
        &["SINTER", "big", "s"],
        &["SUNIONSTORE", "big2", "big", "s"],
        &["SCARD", "big2"],
        &["SPOP", "s", "100"],
        &["EXISTS", "s"],
        &["SRANDMEMBER", "t", "10"],
    ]);
}

/// More integers than `set-max-intset-entries`: both servers switch to a hashtable.
#[test]
fn large_integer_sets_become_hashtables_as_in_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let ints: Vec<String> = (0..513).map(|i| i.to_string()).collect();
    let mut sadd_512 = vec!["SADD", "n"];
    sadd_512.extend(ints[..512].iter().map(String::as_str));
    assert_same_as_redis(&server, &redis, &[
        &sadd_512,
        &["OBJECT", "ENCODING", "n"],
        &["SMEMBERS", "n"],
        &["SADD", "n", "512"],
        &["OBJECT", "ENCODING", "n"],
        &["SCARD", "n"],
        &["SREM", "n", "512", "511"],
        &["OBJECT", "ENCODING", "n"],
        &["CONFIG", "GET", "set-max-intset-entries"],
        &["CONFIG", "SET", "set-max-intset-entries", "3"],
        &["SADD", "small", "1", "2", "3"],
        &["OBJECT", "ENCODING", "small"],
        &["SMEMBERS", "small"],
        &["SADD", "small", "4", "5"],
        &["OBJECT", "ENCODING", "small"],
        &["SCARD", "small"],
        &["CONFIG", "SET", "set-max-intset-entries", "512"],
    ]);
}

/// The listpack encoding and its settings, as Redis 7.2's documentation describes them (Redis
/// 7.0.15 has no set listpack, so there is nothing to compare with).
#[test]
fn small_sets_of_strings_are_listpacks_in_insertion_order() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["SADD", "s", "b", "a", "c", "1"]), ":4\r\n");
    raw.roundtrip(&resp(&["OBJECT", "ENCODING", "s"]), "$8\r\nlistpack\r\n");
    raw.roundtrip(&resp(&["SMEMBERS", "s"]), &resp(&["b", "a", "c", "1"]));
    raw.roundtrip(&resp(&["SADD", "i", "5", "3"]), ":2\r\n");
    raw.roundtrip(&resp(&["SADD", "i", "x"]), ":1\r\n");
    raw.roundtrip(&resp(&["OBJECT", "ENCODING", "i"]), "$8\r\nlistpack\r\n");
    raw.roundtrip(&resp(&["SMEMBERS", "i"]), &resp(&["3", "5", "x"]));
    raw.roundtrip(&resp(&["SADD", "l", &"v".repeat(65)]), ":1\r\n");
    raw.roundtrip(&resp(&["OBJECT", "ENCODING", "l"]), "$9\r\nhashtable\r\n");
    raw.roundtrip(
        &resp(&["CONFIG", "GET", "set-max-listpack-*"]),
        &resp(&["set-max-listpack-entries", "128", "set-max-listpack-value", "64"]),
    );
    raw.roundtrip(&resp(&["CONFIG", "SET", "set-max-listpack-entries", "4"]), "+OK\r\n");
    raw.roundtrip(&resp(&["SADD", "s", "d"]), ":1\r\n");
    raw.roundtrip(&resp(&["OBJECT", "ENCODING", "s"]), "$9\r\nhashtable\r\n");
    raw.roundtrip(&resp(&["CONFIG", "SET", "set-max-listpack-value", "3"]), "+OK\r\n");
    raw.roundtrip(&resp(&["SADD", "w", "abcd"]), ":1\r\n");
    raw.roundtrip(&resp(&["OBJECT", "ENCODING", "w"]), "$9\r\nhashtable\r\n");
}

fn members(conn: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    let mut c = redis::cmd(args[0]);
    for arg in &args[1..] {
        c.arg(*arg);
    }
    c.query(conn).expect("a reply of bulk strings")
}

/// SRANDMEMBER and SPOP: sizes, membership, distinctness, repeats, and reply types.
#[test]
fn random_members_have_the_documented_properties() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let all: HashSet<String> = (0..20).map(|i| format!("m{i}")).collect();
    let added: i64 = c.sadd("s", all.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(added, 20);

    let one: String = c.srandmember("s").unwrap();
    assert!(all.contains(&one));
    let five = members(&mut c, &["SRANDMEMBER", "s", "5"]);
    assert_eq!(five.len(), 5);
    assert_eq!(five.iter().collect::<HashSet<_>>().len(), 5, "a positive count gives distinct members");
    assert!(five.iter().all(|m| all.contains(m)));
    let everything = members(&mut c, &["SRANDMEMBER", "s", "100"]);
    assert_eq!(everything.into_iter().collect::<HashSet<_>>(), all);
    let repeats = members(&mut c, &["SRANDMEMBER", "s", "-200"]);
    assert_eq!(repeats.len(), 200, "a negative count gives exactly that many");
    assert!(repeats.iter().all(|m| all.contains(m)));
    assert!(repeats.iter().collect::<HashSet<_>>().len() < 200, "with repeats");
    assert_eq!(c.scard::<_, i64>("s").unwrap(), 20, "SRANDMEMBER removes nothing");

    let popped: String = c.spop("s").unwrap();
    assert!(all.contains(&popped));
    assert!(!c.sismember::<_, _, bool>("s", &popped).unwrap());
    let seven = members(&mut c, &["SPOP", "s", "7"]);
    assert_eq!(seven.iter().collect::<HashSet<_>>().len(), 7);
    assert_eq!(c.scard::<_, i64>("s").unwrap(), 12);
    assert!(seven.iter().all(|m| !c.sismember::<_, _, bool>("s", m).unwrap()));
    let rest = members(&mut c, &["SPOP", "s", "50"]);
    assert_eq!(rest.len(), 12);
    assert!(!c.exists::<_, bool>("s").unwrap(), "popping the last member deletes the set");

    // Reply types: SRANDMEMBER with a count is an array, SPOP with a count a set (RESP3).
    let mut raw = server.raw();
    raw.send(resp(&["HELLO", "3"]).as_bytes());
    let _ = raw.reply();
    raw.roundtrip(&resp(&["SADD", "r", "x"]), ":1\r\n");
    raw.roundtrip(&resp(&["SRANDMEMBER", "r", "2"]), "*1\r\n$1\r\nx\r\n");
    raw.roundtrip(&resp(&["SRANDMEMBER", "r", "-2"]), "*2\r\n$1\r\nx\r\n$1\r\nx\r\n");
    raw.roundtrip(&resp(&["SRANDMEMBER", "r"]), "$1\r\nx\r\n");
    raw.roundtrip(&resp(&["SPOP", "r", "2"]), "~1\r\n$1\r\nx\r\n");
    raw.roundtrip(&resp(&["SPOP", "r"]), "_\r\n");
    raw.roundtrip(&resp(&["SPOP", "r", "2"]), "~0\r\n");
}

/// A large set walked with SSCAN: every member once or more, and nothing else.
#[test]
fn sscan_walks_a_large_set() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let all: HashSet<String> = (0..1000).map(|i| format!("member-{i}")).collect();
    let _: i64 = c.sadd("big", all.iter().collect::<Vec<_>>()).unwrap();
    let mut seen = HashSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) =
            redis::cmd("SSCAN").arg("big").arg(cursor).arg("COUNT").arg(100).query(&mut c).unwrap();
        seen.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    assert_eq!(seen, all);
    let matched: HashSet<String> = c.sscan_match::<_, _, String>("big", "member-99*").unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(matched.len(), 11);
}

/// The `redis` crate's set API and redis-py, unchanged, against cachet.
#[test]
fn client_libraries_use_sets() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let _: i64 = c.sadd("a", &["1", "2", "3"]).unwrap();
    let _: i64 = c.sadd("b", &["2", "3", "4"]).unwrap();
    let inter: Vec<i64> = c.sinter(&["a", "b"]).unwrap();
    assert_eq!(inter, vec![2, 3]);
    let union: Vec<i64> = c.sunion(&["a", "b"]).unwrap();
    assert_eq!(union, vec![1, 2, 3, 4]);
    let diff: Vec<i64> = c.sdiff(&["a", "b"]).unwrap();
    assert_eq!(diff, vec![1]);
    assert_eq!(c.sinterstore::<_, _, i64>("i", &["a", "b"]).unwrap(), 2);
    assert!(c.smove::<_, _, _, bool>("a", "b", "1").unwrap());
    let b: HashSet<i64> = c.smembers("b").unwrap();
    assert_eq!(b, HashSet::from([1, 2, 3, 4]));
    assert_eq!(c.srem::<_, _, i64>("a", &["2", "3"]).unwrap(), 2);
    assert!(!c.exists::<_, bool>("a").unwrap());

    let mut resp3 = server.connect_resp3();
    let members: HashSet<String> = resp3.smembers("b").unwrap();
    assert_eq!(members.len(), 4);

    let script = r#"
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
assert r.sadd("py", "x", "y", "z") == 3
assert r.smembers("py") == {b"x", b"y", b"z"}
assert r.sismember("py", "x") and not r.sismember("py", "w")
assert r.smismember("py", ["x", "w"]) == [1, 0]
assert r.scard("py") == 3
assert r.sintercard(1, ["py"], limit=2) == 2
assert r.srandmember("py") in {b"x", b"y", b"z"}
assert len(r.spop("py", 2)) == 2
cursor, found = r.sscan("py", 0)
assert cursor == 0 and len(found) == 1
try:
    r.set("s", "v"); r.sadd("s", "x")
    raise SystemExit("no WRONGTYPE")
except redis.ResponseError as e:
    assert str(e).startswith("WRONGTYPE"), e
"#;
    common::run_redis_py(&["-c", script], server.port);
}

fn info_number(conn: &mut redis::Connection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").query(conn).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
}

/// Sets are counted in used_memory: writing far more than maxmemory evicts whole sets, and
/// deleting a large set gives its memory back.
#[test]
fn sets_are_evicted_and_freed() {
    let server = Server::start(&["--set", "maxmemory", "8mb", "--set", "maxmemory-policy", "allkeys-lru"]);
    let mut conn = server.connect();
    let before = info_number(&mut conn, "used_memory");
    let members: Vec<String> = (0..1000).map(|i| format!("member-{i:0>40}")).collect();
    let _: i64 = conn.sadd("big", &members).unwrap();
    let with_big = info_number(&mut conn, "used_memory");
    assert!(with_big > before + 40_000, "a 1000-member set is counted: {before} -> {with_big}");
    let _: i64 = conn.del("big").unwrap();
    assert!(info_number(&mut conn, "used_memory") < with_big - 40_000, "and freed by DEL");

    for batch in 0..30 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.sadd(format!("set:{batch}:{i}"), &members[..100]).ignore();
        }
        let _: () = pipe.query(&mut conn).expect("every SADD succeeds while eviction makes room");
    }
    assert!(info_number(&mut conn, "used_memory") <= 8 * 1024 * 1024);
    assert!(info_number(&mut conn, "evicted_keys") > 0);
    let keys: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert!(keys > 100 && keys < 3000, "{keys} sets kept");
}
