//! Every command family through real clients — the `redis` crate, `redis-cli` and raw RESP —
//! against a real `cachet serve` process, in RESP2 and RESP3.

mod common;

use common::{Redis, Server, assert_same_as_redis, resp};
use redis::{Commands, Value};
use std::time::Duration;

fn cmd(conn: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<Value> {
    let mut c = redis::cmd(args[0]);
    for arg in &args[1..] {
        c.arg(*arg);
    }
    c.query(conn)
}

fn error_text(result: redis::RedisResult<Value>) -> String {
    let error = result.expect_err("an error reply");
    // The crate splits the code ("ERR", "WRONGTYPE") from the detail; put them back together.
    match (error.code(), error.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        _ => error.to_string(),
    }
}

#[test]
fn strings() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let mut raw = server.raw();

    raw.roundtrip(&resp(&["SET", "s", "v", "NX", "GET"]), "$-1\r\n");
    raw.roundtrip(&resp(&["SET", "s", "w", "XX", "GET"]), "$1\r\nv\r\n");
    raw.roundtrip(&resp(&["SET", "s", "x", "NX"]), "$-1\r\n");
    raw.roundtrip(&resp(&["SET", "s", "x", "NX", "XX"]), "-ERR syntax error\r\n");
    raw.roundtrip(&resp(&["SET", "s", "x", "EX", "0"]), "-ERR invalid expire time in 'set' command\r\n");
    raw.roundtrip(&resp(&["SET", "s", "x", "EX", "10", "PX", "100"]), "-ERR syntax error\r\n");
    raw.roundtrip(&resp(&["SET", "s", "x", "EX", "100"]), "+OK\r\n");
    raw.roundtrip(&resp(&["SET", "s", "y", "KEEPTTL"]), "+OK\r\n");
    let ttl: i64 = c.ttl("s").unwrap();
    assert!((99..=100).contains(&ttl), "KEEPTTL kept the TTL: {ttl}");

    assert_eq!(c.set_nx::<_, _, i64>("nx", "1").unwrap(), 1);
    assert_eq!(c.set_nx::<_, _, i64>("nx", "2").unwrap(), 0);
    let _: () = c.set_ex("ex", "v", 100).unwrap();
    assert!(c.pttl::<_, i64>("ex").unwrap() > 99_000);
    raw.roundtrip(&resp(&["PSETEX", "px", "5000", "v"]), "+OK\r\n");
    raw.roundtrip(&resp(&["GETSET", "px", "new"]), "$1\r\nv\r\n");
    assert_eq!(c.ttl::<_, i64>("px").unwrap(), -1, "GETSET drops the TTL");
    raw.roundtrip(&resp(&["GETDEL", "px"]), "$3\r\nnew\r\n");
    raw.roundtrip(&resp(&["GETDEL", "px"]), "$-1\r\n");
    raw.roundtrip(&resp(&["GETEX", "ex", "PERSIST"]), "$1\r\nv\r\n");
    assert_eq!(c.ttl::<_, i64>("ex").unwrap(), -1);
    raw.roundtrip(&resp(&["GETEX", "ex", "EX", "50"]), "$1\r\nv\r\n");
    assert!(c.ttl::<_, i64>("ex").unwrap() > 40);

    let _: () = c.mset(&[("a", "1"), ("b", "2")]).unwrap();
    let values: Vec<Option<String>> = c.mget(&["a", "missing", "b"]).unwrap();
    assert_eq!(values, vec![Some("1".into()), None, Some("2".into())]);
    raw.roundtrip(&resp(&["MSETNX", "a", "9", "c", "3"]), ":0\r\n");
    raw.roundtrip(&resp(&["MSETNX", "c", "3", "d", "4"]), ":1\r\n");
    raw.roundtrip(&resp(&["MSET", "a"]), "-ERR wrong number of arguments for 'mset' command\r\n");

    assert_eq!(c.append::<_, _, i64>("ap", "Hello").unwrap(), 5);
    assert_eq!(c.append::<_, _, i64>("ap", " World").unwrap(), 11);
    assert_eq!(c.strlen::<_, i64>("ap").unwrap(), 11);
    assert_eq!(c.getrange::<_, String>("ap", 0, 4).unwrap(), "Hello");
    assert_eq!(c.getrange::<_, String>("ap", -5, -1).unwrap(), "World");
    raw.roundtrip(&resp(&["SUBSTR", "ap", "6", "100"]), "$5\r\nWorld\r\n");
    assert_eq!(c.setrange::<_, _, i64>("ap", 6, "Redis").unwrap(), 11);
    assert_eq!(c.get::<_, String>("ap").unwrap(), "Hello Redis");
    assert_eq!(c.setrange::<_, _, i64>("pad", 3, "x").unwrap(), 4);
    assert_eq!(c.get::<_, Vec<u8>>("pad").unwrap(), b"\0\0\0x");
    raw.roundtrip(&resp(&["SETRANGE", "pad", "536870912", "x"]), "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");

    assert_eq!(c.incr::<_, _, i64>("n", 1).unwrap(), 1);
    assert_eq!(c.incr::<_, _, i64>("n", 10).unwrap(), 11);
    assert_eq!(c.decr::<_, _, i64>("n", 20).unwrap(), -9);
    raw.roundtrip(&resp(&["DECR", "n"]), ":-10\r\n");
    raw.roundtrip(&resp(&["INCR", "ap"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(error_text(cmd(&mut c, &["INCRBY", "n", "1.5"])), "ERR value is not an integer or out of range");
    assert_eq!(error_text(cmd(&mut c, &["SET", "k", "v", "NX", "XX"])), "ERR syntax error");
    raw.roundtrip(&resp(&["SET", "max", "9223372036854775807"]), "+OK\r\n");
    raw.roundtrip(&resp(&["INCR", "max"]), "-ERR increment or decrement would overflow\r\n");
    raw.roundtrip(&resp(&["INCRBY", "n", "x"]), "-ERR value is not an integer or out of range\r\n");
    raw.roundtrip(&resp(&["SET", "f", "10.50"]), "+OK\r\n");
    raw.roundtrip(&resp(&["INCRBYFLOAT", "f", "0.1"]), "$4\r\n10.6\r\n");
    raw.roundtrip(&resp(&["SET", "f", "5.0e3"]), "+OK\r\n");
    raw.roundtrip(&resp(&["INCRBYFLOAT", "f", "2.0e2"]), "$4\r\n5200\r\n");
    raw.roundtrip(&resp(&["INCRBYFLOAT", "f", "abc"]), "-ERR value is not a valid float\r\n");
}

#[test]
fn keys_and_databases() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let mut raw = server.raw();
    let _: () = c.mset(&[("k1", "a"), ("k2", "b"), ("other", "c")]).unwrap();

    raw.roundtrip(&resp(&["EXISTS", "k1", "k1", "nope"]), ":2\r\n");
    raw.roundtrip(&resp(&["TYPE", "k1"]), "+string\r\n");
    raw.roundtrip(&resp(&["TYPE", "nope"]), "+none\r\n");
    let mut keys: Vec<String> = c.keys("k*").unwrap();
    keys.sort();
    assert_eq!(keys, vec!["k1", "k2"]);
    let mut scanned: Vec<String> = c.scan_match("k?").unwrap().collect::<Result<_, _>>().unwrap();
    scanned.sort();
    assert_eq!(scanned, vec!["k1", "k2"]);
    raw.roundtrip(&resp(&["DBSIZE"]), ":3\r\n");
    let random: String = redis::cmd("RANDOMKEY").query(&mut c).unwrap();
    assert!(["k1", "k2", "other"].contains(&random.as_str()));

    raw.roundtrip(&resp(&["RENAME", "k1", "renamed"]), "+OK\r\n");
    raw.roundtrip(&resp(&["RENAME", "k1", "x"]), "-ERR no such key\r\n");
    raw.roundtrip(&resp(&["RENAMENX", "renamed", "k2"]), ":0\r\n");
    raw.roundtrip(&resp(&["COPY", "renamed", "copy"]), ":1\r\n");
    raw.roundtrip(&resp(&["COPY", "renamed", "copy"]), ":0\r\n");
    raw.roundtrip(&resp(&["COPY", "renamed", "copy", "REPLACE"]), ":1\r\n");
    raw.roundtrip(&resp(&["COPY", "renamed", "copy", "DB", "2"]), ":1\r\n");
    raw.roundtrip(&resp(&["MOVE", "copy", "3"]), ":1\r\n");
    raw.roundtrip(&resp(&["MOVE", "copy", "16"]), "-ERR DB index is out of range\r\n");
    raw.roundtrip(&resp(&["SELECT", "3"]), "+OK\r\n");
    raw.roundtrip(&resp(&["GET", "copy"]), "$1\r\na\r\n");
    raw.roundtrip(&resp(&["SELECT", "2"]), "+OK\r\n");
    raw.roundtrip(&resp(&["GET", "copy"]), "$1\r\na\r\n");
    raw.roundtrip(&resp(&["SELECT", "16"]), "-ERR DB index is out of range\r\n");
    raw.roundtrip(&resp(&["FLUSHDB", "ASYNC"]), "+OK\r\n");
    raw.roundtrip(&resp(&["DBSIZE"]), ":0\r\n");
    raw.roundtrip(&resp(&["SELECT", "0"]), "+OK\r\n");

    raw.roundtrip(&resp(&["TOUCH", "renamed", "nope"]), ":1\r\n");
    raw.roundtrip(&resp(&["DEL", "renamed", "k2", "nope"]), ":2\r\n");
    raw.roundtrip(&resp(&["UNLINK", "other"]), ":1\r\n");
    raw.roundtrip(&resp(&["FLUSHALL"]), "+OK\r\n");
    raw.roundtrip(&resp(&["SELECT", "3"]), "+OK\r\n");
    raw.roundtrip(&resp(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn scan_walks_a_large_keyspace() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let mut pipe = redis::pipe();
    for i in 0..5000 {
        pipe.set(format!("key:{i}"), i).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    let all: std::collections::HashSet<String> = c.scan().unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len(), 5000);
    let (cursor, batch): (u64, Vec<String>) = redis::cmd("SCAN").arg(0).arg("COUNT").arg(100).query(&mut c).unwrap();
    assert_ne!(cursor, 0);
    assert!(!batch.is_empty() && batch.len() <= 100);
}

#[test]
fn expiry_is_lazy_and_active() {
    let server = Server::start(&["--hz", "50"]);
    let mut c = server.connect();
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["SET", "k", "v"]), "+OK\r\n");
    raw.roundtrip(&resp(&["TTL", "k"]), ":-1\r\n");
    raw.roundtrip(&resp(&["TTL", "missing"]), ":-2\r\n");
    raw.roundtrip(&resp(&["EXPIRE", "k", "100", "XX"]), ":0\r\n");
    raw.roundtrip(&resp(&["EXPIRE", "k", "100", "NX"]), ":1\r\n");
    raw.roundtrip(&resp(&["EXPIRE", "k", "50", "GT"]), ":0\r\n");
    raw.roundtrip(&resp(&["EXPIRE", "k", "200", "GT"]), ":1\r\n");
    raw.roundtrip(&resp(&["EXPIRE", "k", "10", "NX", "XX"]), "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
    raw.roundtrip(&resp(&["PERSIST", "k"]), ":1\r\n");
    raw.roundtrip(&resp(&["EXPIRETIME", "k"]), ":-1\r\n");
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1000;
    raw.roundtrip(&resp(&["EXPIREAT", "k", &at.to_string()]), ":1\r\n");
    raw.roundtrip(&resp(&["EXPIRETIME", "k"]), &format!(":{at}\r\n"));
    raw.roundtrip(&resp(&["PEXPIRETIME", "k"]), &format!(":{}\r\n", at * 1000));
    raw.roundtrip(&resp(&["PEXPIRE", "k", "-1"]), ":1\r\n");
    raw.roundtrip(&resp(&["EXISTS", "k"]), ":0\r\n");

    // Lazy: a key read after its deadline is gone.
    raw.roundtrip(&resp(&["SET", "lazy", "v", "PX", "100"]), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(150));
    raw.roundtrip(&resp(&["GET", "lazy"]), "$-1\r\n");

    // Active: keys nobody reads are removed by the timer's cycle.
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.cmd("SET").arg(format!("tmp:{i}")).arg("v").arg("PX").arg(200).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    let _: () = c.set("stays", "v").unwrap();
    common::wait_until("active expiry to remove the keys nobody reads", || {
        redis::cmd("DBSIZE").query::<i64>(&mut c).unwrap() == 1
    });
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    let expired: u64 = info_field(&info, "expired_keys").parse().unwrap();
    assert!(expired >= 1001, "{info}");
}

fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO has no {name}:\n{info}"))
        .trim()
        .to_string()
}

#[test]
fn connection_commands_and_resp3() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["ECHO", "hi"]), "$2\r\nhi\r\n");
    raw.roundtrip(&resp(&["PING", "msg"]), "$3\r\nmsg\r\n");
    raw.roundtrip(&resp(&["HELLO", "4"]), "-NOPROTO unsupported protocol version\r\n");
    raw.send(resp(&["HELLO", "3"]).as_bytes());
    raw.expect("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n");
    let mut c = server.connect_resp3();
    let _: () = c.set("k", "v").unwrap();
    assert_eq!(cmd(&mut c, &["GET", "missing"]).unwrap(), Value::Nil);
    let hello = cmd(&mut c, &["HELLO", "3"]).unwrap();
    assert!(matches!(hello, Value::Map(_)), "HELLO 3 answers a map: {hello:?}");
    let config = cmd(&mut c, &["CONFIG", "GET", "maxclients"]).unwrap();
    assert!(matches!(config, Value::Map(_)), "CONFIG GET answers a map in RESP3: {config:?}");

    let mut raw3 = server.raw();
    raw3.send(format!("{}{}", resp(&["HELLO", "3"]), resp(&["PING"])).as_bytes());
    raw3.read_until("+PONG\r\n");
    raw3.roundtrip(&resp(&["GET", "missing"]), "_\r\n");
    raw3.roundtrip(&resp(&["RESET"]), "+RESET\r\n");
    raw3.roundtrip(&resp(&["GET", "missing"]), "$-1\r\n");
    raw3.roundtrip(&resp(&["QUIT"]), "+OK\r\n");
    assert!(raw3.closed());
}

