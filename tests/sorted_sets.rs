//! Sorted set commands against a real `cachet serve` and Debian's redis-server 7.0.15, reply for
//! reply in RESP2 and RESP3: every command, option and error, in both encodings (`listpack` for
//! small sets, `skiplist` past `zset-max-listpack-entries` / `-value`), and the key commands on
//! sorted sets. Random replies are checked for their properties. ZRANK's WITHSCORE (Redis 7.2)
//! is checked against its documentation, redis-server 7.0 not having it. Then two programs
//! clients write with sorted sets: a sliding-window rate limiter (redis-py) and a leaderboard
//! (the `redis` crate).

mod common;

use common::{Redis, Server, assert_same_as_redis};
use redis::Commands;

/// The data the read-only sequences work on: scores with fractions, ties broken by member,
/// infinities, negative scores, a sorted set of equal scores for lex ranges, and a set.
const FILL: &[&[&str]] = &[
    &["ZADD", "z", "1", "one", "2", "two", "3", "three", "1.5", "one.5", "-2.25", "neg", "2", "two-b", "inf", "top", "-inf", "bottom"],
    &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g"],
    &["ZADD", "w", "10", "two", "20", "three", "30", "four", "0.1", "one"],
    &["SADD", "plain", "one", "four", "five"],
    &["SET", "str", "v"],
];

