//! Sorted set commands through the engine, as a client sees them.

use crate::engine::test_harness::{Harness, array, bulk, WRONGTYPE};

#[test]
fn zadd_options_and_replies() {
    let mut c = Harness::new();
    assert_eq!(c.run(&["ZADD", "z", "1", "a", "2", "b", "1.5", "c"]), ":3\r\n");
    assert_eq!(c.run(&["ZADD", "z", "NX", "9", "a", "4", "d"]), ":1\r\n");
    assert_eq!(c.run(&["ZADD", "z", "XX", "CH", "3", "a", "7", "e"]), ":1\r\n");
    assert_eq!(c.run(&["ZADD", "z", "GT", "CH", "1", "a", "5", "b"]), ":1\r\n");
    assert_eq!(c.run(&["ZADD", "z", "LT", "INCR", "1", "a"]), "$-1\r\n", "an increase is no update under LT");
    assert_eq!(c.run(&["ZADD", "z", "INCR", "0.5", "a"]), bulk("3.5"));
    assert_eq!(c.run(&["ZINCRBY", "z", "-0.25", "new"]), bulk("-0.25"));
    assert_eq!(c.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]), array(&["new", "-0.25", "c", "1.5", "a", "3.5", "d", "4", "b", "5"]));
    assert_eq!(c.run(&["ZADD", "z", "XX", "NX", "1", "a"]), "-ERR XX and NX options at the same time are not compatible\r\n");
    assert_eq!(c.run(&["ZADD", "z", "GT", "LT", "1", "a"]), "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
    assert_eq!(c.run(&["ZADD", "z", "INCR", "1", "a", "2", "b"]), "-ERR INCR option supports a single increment-element pair\r\n");
    assert_eq!(c.run(&["ZADD", "z", "1", "a", "2"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["ZADD", "z", "nan", "a"]), "-ERR value is not a valid float\r\n");
    assert_eq!(c.run(&["ZADD", "z", "1e400", "a"]), "-ERR value is not a valid float\r\n");
    assert_eq!(c.run(&["ZADD", "inf", "inf", "a"]), ":1\r\n");
    assert_eq!(c.run(&["ZINCRBY", "inf", "-inf", "a"]), "-ERR resulting score is not a number (NaN)\r\n");
    assert_eq!(c.run(&["ZADD", "missing", "XX", "1", "a"]), ":0\r\n");
    assert_eq!(c.run(&["EXISTS", "missing"]), ":0\r\n");
    c.run(&["SET", "s", "x"]);
    assert_eq!(c.run(&["ZADD", "s", "1", "a"]), WRONGTYPE);
}

#[test]
fn scores_ranks_and_counts() {
    let mut c = Harness::new();
    c.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "3", "d"]);
    assert_eq!(c.run(&["ZCARD", "z"]), ":4\r\n");
    assert_eq!(c.run(&["ZSCORE", "z", "c"]), bulk("3"));
    assert_eq!(c.run(&["ZSCORE", "z", "x"]), "$-1\r\n");
    assert_eq!(c.run(&["ZMSCORE", "z", "a", "x"]), "*2\r\n$1\r\n1\r\n$-1\r\n");
    assert_eq!(c.run(&["ZRANK", "z", "c"]), ":2\r\n");
    assert_eq!(c.run(&["ZREVRANK", "z", "c"]), ":1\r\n");
    assert_eq!(c.run(&["ZRANK", "z", "d", "WITHSCORE"]), "*2\r\n:3\r\n$1\r\n3\r\n");
    assert_eq!(c.run(&["ZRANK", "z", "x", "WITHSCORE"]), "*-1\r\n");
    assert_eq!(c.run(&["ZRANK", "z", "x"]), "$-1\r\n");
    assert_eq!(c.run(&["ZRANK", "z", "a", "FOO"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["ZCOUNT", "z", "(1", "3"]), ":3\r\n");
    assert_eq!(c.run(&["ZCOUNT", "z", "-inf", "+inf"]), ":4\r\n");
    assert_eq!(c.run(&["ZCOUNT", "z", "x", "3"]), "-ERR min or max is not a float\r\n");
    assert_eq!(c.run(&["ZLEXCOUNT", "z", "-", "+"]), ":4\r\n");
    assert_eq!(c.run(&["ZLEXCOUNT", "z", "a", "+"]), "-ERR min or max not valid string range item\r\n");
}

