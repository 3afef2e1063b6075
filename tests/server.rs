//! The server as clients see it: protocol handling, listeners, limits, faults and shutdown,
//! against a real `cachet serve` process.

mod common;

use common::{PATIENCE, Server, resp, wait_until};
use redis::Commands;
use std::io::Write;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[test]
fn redis_crate_sets_and_gets() {
    let server = Server::start(&[]);
    let mut conn = server.connect();
    let _: () = conn.set("greeting", "hello").unwrap();
    let value: String = conn.get("greeting").unwrap();
    assert_eq!(value, "hello");
    let missing: Option<String> = conn.get("nothing-here").unwrap();
    assert_eq!(missing, None);
}

#[test]
fn inline_commands_as_typed_in_telnet() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip("PING\r\n", "+PONG\r\n");
    raw.roundtrip("SET k \"two words\"\n", "+OK\r\n");
    raw.roundtrip("GET k\r\n", "$9\r\ntwo words\r\n");
    raw.roundtrip("\r\n  \r\nGET k\r\n", "$9\r\ntwo words\r\n");
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    let mut batch = String::new();
    let mut expected = String::new();
    for i in 0..2000 {
        batch.push_str(&resp(&["SET", &format!("key:{i}"), &i.to_string()]));
        expected.push_str("+OK\r\n");
    }
    for i in 0..2000 {
        batch.push_str(&resp(&["GET", &format!("key:{i}")]));
        expected.push_str(&format!("${}\r\n{i}\r\n", i.to_string().len()));
    }
    raw.send(batch.as_bytes());
    raw.expect(&expected);
}

#[test]
fn a_command_split_over_many_writes() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    let request = resp(&["SET", "split", "a value sent one byte at a time"]);
    for byte in request.as_bytes() {
        raw.send(&[*byte]);
        std::thread::sleep(Duration::from_millis(1));
    }
    raw.expect("+OK\r\n");
    // Half of one command followed by the rest and a whole second one in the next write.
    let both = format!("{}{}", resp(&["GET", "split"]), resp(&["PING"]));
    let (first, second) = both.split_at(9);
    raw.send(first.as_bytes());
    std::thread::sleep(Duration::from_millis(20));
    raw.send(second.as_bytes());
    raw.expect("$31\r\na value sent one byte at a time\r\n+PONG\r\n");
}

#[test]
fn large_values_round_trip() {
    let server = Server::start(&[]);
    let mut conn = server.connect();
    let value: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let _: () = conn.set("big", &value).unwrap();
    let back: Vec<u8> = conn.get("big").unwrap();
    assert!(back == value, "an 8 MiB value comes back unchanged");
}

/// `clients` threads, each on a connection of its own, setting `rounds` keys of its own
/// (`{prefix}:{thread}:{round}`, the round as value) and reading each back at once.
fn well_behaved_clients(port: u16, clients: usize, rounds: i64, prefix: &'static str) -> Vec<std::thread::JoinHandle<()>> {
    (0..clients)
        .map(|t| {
            std::thread::spawn(move || {
                let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
                for i in 0..rounds {
                    let key = format!("{prefix}:{t}:{i}");
                    let _: () = conn.set(&key, i).unwrap();
                    assert_eq!(conn.get::<_, i64>(&key).unwrap(), i);
                }
            })
        })
        .collect()
}

#[test]
fn many_clients_at_once() {
    let server = Server::start(&[]);
    for thread in well_behaved_clients(server.port, 64, 200, "client") {
        thread.join().expect("client thread succeeded");
    }
    let idle: Vec<_> = (0..1000).map(|_| server.raw()).collect();
    let mut conn = server.connect();
    let value: i64 = conn.get("client:63:199").unwrap();
    assert_eq!(value, 199);
    drop(idle);
}

#[test]
fn malformed_input_gets_a_protocol_error_and_others_carry_on() {
    let server = Server::start(&[]);
    let mut bystander = server.raw();
    bystander.roundtrip(&resp(&["SET", "safe", "yes"]), "+OK\r\n");
    let cases = [
        ("*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"),
        ("*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n"),
        ("*1\r\n$-3\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        ("*1\r\n$999999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n"),
        ("GET \"unterminated\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n"),
    ];
    for (input, reply) in cases {
        let mut raw = server.raw();
        raw.roundtrip(input, reply);
        assert!(raw.closed(), "the connection is closed after {input:?}");
    }
    bystander.roundtrip(&resp(&["GET", "safe"]), "$3\r\nyes\r\n");
}

#[test]
fn unknown_commands_and_wrong_arity_use_redis_texts() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["FOO", "a", "b"]), "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    raw.roundtrip(&resp(&["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(server.cli(&["NOSUCH"]), "ERR unknown command 'NOSUCH', with args beginning with: \n\n");
}

