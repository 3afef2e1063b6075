//! Lists and the blocking pops with real connections and clients, compared byte for byte with
//! Debian's redis-server.

mod common;

use common::{Raw, Redis, Server, assert_same_as_redis, resp, run_redis_py, wait_until};
use std::net::TcpStream;

#[test]
fn list_commands_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["RPUSH", "l", "a", "b", "c", "b", "a"],
        &["LPUSH", "l", "z", "y"],
        &["LPUSHX", "none", "x"],
        &["RPUSHX", "l", "end"],
        &["LLEN", "l"],
        &["LLEN", "none"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "l", "-3", "100"],
        &["LRANGE", "l", "5", "2"],
        &["LRANGE", "l", "-100", "-50"],
        &["LRANGE", "l", "a", "1"],
        &["LINDEX", "l", "0"],
        &["LINDEX", "l", "-1"],
        &["LINDEX", "l", "99"],
        &["LINDEX", "l", "x"],
        &["LSET", "l", "1", "Y"],
        &["LSET", "l", "-1", "END"],
        &["LSET", "l", "99", "x"],
        &["LSET", "none", "0", "x"],
        &["LINSERT", "l", "BEFORE", "b", "before-b"],
        &["LINSERT", "l", "after", "a", "after-a"],
        &["LINSERT", "l", "BEFORE", "missing", "x"],
        &["LINSERT", "none", "BEFORE", "a", "x"],
        &["LINSERT", "l", "MIDDLE", "a", "x"],
        &["LRANGE", "l", "0", "-1"],
        &["LPOS", "l", "b"],
        &["LPOS", "l", "b", "RANK", "-1"],
        &["LPOS", "l", "b", "RANK", "2"],
        &["LPOS", "l", "b", "COUNT", "0"],
        &["LPOS", "l", "b", "COUNT", "1", "MAXLEN", "3"],
        &["LPOS", "l", "nope"],
        &["LPOS", "l", "nope", "COUNT", "2"],
        &["LPOS", "none", "a", "COUNT", "2"],
        &["LPOS", "l", "b", "RANK", "0"],
        &["LPOS", "l", "b", "COUNT", "-1"],
        &["LPOS", "l", "b", "MAXLEN", "-1"],
        &["LPOS", "l", "b", "RANK"],
        &["LPOS", "l", "b", "FOO", "1"],
        &["LREM", "l", "1", "b"],
        &["LREM", "l", "-1", "a"],
        &["LREM", "l", "0", "nope"],
        &["LREM", "l", "x", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["LTRIM", "l", "1", "-2"],
        &["LRANGE", "l", "0", "-1"],
        &["LPOP", "l"],
        &["RPOP", "l", "2"],
        &["LPOP", "l", "0"],
        &["LPOP", "none", "0"],
        &["LPOP", "none", "3"],
        &["RPOP", "none"],
        &["LPOP", "l", "-1"],
        &["LPOP", "l", "x"],
        &["LPOP", "l", "1", "2"],
        &["LTRIM", "l", "100", "200"],
        &["EXISTS", "l"],
        &["RPUSH", "src", "1", "2", "3"],
        &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        &["LMOVE", "src", "dst", "RIGHT", "LEFT"],
        &["LMOVE", "src", "src", "LEFT", "RIGHT"],
        &["LMOVE", "none", "dst", "LEFT", "RIGHT"],
        &["LMOVE", "src", "dst", "UP", "RIGHT"],
        &["RPOPLPUSH", "dst", "src"],
        &["RPOPLPUSH", "none", "src"],
        &["LRANGE", "src", "0", "-1"],
        &["LRANGE", "dst", "0", "-1"],
        &["LMPOP", "2", "none", "src", "LEFT"],
        &["LMPOP", "2", "none", "dst", "RIGHT", "COUNT", "10"],
        &["LMPOP", "1", "none", "LEFT"],
        &["LMPOP", "0", "a", "LEFT"],
        &["LMPOP", "x", "a", "LEFT"],
        &["LMPOP", "3", "a", "LEFT"],
        &["LMPOP", "1", "a", "MIDDLE"],
        &["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
        &["LMPOP", "1", "a", "LEFT", "COUNT"],
        &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
        &["RPUSH", "b", "x", "y"],
        &["BLPOP", "none", "b", "0"],
        &["BRPOP", "b", "0.1"],
        &["BLPOP", "b", "-1"],
        &["BLPOP", "b", "abc"],
        &["BLPOP", "b", "inf"],
        &["ZADD", "zz", "1", "one", "2", "two"],
        &["BZPOPMIN", "none", "zz", "0"],
        &["BZPOPMAX", "zz", "0.1"],
        &["BZMPOP", "0.01", "1", "zz", "MIN"],
        &["LPUSH", "alist", "v"],
        &["BZPOPMIN", "alist", "0"],
        &["BZPOPMIN", "zz", "-1"],
        &["RPUSH", "b", "1", "2", "3"],
        &["BLMOVE", "b", "c", "LEFT", "RIGHT", "0"],
        &["BLMOVE", "b", "c", "LEFT", "NOWHERE", "0"],
        &["BRPOPLPUSH", "b", "c", "0"],
        &["BLMPOP", "0", "2", "none", "b", "LEFT", "COUNT", "5"],
        &["BLMPOP", "-1", "1", "b", "LEFT"],
        &["BLMPOP", "0", "0", "b", "LEFT"],
        &["TYPE", "c"],
        &["COPY", "c", "c2"],
        &["LRANGE", "c2", "0", "-1"],
        &["MULTI"],
        &["BLPOP", "empty", "0"],
        &["BLMOVE", "empty", "c", "LEFT", "LEFT", "0"],
        &["BLMPOP", "0", "1", "empty", "LEFT"],
        &["EXEC"],
        &["COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT"],
    ]);
}

