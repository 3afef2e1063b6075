//! Transactions: MULTI, ten SETs and EXEC sent together, from 50 connections at once, one
//! transaction per round trip or 16 pipelined; transactions per second on each server.

use crate::servers::{Kind, Server};
use crate::throughput::median;
use anyhow::{Context, Result, bail};
use cachet_guest::resp::encode_command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECTIONS: usize = 50;
const SETS: usize = 10;

pub struct Row {
    pub pipeline: usize,
    pub transactions: usize,
    pub cachet: f64,
    pub redis: f64,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        self.cachet / self.redis
    }
}

/// Runs one transaction per round trip and 16 pipelined, `rounds` times each on both servers,
/// taking turns; medians.
pub fn compare(cachet: &Server, redis: &Server, transactions: usize, rounds: usize) -> Result<Vec<Row>> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut rows = Vec::new();
    for pipeline in [1, 16] {
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for server in [cachet, redis] {
                let rate = runtime.block_on(run(server.port, pipeline, transactions))?;
                samples[usize::from(server.kind == Kind::Redis)].push(rate);
            }
        }
        let [c, r] = samples;
        rows.push(Row { pipeline, transactions, cachet: median(c), redis: median(r) });
    }
    Ok(rows)
}

/// What a server answers to one transaction: +OK, ten +QUEUED, and EXEC's ten +OK.
fn reply() -> String {
    format!("+OK\r\n{}*{SETS}\r\n{}", "+QUEUED\r\n".repeat(SETS), "+OK\r\n".repeat(SETS))
}

/// Transactions per second of one run: `transactions` split over the connections.
async fn run(port: u16, pipeline: usize, transactions: usize) -> Result<f64> {
    let per_connection = transactions / CONNECTIONS / pipeline;
    let mut streams = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.context("connecting")?;
        stream.set_nodelay(true)?;
        streams.push(stream);
    }
    let started = std::time::Instant::now();
    let tasks: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(c, mut stream)| {
            tokio::spawn(async move {
                let mut batch = Vec::new();
                for t in 0..pipeline {
                    encode_command(&mut batch, &["MULTI"]);
                    for s in 0..SETS {
                        encode_command(&mut batch, &["SET", format!("tx:{c}:{t}:{s}").as_str(), "value-0123456789"]);
                    }
                    encode_command(&mut batch, &["EXEC"]);
                }
                let expected = reply().repeat(pipeline);
                let mut answers = vec![0; expected.len()];
                for _ in 0..per_connection {
                    stream.write_all(&batch).await?;
                    stream.read_exact(&mut answers).await.context("reading EXEC's replies")?;
                    if answers != expected.as_bytes() {
                        bail!("a transaction was answered {:?}", String::from_utf8_lossy(&answers));
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok((per_connection * pipeline * CONNECTIONS) as f64 / started.elapsed().as_secs_f64())
}