#[test]
fn client_commands() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["CLIENT", "GETNAME"]), "$-1\r\n");
    raw.roundtrip(&resp(&["CLIENT", "SETNAME", "worker-1"]), "+OK\r\n");
    raw.roundtrip(&resp(&["CLIENT", "GETNAME"]), "$8\r\nworker-1\r\n");
    raw.roundtrip(&resp(&["CLIENT", "SETNAME", "bad name"]), "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    raw.roundtrip(&resp(&["CLIENT", "SETINFO", "LIB-NAME", "tests"]), "+OK\r\n");
    raw.roundtrip(&resp(&["CLIENT", "NOPE"]), "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n");
    let list = server.cli(&["CLIENT", "LIST"]);
    let mine = list.lines().find(|l| l.contains("name=worker-1")).unwrap_or_else(|| panic!("{list}"));
    for field in ["id=", "addr=127.0.0.1:", "laddr=127.0.0.1:", "db=0", "lib-name=tests", "resp=2", "cmd="] {
        assert!(mine.contains(field), "{field} in {mine}");
    }
    let id = server.cli(&["CLIENT", "ID"]);
    assert!(id.trim().parse::<u64>().unwrap() > 0);
    let info = server.cli(&["CLIENT", "INFO"]);
    assert!(info.starts_with("id=") && info.contains("cmd=client|info"), "{info}");
}