#[test]
fn ranges_by_rank_score_and_lex() {
    let mut c = Harness::new();
    c.run(&["ZADD", "z", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e"]);
    assert_eq!(c.run(&["ZRANGE", "z", "1", "-2"]), array(&["b", "c", "d"]));
    assert_eq!(c.run(&["ZRANGE", "z", "0", "1", "REV"]), array(&["e", "d"]));
    assert_eq!(c.run(&["ZRANGE", "z", "[b", "(e", "BYLEX"]), array(&["b", "c", "d"]));
    assert_eq!(c.run(&["ZRANGE", "z", "+", "[c", "BYLEX", "REV", "LIMIT", "1", "1"]), array(&["d"]));
    assert_eq!(c.run(&["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "-1", "2"]), "*0\r\n");
    assert_eq!(c.run(&["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "3", "-1"]), array(&["d", "e"]));
    assert_eq!(c.run(&["ZREVRANGEBYLEX", "z", "(c", "-"]), array(&["b", "a"]));
    c.run(&["ZADD", "s", "1", "one", "2", "two", "3", "three"]);
    assert_eq!(c.run(&["ZRANGEBYSCORE", "s", "(1", "+inf", "WITHSCORES"]), array(&["two", "2", "three", "3"]));
    assert_eq!(c.run(&["ZREVRANGEBYSCORE", "s", "3", "(1"]), array(&["three", "two"]));
    assert_eq!(c.run(&["ZRANGE", "s", "3", "1", "BYSCORE", "REV", "LIMIT", "0", "1"]), array(&["three"]));
    assert_eq!(c.run(&["ZREVRANGE", "s", "0", "0", "WITHSCORES"]), array(&["three", "3"]));
    assert_eq!(c.run(&["ZRANGE", "s", "0", "1", "LIMIT", "0", "1"]),
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n");
    assert_eq!(c.run(&["ZRANGE", "s", "-", "+", "BYLEX", "WITHSCORES"]),
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n");
    assert_eq!(c.run(&["ZRANGEBYSCORE", "s", "0", "1", "REV"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["ZRANGESTORE", "d", "s", "0", "1"]), ":2\r\n");
    assert_eq!(c.run(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]), array(&["one", "1", "two", "2"]));
    assert_eq!(c.run(&["ZRANGESTORE", "d", "s", "5", "6"]), ":0\r\n");
    assert_eq!(c.run(&["EXISTS", "d"]), ":0\r\n", "an empty result deletes the destination");
    assert_eq!(c.run(&["ZRANGESTORE", "d", "s", "0", "1", "WITHSCORES"]), "-ERR syntax error\r\n");
}

#[test]
fn removing_ranges_and_popping() {
    let mut c = Harness::new();
    c.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"]);
    assert_eq!(c.run(&["ZREMRANGEBYRANK", "z", "0", "0"]), ":1\r\n");
    assert_eq!(c.run(&["ZREMRANGEBYSCORE", "z", "(4", "inf"]), ":1\r\n");
    assert_eq!(c.run(&["ZREMRANGEBYLEX", "z", "[c", "[c"]), ":1\r\n");
    assert_eq!(c.run(&["ZRANGE", "z", "0", "-1"]), array(&["b", "d"]));
    assert_eq!(c.run(&["ZPOPMAX", "z"]), array(&["d", "4"]));
    assert_eq!(c.run(&["ZPOPMIN", "z", "5"]), array(&["b", "2"]));
    assert_eq!(c.run(&["EXISTS", "z"]), ":0\r\n");
    assert_eq!(c.run(&["ZPOPMIN", "z"]), "*0\r\n");
    assert_eq!(c.run(&["ZPOPMIN", "z", "-1"]), "-ERR value is out of range, must be positive\r\n");
    c.run(&["ZADD", "y", "1", "a", "2", "b"]);
    assert_eq!(c.run(&["ZMPOP", "2", "z", "y", "MAX", "COUNT", "1"]), "*2\r\n$1\r\ny\r\n*1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(c.run(&["ZMPOP", "1", "z", "MIN"]), "*-1\r\n");
    assert_eq!(c.run(&["ZMPOP", "0", "z", "MIN"]), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(c.run(&["ZMPOP", "1", "y", "MIN", "COUNT", "0"]), "-ERR count should be greater than 0\r\n");
    assert_eq!(c.run(&["ZMPOP", "1", "y", "SIDEWAYS"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["ZMPOP", "9223372036854775807", "y", "MIN"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["ZMPOP", "4294967295", "y", "MIN"]), "-ERR syntax error\r\n");
}

#[test]
fn resp3_scores_are_doubles_and_pairs() {
    let mut c = Harness::new();
    c.run(&["HELLO", "3"]);
    c.run(&["ZADD", "z", "1.5", "a", "2", "b"]);
    assert_eq!(c.run(&["ZSCORE", "z", "a"]), ",1.5\r\n");
    assert_eq!(c.run(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]), "*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    assert_eq!(c.run(&["ZPOPMIN", "z"]), "*2\r\n$1\r\na\r\n,1.5\r\n");
    assert_eq!(c.run(&["ZPOPMIN", "z", "1"]), "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    assert_eq!(c.run(&["ZSCORE", "z", "a"]), "_\r\n");
}

#[test]
fn set_operations_with_weights_and_aggregates() {
    let mut c = Harness::new();
    c.run(&["ZADD", "a", "1", "x", "2", "y"]);
    c.run(&["ZADD", "b", "10", "y", "20", "z"]);
    c.run(&["SADD", "s", "y", "w"]);
    assert_eq!(c.run(&["ZUNION", "2", "a", "b", "WITHSCORES"]), array(&["x", "1", "y", "12", "z", "20"]));
    assert_eq!(c.run(&["ZUNION", "2", "a", "b", "WEIGHTS", "2", "1", "AGGREGATE", "MIN", "WITHSCORES"]), array(&["x", "2", "y", "4", "z", "20"]));
    assert_eq!(c.run(&["ZINTER", "3", "a", "b", "s", "WITHSCORES"]), array(&["y", "13"]));
    assert_eq!(c.run(&["ZINTER", "2", "a", "b", "AGGREGATE", "MAX"]), array(&["y"]));
    assert_eq!(c.run(&["ZDIFF", "2", "a", "b", "WITHSCORES"]), array(&["x", "1"]));
    assert_eq!(c.run(&["ZINTERCARD", "2", "a", "b"]), ":1\r\n");
    assert_eq!(c.run(&["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"]), "-ERR LIMIT can't be negative\r\n");
    assert_eq!(c.run(&["ZUNIONSTORE", "d", "3", "a", "b", "s"]), ":4\r\n");
    assert_eq!(c.run(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]), array(&["w", "1", "x", "1", "y", "13", "z", "20"]));
    assert_eq!(c.run(&["ZINTERSTORE", "d", "2", "a", "missing"]), ":0\r\n");
    assert_eq!(c.run(&["EXISTS", "d"]), ":0\r\n");
    assert_eq!(c.run(&["ZDIFFSTORE", "d", "1", "a"]), ":2\r\n");
    assert_eq!(c.run(&["ZUNION", "0", "a"]), "-ERR at least 1 input key is needed for 'zunion' command\r\n");
    assert_eq!(c.run(&["ZUNION", "3", "a"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["ZUNION", "1", "a", "WEIGHTS", "x"]), "-ERR weight value is not a float\r\n");
    assert_eq!(c.run(&["ZDIFF", "1", "a", "WEIGHTS", "1"]), "-ERR syntax error\r\n");
    c.run(&["SET", "str", "v"]);
    assert_eq!(c.run(&["ZUNION", "2", "a", "str"]), WRONGTYPE);
}

#[test]
fn random_members_and_scan() {
    let mut c = Harness::new();
    c.run(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(c.run(&["ZRANDMEMBER", "z", "5", "WITHSCORES"]), array(&["c", "3", "b", "2", "a", "1"]));
    assert_eq!(c.run(&["ZRANDMEMBER", "z", "-5"]).matches("$1\r\n").count(), 5);
    assert_eq!(c.run(&["ZRANDMEMBER", "z", "2"]).matches("$1\r\n").count(), 2);
    assert_eq!(c.run(&["ZRANDMEMBER", "missing"]), "$-1\r\n");
    assert_eq!(c.run(&["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"]), "-ERR syntax error\r\n");
    assert_eq!(c.run(&["ZSCAN", "z", "0", "MATCH", "b"]), "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    c.run(&["CONFIG", "SET", "zset-max-listpack-entries", "2"]);
    c.run(&["ZADD", "big", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(c.run(&["OBJECT", "ENCODING", "big"]), bulk("skiplist"));
    assert_eq!(c.run(&["OBJECT", "ENCODING", "z"]), bulk("listpack"));
    let mut seen = 0;
    let mut cursor = "0".to_string();
    loop {
        let reply = c.run(&["ZSCAN", "big", &cursor, "COUNT", "1"]);
        seen += reply.matches("\r\n$1\r\n").count() / 2;
        cursor = reply.split("\r\n").nth(2).unwrap_or("0").to_string();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, 4);
    assert_eq!(c.run(&["TYPE", "big"]), "+zset\r\n");
}

/// The integer shortcut reads what the general parser reads, to the bit (the sign of zero
/// included), and leaves everything else to it.
#[test]
fn integer_scores_read_as_the_general_parser_reads_them() {
    use super::{parse_score, plain_integer};
    for text in ["0", "-0", "+0", "7", "+7", "-7", "000000012345", "999999999999999", "-999999999999999", "000000000000001"] {
        let general: f64 = text.parse().unwrap();
        assert_eq!(plain_integer(text.as_bytes()).map(f64::to_bits), Some(general.to_bits()), "{text}");
        assert_eq!(parse_score(text.as_bytes()).map(f64::to_bits), Some(general.to_bits()), "{text}");
    }
    for text in ["", "-", "+", "1.5", "1e3", "1 ", " 1", "--1", "+-1", "1_0", "9999999999999999", "inf"] {
        assert_eq!(plain_integer(text.as_bytes()), None, "{text}");
    }
    assert_eq!(parse_score(b"9999999999999999"), Some(1e16));
    assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
    assert_eq!(parse_score(b"INF"), Some(f64::INFINITY));
    for refused in ["-+inf", "infinite", "nan", "-nan", "1e400", "1e-400", " 1", "1 ", "", "+"] {
        assert_eq!(parse_score(refused.as_bytes()), None, "{refused}");
    }
}