#[test]
fn sort_replies_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["RPUSH", "n", "3", "10", "-1.5", "2", "10", "0x10"],
        &["SORT", "n"],
        &["RPUSH", "nums", "3", "10", "-1.5", "2", "10", "1e2"],
        &["SORT", "nums"],
        &["SORT", "nums", "DESC"],
        &["SORT", "nums", "LIMIT", "1", "3"],
        &["SORT", "nums", "LIMIT", "-5", "2"],
        &["SORT", "nums", "LIMIT", "2", "-1"],
        &["SORT", "nums", "LIMIT", "100", "1"],
        &["SORT", "nums", "LIMIT", "0", "0"],
        &["SORT", "nums", "ALPHA"],
        &["SORT", "nums", "ALPHA", "DESC", "LIMIT", "0", "2"],
        &["RPUSH", "words", "pear", "apple", "fig", "banana"],
        &["SORT", "words"],
        &["SORT", "words", "ALPHA"],
        &["MSET", "w_pear", "3", "w_apple", "1", "w_fig", "2", "w_banana", "4"],
        &["SORT", "words", "BY", "w_*"],
        &["SORT", "words", "BY", "w_*", "DESC", "GET", "#", "GET", "w_*"],
        &["SORT", "words", "BY", "nosort"],
        &["SORT", "words", "BY", "nosort", "DESC"],
        &["SORT", "words", "BY", "nosort", "LIMIT", "1", "2"],
        &["HSET", "h_pear", "price", "5"],
        &["HSET", "h_apple", "price", "1"],
        &["HSET", "h_fig", "price", "3"],
        &["HSET", "h_banana", "price", "2"],
        &["SORT", "words", "BY", "h_*->price", "GET", "h_*->price", "GET", "#", "GET", "missing_*"],
        &["SORT", "words", "BY", "w_*", "ALPHA", "GET", "w_*"],
        &["SORT", "words", "ALPHA", "STORE", "sorted"],
        &["LRANGE", "sorted", "0", "-1"],
        &["SORT", "words", "BY", "w_*", "GET", "nothing_*", "STORE", "sorted"],
        &["LRANGE", "sorted", "0", "-1"],
        &["SORT", "empty", "STORE", "sorted"],
        &["EXISTS", "sorted"],
        &["SADD", "s", "5", "1", "3"],
        &["SORT", "s"],
        &["SORT", "s", "DESC"],
        &["SORT", "s", "BY", "nosort", "STORE", "fromset"],
        &["LRANGE", "fromset", "0", "-1"],
        &["ZADD", "zs", "3", "c", "1", "a", "2", "b"],
        &["SORT", "zs", "ALPHA"],
        &["SORT", "zs", "BY", "nosort"],
        &["SORT", "zs", "BY", "nosort", "DESC"],
        &["SORT", "zs", "BY", "nosort", "LIMIT", "1", "1"],
        &["SORT_RO", "nums", "LIMIT", "0", "2"],
        &["SORT_RO", "nums", "STORE", "x"],
        &["SORT", "nums", "LIMIT", "a", "1"],
        &["SORT", "nums", "LIMIT", "1"],
        &["SORT", "nums", "FOO"],
        &["SET", "str", "x"],
        &["SORT", "str"],
        &["SORT", "none"],
        &["SET", "w_fig", "notanumber"],
        &["SORT", "words", "BY", "w_*"],
        &["SORT", "n", "BY", "absent_*"],
    ]);
}

