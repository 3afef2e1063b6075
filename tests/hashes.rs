//! Hashes against a real `cachet serve`: every command Debian's redis-server 7.0.15 knows is
//! compared with it byte for byte in RESP2 and RESP3; the field-TTL commands (Redis 7.4) and
//! HGETEX, HSETEX and HGETDEL (Redis 8.0) are checked against their documentation's replies.

mod common;

use common::{Redis, Server, assert_same_as_redis};
use redis::Value;

fn cmd(conn: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<Value> {
    let mut c = redis::cmd(args[0]);
    for arg in &args[1..] {
        c.arg(*arg);
    }
    c.query(conn)
}

#[test]
fn hash_commands_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["HSET", "h", "a", "1", "b", "2", "c", "3"],
        &["HSET", "h", "a", "10"],
        &["HSET", "h", "a"],
        &["HMSET", "h", "d", "4"],
        &["HMSET", "h", "d"],
        &["HSETNX", "h", "a", "x"],
        &["HSETNX", "h", "e", "5"],
        &["HGET", "h", "a"],
        &["HGET", "h", "nope"],
        &["HGET", "missing", "a"],
        &["HMGET", "h", "a", "nope", "e"],
        &["HMGET", "missing", "a", "b"],
        &["HGETALL", "h"],
        &["HGETALL", "missing"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HKEYS", "missing"],
        &["HLEN", "h"],
        &["HLEN", "missing"],
        &["HEXISTS", "h", "a"],
        &["HEXISTS", "h", "nope"],
        &["HSTRLEN", "h", "a"],
        &["HSTRLEN", "h", "nope"],
        &["HDEL", "h", "a", "a", "nope"],
        &["HDEL", "missing", "a"],
        &["HINCRBY", "h", "n", "5"],
        &["HINCRBY", "h", "n", "-7"],
        &["HINCRBY", "h", "n", "x"],
        &["HINCRBY", "h", "b", "9223372036854775807"],
        &["HINCRBY", "h", "n", "9223372036854775807"],
        &["HSET", "h", "s", "text"],
        &["HINCRBY", "h", "s", "1"],
        &["HINCRBYFLOAT", "h", "s", "1"],
        &["HSET", "h", "sp", " 1"],
        &["HINCRBY", "h", "sp", "1"],
        &["HINCRBY", "h", "n", ""],
        &["HINCRBYFLOAT", "h", "f", "10.5"],
        &["HINCRBYFLOAT", "h", "f", "5.0e3"],
        &["HINCRBYFLOAT", "h", "f", "abc"],
        &["HINCRBYFLOAT", "h", "f", "inf"],
        &["HINCRBYFLOAT", "h", "f", "0.25"],
        &["HINCRBYFLOAT", "h", "f", "-10.5"],
        &["HINCRBYFLOAT", "h", "b", "1.5"],
        &["HGETALL", "h"],
        &["OBJECT", "ENCODING", "h"],
        &["TYPE", "h"],
        &["HRANDFIELD", "h", "100"],
        &["HRANDFIELD", "h", "100", "WITHVALUES"],
        &["HRANDFIELD", "h", "0"],
        &["HRANDFIELD", "h", "1", "NOPE"],
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        &["HRANDFIELD", "h", "x"],
        &["HRANDFIELD", "missing"],
        &["HRANDFIELD", "missing", "3"],
        &["HRANDFIELD", "missing", "-3", "WITHVALUES"],
        &["HSCAN", "h", "0"],
        &["HSCAN", "h", "0", "MATCH", "[a-c]*", "COUNT", "1"],
        &["HSCAN", "h", "0", "COUNT", "0"],
        &["HSCAN", "h", "0", "COUNT", "x"],
        &["HSCAN", "h", "0", "TYPE", "hash"],
        &["HSCAN", "h", "x"],
        &["HSCAN", "missing", "0"],
        // Wrong type both ways.
        &["SET", "s", "v"],
        &["HSET", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HSCAN", "s", "0"],
        &["HRANDFIELD", "s"],
        &["HMGET", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HLEN", "s"],
        &["HEXISTS", "s", "a"],
        &["HSTRLEN", "s", "a"],
        &["HDEL", "s", "a"],
        &["HSETNX", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s", "2", "WITHVALUES"],
        &["GET", "h"],
        &["SETRANGE", "h", "0", "x"],
        &["STRLEN", "h"],
        &["GETDEL", "h"],
        &["APPEND", "h", "x"],
        &["INCR", "h"],
        // Key commands on a hash.
        &["COPY", "h", "h2"],
        &["HGETALL", "h2"],
        &["RENAME", "h2", "h3"],
        &["EXPIRE", "h3", "100"],
        &["TTL", "h3"],
        &["SCAN", "0", "MATCH", "h3", "TYPE", "hash"],
        &["SCAN", "0", "MATCH", "h3", "TYPE", "string"],
        &["EXISTS", "h", "h3"],
        &["DEL", "h3"],
        &["DBSIZE"],
        // Binary-safe fields and values, empty ones included.
        &["HSET", "bin", "", "", "f\r\n", "v\x00w"],
        &["HGETALL", "bin"],
        &["HSTRLEN", "bin", "f\r\n"],
        &["HEXISTS", "bin", ""],
        // An emptied hash is gone.
        &["HSET", "g", "only", "1"],
        &["HDEL", "g", "only"],
        &["EXISTS", "g"],
        &["HSETNX", "g", "f", "v"],
        &["HGETALL", "g"],
    ]);
}

#[test]
fn encodings_follow_the_same_thresholds_as_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let long = "x".repeat(65);
    let fits = "y".repeat(64);
    let mut many: Vec<String> = vec!["HSET".into(), "many".into()];
    for i in 0..512 {
        many.push(format!("f{i}"));
        many.push(i.to_string());
    }
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_same_as_redis(&server, &redis, &[
        &["CONFIG", "GET", "hash-max-listpack-entries"],
        &["CONFIG", "GET", "hash-max-listpack-value"],
        &["HSET", "small", "a", &fits],
        &["OBJECT", "ENCODING", "small"],
        &["HSET", "small", "b", &long],
        &["OBJECT", "ENCODING", "small"],
        &["HSET", "key", &long, "v"],
        &["OBJECT", "ENCODING", "key"],
        &many,
        &["OBJECT", "ENCODING", "many"],
        &["HSET", "many", "one-more", "v"],
        &["OBJECT", "ENCODING", "many"],
        &["HLEN", "many"],
        &["HDEL", "many", "one-more", "f0", "f1"],
        &["OBJECT", "ENCODING", "many"],
        &["CONFIG", "SET", "hash-max-listpack-entries", "2"],
        &["HSET", "t", "a", "1", "b", "2"],
        &["OBJECT", "ENCODING", "t"],
        &["HSET", "t", "c", "3"],
        &["OBJECT", "ENCODING", "t"],
        &["CONFIG", "SET", "hash-max-listpack-value", "3"],
        &["HSET", "v", "abc", "def"],
        &["OBJECT", "ENCODING", "v"],
        &["HSET", "v", "abcd", "x"],
        &["OBJECT", "ENCODING", "v"],
        &["CONFIG", "SET", "hash-max-listpack-entries", "512"],
        &["CONFIG", "SET", "hash-max-listpack-value", "64"],
    ]);
}

/// HSCAN of a hashed hash walks it with a cursor; the order is each server's own, so the set of
/// fields seen is what is compared.
#[test]
fn hscan_of_a_large_hash_finds_every_field() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    for i in 0..1000 {
        cmd(&mut c, &["HSET", "big", &format!("field:{i}"), &i.to_string()]).unwrap();
    }
    assert_eq!(cmd(&mut c, &["OBJECT", "ENCODING", "big"]).unwrap(), Value::BulkString(b"hashtable".to_vec()));
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, items): (String, Vec<String>) =
            redis::cmd("HSCAN").arg("big").arg(&cursor).arg("COUNT").arg(50).arg("NOVALUES").query(&mut c).unwrap();
        seen.extend(items);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    let (_, first): (String, Vec<String>) = redis::cmd("HSCAN").arg("big").arg(0).arg("MATCH").arg("field:99?").query(&mut c).unwrap();
    assert!(first.len() <= 20);
}