#[test]
fn unix_socket_with_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::temp_dir("unix");
    let path = dir.join("cachet.sock");
    let path_text = path.display().to_string();
    let mut server = Server::start(&["--unix", &path_text, "--unix-perm", "700"]);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let out = std::process::Command::new("redis-cli").args(["-s", &path_text, "SET", "via", "unix"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n");
    let mut conn = redis::Client::open(format!("unix://{path_text}")).unwrap().get_connection().unwrap();
    let value: String = conn.get("via").unwrap();
    assert_eq!(value, "unix");
    assert!(server.stop());
    assert!(!path.exists(), "the socket file is removed on shutdown");
}

#[test]
fn udp_datagrams_carry_commands_and_replies() {
    let udp_port = common::free_port();
    let udp_text = udp_port.to_string();
    let server = Server::start(&["--udp-port", &udp_text]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    socket.connect(("127.0.0.1", udp_port)).unwrap();
    let ask = |request: &str| -> String {
        socket.send(request.as_bytes()).unwrap();
        let mut buf = vec![0u8; 70_000];
        let n = socket.recv(&mut buf).expect("a reply datagram");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(ask("PING\r\n"), "+PONG\r\n");
    // Several commands in one datagram, answered in one datagram.
    assert_eq!(ask(&format!("{}{}", resp(&["SET", "u", "1"]), resp(&["GET", "u"]))), "+OK\r\n$1\r\n1\r\n");
    // A TCP client sees what UDP wrote: one keyspace.
    let mut conn = server.connect();
    let value: String = conn.get("u").unwrap();
    assert_eq!(value, "1");
    assert_eq!(ask("GET u\r\n*2\r\n$3\r\nGET"), "$1\r\n1\r\n-ERR Protocol error: incomplete command at the end of the datagram\r\n");
    let big = "x".repeat(60_000);
    let _: () = conn.set("big1", &big).unwrap();
    let _: () = conn.set("big2", &big).unwrap();
    let reply = ask("GET big1\r\nGET big2\r\n");
    assert!(reply.starts_with("-ERR the reply (120020 bytes) does not fit in one datagram"), "{reply}");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let server = Server::start(&["--timeout", "1"]);
    let mut idle = server.raw();
    let before_last_command = Instant::now();
    idle.roundtrip("PING\r\n", "+PONG\r\n");
    assert!(idle.closed_within(PATIENCE), "an idle client is closed after `timeout` seconds");
    let idle_for = before_last_command.elapsed();
    assert!(idle_for >= Duration::from_secs(1), "closed after {idle_for:?} of idleness, before `timeout`");
    server.raw().roundtrip("PING\r\n", "+PONG\r\n");
}

#[test]
fn maxclients_refuses_with_redis_text() {
    let server = Server::start(&["--maxclients", "3"]);
    let mut kept: Vec<_> = (0..2).map(|_| {
        let mut raw = server.raw();
        raw.roundtrip("PING\r\n", "+PONG\r\n");
        raw
    }).collect();
    // The readiness probe's connection may still be closing; once it is gone, a third is accepted.
    wait_until("the server to count only the two kept clients", || kept[0].clients() == 2);
    let mut third = server.raw();
    third.roundtrip("PING\r\n", "+PONG\r\n");
    let mut fourth = server.raw();
    fourth.expect("-ERR max number of clients reached\r\n");
    assert!(fourth.closed());
}

#[test]
fn graceful_shutdown_answers_then_exits() {
    let mut server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["SET", "k", "v"]), "+OK\r\n");
    assert!(server.stop(), "SIGTERM makes cachet exit successfully");
    assert!(raw.closed(), "clients are disconnected");
    let log = server.log_text();
    assert!(log.contains("shutting down") && log.contains("cachet stopped"), "{log}");
}

#[test]
fn bad_settings_stop_start_up_with_a_clear_error() {
    let out = std::process::Command::new(common::CACHET)
        .args(["serve", "--port", &common::free_port().to_string(), "--set", "maxclients", "lots"])
        .env("CACHET_CACHE_DIR", std::env::temp_dir().join("cachet-test-cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid setting 'maxclients'") && stderr.contains("couldn't be parsed into an integer"), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = std::process::Command::new(common::CACHET).args(["serve", "--port", &port]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("could not listen on TCP 127.0.0.1:{port}")), "{stderr}");
}

#[test]
fn configuration_file_is_read() {
    let dir = common::temp_dir("conf");
    let conf = dir.join("cachet.conf");
    let mut file = std::fs::File::create(&conf).unwrap();
    writeln!(file, "# a redis.conf-style file\nmaxclients 2\nsave \"\"\nappendonly no").unwrap();
    let conf_text = conf.display().to_string();
    let server = Server::start(&["--config", &conf_text]);
    assert_eq!(server.cli(&["CONFIG", "GET", "maxclients"]), "maxclients\n2\n");
}

#[test]
fn redis_benchmark_runs_without_errors() {
    let server = Server::start(&[]);
    let out = std::process::Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &server.port.to_string(), "-t", "ping,set,get,incr,mset", "-n", "5000", "-c", "20", "-P", "4", "-q"])
        .output()
        .expect("redis-benchmark runs (install Debian's redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    // Progress lines end in a carriage return; the final line of each test ends in a newline.
    let lines: Vec<&str> = text.split(['\r', '\n']).map(str::trim).collect();
    for test in ["PING_INLINE:", "SET:", "GET:", "INCR:", "MSET (10 keys):"] {
        assert!(lines.iter().any(|l| l.starts_with(test) && l.contains("requests per second")), "{test} missing in:\n{text}");
    }
    assert!(!text.contains("ERR"), "{text}");
}