/// Two connections on each server: a client waits, another pushes; what the waiter receives is
/// the same on both, RESP2 and RESP3, including timeouts and CLIENT UNBLOCK.
#[test]
fn blocked_clients_are_served_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    for protocol in ["2", "3"] {
        let transcript = |port: u16| -> Vec<String> {
            let connect = || Raw(TcpStream::connect(("127.0.0.1", port)).expect("the server accepts"));
            let (mut waiter, mut other) = (connect(), connect());
            other.ask(&["FLUSHALL"]);
            waiter.ask(&["HELLO", protocol]);
            let waiter_id = waiter.ask(&["CLIENT", "ID"]);
            let waiter_id = waiter_id.trim_start_matches(':').trim_end().to_string();
            let mut seen = Vec::new();
            let blocks: [(&[&str], &[&str]); 8] = [
                (&["BZPOPMIN", "z1", "z2", "0"], &["ZADD", "z2", "2", "b", "1", "a"]),
                (&["BZPOPMAX", "z4", "0"], &["ZADD", "z4", "5", "x", "7", "y"]),
                (&["BZMPOP", "0", "1", "z3", "MAX", "COUNT", "2"], &["ZADD", "z3", "1", "a", "2", "b", "3", "c"]),
                (&["BLPOP", "q1", "q2", "0"], &["RPUSH", "q2", "a", "b"]),
                (&["BRPOP", "q9", "0"], &["LPUSH", "q9", "c"]),
                (&["BLMOVE", "q3", "q4", "RIGHT", "LEFT", "0"], &["RPUSH", "q3", "x", "y"]),
                (&["BLMPOP", "0", "2", "q5", "q6", "LEFT", "COUNT", "2"], &["RPUSH", "q6", "1", "2", "3"]),
                (&["BRPOPLPUSH", "q7", "q8", "0"], &["RPUSH", "q7", "only"]),
            ];
            for (wait, push) in blocks {
                waiter.send(resp(wait).as_bytes());
                wait_until("the client to block", || other.ask(&["INFO", "clients"]).contains("blocked_clients:1"));
                seen.push(other.ask(push));
                seen.push(String::from_utf8_lossy(&waiter.reply()).into_owned());
            }
            seen.push(waiter.ask(&["BLPOP", "nothing", "0.05"]));
            seen.push(waiter.ask(&["BLMOVE", "nothing", "x", "LEFT", "LEFT", "0.05"]));
            for reason in [&[][..], &["TIMEOUT"][..], &["ERROR"][..]] {
                waiter.send(resp(&["BLPOP", "nothing", "0"]).as_bytes());
                wait_until("the client to block", || other.ask(&["INFO", "clients"]).contains("blocked_clients:1"));
                let mut unblock = vec!["CLIENT", "UNBLOCK", waiter_id.as_str()];
                unblock.extend_from_slice(reason);
                seen.push(other.ask(&unblock));
                seen.push(String::from_utf8_lossy(&waiter.reply()).into_owned());
            }
            seen.push(other.ask(&["CLIENT", "UNBLOCK", &waiter_id]));
            // A waiter that disconnects is forgotten: the push stays in the list.
            waiter.send(resp(&["BLPOP", "gone", "0"]).as_bytes());
            wait_until("the client to block", || other.ask(&["INFO", "clients"]).contains("blocked_clients:1"));
            drop(waiter);
            wait_until("the client to go", || other.ask(&["INFO", "clients"]).contains("blocked_clients:0"));
            seen.push(other.ask(&["RPUSH", "gone", "kept"]));
            seen.push(other.ask(&["LRANGE", "gone", "0", "-1"]));
            seen
        };
        assert_eq!(transcript(server.port), transcript(redis.port), "RESP{protocol}");
    }
}

#[test]
fn redis_py_job_queue_takes_every_job_once() {
    let server = Server::start(&[]);
    run_redis_py(&[concat!(env!("CARGO_MANIFEST_DIR"), "/clients/redis_py_queue.py")], server.port);
}

/// The redis crate's blocking pop, woken by a push from another connection.
#[test]
fn the_redis_crate_blocks_and_is_woken() {
    use redis::Commands;
    let server = Server::start(&[]);
    let mut waiter = server.connect();
    let mut pusher = server.connect();
    let handle = std::thread::spawn(move || -> Option<(String, String)> { waiter.blpop("jobs", 0.0).expect("BLPOP") });
    let mut raw = server.raw();
    wait_until("the client to block", || {
        raw.send(resp(&["INFO", "clients"]).as_bytes());
        String::from_utf8_lossy(&raw.reply()).contains("blocked_clients:1")
    });
    let _: i64 = pusher.rpush("jobs", "job-1").expect("RPUSH");
    assert_eq!(handle.join().expect("the waiter"), Some(("jobs".to_string(), "job-1".to_string())));
}