#[test]
fn server_commands() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let _: () = c.set("k", "v").unwrap();
    let _: Option<String> = c.get("missing").unwrap();
    let info: String = redis::cmd("INFO").query(&mut c).unwrap();
    for section in ["# Server", "# Clients", "# Memory", "# Stats", "# Keyspace"] {
        assert!(info.contains(section), "{section} in INFO");
    }
    assert_eq!(info_field(&info, "tcp_port"), server.port.to_string());
    assert!(info_field(&info, "redis_version").starts_with('7'));
    assert!(info_field(&info, "used_memory").parse::<u64>().unwrap() > 0);
    assert!(info_field(&info, "connected_clients").parse::<u64>().unwrap() >= 1);
    assert!(info_field(&info, "keyspace_misses").parse::<u64>().unwrap() >= 1);
    assert!(info.contains("db0:keys=1,expires=0"), "{info}");

    let time: Vec<String> = redis::cmd("TIME").query(&mut c).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(time[0].parse::<u64>().unwrap().abs_diff(now) <= 2);

    let mut raw = server.raw();
    raw.roundtrip(&resp(&["CONFIG", "SET", "maxclients", "500", "timeout", "30"]), "+OK\r\n");
    raw.roundtrip(&resp(&["CONFIG", "GET", "timeout"]), "*2\r\n$7\r\ntimeout\r\n$2\r\n30\r\n");
    raw.roundtrip(&resp(&["CONFIG", "SET", "port", "1"]), "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n");
    let save: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("save").query(&mut c).unwrap();
    assert_eq!(save, vec!["save", ""]);
    assert!(!server.cli(&["DEBUG", "SLEEP", "0"]).is_empty(), "DEBUG answers instead of crashing");

    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut c).unwrap();
    assert!(count >= 60, "COMMAND COUNT = {count}");
    let docs = cmd(&mut c, &["COMMAND", "DOCS", "set"]).unwrap();
    assert!(format!("{docs:?}").contains("summary"), "{docs:?}");
    let info = cmd(&mut c, &["COMMAND", "INFO", "get"]).unwrap();
    assert!(format!("{info:?}").contains("readonly"), "{info:?}");
}

