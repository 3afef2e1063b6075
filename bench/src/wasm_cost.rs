//! The sandbox's cost: the same engine code run natively and as the component, fed the same
//! pipelined input, timed per command.

use anyhow::Result;
use cachet::runtime::{Input, Runtime, RuntimeOptions};
use cachet::runtime::Peer as HostPeer;
use cachet_guest::{Engine, Now, Peer, PeerKind};
use std::time::Instant;

/// Nanoseconds per command natively and in the component, for one batch size.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    pub batch: usize,
    pub native_ns: f64,
    pub wasm_ns: f64,
}

/// `batch` commands, alternating SET and GET over 1,000 keys.
fn input(batch: usize, round: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..batch {
        let key = format!("key:{}", (round * batch + i) % 1000);
        if i % 2 == 0 {
            out.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$16\r\nvalue-0123456789\r\n", key.len()).as_bytes());
        } else {
            out.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes());
        }
    }
    out
}

pub fn measure(batch: usize, commands: usize) -> Result<Cost> {
    let rounds = commands / batch;
    let inputs: Vec<Vec<u8>> = (0..64).map(|r| input(batch, r)).collect();

    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(1);
    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
    engine.open(now, 1, peer, None);
    let started = Instant::now();
    for round in 0..rounds {
        let out = engine.feed_one(now, 1, &inputs[round % inputs.len()]);
        std::hint::black_box(out);
    }
    let native_ns = started.elapsed().as_nanos() as f64 / (rounds * batch) as f64;

    let runtime = Runtime::new(&RuntimeOptions::default())?;
    let mut instance = runtime.instantiate()?;
    instance.configure(&[])?.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let peer = HostPeer { kind: cachet::runtime::PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
    let wasm_now = runtime.now();
    instance.open(wasm_now, 1, &peer, None)?.map_err(|_| anyhow::anyhow!("the engine refused the connection"))?;
    let started = Instant::now();
    for round in 0..rounds {
        let out = instance.feed(wasm_now, &[], &[Input { id: 1, data: &inputs[round % inputs.len()] }])?;
        std::hint::black_box(out);
    }
    let wasm_ns = started.elapsed().as_nanos() as f64 / (rounds * batch) as f64;
    Ok(Cost { batch, native_ns, wasm_ns })
}