// DEBUG PANIC and DEBUG SPIN fault only in an engine built with the fault-injection feature, which
// this crate's dev-dependencies turn on for every build of the tests.
const _: () = assert!(cachet_component::FAULT_INJECTION, "the fault tests need cachet's fault-injection feature");

/// DEBUG PANIC traps the component.
#[test]
fn an_engine_fault_is_contained() {
    let server = Server::start(&[]);
    let mut survivor = server.raw();
    let setup = [resp(&["HELLO", "3"]), resp(&["SELECT", "5"]), resp(&["CLIENT", "SETNAME", "survivor"]), resp(&["SET", "k", "v"])];
    survivor.send(setup.concat().as_bytes());
    survivor.read_until("+OK\r\n+OK\r\n+OK\r\n");

    let mut culprit = server.raw();
    culprit.send(resp(&["DEBUG", "PANIC"]).as_bytes());
    let reply = culprit.read_until("\r\n");
    assert!(reply.starts_with("-ERR internal error: the engine faulted"), "{reply}");
    assert!(culprit.closed(), "the faulting connection is closed");

    // The other client keeps its connection and session; the keyspace starts empty.
    survivor.roundtrip(&resp(&["GET", "k"]), "_\r\n");
    survivor.roundtrip(&resp(&["CLIENT", "GETNAME"]), "$8\r\nsurvivor\r\n");
    survivor.send(resp(&["CLIENT", "INFO"]).as_bytes());
    let info = survivor.read_until("\n\r\n");
    assert!(info.contains(" db=5 ") && info.contains(" resp=3 "), "{info}");
    server.raw().roundtrip("PING\r\n", "+PONG\r\n");
    assert!(server.log_text().contains("the engine faulted"), "the fault is logged");
    assert!(server.cli(&["INFO", "stats"]).contains("engine_faults:1"), "INFO counts the fault");
}