/// The same commands against cachet and Debian's redis-server, compared byte for byte in RESP2
/// and RESP3.
#[test]
fn string_and_key_commands_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SET", "s", "v"],
        &["GET", "s"],
        &["GET", "missing"],
        &["SET", "s", "w", "NX"],
        &["SET", "s", "w", "XX", "GET"],
        &["APPEND", "s", "123"],
        &["STRLEN", "s"],
        &["GETRANGE", "s", "1", "-2"],
        &["SETRANGE", "s", "10", "pad"],
        &["GET", "s"],
        &["INCR", "n"],
        &["INCRBY", "n", "41"],
        &["DECRBY", "n", "2"],
        &["INCR", "s"],
        // A counter keeps its TTL through INCR, as its digits grow and shrink, and stays a number.
        &["SET", "c", "9", "EX", "100"],
        &["INCR", "c"],
        &["TTL", "c"],
        &["INCRBY", "c", "-11"],
        &["DECR", "c"],
        &["GET", "c"],
        &["TTL", "c"],
        &["OBJECT", "ENCODING", "c"],
        &["SET", "c", "012"],
        &["INCR", "c"],
        &["SET", "c", "9223372036854775806"],
        &["INCR", "c"],
        &["INCR", "c"],
        &["GET", "c"],
        &["EXPIRE", "c", "100", "LT"],
        &["EXPIRE", "c", "-1", "NX"],
        &["EXISTS", "c"],
        &["MSET", "a", "1", "b", "2"],
        &["MGET", "a", "b", "nope"],
        &["MSETNX", "a", "x", "c", "3"],
        &["EXISTS", "a", "b", "c", "nope"],
        &["TYPE", "a"],
        &["TYPE", "nope"],
        &["RENAME", "a", "a2"],
        &["RENAME", "nope", "x"],
        &["RENAMENX", "a2", "b"],
        &["EXPIRE", "b", "100"],
        &["TTL", "b"],
        &["PERSIST", "b"],
        &["TTL", "b"],
        &["EXPIRE", "b", "100", "XX", "GT"],
        &["DEL", "a2", "b", "nope"],
        &["DBSIZE"],
        &["GETDEL", "n"],
        &["GET", "n"],
        &["SELECT", "1"],
        &["SET", "other", "db"],
        &["MOVE", "other", "0"],
        &["SELECT", "0"],
        &["GET", "other"],
        &["COPY", "other", "copied"],
        &["GET", "copied"],
        &["ECHO", "hello"],
        &["PING"],
        &["PING", "message"],
        &["GET"],
        &["NOSUCHCOMMAND", "x"],
    ]);
}

/// MULTI/EXEC/DISCARD/WATCH as Redis answers them, errors included, in RESP2 and RESP3.
#[test]
fn transactions_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["EXEC"],
        &["DISCARD"],
        &["MULTI"],
        &["MULTI"],
        &["WATCH", "k"],
        &["SET", "k", "v"],
        &["INCR", "k"],
        &["GET", "k"],
        &["EXEC"],
        &["MULTI"],
        &["SET", "k", "1"],
        &["NOSUCHCOMMAND"],
        &["GET"],
        &["EXEC"],
        &["GET", "k"],
        &["MULTI"],
        &["SET", "k", "2"],
        &["DISCARD"],
        &["GET", "k"],
        &["WATCH", "k", "other"],
        &["SET", "k", "mine"],
        &["MULTI"],
        &["GET", "k"],
        &["EXEC"],
        &["WATCH", "k"],
        &["UNWATCH"],
        &["SET", "k", "again"],
        &["MULTI"],
        &["GET", "k"],
        &["EXEC"],
        &["MULTI"],
        &["EXEC"],
        &["WATCH"],
        &["MULTI", "extra"],
    ]);
}

/// Two clients racing on a watched key, the same interleaving on cachet and on redis-server.
#[test]
fn a_watch_race_between_two_clients_ends_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let run = |mut first: common::Raw, mut second: common::Raw| -> Vec<Vec<u8>> {
        let steps: &[(bool, &[&str])] = &[
            (true, &["SET", "balance", "100"]),
            (true, &["WATCH", "balance"]),
            (true, &["GET", "balance"]),
            (false, &["DECRBY", "balance", "30"]),
            (true, &["MULTI"]),
            (true, &["SET", "balance", "90"]),
            (true, &["EXEC"]),
            (true, &["GET", "balance"]),
            (false, &["WATCH", "balance"]),
            (false, &["MULTI"]),
            (false, &["DECRBY", "balance", "20"]),
            (true, &["GET", "balance"]),
            (false, &["EXEC"]),
        ];
        steps
            .iter()
            .map(|(on_first, args)| {
                let conn = if *on_first { &mut first } else { &mut second };
                conn.send(resp(args).as_bytes());
                conn.reply()
            })
            .collect()
    };
    let ours = run(server.raw(), server.raw());
    let redis_raw = || common::Raw(std::net::TcpStream::connect(("127.0.0.1", redis.port)).unwrap());
    let theirs = run(redis_raw(), redis_raw());
    assert_eq!(ours, theirs);
    assert_eq!(ours[6], b"*-1\r\n", "the first client's EXEC failed");
    assert_eq!(ours[12], b"*1\r\n:50\r\n", "the second client's ran");
}

/// The `redis` crate's atomic pipeline is a MULTI/EXEC transaction.
#[test]
fn redis_crate_atomic_pipelines() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    let (a, b): (i64, i64) = redis::pipe().atomic().incr("x", 1).incr("x", 2).query(&mut c).unwrap();
    assert_eq!((a, b), (1, 3));
    let mut c3 = server.connect_resp3();
    let (v,): (String,) = redis::pipe().atomic().set("y", "z").ignore().get("y").query(&mut c3).unwrap();
    assert_eq!(v, "z");
}

/// Repeated options (the last wins), which error Redis reports first, and SWAPDB's texts.
#[test]
fn option_parsing_and_error_order_as_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SET", "k", "v", "EX", "abc", "EX", "100"],
        &["TTL", "k"],
        &["SET", "k", "v", "EX", "abc", "NX", "XX"],
        &["SET", "k", "v", "EX", "100", "PX", "100"],
        &["SET", "k", "v", "EX", "abc"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["GETEX", "k", "PERSIST", "PERSIST"],
        &["TTL", "k"],
        &["GETEX", "missing", "EX", "abc"],
        &["GETEX", "k", "EX", "abc"],
        &["GETEX", "k", "EX", "10", "PX", "10"],
        &["GETEX", "k", "EX", "abc", "PERSIST"],
        &["GETEX", "k", "EX", "5", "EX", "50"],
        &["TTL", "k"],
        &["EXPIRE", "k", "abc", "XX", "NX"],
        &["EXPIRE", "k", "100", "NX", "XX"],
        &["EXPIRE", "k", "abc"],
        &["EXPIRE", "k", "10", "GT", "LT"],
        &["EXPIRE", "k", "10", "FOO"],
        &["SWAPDB", "a", "1"],
        &["SWAPDB", "1", "a"],
        &["SWAPDB", "100", "1"],
        &["SWAPDB", "-1", "1"],
        &["SWAPDB", "0", "100"],
    ]);
}

