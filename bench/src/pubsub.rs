//! PUBLISH fan-out: one publisher, N subscribers on one channel, messages delivered per second on
//! each server. The publisher sends its PUBLISHes (one per round trip, or pipelined) while every
//! subscriber reads; the time is from the first PUBLISH to the last subscriber's last message.

use crate::servers::{Kind, Server};
use crate::throughput::median;
use anyhow::{Context, Result, bail};
use cachet_guest::resp::encode_command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CHANNEL: &str = "bench:channel";
const PAYLOAD: usize = 64;

/// One measurement: deliveries per second on each server.
pub struct Row {
    pub subscribers: usize,
    pub pipeline: usize,
    pub messages: usize,
    pub cachet: f64,
    pub redis: f64,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        self.cachet / self.redis
    }
}

/// The scenarios: (subscribers, publisher pipeline depth). Messages are chosen so every scenario
/// delivers about the same number.
pub const SCENARIOS: [(usize, usize); 6] = [(1, 1), (50, 1), (500, 1), (1, 16), (50, 16), (500, 16)];

/// Runs every scenario `rounds` times on both servers, the servers taking turns; medians.
pub fn compare(cachet: &Server, redis: &Server, deliveries: usize, rounds: usize) -> Result<Vec<Row>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut rows = Vec::new();
    for (subscribers, pipeline) in SCENARIOS {
        // Round trips of one PUBLISH each are slow: at most 50,000 of them per run.
        let messages = (deliveries / subscribers).min(50_000 * pipeline).max(pipeline * 10) / pipeline * pipeline;
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for server in [cachet, redis] {
                let rate = runtime.block_on(fan_out(server.port, subscribers, pipeline, messages))?;
                samples[usize::from(server.kind == Kind::Redis)].push(rate);
            }
        }
        let [c, r] = samples;
        rows.push(Row { subscribers, pipeline, messages, cachet: median(c), redis: median(r) });
    }
    Ok(rows)
}

/// The bytes one message takes on a RESP2 subscriber's connection.
fn message_len() -> usize {
    format!("*3\r\n$7\r\nmessage\r\n${}\r\n{CHANNEL}\r\n${PAYLOAD}\r\n", CHANNEL.len()).len() + PAYLOAD + 2
}

/// Deliveries per second of one run.
async fn fan_out(port: u16, subscribers: usize, pipeline: usize, messages: usize) -> Result<f64> {
    let mut readers = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.context("a subscriber connects")?;
        stream.set_nodelay(true)?;
        let mut subscribe = Vec::new();
        encode_command(&mut subscribe, &["SUBSCRIBE", CHANNEL]);
        stream.write_all(&subscribe).await?;
        let confirmation = format!("*3\r\n$9\r\nsubscribe\r\n${}\r\n{CHANNEL}\r\n:1\r\n", CHANNEL.len());
        read_exactly(&mut stream, confirmation.len()).await?;
        readers.push(stream);
    }
    let mut publisher = TcpStream::connect(("127.0.0.1", port)).await.context("the publisher connects")?;
    publisher.set_nodelay(true)?;
    let mut batch = Vec::new();
    for _ in 0..pipeline {
        encode_command(&mut batch, &["PUBLISH", CHANNEL, "p".repeat(PAYLOAD).as_str()]);
    }
    let reply = format!(":{subscribers}\r\n");
    let started = std::time::Instant::now();
    let expected = messages * message_len();
    let readers: Vec<_> = readers.into_iter().map(|mut s| tokio::spawn(async move { drain(&mut s, expected).await })).collect();
    for _ in 0..messages / pipeline {
        publisher.write_all(&batch).await?;
        let answers = read_exactly(&mut publisher, reply.len() * pipeline).await?;
        if !answers.starts_with(reply.as_bytes()) {
            bail!("PUBLISH answered {:?}", String::from_utf8_lossy(&answers[..reply.len().min(answers.len())]));
        }
    }
    for reader in readers {
        reader.await??;
    }
    Ok((messages * subscribers) as f64 / started.elapsed().as_secs_f64())
}

/// Reads `n` bytes, keeping none of them.
async fn drain(stream: &mut TcpStream, mut n: usize) -> Result<()> {
    let mut buffer = vec![0; 64 * 1024];
    while n > 0 {
        let want = n.min(buffer.len());
        let got = stream.read(&mut buffer[..want]).await.context("reading messages")?;
        if got == 0 {
            bail!("the server closed a subscriber with {n} bytes to come");
        }
        n -= got;
    }
    Ok(())
}

async fn read_exactly(stream: &mut TcpStream, n: usize) -> Result<Vec<u8>> {
    let mut buffer = vec![0; n];
    stream.read_exact(&mut buffer).await.context("reading replies")?;
    Ok(buffer)
}
