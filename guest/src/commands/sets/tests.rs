//! Set commands through the engine, as a client sees them.

use crate::engine::test_harness::{Harness, array, bulk, WRONGTYPE};

#[test]
fn add_remove_and_membership() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["SADD", "s", "b", "a", "b"]), ":2\r\n");
    assert_eq!(c.run(&["SADD", "s", "a", "c"]), ":1\r\n");
    assert_eq!(c.run(&["SCARD", "s"]), ":3\r\n");
    assert_eq!(c.run(&["SMEMBERS", "s"]), array(&["b", "a", "c"]), "listpack keeps insertion order");
    assert_eq!(c.run(&["SISMEMBER", "s", "a"]), ":1\r\n");
    assert_eq!(c.run(&["SMISMEMBER", "s", "a", "z", "c"]), "*3\r\n:1\r\n:0\r\n:1\r\n");
    assert_eq!(c.run(&["SREM", "s", "a", "z"]), ":1\r\n");
    assert_eq!(c.run(&["SREM", "s", "b", "c"]), ":2\r\n");
    assert_eq!(c.run(&["EXISTS", "s"]), ":0\r\n", "the last member's removal drops the key");
    assert_eq!(c.run(&["SCARD", "s"]), ":0\r\n");
    assert_eq!(c.run(&["SMEMBERS", "s"]), "*0\r\n");
    assert_eq!(c.run(&["TYPE", "s"]), "+none\r\n");
}

#[test]
fn encodings_follow_the_settings() {
    let mut c = Harness::new();
    c.run(&["SADD", "i", "3", "-1", "2"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "i"]), bulk("intset"));
    assert_eq!(c.run(&["SMEMBERS", "i"]), array(&["-1", "2", "3"]));
    c.run(&["SADD", "i", "x"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "i"]), bulk("listpack"));
    assert_eq!(c.run(&["SMEMBERS", "i"]), array(&["-1", "2", "3", "x"]));
    c.run(&["SADD", "long", &"v".repeat(65)]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "long"]), bulk("hashtable"));

    assert_eq!(c.run(&["CONFIG", "SET", "set-max-intset-entries", "2"]), "+OK\r\n");
    assert_eq!(c.run(&["CONFIG", "SET", "set-max-listpack-entries", "2"]), "+OK\r\n");
    assert_eq!(c.run(&["CONFIG", "GET", "set-max-listpack-entries"]), array(&["set-max-listpack-entries", "2"]));
    c.run(&["SADD", "j", "1", "2"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "j"]), bulk("intset"));
    c.run(&["SADD", "j", "3"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "j"]), bulk("hashtable"));
    c.run(&["SADD", "k", "a", "b", "c"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "k"]), bulk("hashtable"), "created for three members");
    c.run(&["SREM", "k", "a", "b"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "k"]), bulk("hashtable"), "never converted back");
}

#[test]
fn wrong_types_both_ways() {
    let mut c = Harness::new();
    c.run(&["SET", "str", "v"]);
    c.run(&["SADD", "s", "a"]);
    for cmd in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SMEMBERS", "str"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SINTER", "missing", "str"],
        &["SUNION", "s", "str"],
        &["SDIFF", "missing", "str"],
        &["SINTERCARD", "2", "missing", "str"],
        &["SINTERSTORE", "d", "missing", "str"],
        &["SMOVE", "s", "str", "a"],
        &["SMOVE", "str", "s", "a"],
        &["SSCAN", "str", "0"],
        &["GET", "s"],
        &["APPEND", "s", "x"],
        &["INCR", "s"],
    ] {
        assert_eq!(c.run(cmd), WRONGTYPE, "{cmd:?}");
    }
    assert_eq!(c.run(&["SMOVE", "missing", "str", "a"]), ":0\r\n", "a missing source answers 0 first");
    assert_eq!(c.run(&["TYPE", "s"]), "+set\r\n");
}

