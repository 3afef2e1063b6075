//! Shared by the end-to-end tests: a real `cachet serve` process on a free loopback port, and ways
//! to talk to it (the `redis` crate, `redis-cli`, raw sockets).

#![allow(dead_code)]

pub mod pki;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub const CACHET: &str = env!("CARGO_BIN_EXE_cachet-under-test");

/// A running `cachet serve`, stopped (SIGTERM, then killed) when dropped.
pub struct Server {
    pub port: u16,
    pub child: Child,
    pub log: PathBuf,
}

/// A port nothing listens on right now, and one this test process has not handed out before: a
/// test that stops a server and starts it again on the same port must not find that another test,
/// running at the same time, was given the port while it stood free.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// How many ports a server started on a free port tries. Between `free_port` closing its probe and
/// the server binding, another process's socket can take the port; the next port is then tried.
const PORT_TRIES: usize = 5;

/// The text both cachet and redis-server log when their port is taken.
const PORT_TAKEN: &str = "Address already in use";

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cachet-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

impl Server {
    /// Starts a server on a free port with extra `serve` flags, and waits until it answers PING.
    pub fn start(extra: &[&str]) -> Server {
        on_a_free_port(|port| Self::launch(port, extra, None))
    }

    /// Starts a server that requires `password`; readiness is checked with AUTH.
    pub fn start_with_password(password: &str, extra: &[&str]) -> Server {
        let mut args = vec!["--requirepass", password];
        args.extend_from_slice(extra);
        on_a_free_port(|port| Self::launch(port, &args, Some(password)))
    }

