use crate::engine::test_harness::{Harness, bulk};

fn array(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(item);
    }
    out
}

#[test]
fn set_get_and_delete() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["HSET", "h", "a", "1", "b", "2"]), ":2\r\n");
    assert_eq!(c.run(&["HSET", "h", "a", "3"]), ":0\r\n");
    assert_eq!(c.run(&["HGET", "h", "a"]), bulk("3"));
    assert_eq!(c.run(&["HMGET", "h", "a", "x", "b"]), array(&[&bulk("3"), "$-1\r\n", &bulk("2")]));
    assert_eq!(c.run(&["HGETALL", "h"]), array(&[&bulk("a"), &bulk("3"), &bulk("b"), &bulk("2")]));
    assert_eq!(c.run(&["HSET", "h", "a"]), "-ERR wrong number of arguments for 'hset' command\r\n");
    assert_eq!(c.run(&["HSETNX", "h", "a", "x"]), ":0\r\n");
    assert_eq!(c.run(&["HSETNX", "h", "c", "x"]), ":1\r\n");
    assert_eq!(c.run(&["HLEN", "h"]), ":3\r\n");
    assert_eq!(c.run(&["HSTRLEN", "h", "c"]), ":1\r\n");
    assert_eq!(c.run(&["HDEL", "h", "a", "b", "c", "zz"]), ":3\r\n");
    assert_eq!(c.run(&["EXISTS", "h"]), ":0\r\n", "an emptied hash is deleted");
    c.run(&["SET", "s", "v"]);
    assert!(c.run(&["HGET", "s", "a"]).starts_with("-WRONGTYPE"));
    c.run(&["HSET", "h", "a", "1"]);
    assert!(c.run(&["GET", "h"]).starts_with("-WRONGTYPE"));
    assert_eq!(c.run(&["TYPE", "h"]), "+hash\r\n");
}

#[test]
fn increments() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["HINCRBY", "h", "n", "5"]), ":5\r\n");
    assert_eq!(c.run(&["HINCRBY", "h", "n", "x"]), "-ERR value is not an integer or out of range\r\n");
    c.run(&["HSET", "h", "s", "abc"]);
    assert_eq!(c.run(&["HINCRBY", "h", "s", "1"]), "-ERR hash value is not an integer\r\n");
    assert_eq!(c.run(&["HINCRBYFLOAT", "h", "s", "1"]), "-ERR hash value is not a float\r\n");
    assert_eq!(c.run(&["HINCRBYFLOAT", "h", "f", "10.5"]), bulk("10.5"));
    assert_eq!(c.run(&["HINCRBY", "h", "n", "9223372036854775807"]), "-ERR increment or decrement would overflow\r\n");
    assert_eq!(c.run(&["HINCRBY", "fresh", "n", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.run(&["EXISTS", "fresh"]), ":0\r\n", "a failed increment creates nothing");
}

#[test]
fn encodings_follow_the_limits() {
    let mut c = Harness::new();
    c.run(&["HSET", "h", "a", "1"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "h"]), bulk("listpack"));
    c.run(&["HSET", "h", "long", &"x".repeat(65)]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "h"]), bulk("hashtable"));
    c.run(&["CONFIG", "SET", "hash-max-listpack-entries", "2"]);
    assert_eq!(c.run(&["CONFIG", "GET", "hash-max-listpack-entries"]), array(&[&bulk("hash-max-listpack-entries"), &bulk("2")]));
    c.run(&["HSET", "g", "a", "1", "b", "2"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "g"]), bulk("listpack"));
    c.run(&["HSET", "g", "c", "3"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "g"]), bulk("hashtable"));
    assert_eq!(c.run(&["HLEN", "g"]), ":3\r\n");
}

