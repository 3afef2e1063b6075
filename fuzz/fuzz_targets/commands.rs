//! Random command sequences against the engine, checked against a plain model of a string
//! keyspace: whatever the commands, the engine never panics, every reply is well formed, and GET
//! agrees with the model after every command. Free-form commands (any bytes) run on a second
//! connection, so they can change that connection's protocol or database without confusing the
//! checks; CONFIG is left out of them, since it could make writes fail by design.

#![no_main]

use cachet_guest::commands::parse_i64;
use cachet_guest::{Engine, Input, Now, Peer, PeerKind};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

const KEYS: [&str; 4] = ["a", "b", "c", "counter"];

/// One fuzz byte pair chooses a command and a key; what follows supplies values.
fn command(op: u8, key: &str, value: &[u8]) -> Vec<Vec<u8>> {
    let v = value.to_vec();
    let args: Vec<Vec<u8>> = match op % 12 {
        0 => vec![b"SET".to_vec(), key.into(), v],
        1 => vec![b"GET".to_vec(), key.into()],
        2 => vec![b"DEL".to_vec(), key.into()],
        3 => vec![b"APPEND".to_vec(), key.into(), v],
        4 => vec![b"INCR".to_vec(), key.into()],
        5 => vec![b"SETNX".to_vec(), key.into(), v],
        6 => vec![b"GETDEL".to_vec(), key.into()],
        7 => vec![b"EXISTS".to_vec(), key.into()],
        8 => vec![b"SETRANGE".to_vec(), key.into(), b"2".to_vec(), v],
        9 => vec![b"RENAME".to_vec(), key.into(), b"b".to_vec()],
        10 => vec![b"DBSIZE".to_vec()],
        _ => value.split(|b| *b == b' ').map(<[u8]>::to_vec).collect(),
    };
    args
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// What a model of the keyspace expects GET to answer, when the command changes nothing else.
fn apply(model: &mut HashMap<String, Vec<u8>>, op: u8, key: &str, value: &[u8]) {
    match op % 12 {
        0 => {
            model.insert(key.into(), value.to_vec());
        }
        2 | 6 => {
            model.remove(key);
        }
        3 => model.entry(key.into()).or_default().extend_from_slice(value),
        4 => {
            let current = model.get(key).map_or(Some(0), |v| parse_i64(v));
            if let Some(n) = current.and_then(|n| n.checked_add(1)) {
                model.insert(key.into(), n.to_string().into_bytes());
            }
        }
        5 => {
            model.entry(key.into()).or_insert_with(|| value.to_vec());
        }
        8 if !value.is_empty() => {
            let entry = model.entry(key.into()).or_default();
            if entry.len() < 2 + value.len() {
                entry.resize(2 + value.len(), 0);
            }
            entry[2..2 + value.len()].copy_from_slice(value);
        }
        9 => {
            if let Some(v) = model.remove(key) {
                model.insert("b".into(), v);
            }
        }
        _ => {}
    }
}

fn peer() -> Peer {
    Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() }
}

fn get(engine: &mut Engine, key: &str, now: Now) -> Option<Vec<u8>> {
    bulk(&engine.feed_one(now, 1, &encode(&[b"GET".to_vec(), key.into()])).data)
}

fuzz_target!(|data: &[u8]| {
    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(7);
    assert!(engine.open(now, 1, peer(), None).is_none());
    assert!(engine.open(now, 2, peer(), None).is_none());
    let mut model: HashMap<String, Vec<u8>> = HashMap::new();
    let mut rest = data;
    while rest.len() >= 3 {
        let (op, key, len) = (rest[0], KEYS[rest[1] as usize % KEYS.len()], rest[2] as usize % 16);
        let value = &rest[3..(3 + len).min(rest.len())];
        rest = &rest[(3 + len).min(rest.len())..];
        let args = command(op, key, value);
        if args.is_empty() || args[0].is_empty() {
            continue;
        }
        let input = encode(&args);
        if op % 12 == 11 {
            if args[0].eq_ignore_ascii_case(b"CONFIG") {
                continue;
            }
            // Any connection may be closed by it (QUIT, CLIENT KILL): reopen what was.
            for out in engine.feed(now, &[Input { id: 2, data: &input }]) {
                assert!(out.data.is_empty() || out.data.ends_with(b"\r\n"));
                if out.close {
                    engine.close(now, out.id);
                    assert!(engine.open(now, out.id, peer(), None).is_none());
                }
            }
            // The model knows strings only: a key the command gave another type (HSET...) goes.
            for key in KEYS {
                let reply = engine.feed_one(now, 1, &encode(&[b"GET".to_vec(), key.into()])).data;
                if reply.starts_with(b"-WRONGTYPE") {
                    engine.feed_one(now, 1, &encode(&[b"DEL".to_vec(), key.into()]));
                }
            }
            // It may have changed anything in database 0: read the model back from the engine.
            // The model knows strings only: a key it left holding another type (SADD...) is deleted.
            for key in KEYS {
                if engine.feed_one(now, 1, &encode(&[b"GET".to_vec(), key.into()])).data.starts_with(b"-WRONGTYPE") {
                    engine.feed_one(now, 1, &encode(&[b"DEL".to_vec(), key.into()]));
                }
            }
            model = KEYS.iter().filter_map(|k| get(&mut engine, k, now).map(|v| (k.to_string(), v))).collect();
            continue;
        }
        let out = engine.feed_one(now, 1, &input);
        assert_eq!(out.progress.map(|p| p.consumed), Some(input.len()));
        assert!(out.data.ends_with(b"\r\n"));
        apply(&mut model, op, key, value);
        for key in KEYS {
            assert_eq!(get(&mut engine, key, now), model.get(key).cloned(), "GET {key} after {:?}", String::from_utf8_lossy(&input));
        }
    }
});

/// The value of a bulk-string reply, `None` for a null reply.
fn bulk(reply: &[u8]) -> Option<Vec<u8>> {
    if reply.starts_with(b"$-1") || reply.starts_with(b"-") {
        return None;
    }
    let header_end = reply.iter().position(|b| *b == b'\n')? + 1;
    Some(reply[header_end..reply.len() - 2].to_vec())
}
