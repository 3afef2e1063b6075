//! Replays redis-benchmark's sorted set and list writes through the engine, natively, 16 commands
//! to a call, for counting instructions with valgrind's callgrind:
//!
//! ```sh
//! cargo build --release -p cachet-guest --example type_writes
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/type_writes none 200000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/type_writes zadd 200000
//! ```
//!
//! Every run builds the same inputs first: N of each of `ZADD myzset <score> element:<member>`
//! (score and member random in 0..99999, written as redis-benchmark's `-r 100000` writes them,
//! twelve digits with leading zeros), `ZINCRBY myzset 1 element:<member>`, `LPUSH mylist xxx`
//! and `RPOP mylist`. The first argument names the phases fed, in order, joined by `+` (`none`
//! feeds nothing), so the difference of two runs over N is the engine's cost of one command of
//! the phase they do not share: `zadd` less `none`, `lpush+rpop` less `lpush`.

use cachet_guest::{Engine, Now, Peer, PeerKind};

#[global_allocator]
static ALLOCATOR: cachet_guest::memory::CountingAllocator = cachet_guest::memory::CountingAllocator;

/// Commands per `feed`, as `redis-benchmark -P 16` sends them.
const PIPELINE: usize = 16;

/// A random number in 0..100000 as redis-benchmark writes `__rand_int__` under `-r 100000`.
fn rand_int(state: &mut u64) -> String {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    format!("{:012}", (*state >> 33) % 100_000)
}

/// `count` commands made by `command`, encoded and grouped `PIPELINE` to a batch.
fn batches(count: usize, mut command: impl FnMut() -> Vec<String>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for start in (0..count).step_by(PIPELINE) {
        let mut batch = Vec::new();
        for _ in start..(start + PIPELINE).min(count) {
            cachet_guest::resp::encode_command(&mut batch, &command());
        }
        out.push(batch);
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let phases = args.next().unwrap_or_else(|| "zadd".into());
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let mut state = 7u64;
    let zadd = batches(count, || vec!["ZADD".into(), "myzset".into(), rand_int(&mut state), format!("element:{}", rand_int(&mut state))]);
    let zincrby = batches(count, || vec!["ZINCRBY".into(), "myzset".into(), "1".into(), format!("element:{}", rand_int(&mut state))]);
    let lpush = batches(count, || vec!["LPUSH".into(), "mylist".into(), "xxx".into()]);
    let rpop = batches(count, || vec!["RPOP".into(), "mylist".into()]);

    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(1);
    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
    engine.open(now, 1, peer, None);
    for phase in phases.split('+') {
        let inputs = match phase {
            "zadd" => &zadd,
            "zincrby" => &zincrby,
            "lpush" => &lpush,
            "rpop" => &rpop,
            _ => continue,
        };
        for batch in inputs {
            std::hint::black_box(engine.feed_one(now, 1, batch));
        }
    }
}
