//! Replays the job queue of `cachet-bench --only queue` through the engine, natively, for counting
//! instructions with valgrind's callgrind:
//!
//! ```sh
//! cargo build --release -p cachet-guest --example queue_jobs
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/queue_jobs 0
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/queue_jobs 100000
//! ```
//!
//! Fifty consumers wait in `BRPOP queue 0`; each job is one engine call with a producer's
//! `LPUSH queue job:<n>`, which serves the consumer that waited longest, and one with that
//! consumer's next `BRPOP queue 0`. The difference of two runs over their difference in jobs is the
//! engine's cost of one job.

use cachet_guest::{Engine, Now, Peer, PeerKind};

#[global_allocator]
static ALLOCATOR: cachet_guest::memory::CountingAllocator = cachet_guest::memory::CountingAllocator;

const CONSUMERS: u64 = 50;
const PRODUCER: u64 = 1_000;

fn main() {
    let jobs: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let brpop = b"*3\r\n$5\r\nBRPOP\r\n$5\r\nqueue\r\n$1\r\n0\r\n".as_slice();
    let pushes: Vec<Vec<u8>> = (0..jobs)
        .map(|n| {
            let mut command = Vec::new();
            cachet_guest::resp::encode_command(&mut command, &["LPUSH".to_string(), "queue".into(), format!("job:{n:08}")]);
            command
        })
        .collect();

    let mut now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(1);
    for id in (1..=CONSUMERS).chain([PRODUCER]) {
        let peer = Peer { kind: PeerKind::Tcp, address: format!("127.0.0.1:{}", 10_000 + id), local_address: "127.0.0.1:6379".into() };
        engine.open(now, id, peer, None);
    }
    for id in 1..=CONSUMERS {
        std::hint::black_box(engine.feed_one(now, id, brpop));
    }
    for push in &pushes {
        now.mono_ns += 1_000;
        let outputs = engine.feed(now, &[cachet_guest::Input { id: PRODUCER, data: push }]);
        let served = outputs.iter().find(|o| o.id != PRODUCER && !o.data.is_empty()).map(|o| o.id);
        let served = served.expect("a push serves a waiting consumer");
        std::hint::black_box(engine.feed_one(now, served, brpop));
    }
}