#[test]
fn random_fields_and_scan() {
    let mut c = Harness::new();
    c.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(c.run(&["HRANDFIELD", "h", "5"]), array(&[&bulk("a"), &bulk("b"), &bulk("c")]));
    assert_eq!(c.run(&["HRANDFIELD", "h", "-5"]).matches("\r\n$1\r\n").count(), 5);
    assert_eq!(c.run(&["HRANDFIELD", "h", "2", "WITHVALUES"]).lines().count(), 9);
    assert_eq!(c.run(&["HRANDFIELD", "h", "2", "X"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["HRANDFIELD", "nope", "2"]), "*0\r\n");
    assert_eq!(c.run(&["HSCAN", "h", "0", "MATCH", "[ab]", "NOVALUES"]), array(&[&bulk("0"), &array(&[&bulk("a"), &bulk("b")])]));
    // A table is walked in steps; every field is seen once the cursor comes back to 0.
    c.run(&["CONFIG", "SET", "hash-max-listpack-entries", "0"]);
    for i in 0..50 {
        c.run(&["HSET", "big", &format!("f{i}"), "v"]);
    }
    let (mut cursor, mut seen) = ("0".to_string(), 0);
    loop {
        let reply = c.run(&["HSCAN", "big", &cursor, "COUNT", "7", "NOVALUES"]);
        let lines: Vec<&str> = reply.lines().collect();
        cursor = lines[2].to_string();
        seen += lines.iter().filter(|l| l.starts_with('f')).count();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, 50);
}

#[test]
fn field_ttls_expire_lazily_and_actively() {
    let mut c = Harness::new();
    c.run(&["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(c.run(&["HEXPIRE", "h", "10", "FIELDS", "2", "a", "nope"]), array(&[":1\r\n", ":-2\r\n"]));
    assert_eq!(c.run(&["OBJECT", "ENCODING", "h"]), bulk("listpackex"));
    assert_eq!(c.run(&["HTTL", "h", "FIELDS", "3", "a", "b", "nope"]), array(&[":10\r\n", ":-1\r\n", ":-2\r\n"]));
    assert_eq!(c.run(&["HPTTL", "h", "FIELDS", "1", "a"]), array(&[":10000\r\n"]));
    let at = (c.now.wall_ms + 10_000).to_string();
    assert_eq!(c.run(&["HPEXPIRETIME", "h", "FIELDS", "1", "a"]), array(&[&format!(":{at}\r\n")]));
    assert_eq!(c.run(&["HEXPIRE", "h", "5", "GT", "FIELDS", "1", "a"]), array(&[":0\r\n"]));
    assert_eq!(c.run(&["HEXPIRE", "h", "5", "LT", "FIELDS", "1", "a"]), array(&[":1\r\n"]));
    assert_eq!(c.run(&["HEXPIRE", "h", "5", "XX", "FIELDS", "1", "b"]), array(&[":0\r\n"]));
    assert_eq!(c.run(&["HEXPIRE", "h", "5", "NX", "FIELDS", "1", "b"]), array(&[":1\r\n"]));
    assert_eq!(c.run(&["HPERSIST", "h", "FIELDS", "2", "b", "c"]), array(&[":1\r\n", ":-1\r\n"]));
    c.advance_ms(5_000);
    assert_eq!(c.run(&["HGET", "h", "a"]), "$-1\r\n", "gone the moment it expires");
    assert_eq!(c.run(&["HLEN", "h"]), ":2\r\n");
    // Active expiry: the last fields go without anyone reading them, and the hash with them.
    c.run(&["HPEXPIRE", "h", "100", "FIELDS", "2", "b", "c"]);
    assert_ne!(c.engine.next_deadline(), None, "the timer is asked for while fields have a TTL");
    c.advance_ms(200);
    c.engine.tick(c.now);
    assert_eq!(c.run(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.engine.next_deadline(), None);
    assert!(c.run(&["INFO", "stats"]).contains("expired_subkeys:3\r\n"));
}

#[test]
fn field_ttl_argument_errors() {
    let mut c = Harness::new();
    c.run(&["HSET", "h", "a", "1"]);
    assert_eq!(c.run(&["HEXPIRE", "h", "10", "FIELDS", "2", "a"]), "-ERR The `numfields` parameter must match the number of arguments\r\n");
    assert_eq!(c.run(&["HEXPIRE", "h", "10", "FIELDS", "0", "a"]), "-ERR Parameter `numFields` should be greater than 0\r\n");
    assert_eq!(c.run(&["HEXPIRE", "h", "10", "XY", "FIELDS", "1", "a"]), "-ERR Mandatory argument FIELDS is missing or not at the right position\r\n");
    assert_eq!(c.run(&["HEXPIRE", "h", "x", "FIELDS", "1", "a"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(c.run(&["HEXPIRE", "missing", "10", "FIELDS", "2", "a", "b"]), array(&[":-2\r\n", ":-2\r\n"]));
    assert_eq!(c.run(&["HEXPIRE", "h", "0", "FIELDS", "1", "a"]), array(&[":2\r\n"]));
    assert_eq!(c.run(&["EXISTS", "h"]), ":0\r\n", "expiring the last field deletes the hash");
    c.run(&["SET", "s", "v"]);
    assert!(c.run(&["HTTL", "s", "FIELDS", "1", "a"]).starts_with("-WRONGTYPE"));
}

#[test]
fn getex_setex_getdel() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["HSETEX", "h", "FNX", "EX", "10", "FIELDS", "2", "a", "1", "b", "2"]), ":1\r\n");
    assert_eq!(c.run(&["HSETEX", "h", "FNX", "FIELDS", "1", "a", "9"]), ":0\r\n");
    assert_eq!(c.run(&["HSETEX", "h", "FXX", "KEEPTTL", "FIELDS", "1", "a", "9"]), ":1\r\n");
    assert_eq!(c.run(&["HTTL", "h", "FIELDS", "1", "a"]), array(&[":10\r\n"]));
    assert_eq!(c.run(&["HGETEX", "h", "PERSIST", "FIELDS", "2", "a", "x"]), array(&[&bulk("9"), "$-1\r\n"]));
    assert_eq!(c.run(&["HTTL", "h", "FIELDS", "1", "a"]), array(&[":-1\r\n"]));
    assert_eq!(c.run(&["HGETEX", "h", "PX", "50", "FIELDS", "1", "a"]), array(&[&bulk("9")]));
    assert_eq!(c.run(&["HGETEX", "h", "EX", "0", "FIELDS", "1", "a"]), "-ERR invalid expire time in 'hgetex' command\r\n");
    c.advance_ms(50);
    assert_eq!(c.run(&["HGETDEL", "h", "FIELDS", "2", "a", "b"]), array(&["$-1\r\n", &bulk("2")]));
    assert_eq!(c.run(&["EXISTS", "h"]), ":0\r\n");
    assert_eq!(c.run(&["HSETEX", "h", "FIELDS", "2", "a", "1"]), "-ERR The `numfields` parameter must match the number of arguments\r\n");
}

#[test]
fn key_commands_work_on_hashes() {
    let mut c = Harness::new();
    c.run(&["HSET", "h", "a", "1", "b", "2"]);
    c.run(&["HPEXPIRE", "h", "100", "FIELDS", "1", "a"]);
    assert_eq!(c.run(&["COPY", "h", "h2"]), ":1\r\n");
    assert_eq!(c.run(&["RENAME", "h2", "h3"]), "+OK\r\n");
    assert_eq!(c.run(&["MOVE", "h3", "1"]), ":1\r\n");
    assert_eq!(c.run(&["SCAN", "0", "TYPE", "hash"]), array(&[&bulk("0"), &array(&[&bulk("h")])]));
    c.advance_ms(200);
    c.engine.tick(c.now);
    c.run(&["SELECT", "1"]);
    assert_eq!(c.run(&["HGETALL", "h3"]), array(&[&bulk("b"), &bulk("2")]), "the moved copy's field TTL went too");
}

#[test]
fn documented_examples_of_redis_8_0() {
    let mut c = Harness::new();
    // HSETEX's page: EXAT far ahead, FNX on existing fields, two expiry options.
    assert_eq!(c.run(&["HSETEX", "mykey", "EXAT", "1740470400", "FIELDS", "2", "field1", "Hello", "field2", "World"]), ":1\r\n");
    assert_eq!(c.run(&["HSETEX", "mykey", "FNX", "EX", "60", "FIELDS", "2", "field1", "Hello", "field2", "World"]), ":0\r\n");
    assert_eq!(
        c.run(&["HSETEX", "mykey", "FXX", "EX", "60", "KEEPTTL", "FIELDS", "2", "field1", "hello", "field2", "world"]),
        "-ERR Only one of EX, PX, EXAT, PXAT or KEEPTTL arguments can be specified\r\n"
    );
    // HGETEX's page.
    c.run(&["HSET", "h", "field1", "Hello", "field2", "World"]);
    assert_eq!(c.run(&["HGETEX", "h", "EX", "120", "FIELDS", "1", "field1"]), array(&[&bulk("Hello")]));
    assert_eq!(c.run(&["HTTL", "h", "FIELDS", "2", "field1", "field2"]), array(&[":120\r\n", ":-1\r\n"]));
    assert_eq!(c.run(&["HGETEX", "h", "PERSIST", "EX", "1", "FIELDS", "1", "field1"]), "-ERR Only one of EX, PX, EXAT, PXAT or PERSIST arguments can be specified\r\n");
}

#[test]
fn a_hash_whose_fields_all_expired_is_gone_on_access() {
    let mut c = Harness::new();
    c.run(&["HSET", "h", "a", "1", "b", "2"]);
    c.run(&["HPEXPIRE", "h", "10", "FIELDS", "2", "a", "b"]);
    c.advance_ms(10);
    assert_eq!(c.run(&["HLEN", "h"]), ":0\r\n");
    assert_eq!(c.run(&["EXISTS", "h"]), ":0\r\n");
    assert_eq!(c.run(&["HGETALL", "h"]), "*0\r\n");
}

#[test]
fn renamed_hashes_keep_their_field_ttls() {
    let mut c = Harness::new();
    c.run(&["HSET", "h", "a", "1", "b", "2"]);
    c.run(&["HPEXPIRE", "h", "100", "FIELDS", "1", "a"]);
    c.run(&["RENAME", "h", "r"]);
    assert_eq!(c.run(&["HPTTL", "r", "FIELDS", "1", "a"]), array(&[":100\r\n"]));
    c.advance_ms(150);
    c.engine.tick(c.now);
    assert!(c.run(&["INFO", "stats"]).contains("expired_subkeys:1\r\n"), "the active cycle found the renamed hash");
    assert_eq!(c.run(&["HKEYS", "r"]), array(&[&bulk("b")]));
}

#[test]
fn resp3_replies() {
    let mut c = Harness::new();
    c.run(&["HELLO", "3"]);
    c.run(&["HSET", "h", "a", "1"]);
    assert_eq!(c.run(&["HGETALL", "h"]), format!("%1\r\n{}{}", bulk("a"), bulk("1")));
    assert_eq!(c.run(&["HGETALL", "nope"]), "%0\r\n");
    assert_eq!(c.run(&["HRANDFIELD", "h", "-2", "WITHVALUES"]), format!("*2\r\n*2\r\n{0}{1}*2\r\n{0}{1}", bulk("a"), bulk("1")));
    assert_eq!(c.run(&["HGET", "h", "nope"]), "_\r\n");
    assert_eq!(c.run(&["HINCRBYFLOAT", "h", "f", "1.5"]), bulk("1.5"), "a bulk string, as in Redis");
}
