//! Drives the engine natively with one script call per `feed`, the way a client sends EVALSHA or
//! FCALL one round trip at a time, so a profiler can count the instructions a call takes:
//!
//! ```text
//! cargo build --release -p cachet-guest --example script_calls
//! valgrind --tool=callgrind target/release/examples/script_calls evalsha 3000
//! valgrind --tool=callgrind target/release/examples/script_calls evalsha 6000
//! ```
//!
//! The difference of the two totals over 3,000 is the cost of one call, set-up left out. The
//! script is the one `cachet-bench --only scripting` runs: GET, INCR and EXPIRE of one key, the
//! keys spread over 1,000 names. `get` runs a plain GET per call instead, for scale.

use cachet_guest::{Engine, Now, Peer, PeerKind};

const BODY: &str = "redis.call('GET', KEYS[1]) redis.call('INCR', KEYS[1]) return redis.call('EXPIRE', KEYS[1], 100)";

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    cachet_guest::resp::encode_command(&mut out, args);
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "evalsha".into());
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(3000);

    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(1);
    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() };
    engine.open(now, 1, peer, None);

    let load = command(&[b"SCRIPT", b"LOAD", BODY.as_bytes()]);
    let out = engine.feed_one(now, 1, &load);
    let sha = String::from_utf8_lossy(&out.data).lines().nth(1).unwrap_or_default().to_string();
    let library = format!("#!lua name=bench\nredis.register_function('counter', function(keys) {} end)", BODY.replace("KEYS[1]", "keys[1]"));
    engine.feed_one(now, 1, &command(&[b"FUNCTION", b"LOAD", library.as_bytes()]));

    let inputs: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            let key = format!("counter:{i:012}");
            match mode.as_str() {
                "fcall" => command(&[b"FCALL", b"counter", b"1", key.as_bytes()]),
                "get" => command(&[b"GET", key.as_bytes()]),
                _ => command(&[b"EVALSHA", sha.as_bytes(), b"1", key.as_bytes()]),
            }
        })
        .collect();
    // One call first, so the interpreter and its coroutine are made before the counted ones.
    let first = engine.feed_one(now, 1, &inputs[0]);
    eprintln!("{mode}: {}", String::from_utf8_lossy(&first.data).trim_end());
    for i in 0..calls {
        let out = engine.feed_one(now, 1, &inputs[(i + 1) % inputs.len()]);
        std::hint::black_box(out);
    }
}