/// Every reading command and option, errors included; run once per encoding.
const READS: &[&[&str]] = &[
    &["OBJECT", "ENCODING", "z"],
    &["TYPE", "z"],
    &["ZCARD", "z"],
    &["ZCARD", "missing"],
    &["ZSCORE", "z", "one.5"],
    &["ZSCORE", "z", "top"],
    &["ZSCORE", "z", "bottom"],
    &["ZSCORE", "z", "nope"],
    &["ZSCORE", "missing", "x"],
    &["ZMSCORE", "z", "one", "nope", "neg"],
    &["ZMSCORE", "missing", "a", "b"],
    &["ZRANK", "z", "two-b"],
    &["ZRANK", "z", "nope"],
    &["ZREVRANK", "z", "two-b"],
    &["ZREVRANK", "missing", "x"],
    &["ZCOUNT", "z", "-inf", "+inf"],
    &["ZCOUNT", "z", "(1", "2"],
    &["ZCOUNT", "z", "1", "(2"],
    &["ZCOUNT", "z", "(2", "(2"],
    &["ZCOUNT", "z", "3", "1"],
    &["ZCOUNT", "z", " 1", "1e400"],
    &["ZCOUNT", "z", "(", ""],
    &["ZCOUNT", "z", " ", "1"],
    &["ZCOUNT", "z", "x", "1"],
    &["ZCOUNT", "z", "(nan", "1"],
    &["ZCOUNT", "missing", "0", "1"],
    &["ZLEXCOUNT", "lex", "-", "+"],
    &["ZLEXCOUNT", "lex", "[b", "(e"],
    &["ZLEXCOUNT", "lex", "(b", "[e"],
    &["ZLEXCOUNT", "lex", "+", "-"],
    &["ZLEXCOUNT", "lex", "b", "[e"],
    &["ZLEXCOUNT", "lex", "[a", "-x"],
    &["ZRANGE", "z", "0", "-1"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZRANGE", "z", "2", "4", "withscores"],
    &["ZRANGE", "z", "-3", "-2"],
    &["ZRANGE", "z", "-100", "100"],
    &["ZRANGE", "z", "5", "2"],
    &["ZRANGE", "z", "100", "200"],
    &["ZRANGE", "z", "0", "2", "REV", "WITHSCORES"],
    &["ZRANGE", "z", "(1", "3", "BYSCORE"],
    &["ZRANGE", "z", "3", "(1", "BYSCORE", "REV", "WITHSCORES"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "3"],
    &["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "-1"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "3"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "100", "1"],
    &["ZRANGE", "lex", "[b", "[d", "BYLEX"],
    &["ZRANGE", "lex", "[d", "[b", "BYLEX", "REV"],
    &["ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", "2", "2"],
    &["ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "0", "3"],
    &["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"],
    &["ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"],
    &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"],
    &["ZRANGE", "z", "0", "1", "REV", "REV"],
    &["ZRANGE", "z", "0", "1", "LIMIT", "0"],
    &["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"],
    &["ZRANGE", "z", "a", "1"],
    &["ZRANGE", "z", "0", "1", "FOO"],
    &["ZRANGE", "lex", "a", "b", "BYLEX"],
    &["ZRANGE", "missing", "0", "-1"],
    &["ZRANGEBYSCORE", "z", "-inf", "2", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "1", "3", "LIMIT", "1", "2", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "1", "3", "REV"],
    &["ZRANGEBYSCORE", "z", "1", "3", "BYSCORE"],
    &["ZREVRANGEBYSCORE", "z", "2", "-inf"],
    &["ZREVRANGEBYSCORE", "z", "+inf", "(1", "WITHSCORES", "LIMIT", "0", "2"],
    &["ZRANGEBYLEX", "lex", "(a", "[c"],
    &["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "1", "2"],
    &["ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"],
    &["ZREVRANGEBYLEX", "lex", "+", "(e"],
    &["ZREVRANGEBYLEX", "lex", "[c", "-", "LIMIT", "1", "1"],
    &["ZREVRANGE", "z", "0", "2"],
    &["ZREVRANGE", "z", "1", "-2", "WITHSCORES"],
    &["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"],
    &["ZUNION", "2", "z", "w"],
    &["ZUNION", "2", "z", "w", "WITHSCORES"],
    &["ZUNION", "3", "z", "w", "plain", "WEIGHTS", "2", "0.5", "3", "WITHSCORES"],
    &["ZUNION", "2", "z", "w", "AGGREGATE", "MIN", "WITHSCORES"],
    &["ZUNION", "2", "z", "w", "AGGREGATE", "max", "WITHSCORES"],
    &["ZUNION", "2", "z", "w", "WEIGHTS", "0", "1", "WITHSCORES"],
    &["ZUNION", "2", "z", "missing", "WITHSCORES"],
    &["ZINTER", "2", "z", "w", "WITHSCORES"],
    &["ZINTER", "3", "z", "w", "plain", "WITHSCORES"],
    &["ZINTER", "2", "z", "w", "WEIGHTS", "-1", "2", "AGGREGATE", "MAX", "WITHSCORES"],
    &["ZINTER", "2", "z", "missing"],
    &["ZDIFF", "2", "z", "w", "WITHSCORES"],
    &["ZDIFF", "2", "w", "plain"],
    &["ZDIFF", "1", "plain", "WITHSCORES"],
    &["ZDIFF", "2", "missing", "z"],
    &["ZINTERCARD", "2", "z", "w"],
    &["ZINTERCARD", "2", "z", "w", "LIMIT", "1"],
    &["ZINTERCARD", "3", "z", "w", "plain", "LIMIT", "0"],
    &["ZINTERCARD", "0", "z"],
    &["ZINTERCARD", "x", "z"],
    &["ZINTERCARD", "3", "z"],
    &["ZINTERCARD", "1", "z", "LIMIT", "-1"],
    &["ZINTERCARD", "1", "z", "LIMIT", "x"],
    &["ZINTERCARD", "1", "z", "WEIGHTS", "2"],
    &["ZUNION", "0", "z"],
    &["ZUNION", "-1", "z"],
    &["ZUNION", "3", "z"],
    &["ZUNION", "1", "z", "WEIGHTS", "x"],
    &["ZUNION", "1", "z", "WEIGHTS", "nan"],
    &["ZUNION", "2", "z", "w", "WEIGHTS", "1"],
    &["ZUNION", "1", "z", "AGGREGATE", "avg"],
    &["ZUNION", "1", "z", "AGGREGATE"],
    &["ZDIFF", "1", "z", "WEIGHTS", "2"],
    &["ZDIFF", "1", "z", "AGGREGATE", "SUM"],
    &["ZUNION", "2", "z", "str"],
    &["ZINTER", "2", "str", "missing"],
    &["ZRANDMEMBER", "missing"],
    &["ZRANDMEMBER", "missing", "3"],
    &["ZRANDMEMBER", "missing", "-3", "WITHSCORES"],
    &["ZRANDMEMBER", "z", "0"],
    &["ZRANDMEMBER", "z", "100"],
    &["ZRANDMEMBER", "z", "100", "WITHSCORES"],
    &["ZRANDMEMBER", "z", "1", "WITHSCORE"],
    &["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"],
    &["ZRANDMEMBER", "z", "x"],
    &["ZRANDMEMBER", "z", "-9223372036854775808"],
    &["ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES"],
    &["ZSCAN", "missing", "0"],
    &["ZSCAN", "z", "x"],
    &["ZSCAN", "lex", "0", "COUNT", "0"],
    &["ZSCAN", "lex", "0", "TYPE", "zset"],
    &["ZSCAN", "lex", "0", "MATCH"],
    &["ZCARD", "str"],
    &["ZRANGE", "str", "0", "-1"],
    &["ZRANGE", "str", "a", "b"],
    &["ZSCORE", "plain", "one"],
    &["ZADD", "z"],
    &["ZRANGE", "z", "0"],
    &["ZRANK", "z"],
];

#[test]
fn listpack_reads_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let scan: &[&[&str]] = &[&["ZSCAN", "z", "0"], &["ZSCAN", "z", "0", "MATCH", "t*"], &["OBJECT", "ENCODING", "w"]];
    let commands: Vec<&[&str]> = FILL.iter().chain(READS).chain(scan).copied().collect();
    assert_same_as_redis(&server, &redis, &commands);
}

#[test]
fn skiplist_reads_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let config: &[&[&str]] = &[
        &["CONFIG", "SET", "zset-max-listpack-entries", "3"],
        &["CONFIG", "GET", "zset-max-listpack-entries"],
        &["CONFIG", "GET", "zset-max-listpack-value"],
    ];
    let after: &[&[&str]] = &[&["OBJECT", "ENCODING", "lex"], &["CONFIG", "SET", "zset-max-listpack-entries", "128"]];
    let commands: Vec<&[&str]> = config.iter().chain(FILL).chain(READS).chain(after).copied().collect();
    assert_same_as_redis(&server, &redis, &commands);
}

/// Every writing command and option, with the encoding changes they cause.
#[test]
fn writes_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "z", "1", "a", "5", "b", "4", "d"],
        &["ZADD", "z", "CH", "1", "a", "6", "b", "4", "e"],
        &["ZADD", "z", "NX", "100", "a", "7", "f"],
        &["ZADD", "z", "XX", "100", "a", "7", "g"],
        &["ZADD", "z", "XX", "CH", "101", "a", "7", "g"],
        &["ZADD", "z", "GT", "CH", "50", "a", "200", "b", "1", "h"],
        &["ZADD", "z", "LT", "CH", "60", "a", "300", "b"],
        &["ZADD", "z", "gt", "lt", "1", "a"],
        &["ZADD", "z", "NX", "GT", "1", "a"],
        &["ZADD", "z", "NX", "XX", "1", "a"],
        &["ZADD", "z", "INCR", "2.5", "a"],
        &["ZADD", "z", "INCR", "NX", "2.5", "a"],
        &["ZADD", "z", "INCR", "XX", "2.5", "zz"],
        &["ZADD", "z", "INCR", "GT", "-1", "a"],
        &["ZADD", "z", "INCR", "LT", "-1", "a"],
        &["ZADD", "z", "INCR", "1", "a", "1", "b"],
        &["ZADD", "z", "1"],
        &["ZADD", "z", "1", "a", "2"],
        &["ZADD", "z", "x", "a"],
        &["ZADD", "z", "nan", "a"],
        &["ZADD", "z", "1e400", "a"],
        &["ZADD", "z", "1e-400", "a"],
        &["ZADD", "z", " 1", "a"],
        &["ZADD", "z", "CH", "XX"],
        &["ZADD", "new", "XX", "1", "a"],
        &["EXISTS", "new"],
        &["ZADD", "new", "XX", "INCR", "1", "a"],
        &["ZADD", "z", "-0", "zero", "0.1", "tenth", "1e20", "big", "-1.5e-7", "tiny", "+inf", "up"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        // Integer scores as benchmarks write them (leading zeros), at the edge of the exact
        // reading (15 digits) and past it, with signs, and what is not a number.
        &["ZADD", "ints", "000000012345", "padded", "+7", "plus", "-000", "minus-zero", "999999999999999", "fifteen"],
        &["ZADD", "ints", "9999999999999999", "sixteen", "-12345678901234567890", "twenty", "0000000000000000000001", "long-one"],
        &["ZADD", "ints", "INF", "up", "-Infinity", "down", "+INFINITY", "up2"],
        &["ZADD", "ints", "-+inf", "a"],
        &["ZADD", "ints", "-", "a"],
        &["ZADD", "ints", "+", "a"],
        &["ZADD", "ints", "1 ", "a"],
        &["ZADD", "ints", "1x", "a"],
        &["ZRANGE", "ints", "0", "-1", "WITHSCORES"],
        &["ZRANGEBYSCORE", "ints", "(000000012345", "+000999999999999999"],
        &["ZRANGEBYSCORE", "ints", "-0", "(7"],
        &["ZINCRBY", "ints", "-000000012345", "padded"],
        &["ZSCORE", "ints", "padded"],
        &["ZINCRBY", "z", "0.2", "tenth"],
        &["ZINCRBY", "z", "1", "fresh"],
        &["ZINCRBY", "z", "x", "fresh"],
        &["ZINCRBY", "z", "-inf", "up"],
        &["ZINCRBY", "z", "1", "up"],
        &["ZSCORE", "z", "up"],
        &["ZREM", "z", "a", "nope", "b"],
        &["ZREM", "missing", "a"],
        &["ZCARD", "z"],
        &["ZREMRANGEBYRANK", "z", "0", "1"],
        &["ZREMRANGEBYRANK", "z", "-2", "-1"],
        &["ZREMRANGEBYRANK", "z", "5", "1"],
        &["ZREMRANGEBYRANK", "z", "x", "1"],
        &["ZREMRANGEBYSCORE", "z", "(4", "7"],
        &["ZREMRANGEBYSCORE", "z", "x", "7"],
        &["ZREMRANGEBYSCORE", "missing", "0", "1"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"],
        &["ZREMRANGEBYLEX", "lex", "(a", "[c"],
        &["ZREMRANGEBYLEX", "lex", "a", "[c"],
        &["ZREMRANGEBYLEX", "lex", "-", "+"],
        &["EXISTS", "lex"],
        &["ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
        &["ZPOPMIN", "p"],
        &["ZPOPMAX", "p"],
        &["ZPOPMIN", "p", "2"],
        &["ZPOPMAX", "p", "0"],
        &["ZPOPMAX", "p", "10"],
        &["EXISTS", "p"],
        &["ZPOPMIN", "p"],
        &["ZPOPMIN", "p", "3"],
        &["ZPOPMIN", "p", "-1"],
        &["ZPOPMIN", "p", "x"],
        &["ZPOPMIN", "p", "1", "2"],
        &["ZADD", "m1", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "m2", "10", "x"],
        &["ZMPOP", "2", "missing", "m1", "MIN"],
        &["ZMPOP", "2", "missing", "m1", "MAX", "COUNT", "5"],
        &["ZMPOP", "2", "m1", "m2", "min", "count", "1"],
        &["ZMPOP", "1", "missing", "MIN"],
        &["ZMPOP", "0", "m2", "MIN"],
        &["ZMPOP", "x", "m2", "MIN"],
        &["ZMPOP", "3", "m2", "MIN"],
        &["ZMPOP", "1", "m2", "UP"],
        &["ZMPOP", "1", "m2", "MIN", "COUNT", "0"],
        &["ZMPOP", "1", "m2", "MIN", "COUNT", "x"],
        &["ZMPOP", "1", "m2", "MIN", "COUNT", "1", "COUNT", "1"],
        &["ZMPOP", "1", "m2", "MIN", "COUNT"],
        &["SET", "str", "v"],
        &["ZMPOP", "2", "missing", "str", "MIN"],
        &["ZPOPMIN", "str"],
        &["ZADD", "a", "1", "x", "2", "y", "3", "z"],
        &["ZADD", "b", "5", "y", "6", "z", "7", "w"],
        &["SADD", "s", "x", "q"],
        &["ZUNIONSTORE", "d", "3", "a", "b", "s", "WEIGHTS", "1", "2", "3"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &["OBJECT", "ENCODING", "d"],
        &["ZINTERSTORE", "d", "2", "a", "b", "AGGREGATE", "MIN"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &["ZDIFFSTORE", "d", "2", "a", "b"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &["ZINTERSTORE", "d", "2", "a", "missing"],
        &["EXISTS", "d"],
        &["SET", "d", "string"],
        &["EXPIRE", "d", "100"],
        &["ZUNIONSTORE", "d", "1", "a"],
        &["TYPE", "d"],
        &["TTL", "d"],
        &["ZUNIONSTORE", "d", "1", "a", "WITHSCORES"],
        &["ZUNIONSTORE", "d", "0", "a"],
        &["ZDIFFSTORE", "d", "1", "a", "WEIGHTS", "1"],
        &["ZUNIONSTORE", "d", "2", "a", "str"],
        &["ZRANGESTORE", "r", "a", "0", "1"],
        &["ZRANGE", "r", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "r", "a", "(1", "+inf", "BYSCORE", "LIMIT", "0", "1"],
        &["ZRANGE", "r", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "r", "a", "+inf", "-inf", "BYSCORE", "REV"],
        &["ZRANGESTORE", "r", "a", "[x", "[y", "BYLEX"],
        &["ZRANGESTORE", "r", "a", "5", "6"],
        &["EXISTS", "r"],
        &["ZRANGESTORE", "r", "a", "0", "1", "WITHSCORES"],
        &["ZRANGESTORE", "r", "missing", "0", "1"],
        &["ZRANGESTORE", "r", "str", "0", "1"],
        &["CONFIG", "SET", "zset-max-listpack-value", "4"],
        &["ZADD", "long", "1", "abcd"],
        &["OBJECT", "ENCODING", "long"],
        &["ZADD", "long", "1", "abcde"],
        &["OBJECT", "ENCODING", "long"],
        &["ZUNIONSTORE", "d", "1", "a"],
        &["OBJECT", "ENCODING", "d"],
        &["CONFIG", "SET", "zset-max-listpack-value", "64"],
        &["CONFIG", "SET", "zset-max-listpack-entries", "2"],
        &["ZADD", "grow", "1", "a", "2", "b"],
        &["OBJECT", "ENCODING", "grow"],
        &["ZADD", "grow", "3", "c"],
        &["OBJECT", "ENCODING", "grow"],
        &["ZREM", "grow", "c"],
        &["OBJECT", "ENCODING", "grow"],
        &["ZUNIONSTORE", "d", "1", "grow"],
        &["OBJECT", "ENCODING", "d"],
        &["CONFIG", "SET", "zset-max-listpack-entries", "128"],
    ]);
}

/// Key commands on sorted sets: TYPE, RENAME, COPY, MOVE, SCAN TYPE, expiry, GETKEYS.
#[test]
fn key_commands_work_on_sorted_sets() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["ZADD", "z", "1", "a", "2", "b"],
        &["TYPE", "z"],
        &["SCAN", "0", "TYPE", "zset"],
        &["SCAN", "0", "TYPE", "set"],
        &["RENAME", "z", "y"],
        &["ZRANGE", "y", "0", "-1", "WITHSCORES"],
        &["COPY", "y", "c"],
        &["ZADD", "c", "3", "c"],
        &["ZCARD", "y"],
        &["ZCARD", "c"],
        &["MOVE", "c", "1"],
        &["SELECT", "1"],
        &["ZRANGE", "c", "0", "-1"],
        &["SELECT", "0"],
        &["EXPIRE", "y", "100"],
        &["ZADD", "y", "5", "e"],
        &["TTL", "y"],
        &["PERSIST", "y"],
        &["OBJECT", "ENCODING", "y"],
        &["DEL", "y"],
        &["EXISTS", "y"],
        &["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
        &["COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"],
        &["COMMAND", "GETKEYS", "ZRANGESTORE", "d", "s", "0", "1"],
        &["COMMAND", "GETKEYS", "ZINTERCARD", "2", "a", "b"],
        &["COMMAND", "GETKEYS", "SINTERCARD", "2", "a", "b"],
    ]);
}

/// ZRANK and ZREVRANK WITHSCORE, as Redis 7.2 documents them.
#[test]
fn rank_with_score() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let _: i64 = c.zadd_multiple("z", &[(1.5, "a"), (2.0, "b")]).unwrap();
    let (rank, score): (i64, f64) = redis::cmd("ZRANK").arg("z").arg("b").arg("WITHSCORE").query(&mut c).unwrap();
    assert_eq!((rank, score), (1, 2.0));
    let (rank, score): (i64, String) = redis::cmd("ZREVRANK").arg("z").arg("a").arg("WITHSCORE").query(&mut c).unwrap();
    assert_eq!((rank, score.as_str()), (1, "1.5"));
    let missing: Option<Vec<String>> = redis::cmd("ZRANK").arg("z").arg("x").arg("WITHSCORE").query(&mut c).unwrap();
    assert_eq!(missing, None);
    let err = redis::cmd("ZRANK").arg("z").arg("a").arg("WITHSCORES").query::<()>(&mut c).unwrap_err();
    assert!(err.to_string().contains("syntax error"), "{err}");
    let err = redis::cmd("ZRANK").arg("z").arg("a").arg("WITHSCORE").arg("x").query::<()>(&mut c).unwrap_err();
    assert!(err.to_string().contains("wrong number of arguments for 'zrank' command"), "{err}");
}

/// Random picks: distinct for a positive count, from the set, with repeats for a negative one.
#[test]
fn random_members_have_their_properties() {
    let server = Server::start(&["--set", "zset-max-listpack-entries", "4"]);
    let mut c = server.connect();
    for key in ["small", "large"] {
        let members: Vec<(f64, String)> = (0..if key == "small" { 4 } else { 50 }).map(|i| (i as f64, format!("m{i}"))).collect();
        let _: i64 = c.zadd_multiple(key, &members).unwrap();
        let one: String = c.zrandmember(key, None).unwrap();
        assert!(members.iter().any(|(_, m)| *m == one));
        let three: Vec<String> = c.zrandmember(key, Some(3)).unwrap();
        let distinct: std::collections::HashSet<&String> = three.iter().collect();
        assert_eq!((three.len(), distinct.len()), (3, 3), "{key}: {three:?}");
        let many: Vec<String> = c.zrandmember(key, Some(-200)).unwrap();
        assert_eq!(many.len(), 200);
        assert!(many.iter().all(|m| members.iter().any(|(_, k)| k == m)));
        let with: Vec<String> = redis::cmd("ZRANDMEMBER").arg(key).arg(2).arg("WITHSCORES").query(&mut c).unwrap();
        assert_eq!(with.len(), 4);
        assert_eq!(with[1], with[0].trim_start_matches('m'), "a member's score follows it");
    }
    let encoding: String = redis::cmd("OBJECT").arg("ENCODING").arg("large").query(&mut c).unwrap();
    assert_eq!(encoding, "skiplist");
}

/// A sliding-window rate limiter as redis-py users write it: each request is a member scored by
/// its time; older ones are trimmed with ZREMRANGEBYSCORE, and ZCARD says how many are left in
/// the window. Times are given, not read from a clock, so the outcome is fixed.
#[test]
fn sliding_window_rate_limiter_with_redis_py() {
    let server = Server::start(&[]);
    let script = r#"
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
WINDOW, LIMIT = 10.0, 5

def allow(user, now, request_id):
    key = f"rate:{user}"
    pipe = r.pipeline(transaction=True)
    pipe.zremrangebyscore(key, "-inf", f"({now - WINDOW}")
    pipe.zadd(key, {request_id: now})
    pipe.zcard(key)
    pipe.expire(key, int(WINDOW) + 1)
    _, added, count, _ = pipe.execute()
    assert added == 1
    if count > LIMIT:
        r.zrem(key, request_id)
        return False
    return True

decisions = [allow("ann", t * 1.0, f"req{t}") for t in range(8)]
assert decisions == [True] * 5 + [False] * 3, decisions
assert r.zcard("rate:ann") == 5
assert allow("ann", 10.5, "late") is True, "requests at 0 and before fell out of the window"
assert r.zrange("rate:ann", 0, 0, withscores=True) == [(b"req1", 1.0)]
assert allow("bob", 0.0, "first") is True
assert r.zscore("rate:bob", "first") == 0.0
assert 0 < r.ttl("rate:ann") <= 11
"#;
    common::run_redis_py(&["-c", script], server.port);
}

/// A game leaderboard through the `redis` crate, in RESP2 and RESP3: scores raised with
/// ZINCRBY, the top three with ZREVRANGE WITHSCORES, a player's position with ZREVRANK, the
/// players around a score with ZRANGEBYSCORE, weekly boards merged with ZUNIONSTORE.
#[test]
fn leaderboard_with_the_redis_crate() {
    let server = Server::start(&[]);
    for mut c in [server.connect(), server.connect_resp3()] {
        let _: () = redis::cmd("FLUSHALL").query(&mut c).unwrap();
        let players = ["ada", "bo", "cy", "di", "ed"];
        for (i, player) in players.iter().enumerate() {
            let _: f64 = c.zincr("week1", *player, (i * 10) as f64).unwrap();
            let _: f64 = c.zincr("week2", *player, 100.0 - (i * i) as f64).unwrap();
        }
        let _: f64 = c.zincr("week1", "ada", 45.5).unwrap();
        let top: Vec<(String, f64)> = c.zrevrange_withscores("week1", 0, 2).unwrap();
        assert_eq!(top, vec![("ada".to_string(), 45.5), ("ed".into(), 40.0), ("di".into(), 30.0)]);
        let rank: Option<i64> = c.zrevrank("week1", "cy").unwrap();
        assert_eq!(rank, Some(3));
        let around: Vec<String> = c.zrangebyscore("week1", 10, 30).unwrap();
        assert_eq!(around, vec!["bo", "cy", "di"]);
        let total: i64 = c.zunionstore("total", &["week1", "week2"]).unwrap();
        assert_eq!(total, 5);
        let best: Vec<(String, f64)> = c.zrevrange_withscores("total", 0, 0).unwrap();
        assert_eq!(best, vec![("ada".to_string(), 145.5)]);
        let score: Option<f64> = c.zscore("total", "ed").unwrap();
        assert_eq!(score, Some(124.0));
        let popped: Vec<(String, f64)> = c.zpopmin("total", 1).unwrap();
        assert_eq!(popped, vec![("bo".to_string(), 109.0)]);
        assert_eq!(c.zcard::<_, i64>("total").unwrap(), 4);
    }
}

fn info_number(conn: &mut redis::Connection, name: &str) -> u64 {
    let info: String = redis::cmd("INFO").query(conn).unwrap();
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
}

/// Sorted sets are counted in used_memory and MEMORY USAGE: a big one is freed lazily after
/// DEL, and writing far more than maxmemory evicts whole sorted sets.
#[test]
fn sorted_sets_are_counted_freed_and_evicted() {
    let server = Server::start(&["--set", "maxmemory", "8mb", "--set", "maxmemory-policy", "allkeys-lru"]);
    let mut conn = server.connect();
    let before = info_number(&mut conn, "used_memory");
    let members: Vec<(f64, String)> = (0..1000).map(|i| (i as f64 / 3.0, format!("member-{i:0>40}"))).collect();
    let _: i64 = conn.zadd_multiple("big", &members).unwrap();
    let with_big = info_number(&mut conn, "used_memory");
    assert!(with_big > before + 40_000, "a 1000-member sorted set is counted: {before} -> {with_big}");
    let usage: u64 = redis::cmd("MEMORY").arg("USAGE").arg("big").arg("SAMPLES").arg(0).query(&mut conn).unwrap();
    assert!(usage > 40_000 && usage < with_big - before + 4096, "MEMORY USAGE {usage}");
    let _: i64 = conn.del("big").unwrap();
    // Lazily freed: at most a slice per call, and INFO counts it once done.
    common::wait_until("the sorted set is freed", || info_number(&mut conn, "lazyfreed_objects") >= 1);
    assert!(info_number(&mut conn, "used_memory") < with_big - 40_000, "and freed after DEL");

    for batch in 0..30 {
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.zadd_multiple(format!("zset:{batch}:{i}"), &members[..100]).ignore();
        }
        let _: () = pipe.query(&mut conn).expect("every ZADD succeeds while eviction makes room");
    }
    assert!(info_number(&mut conn, "used_memory") <= 8 * 1024 * 1024);
    assert!(info_number(&mut conn, "evicted_keys") > 0);
    let keys: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert!(keys > 100 && keys < 3000, "{keys} sorted sets kept");
}