#[test]
fn redis_py_works_unchanged() {
    let server = Server::start(&[]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/redis_py.py");
    common::run_redis_py(&[script], server.port);
}

#[test]
fn many_pipelined_reads_of_a_large_value_are_all_answered() {
    let server = Server::start(&[]);
    let mut conn = server.connect();
    let value = "v".repeat(1024 * 1024);
    let _: () = conn.set("big", &value).unwrap();
    let mut raw = server.raw();
    let get = resp(&["GET", "big"]);
    raw.send(get.repeat(64).as_bytes());
    // 64 MiB of replies: the engine hands them out in bounded chunks, the host writes each.
    let expected = format!("$1048576\r\n{value}\r\n");
    for _ in 0..64 {
        raw.expect(&expected);
    }
    raw.roundtrip("PING\r\n", "+PONG\r\n");
}

/// DEBUG SPIN never returns: the call deadline interrupts it.
#[test]
fn a_runaway_engine_call_is_interrupted() {
    let server = Server::start(&["--engine-timeout", "300"]);
    let mut bystander = server.raw();
    bystander.roundtrip(&resp(&["CLIENT", "SETNAME", "bystander"]), "+OK\r\n");
    let started = std::time::Instant::now();
    let mut culprit = server.raw();
    culprit.send(resp(&["DEBUG", "SPIN"]).as_bytes());
    let reply = culprit.read_until("\r\n");
    assert!(reply.starts_with("-ERR internal error: the engine faulted"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(5), "interrupted after {:?}", started.elapsed());
    bystander.roundtrip(&resp(&["CLIENT", "GETNAME"]), "$9\r\nbystander\r\n");
    assert!(server.log_text().contains("interrupt"), "{}", server.log_text());
}

#[test]
fn a_password_is_required_when_set() {
    let server = Server::start_with_password("s3cret", &[]);
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    raw.roundtrip(&resp(&["AUTH", "wrong"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw.roundtrip(&resp(&["AUTH", "s3cret"]), "+OK\r\n");
    raw.roundtrip(&resp(&["SET", "k", "v"]), "+OK\r\n");
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &server.port.to_string(), "-a", "s3cret", "--no-auth-warning", "GET", "k"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "v\n");
    assert_eq!(server.cli(&["GET", "k"]), "NOAUTH Authentication required.\n\n");
    let mut conn = redis::Client::open(format!("redis://:s3cret@127.0.0.1:{}/", server.port)).unwrap().get_connection().unwrap();
    let value: String = conn.get("k").unwrap();
    assert_eq!(value, "v");
    assert!(!server.log_text().contains("s3cret"), "the password is never logged");
}

#[test]
fn protected_mode_still_serves_this_machine() {
    let server = Server::start(&["--bind", "0.0.0.0"]);
    server.raw().roundtrip("PING\r\n", "+PONG\r\n");
    assert_eq!(server.cli(&["CONFIG", "GET", "protected-mode"]), "protected-mode\nyes\n");
}

#[test]
fn maxmemory_evicts_and_refuses_like_redis() {
    let server = Server::start(&["--set", "maxmemory", "8mb", "--set", "maxmemory-policy", "allkeys-lru"]);
    let mut conn = server.connect();
    let value = "x".repeat(1000);
    for batch in 0..30 {
        let mut pipe = redis::pipe();
        for i in 0..1000 {
            pipe.set(format!("key:{batch}:{i}"), &value).ignore();
        }
        let _: () = pipe.query(&mut conn).expect("every write succeeds while eviction makes room");
    }
    let info: String = redis::cmd("INFO").query(&mut conn).unwrap();
    let field = |name: &str| -> u64 {
        info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).unwrap().trim().parse().unwrap()
    };
    assert!(field("used_memory") <= 8 * 1024 * 1024, "used_memory {} stays under maxmemory", field("used_memory"));
    assert!(field("evicted_keys") > 10_000, "evicted_keys {}", field("evicted_keys"));
    let keys: u64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert!(keys > 1000 && keys < 30_000, "{keys} keys kept");
    assert!(info.contains("maxmemory_policy:allkeys-lru"), "{info}");
    // 30 MB were written; the process holds the 8 MB cap plus the runtime's own fixed share.
    let rss_kb = server.rss_kb();
    eprintln!("RSS after a 30 MB write flood under an 8 MB cap: {rss_kb} kB");
    assert!(rss_kb < 80 * 1024, "server RSS {rss_kb} kB");

    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("noeviction").query(&mut conn).unwrap();
    let mut raw = server.raw();
    let mut refused = false;
    for i in 0..2000 {
        raw.send(resp(&["SET", &format!("more:{i}"), &value]).as_bytes());
        let reply = raw.read_until("\r\n");
        if reply.starts_with("-OOM") {
            assert_eq!(reply, "-OOM command not allowed when used memory > 'maxmemory'.\r\n");
            refused = true;
            break;
        }
    }
    assert!(refused, "noeviction refuses writes once memory is full");
    raw.roundtrip(&resp(&["GET", "more:0"]), &format!("$1000\r\n{value}\r\n"));
}

/// Good clients and hostile ones at the same time: every good request is answered correctly, the
/// hostile ones are cut off, and the server's memory stays bounded.
#[test]
fn good_clients_are_unaffected_by_bad_ones() {
    use std::io::Read;
    let server = Server::start(&[]);
    let port = server.port;
    let good = well_behaved_clients(port, 16, 300, "good");
    let hostile_inputs: Vec<Vec<u8>> = vec![
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n".to_vec(),
        b"*2000000\r\n".to_vec(),
        b"$5\r\nhello\r\n".to_vec(),
        b"*1\r\n$3\r\nGET\r\n\r\n\r\n*x\r\n".to_vec(),
        (0..70_000).map(|i| (i % 200) as u8 + 32).collect(),
        b"SET \"unbalanced value\r\n".to_vec(),
        (0..5000u32).flat_map(|i| i.to_le_bytes()).collect(),
    ];
    let bad: Vec<_> = (0..16)
        .map(|t| {
            let input = hostile_inputs[t % hostile_inputs.len()].clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else { continue };
                    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let _ = stream.write_all(&input);
                    // Half-close, as a client that is done sending: the server answers and closes.
                    let _ = stream.shutdown(std::net::Shutdown::Write);
                    let mut reply = Vec::new();
                    let _ = stream.read_to_end(&mut reply);
                    let text = String::from_utf8_lossy(&reply);
                    assert!(text.is_empty() || text.contains("-ERR"), "hostile input answered with {text:?}");
                }
            })
        })
        .collect();
    for thread in good.into_iter().chain(bad) {
        thread.join().expect("client thread succeeded");
    }
    let mut conn = server.connect();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut conn).unwrap();
    let used: u64 = info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap();
    assert!(used < 64 * 1024 * 1024, "used_memory {used}");
    let rss_kb = server.rss_kb();
    assert!(rss_kb < 512 * 1024, "server RSS {rss_kb} kB");
    assert_eq!(conn.get::<_, i64>("good:15:299").unwrap(), 299);
}

