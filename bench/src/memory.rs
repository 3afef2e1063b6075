//! Memory: bytes per key after loading many keys (and the worst stall another client saw
//! meanwhile), and the cost of idle connections.

use crate::servers::Server;
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What loading the keys cost one server.
#[derive(Clone, Copy, Debug)]
pub struct KeyCost {
    /// From the server's own INFO `used_memory`.
    pub used_memory_per_key: f64,
    /// From the process's resident memory.
    pub rss_per_key: f64,
    /// The worst PING round trip another client saw while the keys were loading, in ms.
    pub worst_ping_ms: f64,
    /// How long the load took, in seconds.
    pub load_seconds: f64,
}

/// The keys one memory measurement loads.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub keys: usize,
    pub value_size: usize,
    /// Whether every key is given a TTL (`SET ... EX`, far enough in the future never to expire).
    pub ttl: bool,
}

impl Shape {
    pub fn describe(&self) -> String {
        let ttl = if self.ttl { ", a TTL on every key" } else { "" };
        format!("{} keys, {}-byte values{ttl}", self.keys, self.value_size)
    }
}

/// Loads the keys of `shape` (`key:NNNNNNNNNNNN`, 16 bytes) over one pipelined connection, in
/// batches of 10,000 commands, while another connection sends PINGs one after another.
pub fn bytes_per_key(server: &Server, shape: Shape) -> Result<KeyCost> {
    let (used_before, rss_before) = used_and_rss(server)?;
    let mut conn = TcpStream::connect(("127.0.0.1", server.port))?;
    let value = "v".repeat(shape.value_size);
    let ttl = if shape.ttl { "$2\r\nEX\r\n$6\r\n864000\r\n" } else { "" };
    let args = if shape.ttl { 5 } else { 3 };
    const BATCH: usize = 10_000;
    let pinger = Pinger::start(server)?;
    let started = Instant::now();
    for start in (0..shape.keys).step_by(BATCH) {
        let mut batch = Vec::with_capacity(BATCH * (shape.value_size + 64));
        let end = (start + BATCH).min(shape.keys);
        for i in start..end {
            let key = format!("key:{i:012}");
            write!(batch, "*{args}\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n{ttl}", key.len(), value.len())?;
        }
        conn.write_all(&batch)?;
        read_replies(&mut conn, end - start)?;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let worst_ping_ms = pinger.stop()?;
    let (used_after, rss_after) = used_and_rss(server)?;
    Ok(KeyCost {
        used_memory_per_key: used_after.saturating_sub(used_before) as f64 / shape.keys as f64,
        rss_per_key: rss_after.saturating_sub(rss_before) as f64 / shape.keys as f64,
        worst_ping_ms,
        load_seconds,
    })
}

/// A connection sending PINGs one after another on a thread of its own, keeping the worst round
/// trip.
pub(crate) struct Pinger {
    stop: Arc<AtomicBool>,
    worst_ns: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<Result<()>>,
}

impl Pinger {
    pub(crate) fn start(server: &Server) -> Result<Pinger> {
        let mut conn = TcpStream::connect(("127.0.0.1", server.port))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (worst_ns, pings) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let thread = {
            let (stop, worst_ns, pings) = (stop.clone(), worst_ns.clone(), pings.clone());
            std::thread::spawn(move || -> Result<()> {
                let mut reply = [0u8; 7];
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    conn.write_all(b"PING\r\n")?;
                    conn.read_exact(&mut reply)?;
                    worst_ns.fetch_max(sent.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    pings.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            })
        };
        // The first, slower round trips are behind it before the measurement starts.
        while pings.load(Ordering::Relaxed) < 100 {
            std::thread::sleep(Duration::from_millis(1));
        }
        worst_ns.store(0, Ordering::Relaxed);
        Ok(Pinger { stop, worst_ns, thread })
    }

    /// Stops the pings; the worst round trip since the start, in ms.
    pub(crate) fn stop(self) -> Result<f64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| anyhow::anyhow!("the PING thread panicked"))??;
        Ok(self.worst_ns.load(Ordering::Relaxed) as f64 / 1e6)
    }
}

/// The server's `used_memory` and its process's resident memory, in bytes.
pub fn used_and_rss(server: &Server) -> Result<(u64, u64)> {
    Ok((server.info_field("used_memory")?, server.rss()?))
}

/// Sends `commands` commands written in `batch` over a new connection and waits for their replies.
pub fn pipeline(server: &Server, batch: &[u8], commands: usize) -> Result<()> {
    let mut conn = TcpStream::connect(("127.0.0.1", server.port))?;
    conn.write_all(batch)?;
    read_replies(&mut conn, commands)
}

/// Reads `count` replies, each one line or a flat array of one-line elements (what loading
/// commands answer: `+OK`, an integer, HEXPIRE's array of integers).
fn read_replies(conn: &mut TcpStream, count: usize) -> Result<()> {
    let mut replies = 0;
    let mut elements_left = 0u64;
    let mut line = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while replies < count {
        let n = conn.read(&mut buf).context("reading replies")?;
        anyhow::ensure!(n > 0, "the server closed the connection while loading");
        for &byte in &buf[..n] {
            line.push(byte);
            if byte != b'\n' {
                continue;
            }
            anyhow::ensure!(!line.starts_with(b"-"), "the server answered an error while loading: {}", String::from_utf8_lossy(&line));
            if elements_left > 0 {
                elements_left -= 1;
                replies += usize::from(elements_left == 0);
            } else if let Some(header) = line.strip_prefix(b"*") {
                elements_left = std::str::from_utf8(header)?.trim().parse()?;
                replies += usize::from(elements_left == 0);
            } else {
                replies += 1;
            }
            line.clear();
        }
    }
    Ok(())
}

/// Resident memory of an idle server, and with `count` idle connections open.
pub fn idle_connections(server: &Server, count: usize) -> Result<(u64, u64)> {
    let idle = server.rss()?;
    let mut open = Vec::with_capacity(count);
    for _ in 0..count {
        let mut conn = TcpStream::connect(("127.0.0.1", server.port)).context("opening idle connections (raise `ulimit -n`)")?;
        conn.write_all(b"PING\r\n")?;
        open.push(conn);
    }
    // Every connection has been accepted and served once when the last one answers.
    let mut reply = [0u8; 7];
    for conn in open.iter_mut() {
        conn.read_exact(&mut reply)?;
    }
    let with_connections = server.rss()?;
    drop(open);
    Ok((idle, with_connections))
}
