use crate::engine::test_harness::{Harness, array, bulk};

#[test]
fn push_pop_and_length() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["RPUSH", "l", "a", "b", "c"]), ":3\r\n");
    assert_eq!(c.run(&["LPUSH", "l", "z"]), ":4\r\n");
    assert_eq!(c.run(&["LPUSHX", "missing", "x"]), ":0\r\n");
    assert_eq!(c.run(&["RPUSHX", "l", "d"]), ":5\r\n");
    assert_eq!(c.run(&["LRANGE", "l", "0", "-1"]), array(&["z", "a", "b", "c", "d"]));
    assert_eq!(c.run(&["LPOP", "l"]), bulk("z"));
    assert_eq!(c.run(&["RPOP", "l", "2"]), array(&["d", "c"]));
    assert_eq!(c.run(&["LPOP", "l", "0"]), "*0\r\n");
    assert_eq!(c.run(&["LPOP", "missing", "2"]), "*-1\r\n");
    assert_eq!(c.run(&["LPOP", "missing"]), "$-1\r\n");
    assert_eq!(c.run(&["LPOP", "l", "-1"]), "-ERR value is out of range, must be positive\r\n");
    assert_eq!(c.run(&["LLEN", "l"]), ":2\r\n");
    assert_eq!(c.run(&["RPOP", "l", "10"]), array(&["b", "a"]));
    assert_eq!(c.run(&["EXISTS", "l"]), ":0\r\n", "an emptied list is removed");
    c.run(&["SET", "s", "v"]);
    assert_eq!(c.run(&["LPUSH", "s", "x"]), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    assert_eq!(c.run(&["TYPE", "l"]), "+none\r\n");
    c.run(&["RPUSH", "l", "x"]);
    assert_eq!(c.run(&["TYPE", "l"]), "+list\r\n");
    assert_eq!(c.run(&["OBJECT", "ENCODING", "l"]), bulk("listpack"));
}

