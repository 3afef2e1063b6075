//! Every command against a key of every type, on a real `cachet serve` and Debian's redis-server
//! 7.0.15, reply for reply: WRONGTYPE where Redis checks the type (with HyperLogLog's own text for
//! a string that is not a sketch), and Redis's other answer where it does not (SET overwrites, DEL,
//! EXISTS, TYPE and RENAME work on anything, a store command's destination is replaced).
//!
//! The cases are generated: each key type from [`KEY_TYPES`] meets each command of the tables
//! below, the key under test always being `k`, in every position a command takes a key (source,
//! destination, among other sources). The hash commands newer than redis-server 7.0.15 (field
//! TTLs, Redis 7.4; HGETEX, HSETEX, HGETDEL, Redis 8.0) are checked against the documented WRONGTYPE
//! reply instead.

mod common;

use common::{Redis, Server, assert_same_as_redis, resp};

/// A key `k` of each type cachet has, made as a client makes it. A bitmap and a HyperLogLog are
/// strings; an integer string is what INCR and friends work on.
const KEY_TYPES: &[(&str, &[&str])] = &[
    ("string", &["SET", "k", "hello"]),
    ("integer string", &["SET", "k", "12"]),
    ("bitmap", &["SETBIT", "k", "7", "1"]),
    ("hyperloglog", &["PFADD", "k", "a", "b"]),
    ("hash", &["HSET", "k", "f", "v"]),
    ("set", &["SADD", "k", "1"]),
    ("list", &["RPUSH", "k", "a", "b"]),
    ("sorted set", &["ZADD", "k", "1", "a"]),
];

/// Other keys every case has, for commands that take several: sets `s1` and `s2`, a
/// HyperLogLog `h2`, a string `str`, a sorted set `z1`. The sets' members are integers: redis-server 7.0.15 and
/// cachet then both keep them as an intset and list them in the same order.
const NEIGHBOURS: &[&[&str]] = &[&["SADD", "s1", "1", "2"], &["SADD", "s2", "1"], &["PFADD", "h2", "z"], &["SET", "str", "abc"], &["ZADD", "z1", "1", "a", "2", "b"]];

/// What is looked at after each command: the types of the keys it may have written.
const PROBES: &[&[&str]] = &[&["TYPE", "k"], &["TYPE", "d"], &["TYPE", "k2"], &["GET", "k"]];

const STRING_COMMANDS: &[&[&str]] = &[
    &["GET", "k"],
    &["SET", "k", "v"],
    &["SET", "k", "v", "GET"],
    &["SET", "k", "v", "NX"],
    &["SET", "k", "v", "XX", "KEEPTTL"],
    &["SETNX", "k", "v"],
    &["SETEX", "k", "10", "v"],
    &["PSETEX", "k", "10000", "v"],
    &["GETSET", "k", "v"],
    &["GETDEL", "k"],
    &["GETEX", "k"],
    &["GETEX", "k", "PERSIST"],
    &["GETEX", "k", "EX", "100"],
    &["MGET", "str", "k"],
    &["MSET", "k", "v", "str", "w"],
    &["MSETNX", "k", "v"],
    &["MSETNX", "str", "v", "k", "v"],
    &["APPEND", "k", "v"],
    &["STRLEN", "k"],
    &["GETRANGE", "k", "0", "-1"],
    &["SUBSTR", "k", "0", "-1"],
    &["SETRANGE", "k", "1", "v"],
    &["SETRANGE", "k", "1", ""],
    &["INCR", "k"],
    &["DECR", "k"],
    &["INCRBY", "k", "2"],
    &["DECRBY", "k", "2"],
    &["INCRBYFLOAT", "k", "1.5"],
];

