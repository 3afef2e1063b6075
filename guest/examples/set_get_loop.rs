//! A loop of SETs and GETs through the engine, natively, for counting instructions with
//! valgrind's callgrind (counts do not move with the machine's load, as times do):
//!
//! ```sh
//! cargo build --release -p cachet-guest --example set_get_loop
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/set_get_loop set 200000
//! ```
//!
//! `set N [SIZE]` stores N new keys (`key:NNNNNNNNNNNN`, values of SIZE bytes, 64 unless given:
//! 8 is a value kept inside the entry, 64 one on the heap), `setex N [SIZE]` the same with a TTL
//! each, `set+get N` stores them and reads each once: the difference between two runs is the cost
//! of the part they do not share. Commands go 16 to a call, as pipelined clients send them.

use cachet_guest::{Engine, Now, Peer, PeerKind};

#[global_allocator]
static ALLOCATOR: cachet_guest::memory::CountingAllocator = cachet_guest::memory::CountingAllocator;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "set".into());
    let keys: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(1);
    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
    engine.open(now, 1, peer, None);
    let size: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(64);
    let value = "v".repeat(size);
    let ttl = if mode == "setex" { "$2\r\nEX\r\n$6\r\n864000\r\n" } else { "" };
    let args = if mode == "setex" { 5 } else { 3 };
    let mut batch = Vec::new();
    let mut run = |engine: &mut Engine, command: &dyn Fn(usize, &mut Vec<u8>)| {
        for start in (0..keys).step_by(16) {
            batch.clear();
            for i in start..(start + 16).min(keys) {
                command(i, &mut batch);
            }
            std::hint::black_box(engine.feed_one(now, 1, &batch));
        }
    };
    run(&mut engine, &|i, out| {
        out.extend_from_slice(format!("*{args}\r\n$3\r\nSET\r\n$16\r\nkey:{i:012}\r\n${size}\r\n{value}\r\n{ttl}").as_bytes())
    });
    if mode == "set+get" {
        run(&mut engine, &|i, out| out.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n$16\r\nkey:{i:012}\r\n").as_bytes()));
    }
}