/// Unknown commands whose name or arguments hold NUL, CR/LF or bytes that are not UTF-8 are
/// quoted byte for byte as Redis quotes them.
#[test]
fn unknown_command_errors_quote_raw_bytes_as_redis_does() {
    use std::io::Write;
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let frame = |args: &[&[u8]]| {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            write!(out, "${}\r\n", arg.len()).unwrap();
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        out
    };
    let long = [b'x'; 200];
    let cases: [&[&[u8]]; 4] =
        [&[b"fo\0ox", b"a"], &[b"fo\r\nx", b"b\r\nc"], &[b"f\xffo", b"\xfe"], &[&long, &long]];
    for args in cases {
        let mut ours = server.raw();
        let mut theirs = common::Raw(std::net::TcpStream::connect(("127.0.0.1", redis.port)).unwrap());
        ours.send(&frame(args));
        theirs.send(&frame(args));
        let (ours, theirs) = (ours.reply(), theirs.reply());
        assert!(ours == theirs, "{args:?}: cachet {:?}, redis {:?}", String::from_utf8_lossy(&ours), String::from_utf8_lossy(&theirs));
    }
}

/// MONITOR's own reply and COMMAND's description of it, as Redis gives them.
#[test]
fn monitor_is_described_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[&["COMMAND", "INFO", "monitor"], &["COMMAND", "DOCS", "monitor"], &["MONITOR"]]);
}

/// MEMORY's replies whose bytes do not depend on the allocator match redis-server's; USAGE of
/// every type is an integer there and here (the figures themselves are each server's own).
#[test]
fn memory_replies_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SET", "s", "v"],
        &["MEMORY", "USAGE", "missing"],
        &["MEMORY", "USAGE", "s", "SAMPLES", "x"],
        &["MEMORY", "USAGE", "s", "SAMPLES", "-1"],
        &["MEMORY", "USAGE", "s", "SAMPLES"],
        &["MEMORY", "USAGE", "s", "FOO", "1"],
        &["MEMORY", "USAGE"],
        &["MEMORY", "PURGE"],
        &["MEMORY", "NOPE"],
        &["MEMORY"],
    ]);
    for url in [server.url(), redis.url()] {
        let mut c = redis::Client::open(url).expect("valid url").get_connection().expect("connects");
        cmd(&mut c, &["HSET", "h", "f", "v"]).unwrap();
        cmd(&mut c, &["SADD", "set", "a", "b"]).unwrap();
        cmd(&mut c, &["SETBIT", "bits", "100", "1"]).unwrap();
        cmd(&mut c, &["PFADD", "hll", "a"]).unwrap();
        for key in ["s", "h", "set", "bits", "hll"] {
            for samples in ["0", "5"] {
                let usage = cmd(&mut c, &["MEMORY", "USAGE", key, "SAMPLES", samples]).unwrap();
                assert!(matches!(usage, Value::Int(n) if n > 0), "{key}: {usage:?}");
            }
        }
    }
}

/// A tiny deterministic generator, so the random sequences below are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    /// `count` random digits of `radix`.
    fn digits(&mut self, count: u64, radix: u32) -> String {
        (0..count).map(|_| char::from_digit(self.below(u64::from(radix)) as u32, radix).unwrap_or('0')).collect()
    }

    /// Between 1 and `most` random digits of `radix`.
    fn some_digits(&mut self, most: u64, radix: u32) -> String {
        let count = 1 + self.below(most);
        self.digits(count, radix)
    }
}

/// A number in one of the forms INCRBYFLOAT reads, or one it refuses: decimals short and long,
/// exponents near the edges of double and of long double, hexadecimal floats, infinities, NaN and
/// malformed text.
fn random_float_text(rng: &mut Lcg) -> String {
    let sign = ["", "", "-", "+"][rng.below(4) as usize];
    match rng.below(10) {
        0..=3 => {
            let (integer, fraction) = (rng.below(4), rng.below(22));
            format!("{sign}{}.{}", rng.digits(integer.max(1), 10), rng.digits(fraction, 10))
        }
        4 | 5 => {
            let exponent = [rng.below(25), 290 + rng.below(30), 4000 + rng.below(960)][rng.below(3) as usize];
            let exponent_sign = ["", "-", "+"][rng.below(3) as usize];
            let mantissa = rng.some_digits(25, 10);
            let (head, tail) = mantissa.split_at(1);
            format!("{sign}{head}.{tail}{}{exponent_sign}{exponent}", ["e", "E"][rng.below(2) as usize])
        }
        6 => {
            let digits = rng.some_digits(18, 16);
            let point = rng.below(digits.len() as u64 + 1) as usize;
            let exponent = match rng.below(3) {
                0 => String::new(),
                _ => format!("p{}{}", ["", "-", "+"][rng.below(3) as usize], rng.below(80)),
            };
            format!("{sign}{}{}.{}{exponent}", ["0x", "0X"][rng.below(2) as usize], &digits[..point], &digits[point..])
        }
        7 => ["0.1", "0.2", "625.66039", "1.1", "3.0", "10.5", "1e17", "0.0000001", "99999999999999999999"][rng.below(9) as usize].to_string(),
        8 => format!("{sign}{}", rng.some_digits(30, 10)),
        _ => ["inf", "-inf", "+Infinity", "nan", "-nan", " 1", "1 ", "1e", "0x", "", "1.2.3", "1e-5000", "1e5000", "0e-9999",
            "1e-4940", "0x1p16383", "0x1p16384", "0x1p-16445", "abc"][rng.below(19) as usize]
            .to_string(),
    }
}