    pub fn start_on(port: u16, extra: &[&str]) -> Server {
        Self::launch(port, extra, None).unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// Starts `cachet serve` on `port`; the error is the log of a server that exited before it
    /// was ready.
    fn launch(port: u16, extra: &[&str], password: Option<&str>) -> Result<Server, String> {
        let log = std::env::temp_dir().join(format!("cachet-test-{}-{port}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let port_text = port.to_string();
        let mut args = vec!["serve", "--port", &port_text];
        if !extra.contains(&"--bind") {
            args.extend(["--bind", "127.0.0.1"]);
        }
        args.extend_from_slice(extra);
        let child = Command::new(CACHET)
            .args(&args)
            .env("CACHET_CACHE_DIR", cache_dir())
            .env("CACHET_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("cachet starts");
        let mut server = Server { port, child, log };
        let log = server.log.clone();
        wait_until_ready("cachet", port, &mut server.child, password, || std::fs::read_to_string(&log).unwrap_or_default())?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous `redis` crate connection (RESP2).
    pub fn connect(&self) -> redis::Connection {
        redis::Client::open(self.url()).expect("valid url").get_connection().expect("connects")
    }

    /// A synchronous `redis` crate connection speaking RESP3.
    pub fn connect_resp3(&self) -> redis::Connection {
        let url = format!("{}?protocol=resp3", self.url());
        redis::Client::open(url).expect("valid url").get_connection().expect("connects")
    }

    /// Runs `redis-cli` against the server and returns what it printed.
    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }

    /// A raw TCP connection for sending exact bytes.
    pub fn raw(&self) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Raw(stream)
    }

    /// The server process's resident memory, in kB.
    pub fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("the server runs");
        let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).expect("VmRSS in /proc/PID/status");
        line.trim().trim_end_matches("kB").trim().parse().expect("a number of kB")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Starts a server with `start` on a free port, and on the next one when another process took the
/// port first.
pub fn on_a_free_port<T>(mut start: impl FnMut(u16) -> Result<T, String>) -> T {
    let mut failure = String::new();
    for _ in 0..PORT_TRIES {
        match start(free_port()) {
            Ok(server) => return server,
            Err(log) if log.contains(PORT_TAKEN) => failure = log,
            Err(log) => panic!("{log}"),
        }
    }
    panic!("{PORT_TRIES} free ports were all taken before the server could listen; the last try:\n{failure}")
}

/// Waits until the server on `port` answers PING (after AUTH when a password is given). The error
/// says the server exited first, with its log.
fn wait_until_ready(name: &str, port: u16, child: &mut Child, password: Option<&str>, log: impl Fn() -> String) -> Result<(), String> {
    let probe = match password {
        Some(password) => format!("AUTH {password}\r\nPING\r\n"),
        None => "PING\r\n".to_string(),
    };
    let expected: &[u8] = if password.is_some() { b"+OK\r\n+PONG\r\n" } else { b"+PONG\r\n" };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited with {status} before it was ready:\n{}", log()));
        }
        if let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            if conn.write_all(probe.as_bytes()).is_ok() {
                let mut reply = vec![0u8; expected.len()];
                if conn.read_exact(&mut reply).is_ok() && reply == expected {
                    return Ok(());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{name} did not answer PING within 60 s:\n{}", log());
}

/// Debian's `redis-server` as a peer: no persistence, loopback only, stopped when dropped.
pub struct Redis {
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Redis {
    pub fn start(extra: &[&str]) -> Redis {
        on_a_free_port(|port| Self::launch(port, extra))
    }

    pub fn start_on(port: u16, extra: &[&str]) -> Redis {
        Self::launch(port, extra).unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// Starts redis-server on `port`; the error is the log of a server that exited before it was
    /// ready.
    fn launch(port: u16, extra: &[&str]) -> Result<Redis, String> {
        let log = std::env::temp_dir().join(format!("redis-test-{}-{port}.log", std::process::id()));
        let log_file = std::fs::File::create(&log).expect("log file");
        let port_text = port.to_string();
        let mut args = vec!["--port", &port_text, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        args.extend_from_slice(extra);
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(log_file)
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (install Debian's redis-server)");
        let mut redis = Redis { port, child, log };
        let password = extra.iter().position(|a| *a == "--requirepass").and_then(|i| extra.get(i + 1)).copied();
        let log = redis.log.clone();
        wait_until_ready("redis-server", port, &mut redis.child, password, || std::fs::read_to_string(&log).unwrap_or_default())?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }

    /// Kills the server at once, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Compiled engines are cached here, shared by all tests of a run.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("engine-cache")
}

pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli runs (install Debian's redis-tools)");
    assert!(output.status.success(), "redis-cli {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A connection that sends bytes as given and reads replies byte for byte.
pub struct Raw(pub TcpStream);

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.0.write_all(bytes).expect("write");
    }

    /// Reads exactly `expected.len()` bytes and checks them.
    pub fn expect(&mut self, expected: &str) {
        let mut got = vec![0u8; expected.len()];
        self.0.read_exact(&mut got).unwrap_or_else(|e| panic!("reading {expected:?}: {e}"));
        assert_eq!(String::from_utf8_lossy(&got), expected);
    }

    /// Sends `request` and checks the reply is exactly `expected`.
    pub fn roundtrip(&mut self, request: &str, expected: &str) {
        self.send(request.as_bytes());
        self.expect(expected);
    }

    /// Reads until `marker` has arrived and returns everything read, marker included.
    pub fn read_until(&mut self, marker: &str) -> String {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(marker.as_bytes()) {
            self.0.read_exact(&mut byte).unwrap_or_else(|e| panic!("waiting for {marker:?} after {:?}: {e}", String::from_utf8_lossy(&got)));
            got.push(byte[0]);
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// Whether the server closed the connection (reads until EOF, at most 10 s).
    pub fn closed(&mut self) -> bool {
        self.closed_within(Duration::from_secs(10))
    }

    /// Whether the server closes the connection within `limit` (reads until EOF).
    pub fn closed_within(&mut self, limit: Duration) -> bool {
        self.0.set_read_timeout(Some(limit)).expect("timeout");
        let mut rest = Vec::new();
        self.0.read_to_end(&mut rest).is_ok()
    }

    /// Sends `request` and returns the bulk string it is answered with.
    pub fn bulk(&mut self, request: &str) -> String {
        self.send(request.as_bytes());
        let header = self.read_until("\r\n");
        let length: usize = header
            .strip_prefix('$')
            .and_then(|rest| rest.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("a bulk string was expected, not {header:?}"));
        let mut body = vec![0u8; length + 2];
        self.0.read_exact(&mut body).unwrap_or_else(|e| panic!("reading a bulk string of {length} bytes: {e}"));
        body.truncate(length);
        String::from_utf8_lossy(&body).into_owned()
    }

    /// Sends `args` and reads the reply, as text.
    pub fn ask(&mut self, args: &[&str]) -> String {
        self.send(resp(args).as_bytes());
        String::from_utf8_lossy(&self.reply()).into_owned()
    }

    /// Whether a reply is waiting to be read (or the connection closed), without waiting for one.
    pub fn has_reply(&self) -> bool {
        self.0.set_nonblocking(true).expect("non-blocking");
        let waiting = self.0.peek(&mut [0u8; 1]).is_ok();
        self.0.set_nonblocking(false).expect("blocking");
        waiting
    }

    /// How many clients CLIENT LIST shows, this one included.
    pub fn clients(&mut self) -> usize {
        self.bulk(&resp(&["CLIENT", "LIST"])).lines().count()
    }
}

/// The BUSY reply `other` gets once a script that never ends by itself is running: PING may be
/// answered before the script starts; once it runs, PING waits, then is refused.
pub fn busy_reply(other: &mut Raw) -> String {
    let mut busy = String::new();
    wait_until("a BUSY reply", || {
        busy = other.ask(&["PING"]);
        busy.starts_with("-BUSY")
    });
    busy
}

/// Starts, from `owner`, a script or function that writes and then counts to a number (`call` makes
/// the command from the count; what it runs returns "done"); once `other` gets a BUSY reply, sends
/// `while_busy`'s commands from `other`. Returns the BUSY reply and what `while_busy` returned,
/// from a run still going after them (a PING then is refused too). Ending by itself, a run may end
/// sooner: a loaded machine can hold the test's thread back for longer than the count takes. Then
/// it runs again with a count four times larger.
pub fn while_a_writing_script_runs(
    owner: &mut Raw,
    other: &mut Raw,
    call: impl Fn(&str) -> String,
    mut while_busy: impl FnMut(&mut Raw) -> Vec<String>,
) -> Vec<String> {
    for count in [10_000_000u64, 40_000_000, 160_000_000, 640_000_000] {
        owner.send(call(&count.to_string()).as_bytes());
        let Some(busy) = busy_unless_ended(owner, other) else { continue };
        let mut seen = vec![busy];
        seen.extend(while_busy(other));
        if other.ask(&["PING"]).starts_with("-BUSY") {
            return seen;
        }
        ended_by_itself(owner);
    }
    panic!("no run of the script lasted through the commands sent while it ran, even counting to 640,000,000");
}

/// The BUSY reply `other` gets while the script `owner` started runs; `None` if the script's own
/// reply came first (it is read).
fn busy_unless_ended(owner: &mut Raw, other: &mut Raw) -> Option<String> {
    let mut busy = None;
    wait_until("a BUSY reply or the script's own", || {
        let reply = other.ask(&["PING"]);
        busy = reply.starts_with("-BUSY").then_some(reply);
        busy.is_some() || owner.has_reply()
    });
    if busy.is_none() {
        ended_by_itself(owner);
    }
    busy
}

/// Reads the reply of a script that ended by itself before the test was done with it.
fn ended_by_itself(owner: &mut Raw) {
    assert_eq!(String::from_utf8_lossy(&owner.reply()), "$4\r\ndone\r\n", "the script ended by itself");
}

/// How long the waits below give a condition before failing: far longer than any of them takes.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Checks `condition` until it holds; fails, saying `what` was awaited, after `PATIENCE`.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `wait_until` for async tests: it sleeps on the runtime, so the runtime's other tasks run.
pub async fn wait_until_async(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A RESP array of bulk strings.
pub fn resp(args: &[&str]) -> String {
    let mut out = format!("*{}\r\n", args.len());
    for arg in args {
        out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    out
}

impl Raw {
    /// Reads one whole reply, RESP2 or RESP3, nested aggregates included, and returns its bytes.
    pub fn reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_frame(&mut out);
        out
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> String {
        let start = out.len();
        let mut byte = [0u8; 1];
        while !out[start..].ends_with(b"\r\n") {
            self.0.read_exact(&mut byte).unwrap_or_else(|e| panic!("reading a reply after {:?}: {e}", String::from_utf8_lossy(out)));
            out.push(byte[0]);
        }
        String::from_utf8_lossy(&out[start..out.len() - 2]).into_owned()
    }

    fn read_frame(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line(out);
        let (kind, rest) = line.split_at(1);
        let count = || -> i64 { rest.parse().unwrap_or_else(|_| panic!("a length was expected in {line:?}")) };
        match kind {
            "$" | "=" | "!" if count() >= 0 => {
                let mut body = vec![0u8; count() as usize + 2];
                self.0.read_exact(&mut body).expect("a bulk body");
                out.extend_from_slice(&body);
            }
            "*" | "~" | ">" if count() > 0 => (0..count()).for_each(|_| self.read_frame(out)),
            "%" | "|" if count() > 0 => (0..2 * count()).for_each(|_| self.read_frame(out)),
            _ => {}
        }
    }
}

/// Runs the same commands, in order, on one connection to cachet and one to Debian's redis-server
/// — in RESP2, then again on fresh connections after `HELLO 3` — and fails on the first reply that
/// is not byte for byte the same. Each run starts from empty databases (FLUSHALL).
pub fn assert_same_as_redis(cachet: &Server, redis: &Redis, commands: &[&[&str]]) {
    for protocol in [2, 3] {
        let mut ours = cachet.raw();
        let mut theirs = Raw(TcpStream::connect(("127.0.0.1", redis.port)).expect("redis-server accepts"));
        let mut setup: Vec<&[&str]> = vec![&["FLUSHALL"]];
        if protocol == 3 {
            setup.push(&["HELLO", "3"]);
        }
        for args in setup {
            ours.send(resp(args).as_bytes());
            theirs.send(resp(args).as_bytes());
            ours.reply();
            theirs.reply();
        }
        for (i, args) in commands.iter().enumerate() {
            ours.send(resp(args).as_bytes());
            theirs.send(resp(args).as_bytes());
            let (ours, theirs) = (ours.reply(), theirs.reply());
            assert!(
                ours == theirs,
                "RESP{protocol}, command {i} {args:?}:\n  cachet: {:?}\n  redis:  {:?}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
        }
    }
}

/// Runs a redis-py script against a server: `args` are python3's (a script's path, or `-c` and
/// its text), then the port. Fails with the script's output when it fails.
pub fn run_redis_py(args: &[&str], port: u16) {
    let out = Command::new("python3")
        .args(args)
        .arg(port.to_string())
        .output()
        .expect("python3 runs (with redis-py: pip install redis; tests/run installs it)");
    assert!(
        out.status.success(),
        "redis-py failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `cachet serve --port <port>` with `flags`, checks that it refuses to start, and returns
/// what it said on stderr.
pub fn refused_start<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(port: u16, flags: &[S]) -> String {
    let output = Command::new(CACHET).args(["serve", "--port", &port.to_string()]).args(flags).env("CACHET_CACHE_DIR", cache_dir()).output().expect("cachet runs");
    assert!(!output.status.success(), "{flags:?} started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}