fn ints(values: &[i64]) -> Value {
    Value::Array(values.iter().map(|&v| Value::Int(v)).collect())
}

/// The field-TTL commands of Redis 7.4 and the Redis 8.0 commands, with their documentation's
/// replies (Redis 7.0.15 has none of them).
#[test]
fn field_ttls_as_documented() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    // HEXPIRE's page.
    cmd(&mut c, &["HSET", "mykey", "field1", "hello", "field2", "world"]).unwrap();
    assert_eq!(cmd(&mut c, &["HEXPIRE", "mykey", "10", "FIELDS", "3", "field1", "field2", "field3"]).unwrap(), ints(&[1, 1, -2]));
    assert_eq!(cmd(&mut c, &["HEXPIRE", "mykey", "10", "NX", "FIELDS", "1", "field1"]).unwrap(), ints(&[0]));
    assert_eq!(cmd(&mut c, &["HEXPIRE", "mykey", "20", "GT", "FIELDS", "1", "field1"]).unwrap(), ints(&[1]));
    assert_eq!(cmd(&mut c, &["HTTL", "mykey", "FIELDS", "3", "field1", "field2", "field3"]).unwrap(), ints(&[20, 10, -2]));
    assert_eq!(cmd(&mut c, &["OBJECT", "ENCODING", "mykey"]).unwrap(), Value::BulkString(b"listpackex".to_vec()));
    // HPERSIST's page.
    assert_eq!(cmd(&mut c, &["HPERSIST", "mykey", "FIELDS", "2", "field1", "field3"]).unwrap(), ints(&[1, -2]));
    assert_eq!(cmd(&mut c, &["HTTL", "mykey", "FIELDS", "1", "field1"]).unwrap(), ints(&[-1]));
    // HEXPIREAT in the past deletes: 2, and the last field takes the hash with it.
    assert_eq!(cmd(&mut c, &["HEXPIREAT", "mykey", "1", "FIELDS", "2", "field1", "field2"]).unwrap(), ints(&[2, 2]));
    assert_eq!(cmd(&mut c, &["EXISTS", "mykey"]).unwrap(), Value::Int(0));
    // Expired fields disappear on their own: the timer runs active expiry without any reads.
    cmd(&mut c, &["HSET", "h", "a", "1", "b", "2"]).unwrap();
    assert_eq!(cmd(&mut c, &["HPEXPIRE", "h", "50", "FIELDS", "2", "a", "b"]).unwrap(), ints(&[1, 1]));
    common::wait_until("the hash's fields expire without being read", || {
        cmd(&mut c, &["DBSIZE"]).unwrap() == Value::Int(0)
    });
    // HSETEX, HGETEX and HGETDEL (Redis 8.0's pages).
    assert_eq!(cmd(&mut c, &["HSETEX", "k", "FNX", "EX", "60", "FIELDS", "2", "f1", "Hello", "f2", "World"]).unwrap(), Value::Int(1));
    assert_eq!(cmd(&mut c, &["HSETEX", "k", "FNX", "EX", "60", "FIELDS", "2", "f1", "Hello", "f2", "World"]).unwrap(), Value::Int(0));
    let error = cmd(&mut c, &["HSETEX", "k", "FXX", "EX", "60", "KEEPTTL", "FIELDS", "1", "f1", "x"]).unwrap_err();
    assert!(error.to_string().contains("Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified"), "{error}");
    assert_eq!(cmd(&mut c, &["HGETEX", "k", "PERSIST", "FIELDS", "1", "f1"]).unwrap(), Value::Array(vec![Value::BulkString(b"Hello".to_vec())]));
    assert_eq!(cmd(&mut c, &["HTTL", "k", "FIELDS", "2", "f1", "f2"]).unwrap(), ints(&[-1, 60]));
    assert_eq!(
        cmd(&mut c, &["HGETDEL", "k", "FIELDS", "2", "f1", "nope"]).unwrap(),
        Value::Array(vec![Value::BulkString(b"Hello".to_vec()), Value::Nil])
    );
    assert_eq!(cmd(&mut c, &["HKEYS", "k"]).unwrap(), Value::Array(vec![Value::BulkString(b"f2".to_vec())]));
}