/// One random command on the float counters `a` and `b` and the hash field `h f`.
fn random_float_command(rng: &mut Lcg) -> Vec<String> {
    let key = ["a", "b"][rng.below(2) as usize].to_string();
    let number = random_float_text(rng);
    let words: Vec<&str> = match rng.below(10) {
        0 | 1 => vec!["SET", &key, &number],
        2..=5 => vec!["INCRBYFLOAT", &key, &number],
        6 => vec!["HSET", "h", "f", &number],
        7 | 8 => vec!["HINCRBYFLOAT", "h", "f", &number],
        _ => vec!["GET", &key],
    };
    words.into_iter().map(String::from).collect()
}

/// INCRBYFLOAT and HINCRBYFLOAT are C long double arithmetic in Redis, read with strtold and
/// printed with "%.17Lf": seeded random sequences of them — values that round differently in
/// double and in long double, exponents past double's range, hexadecimal floats and every error —
/// reply byte for byte as on redis-server.
#[test]
fn float_increments_are_long_double_arithmetic_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["SET", "f", "625.66039"],
        &["INCRBYFLOAT", "f", "0"],
        &["INCRBYFLOAT", "big", "1e4000"],
        &["INCRBYFLOAT", "big", "1e4000"],
        &["INCRBYFLOAT", "x", "0x10"],
        &["INCRBYFLOAT", "x", "inf"],
        &["INCRBYFLOAT", "x", "nan"],
        &["HINCRBYFLOAT", "h", "f", "-inf"],
        &["HINCRBYFLOAT", "h", "f", "0x1.8p1"],
        &["HINCRBYFLOAT", "h", "f", "1e4932"],
        &["HINCRBYFLOAT", "h", "f", "1e4932"],
    ]);
    for seed in [2026, 11, 404] {
        let mut rng = Lcg(seed);
        let commands: Vec<Vec<String>> = (0..1500).map(|_| random_float_command(&mut rng)).collect();
        let slices: Vec<Vec<&str>> = commands.iter().map(|c| c.iter().map(String::as_str).collect()).collect();
        assert_same_as_redis(&server, &redis, &slices.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
}

/// COMMAND GETKEYS and GETKEYSANDFLAGS name the same keys with the same flags as Redis 7's key
/// specifications, for a command line of every family (and the options that change a command's
/// flags: SET ... GET, BITFIELD with a write), with the same errors. (A command line of its name
/// alone, `COMMAND GETKEYS PING`, is an arity error in Redis 7.0 and not since 7.2; cachet answers
/// as the later versions do.)
#[test]
fn keys_and_their_flags_as_redis_reports_them() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let lines: &[&[&str]] = &[
        &["GET", "k"], &["SET", "k", "v"], &["SET", "k", "v", "EX", "10", "get"], &["SETNX", "k", "v"], &["SETEX", "k", "10", "v"],
        &["GETSET", "k", "v"], &["GETDEL", "k"], &["GETEX", "k", "PERSIST"], &["MGET", "a", "b"], &["MSET", "a", "1", "b", "2"],
        &["MSETNX", "a", "1", "b", "2"], &["APPEND", "k", "v"], &["STRLEN", "k"], &["GETRANGE", "k", "0", "1"], &["SETRANGE", "k", "0", "v"],
        &["INCR", "k"], &["DECRBY", "k", "1"], &["INCRBYFLOAT", "k", "1"], &["SETBIT", "k", "0", "1"], &["GETBIT", "k", "0"],
        &["BITCOUNT", "k"], &["BITPOS", "k", "1"], &["BITOP", "AND", "d", "a", "b"], &["BITOP", "NOT", "d", "a"],
        &["BITFIELD", "k", "GET", "u8", "0"], &["BITFIELD", "k", "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "1"], &["BITFIELD_RO", "k", "GET", "u8", "0"],
        &["PFADD", "k", "a"], &["PFCOUNT", "a", "b"], &["PFMERGE", "d", "a", "b"],
        &["SADD", "k", "m"], &["SREM", "k", "m"], &["SISMEMBER", "k", "m"], &["SMISMEMBER", "k", "m", "n"], &["SCARD", "k"],
        &["SMEMBERS", "k"], &["SRANDMEMBER", "k"], &["SPOP", "k"], &["SMOVE", "a", "b", "m"], &["SINTER", "a", "b"],
        &["SINTERSTORE", "d", "a", "b"], &["SUNIONSTORE", "d", "a", "b"], &["SDIFFSTORE", "d", "a"], &["SSCAN", "k", "0"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "1"], &["SINTERCARD", "3", "a"], &["SINTERCARD", "0", "a"],
        &["HSET", "k", "f", "v"], &["HSETNX", "k", "f", "v"], &["HGET", "k", "f"], &["HMGET", "k", "f", "g"], &["HDEL", "k", "f"],
        &["HEXISTS", "k", "f"], &["HLEN", "k"], &["HSTRLEN", "k", "f"], &["HGETALL", "k"], &["HINCRBY", "k", "f", "1"],
        &["HINCRBYFLOAT", "k", "f", "1"], &["HRANDFIELD", "k"], &["HSCAN", "k", "0"],
        &["DEL", "a", "b"], &["UNLINK", "a"], &["EXISTS", "a", "b"], &["TOUCH", "a"], &["TYPE", "k"], &["RENAME", "a", "b"],
        &["RENAMENX", "a", "b"], &["COPY", "a", "b"], &["MOVE", "k", "1"], &["EXPIRE", "k", "1"], &["PEXPIREAT", "k", "1"],
        &["TTL", "k"], &["PEXPIRETIME", "k"], &["PERSIST", "k"], &["WATCH", "a", "b"], &["OBJECT", "ENCODING", "k"],
        &["OBJECT", "FREQ", "k"], &["MEMORY", "USAGE", "k"],
        &["SPUBLISH", "c", "m"], &["SSUBSCRIBE", "c"], &["GET", "a", "b"], &["NOPE", "a"],
    ];
    let mut commands: Vec<Vec<&str>> = Vec::new();
    for line in lines {
        for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
            commands.push([&["COMMAND", sub][..], line].concat());
        }
    }
    commands.push(vec!["COMMAND", "GETKEYSANDFLAGS"]);
    assert_same_as_redis(&server, &redis, &commands.iter().map(Vec::as_slice).collect::<Vec<_>>());
}

