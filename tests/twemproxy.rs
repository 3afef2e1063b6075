//! cachet scaled out behind twemproxy (Debian's `nutcracker`): three `cachet serve` shards and the
//! proxy on loopback ports, driven by redis-cli, redis-py, the `redis` crate and cachet's client.
//! Keys spread over the shards and read back; a killed shard is ejected and the others keep
//! answering; a restarted one is used again. The commands twemproxy refuses are the README's list.

mod common;

use bytes::Bytes;
use cachet::client::{Client, Ttl};
use common::{Raw, Server, resp, run_redis_py, temp_dir, wait_until};
use redis::IntoConnectionInfo;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nutcracker in front of some shards, killed when dropped.
struct Twemproxy {
    port: u16,
    stats_port: u16,
    child: Child,
    dir: PathBuf,
}

/// The pool's name in the configuration, and so in the statistics.
const POOL: &str = "cachet";

impl Twemproxy {
    /// Starts nutcracker with the README's configuration (faster retries, so the test is short)
    /// and waits until it answers PING, which it answers itself.
    fn start(name: &str, shards: &[&Server]) -> Twemproxy {
        common::on_a_free_port(|port| Self::launch(name, shards, port))
    }

    /// Starts nutcracker listening on `port`; the error is its log when it exited before it
    /// answered.
    fn launch(name: &str, shards: &[&Server], port: u16) -> Result<Twemproxy, String> {
        let stats_port = common::free_port();
        let dir = temp_dir(&format!("twemproxy-{name}"));
        let servers: String = shards.iter().enumerate().map(|(i, s)| format!("    - 127.0.0.1:{}:1 shard{i}\n", s.port)).collect();
        let config = format!(
            "{POOL}:\n  listen: 127.0.0.1:{port}\n  redis: true\n  hash: fnv1a_64\n  hash_tag: \"{{}}\"\n  distribution: ketama\n  auto_eject_hosts: true\n  server_failure_limit: 2\n  server_retry_timeout: 200\n  timeout: 2000\n  servers:\n{servers}"
        );
        std::fs::write(dir.join("nutcracker.yml"), config).expect("configuration file");
        let child = Command::new("nutcracker")
            .arg("--conf-file")
            .arg(dir.join("nutcracker.yml"))
            .arg("--output")
            .arg(dir.join("nutcracker.log"))
            .args(["--stats-addr", "127.0.0.1", "--stats-port", &stats_port.to_string(), "--stats-interval", "50"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nutcracker starts (install Debian's nutcracker; tests/run does)");
        let mut proxy = Twemproxy { port, stats_port, child, dir };
        let deadline = Instant::now() + common::PATIENCE;
        while !proxy.answers_ping() {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                return Err(format!("nutcracker exited with {status}:\n{}", std::fs::read_to_string(proxy.dir.join("nutcracker.log")).unwrap_or_default()));
            }
            assert!(Instant::now() < deadline, "nutcracker did not answer PING within {:?}", common::PATIENCE);
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(proxy)
    }

    fn answers_ping(&self) -> bool {
        let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let mut reply = [0u8; 7];
        conn.write_all(resp(&["PING"]).as_bytes()).is_ok() && conn.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }

    /// A `redis` crate connection through the proxy, without the `CLIENT SETINFO` the crate sends
    /// by default: twemproxy refuses CLIENT and closes the connection.
    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        let info = format!("redis://127.0.0.1:{}/", self.port).into_connection_info()?;
        let settings = info.redis_settings().clone().set_skip_set_lib_name();
        redis::Client::open(info.set_redis_settings(settings))?.get_connection()
    }

    /// The pool's statistics, as nutcracker's stats port reports them (JSON).
    fn stats(&self) -> serde_json::Value {
        let mut text = String::new();
        TcpStream::connect(("127.0.0.1", self.stats_port)).and_then(|mut c| c.read_to_string(&mut text)).expect("nutcracker's stats port answers");
        let mut all: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("stats are JSON ({e}): {text}"));
        all[POOL].take()
    }
}

impl Drop for Twemproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One key a client writes through the proxy, and what reading it back answers (as redis-cli
/// prints it, a line per element).
#[derive(Clone, Debug)]
struct Entry {
    key: String,
    write: Vec<String>,
    read: Vec<String>,
    expect: Vec<String>,
}

/// `count` keys of every type for one client, named after it.
fn entries(client: &str, count: usize) -> Vec<Entry> {
    (0..count)
        .map(|i| {
            let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
            let (kind, write, read, expect) = match i % 6 {
                0 => ("s", format!("SET KEY value-{i}"), "GET KEY", format!("value-{i}")),
                1 => ("n", format!("INCRBY KEY {i}"), "GET KEY", format!("{i}")),
                2 => ("h", format!("HSET KEY field value-{i} other x"), "HGET KEY field", format!("value-{i}")),
                3 => ("z", format!("ZADD KEY {i} a {} b", i + 1), "ZRANGE KEY 0 -1 WITHSCORES", format!("a {i} b {}", i + 1)),
                4 => ("l", format!("LPUSH KEY x y {i}"), "LRANGE KEY 0 -1", format!("{i} y x")),
                _ => ("t", format!("SADD KEY member-{i}"), "SMEMBERS KEY", format!("member-{i}")),
            };
            let key = format!("{client}:{kind}:{i}");
            let with_key = |text: &str| words(text).into_iter().map(|w| if w == "KEY" { key.clone() } else { w }).collect();
            Entry { write: with_key(&write), read: with_key(read), expect: words(&expect), key: key.clone() }
        })
        .collect()
}

/// A reply as redis-cli prints it when its output is not a terminal.
fn lines(value: &redis::Value) -> Vec<String> {
    match value {
        redis::Value::Array(items) | redis::Value::Set(items) => items.iter().flat_map(lines).collect(),
        redis::Value::BulkString(bytes) => vec![String::from_utf8_lossy(bytes).into_owned()],
        redis::Value::SimpleString(text) => vec![text.clone()],
        redis::Value::Okay => vec!["OK".to_string()],
        redis::Value::Int(n) => vec![n.to_string()],
        redis::Value::Nil => vec![String::new()],
        other => vec![format!("{other:?}")],
    }
}

fn command(args: &[String]) -> redis::Cmd {
    let mut cmd = redis::cmd(&args[0]);
    for arg in &args[1..] {
        cmd.arg(arg);
    }
    cmd
}

/// Writes the entries through the proxy with the `redis` crate, in one pipeline.
fn write_with_redis_crate(proxy: &Twemproxy, entries: &[Entry]) {
    let mut pipe = redis::pipe();
    for entry in entries {
        pipe.add_command(command(&entry.write));
    }
    let _: Vec<redis::Value> = pipe.query(&mut proxy.connect().expect("connects through the proxy")).expect("the writes pass");
}

/// Reads every entry back through the proxy (one pipeline, the `redis` crate) and checks it.
fn assert_read_back(proxy: &Twemproxy, entries: &[Entry]) {
    let mut pipe = redis::pipe();
    for entry in entries {
        pipe.add_command(command(&entry.read));
    }
    let replies: Vec<redis::Value> = pipe.query(&mut proxy.connect().expect("connects through the proxy")).expect("the reads pass");
    for (entry, reply) in entries.iter().zip(&replies) {
        assert_eq!(lines(reply), entry.expect, "{:?} through the proxy", entry.read);
    }
}

/// Writes the entries with redis-cli (one command a line on its standard input), then reads them
/// back the same way and compares what it printed.
fn drive_with_redis_cli(proxy: &Twemproxy, entries: &[Entry]) {
    let run = |commands: Vec<&Vec<String>>| -> String {
        let input: String = commands.iter().map(|c| c.join(" ") + "\n").collect();
        let mut child = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &proxy.port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-cli runs (install Debian's redis-tools)");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("commands written");
        let output = child.wait_with_output().expect("redis-cli finishes");
        assert!(output.status.success(), "redis-cli failed through the proxy");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let written = run(entries.iter().map(|e| &e.write).collect());
    assert_eq!(written.lines().count(), entries.len(), "one reply per write, no error:\n{written}");
    assert!(!written.contains("ERR"), "{written}");
    let read = run(entries.iter().map(|e| &e.read).collect());
    let expected: Vec<&String> = entries.iter().flat_map(|e| &e.expect).collect();
    assert_eq!(read.lines().collect::<Vec<_>>(), expected, "redis-cli's reads through the proxy");
}

/// redis-py writes and reads its entries (tests/clients/twemproxy_py.py).
fn drive_with_redis_py(proxy: &Twemproxy, entries: &[Entry], dir: &std::path::Path) {
    let json: Vec<serde_json::Value> = entries.iter().map(|e| serde_json::json!({"write": e.write, "read": e.read, "expect": e.expect})).collect();
    let path = dir.join("entries.json");
    std::fs::write(&path, serde_json::to_string(&json).expect("JSON")).expect("entries file");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/twemproxy_py.py");
    run_redis_py(&[script, path.to_str().expect("a UTF-8 path")], proxy.port);
}

/// cachet's own client through the proxy: its typed calls for strings and counters, `call` for
/// the rest.
async fn drive_with_cachet_client(proxy: &Twemproxy, entries: &[Entry]) {
    let client = Client::open(&format!("redis://127.0.0.1:{}/", proxy.port)).await.expect("cachet's client opens");
    for (i, entry) in entries.iter().enumerate() {
        match i % 6 {
            0 => client.set(&entry.key, &entry.expect[0], Ttl::Never).await.expect("SET through the proxy"),
            1 => assert_eq!(client.incr(&entry.key, i as i64).await.expect("INCRBY through the proxy"), i as i64),
            _ => drop(client.call(&entry.write).await.expect("a write through the proxy")),
        }
    }
    let strings: Vec<&Entry> = entries.iter().step_by(6).collect();
    let values = client.mget(strings.iter().map(|e| &e.key)).await.expect("MGET across shards");
    for (entry, value) in strings.iter().zip(values) {
        assert_eq!(value, Some(Bytes::from(entry.expect[0].clone())), "{}", entry.key);
    }
}

/// The keys a shard holds, asked of the shard directly.
fn keys_on(shard: &Server) -> HashSet<String> {
    redis::cmd("KEYS").arg("*").query(&mut shard.connect()).expect("KEYS on a shard")
}

fn stat(proxy: &Twemproxy, path: &[&str]) -> u64 {
    let stats = proxy.stats();
    path.iter().fold(&stats, |v, p| &v[*p]).as_u64().unwrap_or_else(|| panic!("no {path:?} in {stats}"))
}

/// Sets `key` through a fresh proxy connection; whether the proxy answered OK.
fn set_through(proxy: &Twemproxy, key: &str, value: &str) -> bool {
    proxy.connect().and_then(|mut c| redis::cmd("SET").arg(key).arg(value).query::<()>(&mut c)).is_ok()
}

/// Where each key is, asked of the shards directly; checks every key is on exactly one shard and
/// every shard holds a share.
fn placement(shards: &[Server], all: &[Entry]) -> Vec<HashSet<String>> {
    let placed: Vec<HashSet<String>> = shards.iter().map(keys_on).collect();
    let expected: HashSet<String> = all.iter().map(|e| e.key.clone()).collect();
    assert_eq!(placed.iter().map(HashSet::len).sum::<usize>(), expected.len(), "no key on two shards");
    assert_eq!(placed.iter().flatten().cloned().collect::<HashSet<_>>(), expected);
    for (i, keys) in placed.iter().enumerate() {
        assert!(keys.len() > expected.len() / 10, "shard {i} holds {} of {} keys", keys.len(), expected.len());
    }
    placed
}

/// Kills shard 1 as a crash would and checks the proxy ejects it: its keys are written on the
/// other shards, the other shards' keys still read back, and its own keys read as missing.
fn crash_shard_one(proxy: &Twemproxy, shard: &mut Server, lost: &[&String], surviving: &[Entry]) {
    shard.child.kill().expect("the shard is killed");
    let _ = shard.child.wait();
    wait_until("the proxy to eject the dead shard", || {
        set_through(proxy, lost[0], "moved");
        stat(proxy, &["server_ejects"]) >= 1 && stat(proxy, &["shard1", "server_ejected_at"]) > 0
    });
    wait_until("a key of the dead shard to be written on another", || set_through(proxy, lost[0], "moved"));
    assert_read_back(proxy, surviving);
    // MGET is split by shard; a part sent to the dead shard while the proxy retries it fails.
    let mut found: Option<Vec<Option<String>>> = None;
    wait_until("MGET of the dead shard's keys to be answered", || {
        found = proxy.connect().and_then(|mut c| redis::cmd("MGET").arg(&lost[1..]).query(&mut c)).ok();
        found.is_some()
    });
    assert!(found.into_iter().flatten().all(|v| v.is_none()), "the dead shard's keys are gone, not answered from elsewhere");
}

/// Waits until the proxy sends a key of the restarted (empty) shard to it again.
fn wait_for_return(proxy: &Twemproxy, shard: &Server, key: &str) {
    wait_until("the proxy to use the restarted shard", || {
        set_through(proxy, key, "back");
        redis::cmd("GET").arg(key).query::<Option<String>>(&mut shard.connect()).ok().flatten().as_deref() == Some("back")
    });
    let _: () = redis::cmd("DEL").arg(key).query(&mut proxy.connect().expect("connects through the proxy")).expect("DEL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_behind_twemproxy_share_the_keys_and_survive_a_shard_restart() {
    let mut shards: Vec<Server> = (0..3).map(|_| Server::start(&[])).collect();
    let proxy = Twemproxy::start("shards", &shards.iter().collect::<Vec<_>>());
    let by_client: Vec<Vec<Entry>> = ["cli", "py", "rs", "cachet"].iter().map(|c| entries(c, 120)).collect();
    let all: Vec<Entry> = by_client.concat();

    drive_with_redis_cli(&proxy, &by_client[0]);
    drive_with_redis_py(&proxy, &by_client[1], &proxy.dir);
    write_with_redis_crate(&proxy, &by_client[2]);
    drive_with_cachet_client(&proxy, &by_client[3]).await;
    assert_read_back(&proxy, &all);
    let placed = placement(&shards, &all);

    let lost: Vec<&String> = placed[1].iter().collect();
    let (returning, surviving): (Vec<Entry>, Vec<Entry>) = all.iter().cloned().partition(|e| placed[1].contains(&e.key));
    crash_shard_one(&proxy, &mut shards[1], &lost, &surviving);

    // Back on its port, empty: the proxy routes the shard's keys to it again.
    let port = shards[1].port;
    drop(shards.remove(1));
    shards.insert(1, Server::start_on(port, &[]));
    wait_for_return(&proxy, &shards[1], lost[0]);
    write_with_redis_crate(&proxy, &returning);
    assert!(keys_on(&shards[1]).is_superset(&placed[1]), "every key of the restarted shard went back to it");
    assert_read_back(&proxy, &all);
}

/// What twemproxy 0.5.0 refuses of cachet's commands (README.md lists them): it closes the
/// connection without a reply. One invocation each, valid for cachet.
const REFUSED: &[&str] = &[
    // Transactions.
    "MULTI", "EXEC", "DISCARD", "WATCH k", "UNWATCH",
    // Pub/Sub.
    "SUBSCRIBE c", "PSUBSCRIBE c*", "SSUBSCRIBE c", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "PUBLISH c m",
    "SPUBLISH c m", "PUBSUB CHANNELS",
    // Blocking commands.
    "BLPOP k 0", "BRPOP k 0", "BLMOVE a b LEFT RIGHT 0", "BRPOPLPUSH a b 0", "BLMPOP 0 1 k LEFT", "BZPOPMIN k 0",
    "BZPOPMAX k 0", "BZMPOP 0 1 k MIN",
    // The whole keyspace, or several databases.
    "KEYS *", "SCAN 0", "RANDOMKEY", "DBSIZE", "FLUSHDB", "FLUSHALL", "SWAPDB 0 1", "SELECT 0", "MOVE k 1",
    // Several keys that may live on different shards.
    "RENAME a b", "RENAMENX a b", "MSETNX a 1 b 2", "BITOP AND d a b", "LMPOP 1 k LEFT", "ZMPOP 1 k MIN",
    "SINTERCARD 2 a b", "ZINTERCARD 2 a b",
    // The connection and the server.
    "HELLO 3", "CLIENT SETNAME x", "ECHO hi", "PING hi", "CONFIG GET maxmemory", "INFO", "TIME", "ROLE", "LASTSAVE",
    "SAVE", "BGSAVE", "DEBUG SLEEP 0", "MONITOR", "SLOWLOG GET", "LATENCY LATEST", "MEMORY USAGE k",
    "OBJECT ENCODING k", "RESET",
    // Newer than twemproxy's command table.
    "EXPIRETIME k", "PEXPIRETIME k", "HEXPIRE k 10 FIELDS 1 f", "HPEXPIRE k 10 FIELDS 1 f",
    "HEXPIREAT k 10 FIELDS 1 f", "HPEXPIREAT k 10 FIELDS 1 f", "HTTL k FIELDS 1 f", "HPTTL k FIELDS 1 f",
    "HEXPIRETIME k FIELDS 1 f", "HPEXPIRETIME k FIELDS 1 f", "HPERSIST k FIELDS 1 f", "HGETEX k FIELDS 1 f",
    "HSETEX k FIELDS 1 f v", "HGETDEL k FIELDS 1 f", "BITFIELD_RO k GET u8 0", "SORT_RO k", "SUBSTR k 0 1",
];

/// Sends `command` alone on a new connection; true when the proxy closes it without a byte.
fn closed_without_reply(proxy: &Twemproxy, command: &str) -> bool {
    let mut raw = Raw(TcpStream::connect(("127.0.0.1", proxy.port)).expect("the proxy accepts"));
    raw.0.set_read_timeout(Some(common::PATIENCE)).expect("timeout");
    raw.send(resp(&command.split(' ').collect::<Vec<_>>()).as_bytes());
    let mut rest = Vec::new();
    matches!(raw.0.read_to_end(&mut rest), Ok(0))
}

#[test]
fn twemproxy_refuses_the_listed_commands_and_splits_multi_key_ones() {
    let shards: Vec<Server> = (0..3).map(|_| Server::start(&[])).collect();
    let proxy = Twemproxy::start("commands", &shards.iter().collect::<Vec<_>>());
    let passed: Vec<&&str> = REFUSED.iter().filter(|c| !closed_without_reply(&proxy, c)).collect();
    assert!(passed.is_empty(), "twemproxy passed these, so README.md must not list them as refused: {passed:?}");

    // MSET, MGET, TOUCH, DEL and UNLINK are split by shard and their replies joined.
    let mut conn = proxy.connect().expect("connects through the proxy");
    let keys: Vec<String> = (0..30).map(|i| format!("multi:{i}")).collect();
    let pairs: Vec<(&String, usize)> = keys.iter().zip(0..).collect();
    let _: () = redis::cmd("MSET").arg(&pairs).query(&mut conn).expect("MSET");
    let placed: Vec<HashSet<String>> = shards.iter().map(keys_on).collect();
    assert!(placed.iter().filter(|keys| !keys.is_empty()).count() >= 2, "the 30 keys span shards");
    let values: Vec<usize> = redis::cmd("MGET").arg(&keys).query(&mut conn).expect("MGET");
    assert_eq!(values, (0..30).collect::<Vec<_>>());
    assert_eq!(redis::cmd("TOUCH").arg(&keys).query::<usize>(&mut conn).expect("TOUCH"), 30);
    assert_eq!(redis::cmd("DEL").arg(&keys[..15]).query::<usize>(&mut conn).expect("DEL"), 15);
    assert_eq!(redis::cmd("UNLINK").arg(&keys).query::<usize>(&mut conn).expect("UNLINK"), 15);
    // EXISTS is not split: it counts the keys on the first key's shard only.
    let _: () = redis::cmd("MSET").arg(&pairs).query(&mut conn).expect("MSET");
    let first = placed.iter().find(|held| held.contains(&keys[0])).expect("a shard holds the first key");
    assert_eq!(redis::cmd("EXISTS").arg(&keys).query::<usize>(&mut conn).expect("EXISTS"), first.len());

    // Other commands of several keys reach the first key's shard: a hash tag keeps them together.
    let _: () = redis::cmd("SADD").arg("{user:1}:a").arg(&["x", "y"]).query(&mut conn).expect("SADD");
    let _: () = redis::cmd("SADD").arg("{user:1}:b").arg(&["y", "z"]).query(&mut conn).expect("SADD");
    let common: Vec<String> = redis::cmd("SINTER").arg(&["{user:1}:a", "{user:1}:b"]).query(&mut conn).expect("SINTER");
    assert_eq!(common, ["y"]);

    // PING is answered by the proxy; QUIT closes the connection.
    assert_eq!(redis::cmd("PING").query::<String>(&mut conn).expect("PING"), "PONG");
    assert!(closed_without_reply(&proxy, "QUIT"));
}
