//! Client-side caching (CLIENT TRACKING) and CLIENT PAUSE with real connections, compared byte
//! for byte with Debian's redis-server, and redis-py's client-side cache against cachet.

mod common;

use common::{Raw, Redis, Server, resp, run_redis_py, wait_until};
use std::net::TcpStream;

/// The connections of the tracking scenario.
const READER: usize = 0; // RESP3, tracking by default
const WRITER: usize = 1; // RESP2, changes keys
const SUBSCRIBER: usize = 2; // RESP2, receives the RESP2 tracker's invalidations
const TRACKER2: usize = 3; // RESP2, tracking with REDIRECT to SUBSCRIBER
const BROADCAST: usize = 4; // RESP3, BCAST on prefix u: with NOLOOP

/// One step: who sends what, and how many frames each connection receives from it (the sender's
/// reply included).
type Step = (usize, &'static [&'static str], [usize; 5]);

const STEPS: &[Step] = &[
    (READER, &["GET", "k"], [1, 0, 0, 0, 0]),
    (TRACKER2, &["GET", "k"], [0, 0, 0, 1, 0]),
    (READER, &["MGET", "a", "b"], [1, 0, 0, 0, 0]),
    (WRITER, &["SET", "k", "1"], [1, 1, 1, 0, 0]),
    (WRITER, &["SET", "k", "2"], [0, 1, 0, 0, 0]),
    (WRITER, &["MSET", "a", "1", "b", "2", "u:1", "x", "u:0", "y"], [2, 1, 0, 0, 1]),
    (READER, &["GET", "k"], [1, 0, 0, 0, 0]),
    (READER, &["SET", "k", "3"], [2, 0, 0, 0, 0]),
    (BROADCAST, &["SET", "u:2", "z"], [0, 0, 0, 0, 1]),
    (READER, &["GET", "m"], [1, 0, 0, 0, 0]),
    (READER, &["MULTI"], [1, 0, 0, 0, 0]),
    (READER, &["SET", "m", "1"], [1, 0, 0, 0, 0]),
    (READER, &["GET", "m"], [1, 0, 0, 0, 0]),
    (READER, &["EXEC"], [2, 0, 0, 0, 0]),
    (READER, &["DEL", "m", "none"], [2, 0, 0, 0, 0]),
    (READER, &["CLIENT", "TRACKING", "ON", "OPTIN"], [1, 0, 0, 0, 0]),
    (READER, &["CLIENT", "TRACKING", "OFF"], [1, 0, 0, 0, 0]),
    (READER, &["CLIENT", "TRACKING", "ON", "OPTIN"], [1, 0, 0, 0, 0]),
    (READER, &["GET", "plain"], [1, 0, 0, 0, 0]),
    (READER, &["CLIENT", "CACHING", "YES"], [1, 0, 0, 0, 0]),
    (READER, &["GET", "cached"], [1, 0, 0, 0, 0]),
    (WRITER, &["MSET", "plain", "1", "cached", "1"], [1, 1, 0, 0, 0]),
    (READER, &["CLIENT", "TRACKINGINFO"], [1, 0, 0, 0, 0]),
    (BROADCAST, &["CLIENT", "TRACKINGINFO"], [0, 0, 0, 0, 1]),
    (READER, &["CLIENT", "GETREDIR"], [1, 0, 0, 0, 0]),
    (WRITER, &["CLIENT", "CACHING", "YES"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "TRACKING", "ON", "PREFIX", "a"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "TRACKING", "MAYBE"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "GETREDIR"], [0, 1, 0, 0, 0]),
    (WRITER, &["CLIENT", "TRACKINGINFO"], [0, 1, 0, 0, 0]),
    (TRACKER2, &["GET", "k"], [0, 0, 0, 1, 0]),
    (READER, &["CLIENT", "CACHING", "YES"], [1, 0, 0, 0, 0]),
    (READER, &["GET", "k"], [1, 0, 0, 0, 0]),
    (WRITER, &["FLUSHALL"], [1, 1, 1, 0, 1]),
    (WRITER, &["SWAPDB", "0", "1"], [0, 1, 0, 0, 0]),
];