/// The kind of a reply value, for comparing shapes whose figures differ.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Int(_) => "integer",
        Value::Double(_) => "double",
        Value::BulkString(_) => "bulk",
        Value::Array(_) => "array",
        Value::Map(_) => "map",
        _ => "other",
    }
}

/// MEMORY STATS's fields, in order, each with the kind of its value (and the fields of db.N).
fn memory_stats_shape(c: &mut redis::Connection) -> Vec<String> {
    let pairs: Vec<(Value, Value)> = match cmd(c, &["MEMORY", "STATS"]).expect("MEMORY STATS") {
        Value::Map(pairs) => pairs,
        Value::Array(items) => items.chunks(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect(),
        other => panic!("MEMORY STATS answered {other:?}"),
    };
    let name = |v: &Value| match v {
        Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        other => format!("{other:?}"),
    };
    let mut shape = Vec::new();
    for (field, value) in &pairs {
        shape.push(format!("{} {}", name(field), kind(value)));
        match value {
            Value::Map(inner) => shape.extend(inner.iter().map(|(f, v)| format!("  {} {}", name(f), kind(v)))),
            Value::Array(inner) => shape.extend(inner.chunks(2).map(|p| format!("  {} {}", name(&p[0]), kind(&p[1])))),
            _ => {}
        }
    }
    shape
}

/// MEMORY STATS has Redis's fields in Redis's order with values of the same kinds — integers,
/// doubles (bulk strings in RESP2), a map per database with keys — in RESP2 and RESP3. Redis 7.0
/// adds `overhead.hashtable.slot-to-keys` to each database, which later versions dropped.
#[test]
fn memory_stats_has_the_shape_of_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    for resp3 in [false, true] {
        let shapes: Vec<Vec<String>> = [(server.url(), "cachet"), (redis.url(), "redis")]
            .iter()
            .map(|(url, _)| {
                let url = if resp3 { format!("{url}?protocol=resp3") } else { url.clone() };
                let mut c = redis::Client::open(url).expect("valid url").get_connection().expect("connects");
                cmd(&mut c, &["FLUSHALL"]).unwrap();
                cmd(&mut c, &["SET", "k", "v", "EX", "100"]).unwrap();
                memory_stats_shape(&mut c).into_iter().filter(|line| !line.contains("slot-to-keys")).collect()
            })
            .collect();
        assert_eq!(shapes[0], shapes[1], "RESP{}", if resp3 { 3 } else { 2 });
        assert!(shapes[0].contains(&"db.0 map".to_string()) || shapes[0].contains(&"db.0 array".to_string()), "{:?}", shapes[0]);
    }
    let mut c = server.connect();
    assert_eq!(error_text(cmd(&mut c, &["MEMORY", "STATS", "x"])), "ERR wrong number of arguments for 'memory|stats' command");
}

/// SLOWLOG's and LATENCY's errors, settings and empty states as on redis-server.
#[test]
fn slowlog_and_latency_reply_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    // The HELP texts end "Prints this help." in Redis 7.0 and "Print this help." since, as in
    // cachet: the engine's tests check them.
    assert_same_as_redis(&server, &redis, &[
        &["SLOWLOG", "GET", "-2"],
        &["SLOWLOG", "GET", "x"],
        &["SLOWLOG", "GET", "1", "2"],
        &["SLOWLOG", "NOPE"],
        &["SLOWLOG", "LEN", "x"],
        &["SLOWLOG"],
        &["CONFIG", "GET", "slowlog-log-slower-than"],
        &["CONFIG", "GET", "slowlog-max-len"],
        &["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
        &["SLOWLOG", "RESET"],
        &["SET", "k", "v"],
        &["SLOWLOG", "LEN"],
        &["SLOWLOG", "GET"],
        &["CONFIG", "SET", "slowlog-log-slower-than", "10000"],
        &["LATENCY", "NOPE"],
        &["LATENCY", "HISTORY"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "RESET"],
        &["LATENCY", "DOCTOR"],
        &["CONFIG", "GET", "latency-monitor-threshold"],
        &["CONFIG", "GET", "latency-tracking"],
        &["CONFIG", "GET", "latency-tracking-info-percentiles"],
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "101"],
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "50 abc"],
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "0.5 99.99 100"],
        &["CONFIG", "GET", "latency-tracking-info-percentiles"],
        &["CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"],
        &["CONFIG", "SET", "latency-tracking", "maybe"],
        &["CONFIG", "SET", "latency-monitor-threshold", "100000"],
        &["LATENCY", "DOCTOR"],
        &["CONFIG", "SET", "latency-monitor-threshold", "0"],
        &["CONFIG", "GET", "activerehashing"],
        &["CONFIG", "SET", "activerehashing", "maybe"],
        &["CONFIG", "SET", "activerehashing", "no"],
        &["CONFIG", "GET", "activerehashing"],
        &["CONFIG", "SET", "activerehashing", "yes"],
    ]);
}

/// One SLOWLOG GET entry without what differs between servers (id, time, duration, port): its
/// arguments, the address's host and the client name.
fn slowlog_entries(c: &mut redis::Connection) -> Vec<(Vec<Vec<u8>>, String, Vec<u8>)> {
    let Value::Array(entries) = cmd(c, &["SLOWLOG", "GET", "-1"]).expect("SLOWLOG GET") else { panic!("an array") };
    entries
        .into_iter()
        .map(|entry| {
            let Value::Array(fields) = entry else { panic!("an entry is an array") };
            assert_eq!(fields.len(), 6, "{fields:?}");
            assert!(fields[..3].iter().all(|f| matches!(f, Value::Int(n) if *n >= 0)), "{fields:?}");
            let bytes = |v: &Value| match v {
                Value::BulkString(b) => b.clone(),
                other => panic!("a bulk string, not {other:?}"),
            };
            let Value::Array(args) = &fields[3] else { panic!("arguments are an array") };
            let address = String::from_utf8_lossy(&bytes(&fields[4])).rsplit_once(':').map(|(host, _)| host.to_string()).unwrap_or_default();
            (args.iter().map(bytes).collect(), address, bytes(&fields[5]))
        })
        .collect()
}