#[test]
fn the_engine_memory_cap_turns_a_huge_allocation_into_an_error() {
    let server = Server::start(&["--engine-memory-limit", "48mb"]);
    let mut bystander = server.raw();
    bystander.roundtrip(&resp(&["SET", "small", "v"]), "+OK\r\n");
    let mut culprit = server.raw();
    let huge = "x".repeat(64 * 1024 * 1024);
    culprit.send(resp(&["SET", "huge", &huge]).as_bytes());
    let reply = culprit.read_until("\r\n");
    assert!(reply.starts_with("-ERR internal error: the engine faulted"), "{reply}");
    assert!(culprit.closed());
    bystander.roundtrip("PING\r\n", "+PONG\r\n");
    let rss_kb = server.rss_kb();
    assert!(rss_kb < 400 * 1024, "server RSS {rss_kb} kB");
}

/// A client that pipelines reads of a large value and never reads the replies holds at most a
/// reply chunk in the server; everyone else carries on.
#[test]
fn a_client_that_never_reads_cannot_grow_server_memory() {
    let server = Server::start(&[]);
    let mut conn = server.connect();
    let _: () = conn.set("big", "v".repeat(1024 * 1024)).unwrap();
    let before = server.rss_kb();
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    // 512 replies of 1 MiB would be 512 MiB if the server buffered them.
    let request = resp(&["GET", "big"]).repeat(512);
    silent.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let _ = silent.write_all(request.as_bytes());
    // Replies have started to arrive (a peek consumes nothing): the server is running the GETs.
    silent.set_read_timeout(Some(PATIENCE)).unwrap();
    let arrived = silent.peek(&mut [0u8; 16]).expect("the first reply arrives");
    assert!(arrived > 0, "the server closed the connection");
    // A server that buffered every reply would grow by hundreds of MiB within this time.
    std::thread::sleep(Duration::from_millis(500));
    let during = server.rss_kb();
    assert!(during < before + 64 * 1024, "RSS grew from {before} kB to {during} kB");
    assert_eq!(conn.get::<_, String>("big").unwrap().len(), 1024 * 1024, "other clients are served");
    drop(silent);
}

#[test]
fn the_query_buffer_limit_closes_a_client_before_it_grows() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.roundtrip(&resp(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]), "+OK\r\n");
    let mut greedy = server.raw();
    greedy.send(b"*2\r\n$3\r\nGET\r\n$2000000\r\n");
    assert!(greedy.closed(), "a command announced past the limit closes the client");
    raw.roundtrip(&resp(&["SET", "fits", &"x".repeat(500_000)]), "+OK\r\n");
}