const BITMAP_COMMANDS: &[&[&str]] = &[
    &["SETBIT", "k", "1", "1"],
    &["GETBIT", "k", "1"],
    &["BITCOUNT", "k"],
    &["BITCOUNT", "k", "0", "-1"],
    &["BITCOUNT", "k", "0", "-1", "BIT"],
    &["BITPOS", "k", "1"],
    &["BITPOS", "k", "0"],
    &["BITPOS", "k", "0", "0", "-1", "BIT"],
    &["BITOP", "AND", "d", "k"],
    &["BITOP", "OR", "d", "str", "k"],
    &["BITOP", "XOR", "d", "k", "str"],
    &["BITOP", "NOT", "d", "k"],
    &["BITOP", "AND", "k", "str"],
    &["BITOP", "NOT", "k", "str"],
    &["BITFIELD", "k", "GET", "u8", "0"],
    &["BITFIELD", "k", "SET", "u8", "0", "1"],
    &["BITFIELD", "k", "INCRBY", "i5", "0", "3"],
    &["BITFIELD", "k"],
    &["BITFIELD_RO", "k", "GET", "u8", "0"],
];

const HYPERLOGLOG_COMMANDS: &[&[&str]] = &[
    &["PFADD", "k", "a"],
    &["PFADD", "k"],
    &["PFCOUNT", "k"],
    &["PFCOUNT", "k", "h2"],
    &["PFCOUNT", "h2", "k"],
    &["PFCOUNT", "k", "missing"],
    &["PFMERGE", "d", "k"],
    &["PFMERGE", "d", "h2", "k"],
    &["PFMERGE", "k", "h2"],
    &["PFMERGE", "k"],
];

const HASH_COMMANDS: &[&[&str]] = &[
    &["HSET", "k", "f", "v"],
    &["HSETNX", "k", "f", "v"],
    &["HMSET", "k", "f", "v"],
    &["HGET", "k", "f"],
    &["HMGET", "k", "f", "g"],
    &["HDEL", "k", "f"],
    &["HEXISTS", "k", "f"],
    &["HLEN", "k"],
    &["HSTRLEN", "k", "f"],
    &["HKEYS", "k"],
    &["HVALS", "k"],
    &["HGETALL", "k"],
    &["HINCRBY", "k", "n", "1"],
    &["HINCRBYFLOAT", "k", "n", "1.5"],
    &["HRANDFIELD", "k"],
    &["HRANDFIELD", "k", "2"],
    &["HRANDFIELD", "k", "0"],
    &["HRANDFIELD", "k", "-2", "WITHVALUES"],
    &["HSCAN", "k", "0"],
];

const SET_COMMANDS: &[&[&str]] = &[
    &["SADD", "k", "1"],
    &["SREM", "k", "1"],
    &["SISMEMBER", "k", "1"],
    &["SMISMEMBER", "k", "1", "2"],
    &["SCARD", "k"],
    &["SMEMBERS", "k"],
    &["SRANDMEMBER", "k"],
    &["SRANDMEMBER", "k", "2"],
    &["SRANDMEMBER", "k", "-2"],
    &["SPOP", "k"],
    &["SPOP", "k", "2"],
    &["SMOVE", "k", "s2", "1"],
    &["SMOVE", "s1", "k", "1"],
    &["SMOVE", "s1", "k", "9"],
    &["SMOVE", "missing", "k", "1"],
    &["SMOVE", "k", "k", "1"],
    &["SINTER", "k", "s1"],
    &["SINTER", "s1", "k"],
    &["SINTER", "missing", "k"],
    &["SINTERCARD", "2", "s1", "k"],
    &["SINTERCARD", "2", "k", "s1", "LIMIT", "1"],
    &["SDIFF", "missing", "k"],
    &["SUNIONSTORE", "d", "missing", "k"],
    &["SRANDMEMBER", "k", "0"],
    &["SPOP", "k", "0"],
    &["SUNION", "s1", "k"],
    &["SDIFF", "k", "s1"],
    &["SDIFF", "s1", "k"],
    &["SINTERSTORE", "d", "s1", "k"],
    &["SINTERSTORE", "k", "s1", "s2"],
    &["SUNIONSTORE", "d", "k", "s1"],
    &["SUNIONSTORE", "k", "s1", "s2"],
    &["SDIFFSTORE", "d", "s1", "k"],
    &["SDIFFSTORE", "k", "s1", "s2"],
    &["SSCAN", "k", "0"],
];