/// With `slowlog-log-slower-than 0` both servers log every command: the same entries, newest first,
/// with arguments cut at 32 and at 128 bytes, passwords redacted, the client's name; ids grow by
/// one; SLOWLOG RESET empties the log and `slowlog-max-len` caps it.
#[test]
fn every_command_is_in_the_slow_log_as_in_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let long_value = "v".repeat(300);
    let many: Vec<String> = (0..40).map(|i| format!("m{i}")).collect();
    let mut sadd: Vec<&str> = vec!["SADD", "s"];
    sadd.extend(many.iter().map(String::as_str));
    let mut logs = Vec::new();
    for url in [server.url(), redis.url()] {
        let mut c = redis::Client::open(url).expect("valid url").get_connection().expect("connects");
        cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).unwrap();
        cmd(&mut c, &["CONFIG", "SET", "slowlog-max-len", "128"]).unwrap();
        cmd(&mut c, &["SLOWLOG", "RESET"]).unwrap();
        cmd(&mut c, &["CLIENT", "SETNAME", "introspector"]).unwrap();
        cmd(&mut c, &["SET", "k", &long_value]).unwrap();
        cmd(&mut c, &sadd).unwrap();
        let _ = cmd(&mut c, &["AUTH", "hunter2"]);
        let _ = cmd(&mut c, &["HELLO", "2", "AUTH", "default", "hunter2"]);
        cmd(&mut c, &["MULTI"]).unwrap();
        cmd(&mut c, &["INCR", "n"]).unwrap();
        cmd(&mut c, &["EXEC"]).unwrap();
        let Value::Array(ids) = cmd(&mut c, &["SLOWLOG", "GET", "2"]).unwrap() else { panic!("an array") };
        let id = |entry: &Value| match entry {
            Value::Array(fields) => match fields[0] {
                Value::Int(id) => id,
                _ => panic!("an id"),
            },
            _ => panic!("an entry"),
        };
        assert_eq!(id(&ids[0]), id(&ids[1]) + 1, "ids grow by one");
        logs.push(slowlog_entries(&mut c));
        assert_eq!(cmd(&mut c, &["SLOWLOG", "LEN"]).unwrap(), Value::Int(logs.last().unwrap().len() as i64 + 1));
        cmd(&mut c, &["CONFIG", "SET", "slowlog-max-len", "2"]).unwrap();
        cmd(&mut c, &["PING"]).unwrap();
        assert_eq!(cmd(&mut c, &["SLOWLOG", "LEN"]).unwrap(), Value::Int(2), "capped");
        cmd(&mut c, &["SLOWLOG", "RESET"]).unwrap();
        cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "10000"]).unwrap();
        cmd(&mut c, &["CONFIG", "SET", "slowlog-max-len", "128"]).unwrap();
    }
    assert_eq!(logs[0], logs[1]);
    let names: Vec<String> = logs[0].iter().map(|(args, ..)| String::from_utf8_lossy(&args[0]).into_owned()).collect();
    assert_eq!(names, ["SLOWLOG", "INCR", "MULTI", "HELLO", "AUTH", "SADD", "SET", "CLIENT", "SLOWLOG"]);
    assert_eq!(logs[0][5].0.len(), 32);
    assert_eq!(logs[0][5].0[31], b"... (11 more arguments)");
    assert!(logs[0][6].0[2].ends_with(b"... (172 more bytes)"));
    assert_eq!(logs[0][4].0, [&b"AUTH"[..], b"(redacted)"]);
    assert_eq!(logs[0][0].1, "127.0.0.1");
    assert_eq!(logs[0][0].2, b"introspector");
}

/// A command that cannot take less than a millisecond — intersecting a 200,000-member set with
/// itself into a new one — is timed: commandstats counts its microseconds, latencystats has its
/// percentiles, the latency monitor records a `command` event and the slow log an entry.
#[test]
fn a_slow_command_is_measured() {
    let server = Server::start(&[]);
    let mut c = server.connect();
    for chunk in 0..20 {
        let members: Vec<String> = (0..10_000).map(|i| format!("member:{}", chunk * 10_000 + i)).collect();
        let mut args = vec!["SADD", "big"];
        args.extend(members.iter().map(String::as_str));
        cmd(&mut c, &args).unwrap();
    }
    cmd(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "1"]).unwrap();
    cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "1000"]).unwrap();
    cmd(&mut c, &["SLOWLOG", "RESET"]).unwrap();
    assert_eq!(cmd(&mut c, &["SINTERSTORE", "copy", "big", "big"]).unwrap(), Value::Int(200_000));
    let info: String = redis::cmd("INFO").arg("commandstats").arg("latencystats").query(&mut c).unwrap();
    let line = info.lines().find(|l| l.starts_with("cmdstat_sinterstore:")).expect("a sinterstore line");
    let usec: u64 = line.split(['=', ',']).nth(3).and_then(|n| n.parse().ok()).expect("usec");
    assert!(usec >= 1000, "{line}");
    assert!(info.contains("latency_percentiles_usec_sinterstore:p50="), "{info}");
    let Value::Array(latest) = cmd(&mut c, &["LATENCY", "LATEST"]).unwrap() else { panic!("an array") };
    let command = latest.iter().find(|e| matches!(e, Value::Array(f) if f[0] == Value::BulkString(b"command".to_vec()))).expect("a command event");
    let Value::Array(fields) = command else { unreachable!() };
    assert!(matches!(fields[3], Value::Int(ms) if ms >= 1), "{fields:?}");
    let Value::Array(history) = cmd(&mut c, &["LATENCY", "HISTORY", "command"]).unwrap() else { panic!("an array") };
    assert!(!history.is_empty());
    let graph: String = redis::cmd("LATENCY").arg("GRAPH").arg("command").query(&mut c).unwrap();
    assert!(graph.starts_with("command - high "), "{graph}");
    let logged = slowlog_entries(&mut c);
    assert!(logged.iter().any(|(args, ..)| args[0] == b"SINTERSTORE"), "{logged:?}");
}