#[test]
fn redis_py_uses_hashes() {
    let server = Server::start(&[]);
    let script = r#"
import sys, redis
r = redis.Redis(port=int(sys.argv[1]), decode_responses=True)
assert r.hset("user", mapping={"name": "ada", "age": "36"}) == 2
assert r.hgetall("user") == {"name": "ada", "age": "36"}
assert r.hincrby("user", "age", 1) == 37
assert r.hmget("user", ["name", "nope"]) == ["ada", None]
assert sorted(r.hkeys("user")) == ["age", "name"]
assert r.execute_command("HEXPIRE", "user", 100, "FIELDS", 1, "name") == [1]
assert r.execute_command("HTTL", "user", "FIELDS", 1, "name") == [100]
assert r.hdel("user", "name", "age") == 2
assert r.exists("user") == 0
r3 = redis.Redis(port=int(sys.argv[1]), decode_responses=True, protocol=3)
r3.hset("h", "f", "v")
assert r3.hgetall("h") == {"f": "v"}
print("ok")
"#;
    common::run_redis_py(&["-c", script], server.port);
}

#[test]
fn the_redis_crate_uses_hashes() {
    use redis::Commands;
    let server = Server::start(&[]);
    let mut c = server.connect();
    let added: i64 = c.hset_multiple::<_, _, _, ()>("h", &[("a", "1"), ("b", "2")]).map(|_| 2).unwrap();
    assert_eq!(added, 2);
    let all: std::collections::HashMap<String, String> = c.hgetall("h").unwrap();
    assert_eq!(all.get("b").map(String::as_str), Some("2"));
    let n: i64 = c.hincr("h", "a", 41).unwrap();
    assert_eq!(n, 42);
    let mut c3 = server.connect_resp3();
    let map: std::collections::HashMap<String, String> = c3.hgetall("h").unwrap();
    assert_eq!(map.len(), 2);
}

/// Random picks differ between servers; how many come back, and in what shape, must not.
#[test]
fn hrandfield_returns_as_many_picks_as_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let mut ours = server.connect();
    let mut theirs = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    for conn in [&mut ours, &mut theirs] {
        cmd(conn, &["HSET", "h", "a", "1", "b", "2", "c", "3"]).unwrap();
    }
    for args in [&["HRANDFIELD", "h", "-5"][..], &["HRANDFIELD", "h", "-5", "WITHVALUES"], &["HRANDFIELD", "h", "2"], &["HRANDFIELD", "h", "2", "WITHVALUES"]] {
        let shape = |conn: &mut redis::Connection| match cmd(conn, args).unwrap() {
            Value::Array(items) => items.len(),
            other => panic!("{args:?}: {other:?}"),
        };
        assert_eq!(shape(&mut ours), shape(&mut theirs), "{args:?}");
    }
    let distinct: Vec<String> = redis::cmd("HRANDFIELD").arg("h").arg(3).query(&mut ours).unwrap();
    assert_eq!(distinct, ["a", "b", "c"]);
}