#[test]
fn indexes_ranges_and_edits() {
    let mut c = Harness::new();
    c.run(&["RPUSH", "l", "a", "b", "c", "b", "a"]);
    assert_eq!(c.run(&["LINDEX", "l", "-1"]), bulk("a"));
    assert_eq!(c.run(&["LINDEX", "l", "9"]), "$-1\r\n");
    assert_eq!(c.run(&["LRANGE", "l", "-100", "1"]), array(&["a", "b"]));
    assert_eq!(c.run(&["LRANGE", "l", "3", "1"]), "*0\r\n");
    assert_eq!(c.run(&["LSET", "l", "1", "B"]), "+OK\r\n");
    assert_eq!(c.run(&["LSET", "l", "9", "B"]), "-ERR index out of range\r\n");
    assert_eq!(c.run(&["LSET", "nope", "0", "B"]), "-ERR no such key\r\n");
    assert_eq!(c.run(&["LINSERT", "l", "AFTER", "c", "d"]), ":6\r\n");
    assert_eq!(c.run(&["LINSERT", "l", "BEFORE", "zz", "d"]), ":-1\r\n");
    assert_eq!(c.run(&["LINSERT", "l", "MIDDLE", "c", "d"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["LRANGE", "l", "0", "-1"]), array(&["a", "B", "c", "d", "b", "a"]));
    assert_eq!(c.run(&["LREM", "l", "-1", "a"]), ":1\r\n");
    assert_eq!(c.run(&["LREM", "l", "0", "a"]), ":1\r\n");
    assert_eq!(c.run(&["LTRIM", "l", "1", "-1"]), "+OK\r\n");
    assert_eq!(c.run(&["LRANGE", "l", "0", "-1"]), array(&["c", "d", "b"]));
    assert_eq!(c.run(&["LTRIM", "l", "5", "10"]), "+OK\r\n");
    assert_eq!(c.run(&["EXISTS", "l"]), ":0\r\n");
}

#[test]
fn lpos_options() {
    let mut c = Harness::new();
    c.run(&["RPUSH", "l", "a", "b", "c", "b", "b"]);
    assert_eq!(c.run(&["LPOS", "l", "b"]), ":1\r\n");
    assert_eq!(c.run(&["LPOS", "l", "b", "RANK", "2"]), ":3\r\n");
    assert_eq!(c.run(&["LPOS", "l", "b", "RANK", "-1"]), ":4\r\n");
    assert_eq!(c.run(&["LPOS", "l", "b", "COUNT", "0"]), "*3\r\n:1\r\n:3\r\n:4\r\n");
    assert_eq!(c.run(&["LPOS", "l", "b", "COUNT", "2", "RANK", "-1"]), "*2\r\n:4\r\n:3\r\n");
    assert_eq!(c.run(&["LPOS", "l", "b", "MAXLEN", "1"]), "$-1\r\n");
    assert_eq!(c.run(&["LPOS", "l", "z", "COUNT", "1"]), "*0\r\n");
    assert_eq!(c.run(&["LPOS", "l", "b", "RANK", "0"]).lines().next(), Some("-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"));
}

#[test]
fn moves_and_multi_pops() {
    let mut c = Harness::new();
    c.run(&["RPUSH", "src", "1", "2", "3"]);
    assert_eq!(c.run(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("1"));
    assert_eq!(c.run(&["RPOPLPUSH", "src", "dst"]), bulk("3"));
    assert_eq!(c.run(&["LRANGE", "dst", "0", "-1"]), array(&["3", "1"]));
    assert_eq!(c.run(&["LMOVE", "none", "dst", "LEFT", "LEFT"]), "$-1\r\n");
    assert_eq!(c.run(&["LMOVE", "src", "src", "LEFT", "RIGHT"]), bulk("2"), "rotating a one-element list");
    c.run(&["SET", "str", "x"]);
    assert!(c.run(&["LMOVE", "src", "str", "LEFT", "LEFT"]).starts_with("-WRONGTYPE"));
    assert_eq!(c.run(&["LLEN", "src"]), ":1\r\n", "nothing popped before the type check failed");
    assert_eq!(c.run(&["LMPOP", "2", "none", "dst", "RIGHT", "COUNT", "5"]), format!("*2\r\n{}{}", bulk("dst"), array(&["1", "3"])));
    assert_eq!(c.run(&["LMPOP", "1", "none", "LEFT"]), "*-1\r\n");
    assert_eq!(c.run(&["LMPOP", "0", "x", "LEFT"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(c.run(&["LMPOP", "3", "x", "LEFT"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["LMPOP", "1", "x", "LEFT", "COUNT", "0"]), "-ERR count should be greater than 0\r\n");
    assert_eq!(c.run(&["LMPOP", "1", "x", "UP"]), "-ERR syntax error\r\n");
}

/// RPUSHes `count` elements named by `name` onto `big`, a thousand per command.
fn push_numbered(c: &mut Harness, count: usize, name: impl Fn(usize) -> String) {
    for start in (0..count).step_by(1000) {
        let mut args = vec!["RPUSH".to_string(), "big".to_string()];
        args.extend((start..(start + 1000).min(count)).map(&name));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        c.run(&args);
    }
}

#[test]
fn long_lists_span_nodes_and_trim_by_whole_nodes() {
    let mut c = Harness::new();
    push_numbered(&mut c, 20_000, |i| format!("element-{i}"));
    assert_eq!(c.run(&["OBJECT", "ENCODING", "big"]), bulk("quicklist"));
    assert_eq!(c.run(&["LINDEX", "big", "12345"]), bulk("element-12345"));
    assert_eq!(c.run(&["LTRIM", "big", "-100", "-1"]), "+OK\r\n");
    assert_eq!(c.run(&["LLEN", "big"]), ":100\r\n");
    assert_eq!(c.run(&["LINDEX", "big", "0"]), bulk("element-19900"));
}

#[test]
fn a_big_list_is_freed_lazily_and_sized_by_memory_usage() {
    let mut c = Harness::new();
    push_numbered(&mut c, 200_000, |i| format!("element-{i:08}"));
    let usage: usize = c.run(&["MEMORY", "USAGE", "big"]).trim_start_matches(':').trim().parse().expect("an integer");
    assert!((200_000 * 16..200_000 * 24).contains(&usage), "{usage} bytes for 200,000 16-byte elements");
    assert_eq!(c.run(&["DEL", "big"]), ":1\r\n");
    // Its few hundred nodes went to the lazy-free queue, a slice of which the call itself frees.
    assert!(c.run(&["INFO", "memory"]).contains("lazyfreed_objects:1\r\n"));
}
