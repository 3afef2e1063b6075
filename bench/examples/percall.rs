//! The component's cost per engine call: one connection fed the same pipelined SET/GET input
//! again and again through the runtime, as the server's event loop feeds it. For timing, and for
//! counting instructions with valgrind's callgrind (the difference of two runs over their
//! difference in calls; `CACHET_PERFMAP=1` names the compiled component's functions):
//!
//! ```sh
//! cargo build --release -p cachet-bench --example percall
//! target/release/examples/percall 1 500000     # commands per call, calls
//! valgrind --tool=callgrind target/release/examples/percall 1 20000
//! valgrind --tool=callgrind target/release/examples/percall 1 40000
//! ```
//!
//! The compiled component comes from cachet's cache (`$CACHET_CACHE_DIR`, else `~/.cache/cachet`),
//! so that a run under callgrind does not count compiling it. A third argument, `evalsha`, feeds
//! EVALSHA of the scripting bench's script (GET, INCR and EXPIRE of one key, over 1,000 keys)
//! instead of SET/GET, and `fcall` FCALL of the same body as a function; `spread` feeds the
//! batch's commands one each from as many connections, as a turn of the event loop with many
//! readable clients does.

use cachet::runtime::Peer;
use cachet::runtime::{EngineOutcome, Input, PeerKind, Runtime, RuntimeOptions};
use cachet_guest::resp::encode_command;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let batch = args.next().transpose()?.unwrap_or(1).max(1);
    let calls = args.next().transpose()?.unwrap_or(1_000_000).max(1);
    let mode = std::env::args().nth(3).unwrap_or_default();
    let connections = if mode == "spread" { batch } else { 1 };

    let runtime = Runtime::new(&RuntimeOptions::from_env())?;
    let mut instance = runtime.instantiate()?;
    instance.configure(&[])?.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
    let now = runtime.now();
    for id in 1..=connections as u64 {
        instance.open(now, id, &peer, None)?.map_err(|_| anyhow::anyhow!("the engine refused the connection"))?;
    }
    let mut load = |words: &[&str]| -> anyhow::Result<String> {
        let reply = replies(&instance.feed(now, &[], &[Input { id: 1, data: &command(words) }])?);
        Ok(reply.lines().nth(1).unwrap_or_default().to_string())
    };
    let input = match mode.as_str() {
        "evalsha" => {
            let sha = load(&["SCRIPT", "LOAD", SCRIPT])?;
            anyhow::ensure!(sha.len() == 40, "SCRIPT LOAD answered {sha:?}");
            calls_of(batch, &["EVALSHA", &sha])
        }
        "fcall" => {
            let library = format!("#!lua name=bench\nredis.register_function('counter', function(KEYS) {SCRIPT} end)");
            anyhow::ensure!(load(&["FUNCTION", "LOAD", &library])? == "bench", "FUNCTION LOAD failed");
            calls_of(batch, &["FCALL", "counter"])
        }
        _ => commands(batch),
    };
    let pieces: Vec<Vec<u8>> = if connections == 1 { vec![input] } else { (0..batch).map(|i| commands_from(i, 1)).collect() };
    let inputs: Vec<Input<'_>> = pieces.iter().zip(1..).map(|(data, id)| Input { id, data }).collect();
    let reply = replies(&instance.feed(now, &[], &inputs)?);
    anyhow::ensure!(!reply.lines().any(|line| line.starts_with('-')), "the engine answered with an error: {reply:?}");
    let started = Instant::now();
    for _ in 0..calls {
        // The outputs' buffers go back to the instance once "written", as the server's loop gives them.
        let outcome = std::hint::black_box(instance.feed(now, &[], &inputs)?);
        for output in outcome.outputs {
            instance.recycle(output.data);
        }
    }
    let ns = started.elapsed().as_nanos() as f64;
    eprintln!("{:.0} ns per call, {:.0} ns per command", ns / calls as f64, ns / (calls * batch) as f64);
    Ok(())
}

/// The scripting bench's script (`bench/src/scripting.rs`).
const SCRIPT: &str = "redis.call('GET', KEYS[1]) redis.call('INCR', KEYS[1]) return redis.call('EXPIRE', KEYS[1], 100)";

/// A command in RESP.
fn command(words: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, words);
    out
}

/// What one engine call wrote, as text.
fn replies(outcome: &EngineOutcome) -> String {
    String::from_utf8_lossy(&outcome.outputs.iter().flat_map(|o| o.data.iter().copied()).collect::<Vec<u8>>()).into_owned()
}

/// `batch` calls of a script or function (`call` names it: `EVALSHA sha` or `FCALL name`) with one
/// key each, over 1,000 keys.
fn calls_of(batch: usize, call: &[&str]) -> Vec<u8> {
    (0..batch).flat_map(|i| command(&[call, &["1", &format!("counter:{}", i % 1000)]].concat())).collect()
}

/// `batch` commands, SET and GET alternating over 1,000 keys.
fn commands(batch: usize) -> Vec<u8> {
    commands_from(0, batch)
}

/// `count` commands of that sequence, from its `first`.
fn commands_from(first: usize, count: usize) -> Vec<u8> {
    let mut input = Vec::new();
    for i in first..first + count {
        let key = format!("key:{}", i % 1000);
        let command = if i % 2 == 0 {
            format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$16\r\nvalue-0123456789\r\n", key.len())
        } else {
            format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len())
        };
        input.extend_from_slice(command.as_bytes());
    }
    input
}