const SORTED_SET_COMMANDS: &[&[&str]] = &[
    &["ZADD", "k", "2", "b"],
    &["ZADD", "k", "XX", "INCR", "1", "a"],
    &["ZINCRBY", "k", "1", "a"],
    &["ZREM", "k", "a"],
    &["ZCARD", "k"],
    &["ZCOUNT", "k", "-inf", "+inf"],
    &["ZLEXCOUNT", "k", "-", "+"],
    &["ZSCORE", "k", "a"],
    &["ZMSCORE", "k", "a", "b"],
    &["ZRANK", "k", "a"],
    &["ZREVRANK", "k", "a"],
    &["ZRANGE", "k", "0", "-1", "WITHSCORES"],
    &["ZRANGE", "k", "-inf", "+inf", "BYSCORE"],
    &["ZRANGEBYSCORE", "k", "-inf", "+inf"],
    &["ZREVRANGEBYSCORE", "k", "+inf", "-inf"],
    &["ZRANGEBYLEX", "k", "-", "+"],
    &["ZREVRANGEBYLEX", "k", "+", "-"],
    &["ZREVRANGE", "k", "0", "-1"],
    &["ZRANGESTORE", "d", "k", "0", "-1"],
    &["ZRANGESTORE", "k", "z1", "0", "-1"],
    &["ZREMRANGEBYRANK", "k", "0", "-1"],
    &["ZREMRANGEBYSCORE", "k", "-inf", "+inf"],
    &["ZREMRANGEBYLEX", "k", "-", "+"],
    &["ZPOPMIN", "k"],
    &["ZPOPMAX", "k", "2"],
    &["ZMPOP", "2", "missing", "k", "MIN"],
    &["ZMPOP", "2", "z1", "k", "MAX"],
    &["ZRANDMEMBER", "k"],
    &["ZRANDMEMBER", "k", "2"],
    &["ZRANDMEMBER", "k", "-2", "WITHSCORES"],
    &["ZUNION", "2", "z1", "k", "WITHSCORES"],
    &["ZINTER", "2", "k", "z1", "WITHSCORES"],
    &["ZDIFF", "2", "z1", "k"],
    &["ZUNIONSTORE", "d", "2", "z1", "k"],
    &["ZUNIONSTORE", "k", "1", "z1"],
    &["ZINTERSTORE", "d", "2", "k", "z1"],
    &["ZINTERSTORE", "k", "2", "z1", "s1"],
    &["ZDIFFSTORE", "d", "2", "k", "z1"],
    &["ZDIFFSTORE", "k", "1", "z1"],
    &["ZINTERCARD", "2", "z1", "k"],
    &["ZSCAN", "k", "0"],
];

/// Commands on keys of any type.
/// List commands, the blocking ones included: `k` always exists, so none of them waits.
const LIST_COMMANDS: &[&[&str]] = &[
    &["LPUSH", "k", "x"],
    &["RPUSH", "k", "x"],
    &["LPUSHX", "k", "x"],
    &["RPUSHX", "k", "x"],
    &["LPOP", "k"],
    &["RPOP", "k", "2"],
    &["LLEN", "k"],
    &["LRANGE", "k", "0", "-1"],
    &["LINDEX", "k", "0"],
    &["LSET", "k", "0", "x"],
    &["LINSERT", "k", "BEFORE", "a", "x"],
    &["LREM", "k", "0", "a"],
    &["LTRIM", "k", "0", "0"],
    &["LPOS", "k", "a"],
    &["LMOVE", "k", "d", "LEFT", "RIGHT"],
    &["LMOVE", "str", "k", "LEFT", "RIGHT"],
    &["RPOPLPUSH", "k", "k2"],
    &["LMPOP", "2", "k", "str", "LEFT"],
    &["BLPOP", "k", "0.01"],
    &["BRPOP", "k", "0.01"],
    &["BLMOVE", "k", "d", "RIGHT", "LEFT", "0.01"],
    &["BRPOPLPUSH", "k", "d", "0.01"],
    &["BLMPOP", "0.01", "1", "k", "RIGHT", "COUNT", "3"],
];

