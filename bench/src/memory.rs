//! Memory: bytes per key after loading a million keys, and the cost of idle connections.

use crate::servers::Server;
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::net::TcpStream;

/// What loading the keys cost one server.
#[derive(Clone, Copy, Debug)]
pub struct KeyCost {
    /// From the server's own INFO `used_memory`.
    pub used_memory_per_key: f64,
    /// From the process's resident memory.
    pub rss_per_key: f64,
}

/// Loads `keys` keys with `value_size`-byte values over one pipelined connection.
pub fn bytes_per_key(server: &Server, keys: usize, value_size: usize) -> Result<KeyCost> {
    let (used_before, rss_before) = used_and_rss(server)?;
    let mut conn = TcpStream::connect(("127.0.0.1", server.port))?;
    let value = "v".repeat(value_size);
    const BATCH: usize = 10_000;
    for start in (0..keys).step_by(BATCH) {
        let mut batch = Vec::with_capacity(BATCH * (value_size + 48));
        let end = (start + BATCH).min(keys);
        for i in start..end {
            let key = format!("key:{i:012}");
            write!(batch, "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n{value}\r\n", key.len(), value.len())?;
        }
        conn.write_all(&batch)?;
        read_replies(&mut conn, end - start)?;
    }
    let (used_after, rss_after) = used_and_rss(server)?;
    Ok(KeyCost {
        used_memory_per_key: used_after.saturating_sub(used_before) as f64 / keys as f64,
        rss_per_key: rss_after.saturating_sub(rss_before) as f64 / keys as f64,
    })
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
