//! Keyspace notifications compared byte for byte with Debian's redis-server: one subscriber to
//! `__key*__:*` on each server (RESP2, then RESP3), the same commands sent to both, and every
//! message each subscriber receives compared. One pair of servers serves every case.

mod common;

use common::{Raw, Redis, Server, assert_same_as_redis, resp};
use std::net::TcpStream;
use std::time::Duration;

/// Every class, the key-miss and new-key events included, as both servers start with.
const ALL_EVENTS: &str = "AKEnm";

/// The commands run on both servers, in order, grouped by what they exercise. Only what Redis 7.0
/// (Debian's redis-server) has: hash field expiry is compared in the engine's own tests.
const STEPS: &[&[&str]] = &[
    // Strings.
    &["SET", "a", "1"],
    &["SET", "a", "2", "EX", "100"],
    &["SET", "a", "1", "KEEPTTL"],
    &["SET", "a", "1", "NX"],
    &["SET", "q", "1", "GET"],
    &["SETNX", "q", "2"],
    &["SETEX", "s", "10", "v"],
    &["PSETEX", "s", "10000", "v"],
    &["MSET", "m1", "1", "m2", "2"],
    &["MSETNX", "m1", "1", "m3", "3"],
    &["MSETNX", "m4", "1", "m5", "3"],
    &["GETSET", "a", "5"],
    &["GETSET", "gs", "5"],
    &["GETDEL", "a"],
    &["GETDEL", "a"],
    &["GETEX", "m1", "EX", "100"],
    &["GETEX", "m1", "PERSIST"],
    &["GETEX", "m1", "PERSIST"],
    &["GETEX", "m1", "EXAT", "1"],
    &["APPEND", "ap", "x"],
    &["APPEND", "ap", "y"],
    &["SETRANGE", "sr", "0", ""],
    &["SETRANGE", "sr", "2", "x"],
    &["INCR", "i"],
    &["DECR", "i"],
    &["INCRBY", "i", "5"],
    &["DECRBY", "i", "3"],
    &["INCRBYFLOAT", "i", "1.5"],
    &["GET", "nokey"],
    &["MGET", "m2", "nokey"],
    &["STRLEN", "nokey"],
    &["GETRANGE", "nokey", "0", "1"],
    // Keys and expiry.
    &["EXISTS", "nokey", "m2"],
    &["TYPE", "nokey"],
    &["TTL", "nokey"],
    &["PTTL", "nokey"],
    &["EXPIRE", "m2", "100"],
    &["EXPIRE", "m2", "100", "NX"],
    &["PEXPIRE", "m2", "100000", "XX"],
    &["EXPIREAT", "m2", "99999999999"],
    &["PERSIST", "m2"],
    &["PERSIST", "m2"],
    &["EXPIRE", "m2", "-1"],
    &["PEXPIREAT", "nokey", "1"],
    &["SET", "r1", "1"],
    &["SET", "r2", "2"],
    &["RENAME", "r1", "r2"],
    &["RENAME", "r2", "r2"],
    &["RENAMENX", "r2", "r3"],
    &["RENAMENX", "r3", "m4"],
    &["COPY", "r3", "r4"],
    &["COPY", "r3", "r4"],
    &["COPY", "r3", "r4", "REPLACE"],
    &["COPY", "r3", "r5", "DB", "2"],
    &["COPY", "nokey", "r5"],
    &["MOVE", "r4", "1"],
    &["MOVE", "r3", "2"],
    &["DEL", "r3", "r4", "nokey"],
    &["UNLINK", "m4", "m5"],
    &["TOUCH", "ap", "nokey"],
    // Sets.
    // Sorted sets.
    &["ZADD", "z1", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "z1", "NX", "1", "a"],
    &["ZADD", "z1", "XX", "5", "a"],
    &["ZADD", "z1", "XX", "5", "a"],
    &["ZINCRBY", "z1", "2", "b"],
    &["ZADD", "z1", "INCR", "1", "c"],
    &["ZREM", "z1", "nope"],
    &["ZREM", "z1", "a"],
    &["ZADD", "z2", "1", "x", "2", "y", "3", "w"],
    &["ZREMRANGEBYRANK", "z2", "0", "0"],
    &["ZREMRANGEBYSCORE", "z2", "2", "2"],
    &["ZREMRANGEBYLEX", "z2", "-", "+"],
    &["ZREMRANGEBYLEX", "z2", "-", "+"],
    &["ZADD", "z2", "1", "x", "2", "y"],
    &["ZPOPMIN", "z2"],
    &["ZPOPMAX", "z2", "5"],
    &["ZPOPMAX", "z2"],
    &["ZADD", "z3", "1", "p"],
    &["ZMPOP", "2", "none", "z3", "MAX"],
    &["ZADD", "z3", "1", "p"],
    &["BZPOPMIN", "z3", "0"],
    &["ZUNIONSTORE", "zu", "2", "z1", "none"],
    &["ZINTERSTORE", "zi", "2", "z1", "zu"],
    &["ZDIFFSTORE", "zd", "2", "z1", "zu"],
    &["ZDIFFSTORE", "zu", "2", "z1", "zu"],
    &["ZRANGESTORE", "zr", "z1", "0", "0"],
    &["ZRANGESTORE", "zr", "none", "0", "-1"],
    &["SADD", "s1", "a", "b"],
    &["SADD", "s1", "a"],
    &["SREM", "s1", "a", "zz"],
    &["SREM", "s1", "zz"],
    &["SREM", "s1", "b"],
    &["SADD", "s1", "a"],
    &["SPOP", "s1", "0"],
    &["SPOP", "s1", "5"],
    &["SPOP", "s1"],
    &["SADD", "s1", "a", "b"],
    &["SMOVE", "s1", "t1", "a"],
    &["SMOVE", "s1", "t1", "b"],
    &["SMOVE", "s1", "t1", "b"],
    &["SADD", "u1", "1", "2"],
    &["SINTERSTORE", "d1", "s1", "t1"],
    &["SINTERSTORE", "d1", "t1", "u1"],
    &["SUNIONSTORE", "d1", "t1", "u1"],
    &["SDIFFSTORE", "d1", "t1", "u1"],
    &["SDIFFSTORE", "d1", "t1", "t1"],
    &["SISMEMBER", "nokey", "a"],
    &["SMEMBERS", "nokey"],
    &["SCARD", "nokey"],
    &["SINTER", "t1", "nokey"],
    // Hashes.
    &["HSET", "h", "a", "1", "b", "2"],
    &["HSET", "h", "a", "3"],
    &["HSETNX", "h", "a", "1"],
    &["HSETNX", "h", "c", "1"],
    &["HMSET", "h", "x", "1"],
    &["HDEL", "h", "a", "zz"],
    &["HDEL", "h", "zz"],
    &["HINCRBY", "h", "n", "1"],
    &["HINCRBYFLOAT", "h", "f", "1.5"],
    &["HDEL", "h", "b", "c", "x", "n", "f"],
    &["HGET", "nokey", "a"],
    &["HLEN", "nokey"],
    &["HGETALL", "nokey"],
    // Bitmaps.
    &["SETBIT", "bm", "3", "1"],
    &["SETBIT", "bm", "3", "1"],
    &["SETBIT", "bm", "3", "0"],
    &["GETBIT", "nokey", "1"],
    &["BITCOUNT", "nokey"],
    &["BITOP", "OR", "bd", "bm", "bm"],
    &["BITOP", "AND", "bd", "nokey", "nokey2"],
    &["BITOP", "AND", "bd", "nokey", "nokey2"],
    &["BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0"],
    &["BITFIELD", "bf", "GET", "u8", "0"],
    &["BITFIELD", "bf", "SET", "u8", "0", "255"],
    &["BITFIELD", "bf", "INCRBY", "u8", "0", "10"],
    &["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "255"],
    &["BITFIELD", "bf2", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"],
    &["BITFIELD_RO", "bf", "GET", "u8", "0"],
    // HyperLogLog.
    &["PFADD", "p", "a", "b"],
    &["PFADD", "p", "a"],
    &["PFADD", "p2"],
    &["PFCOUNT", "p", "nokey"],
    &["PFCOUNT", "nokey"],
    &["PFMERGE", "pm", "p", "p2"],
    &["PFMERGE", "pm2", "nokey"],
    // Lists.
    &["LPUSH", "l", "a", "b"],
    &["RPUSH", "l", "c"],
    &["LPUSHX", "l", "x"],
    &["LPUSHX", "nol", "x"],
    &["RPUSHX", "nol", "x"],
    &["LPOP", "l"],
    &["RPOP", "l", "2"],
    &["LSET", "l", "0", "z"],
    &["LINSERT", "l", "BEFORE", "z", "y"],
    &["LINSERT", "l", "BEFORE", "nope", "y"],
    &["LREM", "l", "1", "y"],
    &["LREM", "l", "1", "nope"],
    &["LTRIM", "l", "1", "0"],
    &["RPUSH", "l2", "1", "2", "3"],
    &["LTRIM", "l2", "0", "5"],
    &["RPOPLPUSH", "l2", "l3"],
    &["LMOVE", "l2", "l3", "LEFT", "RIGHT"],
    &["LMOVE", "l2", "l2", "LEFT", "RIGHT"],
    &["LMOVE", "l2", "l3", "LEFT", "RIGHT"],
    &["LMPOP", "2", "nol", "l3", "LEFT", "COUNT", "5"],
    &["LRANGE", "nol", "0", "-1"],
    &["LLEN", "nol"],
    &["LINDEX", "nol", "0"],
    &["LTRIM", "nol", "0", "1"],
    &["RPUSH", "l4", "3", "1", "2"],
    &["SORT", "l4", "STORE", "l5"],
    &["SORT", "nol", "STORE", "l5"],
    &["BLPOP", "l4", "0"],
    &["LREM", "l4", "0", "1"],
    &["LPOP", "l4", "5"],
    // A transaction: its commands' events in order; a key already expired inside it is expired
    // by the command that finds it, with nothing else in between on either server.
    &["MULTI"],
    &["SET", "late", "1", "PXAT", "1"],
    &["GET", "late"],
    &["DEL", "q", "s"],
    &["EXEC"],
    // Databases.
    &["SWAPDB", "0", "1"],
    &["SWAPDB", "0", "1"],
    &["FLUSHDB"],
    &["FLUSHALL"],
];

/// Channel prefix of the markers the client publishes after each step: its subscriber's pattern
/// matches it, so the marker arrives after every notification of the step, on both servers.
const MARKER: &str = "__keymarker__:";

/// A subscriber and a client on one server.
struct Side {
    subscriber: Raw,
    client: Raw,
    /// Between MULTI and EXEC.
    in_multi: bool,
}

impl Side {
    fn open(port: u16, protocol: &str) -> Side {
        let connect = || {
            let stream = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
            stream.set_read_timeout(Some(common::PATIENCE)).expect("timeout");
            Raw(stream)
        };
        let (mut subscriber, mut client) = (connect(), connect());
        subscriber.send(resp(&["HELLO", protocol]).as_bytes());
        subscriber.reply();
        subscriber.send(resp(&["PSUBSCRIBE", "__key*__:*"]).as_bytes());
        subscriber.reply();
        client.send(resp(&["FLUSHALL"]).as_bytes());
        client.reply();
        Side { subscriber, client, in_multi: false }
    }

    /// Runs one command and returns its reply and every message the subscriber received for it.
    fn step(&mut self, number: usize, args: &[&str]) -> (String, Vec<String>) {
        self.client.send(resp(args).as_bytes());
        let reply = text(&self.client.reply());
        // Inside MULTI the marker would be queued too: the events come at EXEC.
        self.in_multi = (self.in_multi || args[0] == "MULTI") && args[0] != "EXEC";
        if self.in_multi {
            return (reply, Vec::new());
        }
        let marker = format!("{MARKER}{number}");
        self.client.send(resp(&["PUBLISH", &marker, "."]).as_bytes());
        self.client.reply();
        let mut heard = Vec::new();
        loop {
            let message = text(&self.subscriber.reply());
            if message.contains(&marker) {
                return (reply, heard);
            }
            heard.push(message);
        }
    }

    /// Sets a key to expire in a millisecond and returns the messages heard until the `expired`
    /// ones (keyspace and keyevent) arrive: the server's active expiry removes it. Where they fall
    /// against the marker depends on when the server's timer runs, so they are returned apart.
    fn expire_soon(&mut self, number: usize) -> (Vec<String>, Vec<String>) {
        let (_, mut heard) = self.step(number, &["SET", "soon", "v", "PX", "1"]);
        while heard.iter().filter(|m| m.contains("expired")).count() < 2 {
            heard.push(text(&self.subscriber.reply()));
        }
        heard.into_iter().partition(|m| !m.contains("expired"))
    }
}

fn text(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).into_owned()
}

fn start_pair() -> (Server, Redis) {
    (Server::start(&["--notify-keyspace-events", ALL_EVENTS]), Redis::start(&["--notify-keyspace-events", ALL_EVENTS]))
}

/// Every step's reply and messages, then active expiry's, are the same on both servers, for a
/// RESP2 and a RESP3 subscriber.
#[test]
fn notifications_are_the_same_as_redis_for_every_command_family() {
    let (server, redis) = start_pair();
    for protocol in ["2", "3"] {
        let (mut ours, mut theirs) = (Side::open(server.port, protocol), Side::open(redis.port, protocol));
        let mut published = 0;
        for (number, args) in STEPS.iter().enumerate() {
            let (ours, theirs) = (ours.step(number, args), theirs.step(number, args));
            assert_eq!(ours, theirs, "RESP{protocol} step {number} {args:?}: reply and messages (cachet, then redis)");
            published += ours.1.len();
        }
        assert!(published > 200, "RESP{protocol}: only {published} messages in all");
        let (ours, theirs) = (ours.expire_soon(STEPS.len()), theirs.expire_soon(STEPS.len()));
        assert_eq!(ours, theirs, "RESP{protocol}: active expiry");
        assert_eq!(ours.1.len(), 2);
    }
}

/// `notify-keyspace-events` reads back in Redis's canonical form, refuses what Redis refuses, and
/// turns notifications off and on at once.
#[test]
fn the_setting_reads_and_fails_as_on_redis() {
    let (server, redis) = start_pair();
    let mut steps: Vec<Vec<&str>> = vec![vec!["CONFIG", "GET", "notify-keyspace-events"]];
    for classes in ["KEA", "Kgn$lshzxetdmE", "Eg", "AAm", "", "K", "gn", "An", "g$lshzxet", "g$lshzxetd", "nd", "mK", "Ex", "KEA ", "x y", "KEl"] {
        steps.push(vec!["CONFIG", "SET", "notify-keyspace-events", classes]);
        steps.push(vec!["CONFIG", "GET", "notify-keyspace-events"]);
    }
    let steps: Vec<&[&str]> = steps.iter().map(Vec::as_slice).collect();
    assert_same_as_redis(&server, &redis, &steps);

    // Switched off, nothing is published; switched to keyspace-only, only that channel is.
    for port in [server.port, redis.port] {
        let mut side = Side::open(port, "2");
        side.client.send(resp(&["CONFIG", "SET", "notify-keyspace-events", ""]).as_bytes());
        side.client.reply();
        assert_eq!(side.step(0, &["SET", "k", "v"]).1, Vec::<String>::new());
        side.client.send(resp(&["CONFIG", "SET", "notify-keyspace-events", "K$"]).as_bytes());
        side.client.reply();
        let (_, heard) = side.step(1, &["SET", "k", "v"]);
        assert_eq!(heard.len(), 1, "{heard:?}");
        assert!(heard[0].contains("__keyspace@0__:k") && heard[0].ends_with("$3\r\nset\r\n"), "{heard:?}");
        assert_eq!(side.step(2, &["DEL", "k"]).1, Vec::<String>::new(), "g is not asked for");
        side.client.send(resp(&["CONFIG", "SET", "notify-keyspace-events", ALL_EVENTS]).as_bytes());
        side.client.reply();
    }
}

/// A RESP3 client subscribed to its own events gets their pushes before its command's reply.
#[test]
fn a_resp3_client_hears_its_own_events_before_the_reply() {
    let (server, redis) = start_pair();
    let run = |port: u16| -> Vec<String> {
        let mut client = Raw(TcpStream::connect(("127.0.0.1", port)).expect("the server accepts"));
        client.0.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let mut frames = Vec::new();
        for (args, replies) in [
            (&["HELLO", "3"][..], 1),
            (&["PSUBSCRIBE", "__keyevent@0__:*"], 1),
            (&["SET", "mine", "v"], 3),
            (&["DEL", "mine"], 2),
            (&["GET", "mine"], 2),
        ] {
            client.send(resp(args).as_bytes());
            frames.extend((0..replies).map(|_| text(&client.reply())));
        }
        frames.remove(0);
        frames
    };
    assert_eq!(run(server.port), run(redis.port));
}

/// redis-py's pubsub receives cachet's notifications, expiry's included, in RESP2 and RESP3.
#[test]
fn redis_py_receives_notifications() {
    let server = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/redis_py_notifications.py");
    common::run_redis_py(&[script], server.port);
}
