//! Security: rate limits per peer address (new connections, failed authentications), and the
//! sandbox — whatever a client sends, the engine cannot reach files or the network, and no command
//! loads code (README.md, "Limits and safety").

mod common;

use common::{Server, resp, temp_dir};
use std::net::TcpListener;
use std::process::Command;

/// redis-cli over a Unix socket: Unix-socket clients are not rate limited.
fn unix_cli(path: &str, args: &[&str]) -> String {
    let output = Command::new("redis-cli").args(["-s", path, "--no-auth-warning"]).args(args).output().expect("redis-cli runs");
    assert!(output.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stat(info: &str, name: &str) -> u64 {
    info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok()).unwrap_or_else(|| panic!("{name} in {info}"))
}

/// After `peer-auth-failure-limit` wrong passwords from 127.0.0.1, every AUTH and HELLO AUTH from
/// it is refused, the right password included; a Unix-socket client is not affected. The window is
/// an hour, so how fast the test runs does not matter.
#[test]
fn authentication_failures_from_an_address_are_limited() {
    let dir = temp_dir("security-auth");
    let socket = dir.join("cachet.sock").display().to_string();
    let limits = ["--set", "peer-auth-failure-limit", "3", "--set", "peer-auth-failure-window", "3600", "--unix", &socket];
    let server = Server::start_with_password("s3cret", &limits);
    let wrong = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    let refused = "-ERR too many authentication failures from this address, try again later\r\n";

    let mut first = server.raw();
    first.roundtrip(&resp(&["AUTH", "guess1"]), wrong);
    first.roundtrip(&resp(&["HELLO", "3", "AUTH", "default", "guess2"]), wrong);
    let mut second = server.raw();
    second.roundtrip(&resp(&["AUTH", "default", "guess3"]), wrong);
    second.roundtrip(&resp(&["AUTH", "s3cret"]), refused);
    first.roundtrip(&resp(&["HELLO", "3", "AUTH", "default", "s3cret"]), refused);
    second.roundtrip(&resp(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    server.raw().roundtrip(&resp(&["AUTH", "s3cret"]), refused);

    assert_eq!(unix_cli(&socket, &["-a", "s3cret", "PING"]).trim(), "PONG", "a Unix-socket client authenticates");
    let info = unix_cli(&socket, &["-a", "s3cret", "INFO", "stats"]);
    assert_eq!(stat(&info, "rate_limited_auth_attempts"), 3, "{info}");
    assert_eq!(unix_cli(&socket, &["-a", "s3cret", "CONFIG", "GET", "peer-auth-failure-*"]).lines().collect::<Vec<_>>(), [
        "peer-auth-failure-limit",
        "3",
        "peer-auth-failure-window",
        "3600"
    ]);
    // Lifting the limit lets the address in again.
    unix_cli(&socket, &["-a", "s3cret", "CONFIG", "SET", "peer-auth-failure-limit", "0"]);
    second.roundtrip(&resp(&["AUTH", "s3cret"]), "+OK\r\n");
}

/// With `peer-connection-limit 3` (per hour), the fourth new connection from 127.0.0.1 is told why
/// and closed; connections already open and Unix-socket clients carry on.
#[test]
fn new_connections_from_an_address_are_limited() {
    let dir = temp_dir("security-connections");
    let socket = dir.join("cachet.sock").display().to_string();
    let server = Server::start(&["--unix", &socket]);
    // Set once the server is ready, so that the readiness probes are not counted.
    assert_eq!(unix_cli(&socket, &["CONFIG", "SET", "peer-connection-limit", "3", "peer-connection-window", "3600"]).trim(), "OK");

    let mut open: Vec<_> = (0..3).map(|_| server.raw()).collect();
    for conn in &mut open {
        conn.roundtrip("PING\r\n", "+PONG\r\n");
    }
    let mut fourth = server.raw();
    assert_eq!(fourth.read_until("\r\n"), "-ERR too many new connections from this address, try again later\r\n");
    assert!(fourth.closed(), "the refused connection is closed");
    for conn in &mut open {
        conn.roundtrip("PING\r\n", "+PONG\r\n");
    }
    let info = unix_cli(&socket, &["INFO", "stats"]);
    assert_eq!(stat(&info, "rate_limited_connections"), 1, "{info}");
    assert!(stat(&info, "rejected_connections") >= 1, "{info}");

    unix_cli(&socket, &["CONFIG", "SET", "peer-connection-limit", "0"]);
    server.raw().roundtrip("PING\r\n", "+PONG\r\n");
}

/// Whatever a client sends, the engine cannot write or read a file or open a connection: it has
/// no such imports (tests/component.rs), and every setting or command that would in Redis is
/// refused. The host reads files for the `tls-*` settings only (see tests/tls.rs).
#[test]
fn no_command_reaches_files_or_the_network_or_loads_code() {
    let dir = temp_dir("security-sandbox");
    let server = Server::start(&[]);
    let target = dir.join("written");
    let path = target.display().to_string();
    let dir_text = dir.display().to_string();
    let before_dir = server.cli(&["CONFIG", "GET", "dir"]);

    let settings: [(&str, &str); 10] = [
        ("dir", &dir_text),
        ("dbfilename", "dump.rdb"),
        ("logfile", &path),
        ("aclfile", &path),
        ("unixsocket", &path),
        ("pidfile", &path),
        ("appendfilename", "cachet.aof"),
        ("appendonly", "yes"),
        ("save", "1 1"),
        ("bind", "0.0.0.0"),
    ];
    for (name, value) in settings {
        let reply = server.cli(&["CONFIG", "SET", name, value]);
        assert!(reply.starts_with("ERR "), "CONFIG SET {name} {value} was taken: {reply}");
    }
    assert_eq!(server.cli(&["CONFIG", "GET", "dir"]), before_dir, "dir is what the host reports");

    // A peer that would see a connection if any command opened one.
    let peer = TcpListener::bind("127.0.0.1:0").expect("a listener");
    let peer_port = peer.local_addr().expect("its address").port().to_string();
    let commands: [&[&str]; 13] = [
        &["SAVE"],
        &["BGSAVE"],
        &["BGREWRITEAOF"],
        &["CONFIG", "REWRITE"],
        &["MODULE", "LOAD", &path],
        &["DEBUG", "RELOAD"],
        &["DEBUG", "LOADAOF"],
        &["REPLICAOF", "127.0.0.1", &peer_port],
        &["SLAVEOF", "127.0.0.1", &peer_port],
        &["MIGRATE", "127.0.0.1", &peer_port, "k", "0", "1000"],
        &["ACL", "SAVE"],
        &["ACL", "LOAD"],
        &["SCRIPT", "DEBUG", "YES"],
    ];
    for command in commands {
        let reply = server.cli(command);
        assert!(reply.starts_with("ERR ") || reply.contains("unknown"), "{command:?} answered {reply}");
    }
    // Scripts have no io, os.execute, loadfile, dofile, require or package: nothing to open a file
    // with or to load code from one.
    let probe = "local g = function(n) return type(rawget(_G, n)) end \
                 return {g('io'), g('loadfile'), g('dofile'), g('require'), g('package'), rawget(_G, 'os') and type(rawget(_G, 'os').execute) or 'nil'}";
    let reply = server.cli(&["EVAL", probe, "0"]);
    assert_eq!(reply.lines().collect::<Vec<_>>(), ["nil"; 6], "{reply}");
    let write = format!("local f = io.open('{path}', 'w') f:write('x') f:close() return 1");
    assert!(server.cli(&["EVAL", &write, "0"]).starts_with("ERR "), "a script opened a file");
    let load = format!("return loadstring(\"return io\")() or dofile('{path}')");
    assert!(server.cli(&["EVAL", &load, "0"]).starts_with("ERR "));

    assert!(!target.exists(), "something wrote {path}");
    assert_eq!(std::fs::read_dir(&dir).expect("the directory").count(), 0, "nothing was written in {dir_text}");
    peer.set_nonblocking(true).expect("nonblocking");
    server.raw().roundtrip("PING\r\n", "+PONG\r\n");
    assert!(peer.accept().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock), "a command connected to a peer");
}
