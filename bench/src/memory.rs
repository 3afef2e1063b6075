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
    let (used_before, rss_before) = (server.info_field("used_memory")?, server.rss()?);
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
    let (used_after, rss_after) = (server.info_field("used_memory")?, server.rss()?);
    Ok(KeyCost {
        used_memory_per_key: used_after.saturating_sub(used_before) as f64 / keys as f64,
        rss_per_key: rss_after.saturating_sub(rss_before) as f64 / keys as f64,
    })
}

/// Reads `count` `+OK` replies.
fn read_replies(conn: &mut TcpStream, count: usize) -> Result<()> {
    let expected = count * 5;
    let mut got = 0;
    let mut buf = vec![0u8; 64 * 1024];
    while got < expected {
        let n = conn.read(&mut buf).context("reading replies")?;
        anyhow::ensure!(n > 0, "the server closed the connection while loading keys");
        anyhow::ensure!(!buf[..n].contains(&b'-'), "the server answered an error while loading keys");
        got += n;
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
