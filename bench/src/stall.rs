//! Large replies: how long one client's read of a million elements in one reply (ZRANGE 0 -1
//! WITHSCORES, LRANGE 0 -1) or the DEL of such a key takes, and the worst PING round trip another
//! client sees meanwhile — how long everyone else waits behind one big command.

use crate::memory::{Pinger, pipeline};
use crate::servers::Server;
use anyhow::{Context, Result};
use cachet_guest::resp::encode_command;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// What one big command cost: its own time, and the worst PING another client saw.
#[derive(Clone, Copy, Debug)]
pub struct Stall {
    pub command_ms: f64,
    pub worst_ping_ms: f64,
}

/// The commands measured, after [`load`]: the two ranges, then the DEL that frees the sorted set.
pub const COMMANDS: [&[&str]; 3] = [&["ZRANGE", "big:zset", "0", "-1", "WITHSCORES"], &["LRANGE", "big:list", "0", "-1"], &["DEL", "big:zset"]];

/// Fills `big:zset` (scores `i * 1.5`, so half have a fraction to print) and `big:list` with
/// `elements` elements each.
pub fn load(server: &Server, elements: usize) -> Result<()> {
    const PER_COMMAND: usize = 1_000;
    let mut batch = Vec::new();
    let mut commands = 0;
    for start in (0..elements).step_by(PER_COMMAND) {
        let names: Vec<String> = (start..(start + PER_COMMAND).min(elements)).map(|i| format!("member:{i:08}")).collect();
        let mut zadd = vec!["ZADD".to_string(), "big:zset".into()];
        for (i, name) in (start..).zip(&names) {
            zadd.push((i as f64 * 1.5).to_string());
            zadd.push(name.clone());
        }
        encode_command(&mut batch, &zadd);
        let mut rpush = vec!["RPUSH".to_string(), "big:list".into()];
        rpush.extend(names);
        encode_command(&mut batch, &rpush);
        commands += 2;
        if commands == 100 {
            pipeline(server, &batch, commands)?;
            (batch, commands) = (Vec::new(), 0);
        }
    }
    pipeline(server, &batch, commands)
}

/// Runs `command` once while another connection sends PINGs one after another.
pub fn measure(server: &Server, command: &[&str]) -> Result<Stall> {
    let pinger = Pinger::start(server)?;
    let started = Instant::now();
    run_to_end(server, command)?;
    let command_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(Stall { command_ms, worst_ping_ms: pinger.stop()? })
}

/// Sends `command` and a PING, and reads until the PING's reply closes the stream (no element of
/// the big keys contains it).
fn run_to_end(server: &Server, command: &[&str]) -> Result<()> {
    let mut conn = TcpStream::connect(("127.0.0.1", server.port))?;
    let mut request = Vec::new();
    encode_command(&mut request, command);
    request.extend_from_slice(b"PING\r\n");
    conn.write_all(&request)?;
    let mut tail = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = conn.read(&mut buf).context("reading a large reply")?;
        anyhow::ensure!(n > 0, "the server closed the connection during {}", command.join(" "));
        tail.extend_from_slice(&buf[..n]);
        if tail.ends_with(b"+PONG\r\n") {
            return Ok(());
        }
        let keep = tail.len().saturating_sub(8);
        tail.drain(..keep);
    }
}