#[test]
fn random_members() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["SRANDMEMBER", "none"]), "$-1\r\n");
    assert_eq!(c.run(&["SRANDMEMBER", "none", "3"]), "*0\r\n");
    assert_eq!(c.run(&["SPOP", "none"]), "$-1\r\n");
    assert_eq!(c.run(&["SPOP", "none", "3"]), "*0\r\n");
    c.run(&["SADD", "s", "a", "b", "c", "d"]);
    assert_eq!(c.run(&["SRANDMEMBER", "s", "0"]), "*0\r\n");
    let reply = c.run(&["SRANDMEMBER", "s", "3"]);
    assert!(reply.starts_with("*3\r\n"), "{reply}");
    let picks: Vec<&str> = reply.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).collect();
    let mut distinct = picks.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{picks:?}");
    assert!(c.run(&["SRANDMEMBER", "s", "10"]).starts_with("*4\r\n"));
    assert!(c.run(&["SRANDMEMBER", "s", "-10"]).starts_with("*10\r\n"));
    assert_eq!(c.run(&["SRANDMEMBER", "s", "1", "2"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["SRANDMEMBER", "s", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        c.run(&["SRANDMEMBER", "s", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(c.run(&["SPOP", "s", "-1"]), "-ERR value is out of range, must be positive\r\n");
    assert_eq!(c.run(&["SPOP", "s", "x"]), "-ERR value is out of range, must be positive\r\n");
    assert_eq!(c.run(&["SPOP", "s", "0"]), "*0\r\n");
    assert!(c.run(&["SPOP", "s", "2"]).starts_with("*2\r\n"));
    assert_eq!(c.run(&["SCARD", "s"]), ":2\r\n");
    assert!(c.run(&["SPOP", "s"]).starts_with("$1\r\n"));
    assert!(c.run(&["SPOP", "s", "5"]).starts_with("*1\r\n"));
    assert_eq!(c.run(&["EXISTS", "s"]), ":0\r\n");
}

#[test]
fn spop_count_on_a_large_set_removes_exactly_that_many() {
    let mut c = Harness::new();
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(members.iter().map(String::as_str));
    c.run(&args);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "s"]), bulk("hashtable"));
    assert!(c.run(&["SPOP", "s", "300"]).starts_with("*300\r\n"));
    assert_eq!(c.run(&["SCARD", "s"]), ":700\r\n");
}

#[test]
fn set_algebra_and_store() {
    let mut c = Harness::new();
    c.run(&["SADD", "a", "1", "2", "3", "4"]);
    c.run(&["SADD", "b", "3", "4", "5"]);
    assert_eq!(c.run(&["SINTER", "a", "b"]), array(&["3", "4"]));
    assert_eq!(c.run(&["SUNION", "a", "b"]), array(&["1", "2", "3", "4", "5"]));
    assert_eq!(c.run(&["SDIFF", "a", "b"]), array(&["1", "2"]));
    assert_eq!(c.run(&["SINTER", "a", "missing"]), "*0\r\n");
    assert_eq!(c.run(&["SINTERCARD", "2", "a", "b"]), ":2\r\n");
    assert_eq!(c.run(&["SINTERCARD", "2", "a", "b", "LIMIT", "1"]), ":1\r\n");
    assert_eq!(c.run(&["SINTERCARD", "0", "a"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(c.run(&["SINTERCARD", "3", "a"]), "-ERR Number of keys can't be greater than number of args\r\n");
    assert_eq!(c.run(&["SINTERCARD", "1", "a", "LIMIT", "-1"]), "-ERR LIMIT can't be negative\r\n");
    assert_eq!(c.run(&["SINTERCARD", "1", "a", "LIMIT"]), "-ERR syntax error\r\n");

    c.run(&["SET", "dest", "string"]);
    c.run(&["EXPIRE", "dest", "100"]);
    assert_eq!(c.run(&["SUNIONSTORE", "dest", "a", "b"]), ":5\r\n");
    assert_eq!(c.run(&["TYPE", "dest"]), "+set\r\n");
    assert_eq!(c.run(&["TTL", "dest"]), ":-1\r\n");
    assert_eq!(c.run(&["SINTERSTORE", "dest", "a", "missing"]), ":0\r\n");
    assert_eq!(c.run(&["EXISTS", "dest"]), ":0\r\n", "an empty result deletes the destination");
    assert_eq!(c.run(&["SDIFFSTORE", "dest", "a", "b"]), ":2\r\n");
    assert_eq!(c.run(&["SMEMBERS", "dest"]), array(&["1", "2"]));
    assert_eq!(c.run(&["SDIFFSTORE", "a", "a"]), ":4\r\n", "a source may be the destination");
}

#[test]
fn smove_moves_once() {
    let mut c = Harness::new();
    c.run(&["SADD", "from", "x", "y"]);
    assert_eq!(c.run(&["SMOVE", "from", "to", "x"]), ":1\r\n");
    assert_eq!(c.run(&["SMOVE", "from", "to", "x"]), ":0\r\n");
    assert_eq!(c.run(&["SMOVE", "from", "from", "y"]), ":1\r\n");
    assert_eq!(c.run(&["SMOVE", "from", "from", "x"]), ":0\r\n");
    assert_eq!(c.run(&["SMOVE", "from", "to", "y"]), ":1\r\n");
    assert_eq!(c.run(&["EXISTS", "from"]), ":0\r\n");
    assert_eq!(c.run(&["SMEMBERS", "to"]), array(&["x", "y"]));
}

#[test]
fn sscan_walks_every_member() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["SSCAN", "none", "0", "BAD"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    c.run(&["SADD", "small", "a1", "b1", "a2"]);
    assert_eq!(c.run(&["SSCAN", "small", "0", "MATCH", "a*"]), "*2\r\n$1\r\n0\r\n*2\r\n$2\r\na1\r\n$2\r\na2\r\n");
    assert_eq!(c.run(&["SSCAN", "small", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(c.run(&["SSCAN", "small", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["SSCAN", "small", "0", "TYPE", "set"]), "-ERR syntax error\r\n");
    let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(members.iter().map(String::as_str));
    c.run(&args);
    let (mut cursor, mut seen, mut calls) = ("0".to_string(), 0, 0);
    loop {
        let reply = c.run(&["SSCAN", "big", &cursor, "COUNT", "50"]);
        let lines: Vec<&str> = reply.split("\r\n").collect();
        cursor = lines[2].to_string();
        seen += lines[3][1..].parse::<usize>().unwrap();
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!((seen, calls), (300, 6));
}

#[test]
fn key_commands_work_on_sets() {
    let mut c = Harness::new();
    c.run(&["SADD", "s", "1", "2"]);
    assert_eq!(c.run(&["COPY", "s", "t"]), ":1\r\n");
    c.run(&["SADD", "t", "3"]);
    assert_eq!(c.run(&["SCARD", "s"]), ":2\r\n", "a copy is independent");
    assert_eq!(c.run(&["RENAME", "t", "u"]), "+OK\r\n");
    assert_eq!(c.run(&["SMEMBERS", "u"]), array(&["1", "2", "3"]));
    assert_eq!(c.run(&["SCAN", "0", "TYPE", "set"]).matches("$1\r\n").count(), 3, "cursor 0, s and u");
    assert_eq!(c.run(&["EXPIRE", "u", "10"]), ":1\r\n");
    c.advance_ms(10_000);
    assert_eq!(c.run(&["SCARD", "u"]), ":0\r\n");
    assert_eq!(c.run(&["MOVE", "s", "1"]), ":1\r\n");
    assert_eq!(c.run(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn a_huge_negative_count_is_refused_instead_of_exhausting_the_engine() {
    let mut c = Harness::new();
    c.run(&["SADD", "s", "a", "b"]);
    c.run(&["HSET", "h", "f", "v"]);
    assert_eq!(c.run(&["SRANDMEMBER", "s", "-1000000000000"]), "-ERR value is out of range\r\n");
    assert_eq!(c.run(&["HRANDFIELD", "h", "-1000000000000"]), "-ERR value is out of range\r\n");
    assert!(c.run(&["SRANDMEMBER", "s", "-3"]).starts_with("*3\r\n"));
}