const KEY_COMMANDS: &[&[&str]] = &[
    &["DEL", "k"],
    &["UNLINK", "k"],
    &["EXISTS", "k"],
    &["TYPE", "k"],
    &["RENAME", "k", "k2"],
    &["RENAME", "str", "k"],
    &["RENAMENX", "k", "k2"],
    &["RENAME", "k", "k"],
    &["MOVE", "k", "1"],
    &["COPY", "k", "k2"],
    &["EXPIRE", "k", "100"],
    &["TTL", "k"],
    &["PERSIST", "k"],
];

/// Hash commands redis-server 7.0.15 does not know.
const NEWER_HASH_COMMANDS: &[&[&str]] = &[
    &["HEXPIRE", "k", "100", "FIELDS", "1", "f"],
    &["HPEXPIRE", "k", "100000", "FIELDS", "1", "f"],
    &["HEXPIREAT", "k", "4000000000", "FIELDS", "1", "f"],
    &["HPEXPIREAT", "k", "4000000000000", "FIELDS", "1", "f"],
    &["HTTL", "k", "FIELDS", "1", "f"],
    &["HPTTL", "k", "FIELDS", "1", "f"],
    &["HEXPIRETIME", "k", "FIELDS", "1", "f"],
    &["HPEXPIRETIME", "k", "FIELDS", "1", "f"],
    &["HPERSIST", "k", "FIELDS", "1", "f"],
    &["HGETEX", "k", "FIELDS", "1", "f"],
    &["HSETEX", "k", "FIELDS", "1", "f", "v"],
    &["HGETDEL", "k", "FIELDS", "1", "f"],
];

/// Every command of `tables` run once on each type of key, each from a fresh keyspace and
/// followed by [`PROBES`].
fn cases(tables: &[&'static [&'static [&'static str]]]) -> Vec<&'static [&'static str]> {
    let mut commands: Vec<&[&str]> = Vec::new();
    for &(_, make) in KEY_TYPES {
        for &command in tables.iter().flat_map(|table| table.iter()) {
            commands.push(&["FLUSHALL"]);
            commands.extend_from_slice(NEIGHBOURS);
            commands.push(make);
            commands.push(command);
            commands.extend_from_slice(PROBES);
        }
    }
    commands
}

#[test]
fn string_bitmap_and_hyperloglog_commands_on_every_type() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &cases(&[STRING_COMMANDS, BITMAP_COMMANDS, HYPERLOGLOG_COMMANDS]));
}

#[test]
fn hash_set_and_key_commands_on_every_type() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &cases(&[HASH_COMMANDS, SET_COMMANDS, KEY_COMMANDS]));
}

#[test]
fn sorted_set_commands_on_every_type() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &cases(&[SORTED_SET_COMMANDS]));
}

/// A string that is not a sketch: HyperLogLog's own WRONGTYPE text, for a plain value and one a
/// sketch became by a string command.
#[test]
fn list_commands_on_every_type() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &cases(&[LIST_COMMANDS]));
}

#[test]
fn hyperloglog_commands_refuse_strings_that_are_not_sketches() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SET", "plain", "not a sketch"],
        &["PFADD", "plain", "a"],
        &["PFCOUNT", "plain"],
        &["PFMERGE", "plain", "h"],
        &["PFADD", "h", "a"],
        &["APPEND", "h", "x"],
        &["PFCOUNT", "h"],
        &["PFADD", "h", "b"],
    ]);
}

/// The newer hash commands answer WRONGTYPE for every other type, as their documentation says.
#[test]
fn newer_hash_commands_refuse_other_types() {
    let server = Server::start(&[]);
    let mut conn = server.raw();
    let wrong_type = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for &(name, make) in KEY_TYPES.iter().filter(|(name, _)| *name != "hash") {
        for command in NEWER_HASH_COMMANDS {
            for setup in [&["FLUSHALL"][..], make] {
                conn.send(resp(setup).as_bytes());
                conn.reply();
            }
            conn.send(resp(command).as_bytes());
            let reply = String::from_utf8_lossy(&conn.reply()).into_owned();
            assert_eq!(reply, wrong_type, "{command:?} on a {name}");
        }
    }
}