/// Opens the scenario's connections to a server on `port` and sets each up.
fn connections(port: u16) -> Vec<Raw> {
    let mut conns: Vec<Raw> = (0..5).map(|_| Raw(TcpStream::connect(("127.0.0.1", port)).expect("the server accepts"))).collect();
    let run = |conn: &mut Raw, args: &[&str]| {
        conn.send(resp(args).as_bytes());
        conn.reply()
    };
    let subscriber_id = String::from_utf8(run(&mut conns[SUBSCRIBER], &["CLIENT", "ID"])).expect("text");
    let subscriber_id = subscriber_id.trim_start_matches(':').trim_end().to_string();
    run(&mut conns[SUBSCRIBER], &["SUBSCRIBE", "__redis__:invalidate"]);
    run(&mut conns[READER], &["HELLO", "3"]);
    run(&mut conns[READER], &["CLIENT", "TRACKING", "ON"]);
    run(&mut conns[TRACKER2], &["CLIENT", "TRACKING", "ON", "REDIRECT", &subscriber_id]);
    run(&mut conns[BROADCAST], &["HELLO", "3"]);
    run(&mut conns[BROADCAST], &["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "u:", "NOLOOP"]);
    run(&mut conns[WRITER], &["FLUSHALL"]);
    // FLUSHALL told the three tracking clients; those messages are not part of the comparison.
    for conn in [READER, SUBSCRIBER, BROADCAST] {
        conns[conn].reply();
    }
    conns
}

/// Runs the steps and returns, for each, the frames every connection received.
fn run_steps(port: u16) -> Vec<Vec<Vec<u8>>> {
    let mut conns = connections(port);
    STEPS
        .iter()
        .map(|(sender, args, frames)| {
            conns[*sender].send(resp(args).as_bytes());
            (0..5).map(|conn| (0..frames[conn]).flat_map(|_| conns[conn].reply()).collect()).collect()
        })
        .collect()
}

#[test]
fn invalidations_reach_every_kind_of_tracking_client_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let (ours, theirs) = (run_steps(server.port), run_steps(redis.port));
    for (i, (ours, theirs)) in ours.iter().zip(&theirs).enumerate() {
        for conn in 0..5 {
            assert!(
                ours[conn] == theirs[conn],
                "step {i} {:?}, connection {conn}:\n  cachet: {:?}\n  redis:  {:?}",
                STEPS[i].1,
                String::from_utf8_lossy(&ours[conn]),
                String::from_utf8_lossy(&theirs[conn])
            );
        }
    }
}

/// A key a tracking client read is invalidated exactly once when it changes by any path: another
/// client's write, expiry, eviction, a flush. After each invalidation, PING's answer is the very
/// next frame, so nothing more was sent.
#[test]
fn each_way_a_key_changes_sends_exactly_one_invalidation() {
    let server = Server::start(&[]);
    let mut reader = server.raw();
    let mut writer = server.raw();
    reader.ask(&["HELLO", "3"]);
    reader.ask(&["CLIENT", "TRACKING", "ON"]);
    let invalidate = |key: &str| format!(">2\r\n$10\r\ninvalidate\r\n*1\r\n${}\r\n{key}\r\n", key.len());
    let changes: [(&str, &[&[&str]]); 3] = [
        ("written", &[&["SET", "written", "2"]]),
        ("expired", &[&["PEXPIRE", "expired", "1"]]),
        ("evicted", &[&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"], &["CONFIG", "SET", "maxmemory", "1"], &["SET", "other", "x"]]),
    ];
    for (key, change) in changes {
        writer.ask(&["SET", key, "1"]);
        assert_eq!(reader.ask(&["GET", key]), "$1\r\n1\r\n");
        for args in change {
            writer.ask(args);
        }
        assert_eq!(String::from_utf8_lossy(&reader.reply()), invalidate(key), "{key}");
        assert_eq!(reader.ask(&["PING"]), "+PONG\r\n", "only one invalidation for {key}");
        writer.ask(&["CONFIG", "SET", "maxmemory", "0"]);
    }
    // The expired key: the PEXPIRE above was its change; reading it again and letting it expire
    // sends one more, when active expiry removes it.
    // (A machine so slow that the key is gone before the reader reads it makes it try again.)
    let key = (0..10)
        .map(|attempt| format!("short{attempt}"))
        .find(|key| {
            writer.ask(&["SET", key, "1", "PX", "200"]);
            reader.ask(&["GET", key]) == "$1\r\n1\r\n"
        })
        .expect("one read before expiry");
    assert_eq!(String::from_utf8_lossy(&reader.reply()), invalidate(&key));
    assert_eq!(reader.ask(&["PING"]), "+PONG\r\n");
    reader.ask(&["GET", "flushed"]);
    writer.ask(&["FLUSHDB"]);
    assert_eq!(String::from_utf8_lossy(&reader.reply()), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    assert_eq!(reader.ask(&["PING"]), "+PONG\r\n");
}

#[test]
fn redis_py_client_side_cache_stays_correct() {
    let server = Server::start(&[]);
    run_redis_py(&[concat!(env!("CARGO_MANIFEST_DIR"), "/clients/redis_py_cache.py")], server.port);
}

/// CLIENT PAUSE WRITE holds a writer's command (it shows the `b` flag) while reads go on, and
/// CLIENT UNPAUSE lets it run: the same replies as redis-server's.
#[test]
fn pause_holds_writes_until_unpause_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let transcript = |port: u16| -> Vec<String> {
        let connect = || Raw(TcpStream::connect(("127.0.0.1", port)).expect("the server accepts"));
        let (mut admin, mut writer) = (connect(), connect());
        let mut seen = vec![admin.ask(&["FLUSHALL"]), admin.ask(&["CLIENT", "PAUSE", "100000", "WRITE"])];
        seen.push(writer.ask(&["GET", "k"]));
        writer.send(resp(&["SET", "k", "v"]).as_bytes());
        wait_until("the writer's SET to be held", || admin.ask(&["CLIENT", "LIST"]).contains(" flags=b "));
        seen.push(admin.ask(&["GET", "k"]));
        seen.push(admin.ask(&["CLIENT", "UNPAUSE"]));
        seen.push(String::from_utf8_lossy(&writer.reply()).into_owned());
        seen.push(admin.ask(&["GET", "k"]));
        seen
    };
    let ours = transcript(server.port);
    assert_eq!(ours, transcript(redis.port));
    assert_eq!(ours, ["+OK\r\n", "+OK\r\n", "$-1\r\n", "$-1\r\n", "+OK\r\n", "+OK\r\n", "$1\r\nv\r\n"]);
}

/// After an engine fault: a tracking client is disconnected (the fresh engine cannot know what it
/// read), and a command CLIENT PAUSE held is run by the fresh engine, which is not paused.
#[test]
fn a_fault_disconnects_tracking_clients_and_runs_held_commands() {
    let server = Server::start(&[]);
    let (mut tracker, mut admin, mut writer) = (server.raw(), server.raw(), server.raw());
    tracker.ask(&["HELLO", "3"]);
    assert_eq!(tracker.ask(&["CLIENT", "TRACKING", "ON"]), "+OK\r\n");
    assert_eq!(admin.ask(&["CLIENT", "PAUSE", "100000", "WRITE"]), "+OK\r\n");
    writer.send(resp(&["SET", "held", "1"]).as_bytes());
    wait_until("the writer's SET to be held", || admin.ask(&["CLIENT", "LIST"]).contains(" flags=b "));

    let mut culprit = server.raw();
    culprit.send(resp(&["DEBUG", "PANIC"]).as_bytes());
    assert!(culprit.read_until("\r\n").starts_with("-ERR internal error: the engine faulted"));

    assert_eq!(String::from_utf8_lossy(&writer.reply()), "+OK\r\n", "the held SET ran on the fresh engine");
    assert_eq!(admin.ask(&["GET", "held"]), "$1\r\n1\r\n");
    assert!(tracker.closed(), "the tracking client is disconnected");
    assert_eq!(admin.ask(&["INFO", "clients"]).lines().find(|l| l.starts_with("tracking_clients:")), Some("tracking_clients:0"));
}
