//! Random command sequences against the engine, checked against a plain model of the keyspace:
//! strings (bitmaps and HyperLogLogs among them), hashes, sets and sorted sets. Whatever the
//! commands, the engine never panics, every reply is one well-formed RESP reply, a command on a key
//! the model says holds another type answers WRONGTYPE, the replies the model can predict cheaply
//! (HGET, HLEN, SCARD, SISMEMBER, GETBIT, BITCOUNT, SPOP's member, ZSCORE, ZRANK, ZPOPMIN...) are
//! those, and after every command
//! each key reads back exactly as the model has it.
//!
//! Half the runs (by the first byte) set every collection's listpack limit to one element, so the
//! large encodings (a sorted set's tree, a hash's table, a list of many nodes) are exercised with
//! the few members the model uses.
//!
//! Time stands still: no key or field expires unless a command gives it a time already past, which
//! the model follows. Free-form commands (any bytes) run on a second connection, so they can change
//! that connection's protocol or database without confusing the checks; CONFIG is left out of
//! them, since it could make writes fail by design. After one, the model is read back from the
//! engine.

#![no_main]

use cachet_guest::commands::parse_i64;
use cachet_guest::resp::{Limits, Node, ReplyDecoder};
use cachet_guest::{Engine, Input, Now, Peer, PeerKind};
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

const KEYS: [&str; 4] = ["a", "b", "c", "counter"];
const FIELDS: [&str; 3] = ["f", "g", "n"];
/// Integers keep small sets in the `intset` encoding; the others move them on.
const MEMBERS: [&str; 5] = ["1", "2", "-3", "x", "y"];
const WRONG_TYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const NOT_A_SKETCH: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";

/// What a key holds, as the model has it.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(Vec<u8>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    List(VecDeque<Vec<u8>>),
    /// Member to score.
    Zset(BTreeMap<Vec<u8>, f64>),
}

type Model = HashMap<&'static str, Val>;

/// The command's arguments, from the fuzz input: `op` picks the command, `key` its key, and
/// `value` supplies the rest (a field, member or other key from its first bytes).
struct Step<'a> {
    op: u8,
    key: &'static str,
    value: &'a [u8],
}

impl Step<'_> {
    fn byte(&self, at: usize) -> u8 {
        self.value.get(at).copied().unwrap_or(0)
    }
    fn field(&self) -> &'static str {
        FIELDS[usize::from(self.byte(0)) % FIELDS.len()]
    }
    fn member(&self) -> &'static str {
        MEMBERS[usize::from(self.byte(0)) % MEMBERS.len()]
    }
    fn other_key(&self) -> &'static str {
        KEYS[usize::from(self.byte(1)) % KEYS.len()]
    }
    /// The value bytes after the one that chose a field.
    fn rest(&self) -> &[u8] {
        self.value.get(1..).unwrap_or_default()
    }
}

/// How many commands [`run`] knows; the last, free-form, is handled by the fuzz loop.
const OPS: u8 = 51;
const FREE_FORM: u8 = OPS - 1;

/// What a command should answer: exactly some nodes, or anything well formed.
enum Expect {
    Nodes(Vec<Node>),
    Any,
}

fn int(n: i64) -> Expect {
    Expect::Nodes(vec![Node::Integer(n)])
}
fn err(text: &str) -> Expect {
    Expect::Nodes(vec![Node::Error(text.into())])
}
fn ok() -> Expect {
    Expect::Nodes(vec![Node::Simple("OK".into())])
}
fn bulk(value: Option<&[u8]>) -> Expect {
    Expect::Nodes(vec![value.map_or(Node::Nil, |v| Node::Bulk(v.to_vec()))])
}

/// Runs one modelled command, checks its reply against the model, and brings the model along.
fn run(engine: &mut Engine, model: &mut Model, step: &Step) {
    match step.op % OPS {
        0..=10 => strings(engine, model, step),
        11..=19 => hashes(engine, model, step),
        20..=26 => sets(engine, model, step),
        27..=32 => bits(engine, model, step),
        33..=39 => sorted_sets(engine, model, step),
        _ => lists(engine, model, step),
    }
}

/// Sends a command on connection 1 and checks that exactly one well-formed reply comes back.
fn send(engine: &mut Engine, args: &[&[u8]]) -> Vec<Node> {
    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let input = encode(args);
    let out = engine.feed_one(now, 1, &input);
    assert_eq!(out.progress.map(|p| p.consumed), Some(input.len()));
    let (nodes, used) = ReplyDecoder::new(Limits::default()).decode(&out.data).expect("a well-formed reply");
    assert_eq!(used, out.data.len(), "one reply to {:?}", show(args));
    nodes.expect("a whole reply")
}

fn check(engine: &mut Engine, args: &[&[u8]], expect: Expect) -> Vec<Node> {
    let reply = send(engine, args);
    if let Expect::Nodes(nodes) = expect {
        assert_eq!(reply, nodes, "reply to {:?}", show(args));
    }
    reply
}

fn show(args: &[&[u8]]) -> Vec<String> {
    args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect()
}

/// String commands, and the ones on keys of any type (DEL, EXISTS, RENAME, DBSIZE).
fn strings(engine: &mut Engine, model: &mut Model, step: &Step) {
    let (key, v) = (step.key, step.value);
    let string = |model: &Model| match model.get(key) {
        Some(Val::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
        None => Ok(None),
    };
    match step.op % OPS {
        0 => {
            check(engine, &[b"SET", key.as_bytes(), v], ok());
            model.insert(key, Val::Str(v.to_vec()));
        }
        1 => {
            let expect = string(model).map_or_else(|()| err(WRONG_TYPE), |s| bulk(s.as_deref()));
            check(engine, &[b"GET", key.as_bytes()], expect);
        }
        2 => {
            check(engine, &[b"DEL", key.as_bytes()], int(model.remove(key).is_some().into()));
        }
        3 => match string(model) {
            Err(()) => drop(check(engine, &[b"APPEND", key.as_bytes(), v], err(WRONG_TYPE))),
            Ok(current) => {
                let mut s = current.unwrap_or_default();
                s.extend_from_slice(v);
                check(engine, &[b"APPEND", key.as_bytes(), v], int(s.len() as i64));
                model.insert(key, Val::Str(s));
            }
        },
        4 => incr(engine, model, key),
        5 => {
            let exists = model.contains_key(key);
            check(engine, &[b"SETNX", key.as_bytes(), v], int((!exists).into()));
            model.entry(key).or_insert_with(|| Val::Str(v.to_vec()));
        }
        6 => match string(model) {
            Err(()) => drop(check(engine, &[b"GETDEL", key.as_bytes()], err(WRONG_TYPE))),
            Ok(s) => {
                check(engine, &[b"GETDEL", key.as_bytes()], bulk(s.as_deref()));
                model.remove(key);
            }
        },
        7 => {
            check(engine, &[b"EXISTS", key.as_bytes()], int(model.contains_key(key).into()));
        }
        8 => setrange(engine, model, key, v),
        9 => {
            let moved = model.remove(key);
            let expect = if moved.is_some() { ok() } else { err("ERR no such key") };
            check(engine, &[b"RENAME", key.as_bytes(), b"b"], expect);
            if let Some(value) = moved {
                model.insert("b", value);
            }
        }
        _ => {
            check(engine, &[b"DBSIZE"], int(model.len() as i64));
        }
    }
}

fn incr(engine: &mut Engine, model: &mut Model, key: &'static str) {
    let args: [&[u8]; 2] = [b"INCR", key.as_bytes()];
    let current = match model.get(key) {
        Some(Val::Str(s)) => parse_i64(s),
        Some(_) => return drop(check(engine, &args, err(WRONG_TYPE))),
        None => Some(0),
    };
    match current.map(|n| n.checked_add(1)) {
        None => drop(check(engine, &args, err("ERR value is not an integer or out of range"))),
        Some(None) => drop(check(engine, &args, err("ERR increment or decrement would overflow"))),
        Some(Some(n)) => {
            check(engine, &args, int(n));
            model.insert(key, Val::Str(n.to_string().into_bytes()));
        }
    }
}

fn setrange(engine: &mut Engine, model: &mut Model, key: &'static str, v: &[u8]) {
    let args: [&[u8]; 4] = [b"SETRANGE", key.as_bytes(), b"2", v];
    let mut s = match model.get(key) {
        Some(Val::Str(s)) => s.clone(),
        Some(_) => return drop(check(engine, &args, err(WRONG_TYPE))),
        None => Vec::new(),
    };
    if !v.is_empty() {
        if s.len() < 2 + v.len() {
            s.resize(2 + v.len(), 0);
        }
        s[2..2 + v.len()].copy_from_slice(v);
    }
    check(engine, &args, int(s.len() as i64));
    if !s.is_empty() {
        model.insert(key, Val::Str(s));
    }
}

/// The hash at `key`: `Err` when the key holds another type, an empty hash when it is missing.
fn hash_of(model: &Model, key: &str) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, ()> {
    match model.get(key) {
        Some(Val::Hash(h)) => Ok(h.clone()),
        Some(_) => Err(()),
        None => Ok(BTreeMap::new()),
    }
}

/// Stores a hash or set in the model, or removes the key when it is empty, as Redis does.
fn store(model: &mut Model, key: &'static str, value: Val) {
    let empty = match &value {
        Val::Hash(h) => h.is_empty(),
        Val::Set(s) => s.is_empty(),
        Val::List(l) => l.is_empty(),
        Val::Zset(z) => z.is_empty(),
        Val::Str(_) => false,
    };
    if empty {
        model.remove(key);
    } else {
        model.insert(key, value);
    }
}

fn hashes(engine: &mut Engine, model: &mut Model, step: &Step) {
    let (key, field) = (step.key, step.field());
    let args = hash_args(step);
    let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let Ok(mut hash) = hash_of(model, key) else {
        check(engine, &args, err(WRONG_TYPE));
        return;
    };
    let current = hash.get(field.as_bytes()).cloned();
    let expect = match step.op % OPS {
        11 => {
            hash.insert(field.into(), step.rest().to_vec());
            int(current.is_none().into())
        }
        12 => bulk(current.as_deref()),
        13 => {
            hash.remove(field.as_bytes());
            int(current.is_some().into())
        }
        14 => int(hash.len() as i64),
        15 => hincrby(&mut hash, field, current.as_deref(), i64::from(step.byte(1)) - 128),
        16 => hexpire(&mut hash, field, current.is_some(), step.byte(1) % 2 == 0),
        17 | 18 => Expect::Nodes(vec![Node::Array(1), Node::Integer(if current.is_some() { -1 } else { -2 })]),
        _ => Expect::Any,
    };
    let reply = check(engine, &args, expect);
    if step.op % OPS == 19 {
        assert_eq!(pairs(&reply), hash, "HGETALL {key}");
    }
    store(model, key, Val::Hash(hash));
}

fn hash_args(step: &Step) -> Vec<Vec<u8>> {
    let (key, field) = (step.key.as_bytes().to_vec(), step.field().as_bytes().to_vec());
    let words = |w: &[&str]| w.iter().map(|w| w.as_bytes().to_vec()).collect::<Vec<_>>();
    let by = (i64::from(step.byte(1)) - 128).to_string();
    let ms = if step.byte(1) % 2 == 0 { "0" } else { "100000" };
    let (command, tail): (&str, Vec<Vec<u8>>) = match step.op % OPS {
        11 => ("HSET", vec![field, step.rest().to_vec()]),
        12 => ("HGET", vec![field]),
        13 => ("HDEL", vec![field]),
        14 => ("HLEN", vec![]),
        15 => ("HINCRBY", vec![field, by.into_bytes()]),
        16 => ("HPEXPIRE", [words(&[ms, "FIELDS", "1"]), vec![field]].concat()),
        // Time stands still and no field keeps a TTL the model would need (see `hexpire`): a
        // field is -1 (no TTL) or -2 (missing).
        17 => ("HPERSIST", [words(&["FIELDS", "1"]), vec![field]].concat()),
        18 => ("HTTL", [words(&["FIELDS", "1"]), vec![field]].concat()),
        _ => ("HGETALL", vec![]),
    };
    [vec![command.as_bytes().to_vec(), key], tail].concat()
}

fn hincrby(hash: &mut BTreeMap<Vec<u8>, Vec<u8>>, field: &str, current: Option<&[u8]>, by: i64) -> Expect {
    let Some(n) = current.map_or(Some(0), parse_i64) else { return err("ERR hash value is not an integer") };
    let Some(n) = n.checked_add(by) else { return err("ERR increment or decrement would overflow") };
    hash.insert(field.into(), n.to_string().into_bytes());
    int(n)
}

/// HPEXPIRE with 0 (the field goes at once: 2) or 100 seconds (1). A field given a TTL is then
/// made persistent again by the fuzz loop, so the model never needs to know TTLs.
fn hexpire(hash: &mut BTreeMap<Vec<u8>, Vec<u8>>, field: &str, exists: bool, now: bool) -> Expect {
    let code = match (exists, now) {
        (false, _) => -2,
        (true, true) => {
            hash.remove(field.as_bytes());
            2
        }
        (true, false) => 1,
    };
    Expect::Nodes(vec![Node::Array(1), Node::Integer(code)])
}

/// A HGETALL reply as a map.
fn pairs(reply: &[Node]) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let items = bulks(reply);
    items.chunks(2).map(|pair| (pair[0].clone(), pair.get(1).cloned().unwrap_or_default())).collect()
}

/// The bulk strings of an array reply.
fn bulks(reply: &[Node]) -> Vec<Vec<u8>> {
    reply.iter().filter_map(|n| if let Node::Bulk(b) = n { Some(b.clone()) } else { None }).collect()
}

fn set_of(model: &Model, key: &str) -> Result<BTreeSet<Vec<u8>>, ()> {
    match model.get(key) {
        Some(Val::Set(s)) => Ok(s.clone()),
        Some(_) => Err(()),
        None => Ok(BTreeSet::new()),
    }
}

fn sets(engine: &mut Engine, model: &mut Model, step: &Step) {
    let (key, member, other) = (step.key, step.member().as_bytes(), step.other_key());
    match step.op % OPS {
        24 => return sinter(engine, model, key, other),
        25 => return smove(engine, model, key, other, member),
        26 => return sunionstore(engine, model, key, other),
        _ => {}
    }
    let (command, with_member): (&[u8], bool) = match step.op % OPS {
        20 => (b"SADD", true),
        21 => (b"SREM", true),
        22 => (b"SISMEMBER", true),
        23 if step.byte(1) % 2 == 0 => (b"SCARD", false),
        _ => (b"SPOP", false),
    };
    let args: Vec<&[u8]> = if with_member { vec![command, key.as_bytes(), member] } else { vec![command, key.as_bytes()] };
    let Ok(mut set) = set_of(model, key) else {
        check(engine, &args, err(WRONG_TYPE));
        return;
    };
    let expect = match command {
        b"SADD" => int(set.insert(member.to_vec()).into()),
        b"SREM" => int(set.remove(member).into()),
        b"SISMEMBER" => int(set.contains(member).into()),
        b"SCARD" => int(set.len() as i64),
        _ => Expect::Any,
    };
    let reply = check(engine, &args, expect);
    if command == b"SPOP" {
        match reply.first() {
            Some(Node::Bulk(popped)) => assert!(set.remove(popped), "SPOP gave a member the set had"),
            _ => assert!(set.is_empty() && reply == [Node::Nil], "SPOP of an empty set"),
        }
    }
    store(model, key, Val::Set(set));
}

/// The sets at `keys`, or `None` when one holds another type (missing keys are empty sets).
fn sets_at(model: &Model, keys: &[&str]) -> Option<Vec<BTreeSet<Vec<u8>>>> {
    keys.iter().map(|key| set_of(model, key).ok()).collect()
}

fn sinter(engine: &mut Engine, model: &mut Model, key: &str, other: &str) {
    let args: [&[u8]; 3] = [b"SINTER", key.as_bytes(), other.as_bytes()];
    let Some(sets) = sets_at(model, &[key, other]) else {
        check(engine, &args, err(WRONG_TYPE));
        return;
    };
    let reply = check(engine, &args, Expect::Any);
    let expected: BTreeSet<Vec<u8>> = sets[0].intersection(&sets[1]).cloned().collect();
    assert_eq!(bulks(&reply).into_iter().collect::<BTreeSet<_>>(), expected, "SINTER {key} {other}");
}

fn smove(engine: &mut Engine, model: &mut Model, from: &'static str, to: &'static str, member: &[u8]) {
    let args: [&[u8]; 4] = [b"SMOVE", from.as_bytes(), to.as_bytes(), member];
    // A missing source is checked first: 0, whatever the destination holds.
    if !model.contains_key(from) {
        check(engine, &args, int(0));
        return;
    }
    let Some(mut sets) = sets_at(model, &[from, to]) else {
        check(engine, &args, err(WRONG_TYPE));
        return;
    };
    let moved = sets[0].contains(member);
    check(engine, &args, int(moved.into()));
    if moved && from != to {
        sets[0].remove(member);
        sets[1].insert(member.to_vec());
        let [source, destination] = [sets[0].clone(), sets[1].clone()];
        store(model, from, Val::Set(source));
        store(model, to, Val::Set(destination));
    }
}

/// SUNIONSTORE into `c`, whatever `c` held.
fn sunionstore(engine: &mut Engine, model: &mut Model, key: &str, other: &str) {
    let args: [&[u8]; 4] = [b"SUNIONSTORE", b"c", key.as_bytes(), other.as_bytes()];
    let Some(sets) = sets_at(model, &[key, other]) else {
        check(engine, &args, err(WRONG_TYPE));
        return;
    };
    let union: BTreeSet<Vec<u8>> = sets[0].union(&sets[1]).cloned().collect();
    check(engine, &args, int(union.len() as i64));
    store(model, "c", Val::Set(union));
}

fn zset_of(model: &Model, key: &str) -> Result<BTreeMap<Vec<u8>, f64>, ()> {
    match model.get(key) {
        Some(Val::Zset(z)) => Ok(z.clone()),
        Some(_) => Err(()),
        None => Ok(BTreeMap::new()),
    }
}

/// A sorted set's elements in its order: by score, then by member.
fn ordered(zset: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
    let mut elements: Vec<(Vec<u8>, f64)> = zset.iter().map(|(m, s)| (m.clone(), *s)).collect();
    elements.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    elements
}

/// A RESP2 `member score member score ...` reply as a map.
fn scored(reply: &[Node]) -> BTreeMap<Vec<u8>, f64> {
    let items = bulks(reply);
    let score = |text: &[u8]| std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).expect("a score");
    items.chunks(2).map(|pair| (pair[0].clone(), pair.get(1).map_or(0.0, |s| score(s)))).collect()
}

/// A score as the engine prints it. The model's scores are multiples of 1/4 well within 2^50,
/// whose `%.17g` text is the shortest one Rust prints.
fn score_text(score: f64) -> Vec<u8> {
    format!("{score}").into_bytes()
}

/// ZADD, ZINCRBY, ZREM, ZSCORE, ZRANK, ZPOPMIN/ZPOPMAX and ZUNIONSTORE, with the member scores
/// the fuzz input gives (multiples of 1/4 between -32 and 32).
fn sorted_sets(engine: &mut Engine, model: &mut Model, step: &Step) {
    let (key, member, other) = (step.key, step.member().as_bytes(), step.other_key());
    let op = step.op % OPS;
    if op == 39 {
        return zunionstore(engine, model, key, other);
    }
    let score = (f64::from(step.byte(1)) - 128.0) / 4.0;
    let score_arg = score_text(score);
    let max = step.byte(1) % 2 == 1;
    let args: Vec<&[u8]> = match op {
        33 => vec![b"ZADD", key.as_bytes(), &score_arg, member],
        34 => vec![b"ZINCRBY", key.as_bytes(), &score_arg, member],
        35 => vec![b"ZREM", key.as_bytes(), member],
        36 => vec![b"ZSCORE", key.as_bytes(), member],
        37 => vec![b"ZRANK", key.as_bytes(), member],
        _ => vec![if max { b"ZPOPMAX" } else { b"ZPOPMIN" }, key.as_bytes()],
    };
    let Ok(mut zset) = zset_of(model, key) else {
        check(engine, &args, err(WRONG_TYPE));
        return;
    };
    let current = zset.get(member).copied();
    let expect = match op {
        33 => int(zset.insert(member.to_vec(), score).is_none().into()),
        34 => {
            let total = current.unwrap_or(0.0) + score;
            zset.insert(member.to_vec(), total);
            bulk(Some(&score_text(total)))
        }
        35 => int(zset.remove(member).is_some().into()),
        36 => bulk(current.map(score_text).as_deref()),
        37 => match ordered(&zset).iter().position(|(m, _)| m == member) {
            Some(rank) => int(rank as i64),
            None => bulk(None),
        },
        _ => {
            let elements = ordered(&zset);
            match if max { elements.last() } else { elements.first() } {
                Some((popped, score)) => {
                    let nodes = vec![Node::Array(2), Node::Bulk(popped.clone()), Node::Bulk(score_text(*score))];
                    zset.remove(popped);
                    Expect::Nodes(nodes)
                }
                None => Expect::Nodes(vec![Node::Array(0)]),
            }
        }
    };
    check(engine, &args, expect);
    store(model, key, Val::Zset(zset));
}

/// ZUNIONSTORE into `c`, whatever `c` held: scores summed, a set's members scoring 1.
fn zunionstore(engine: &mut Engine, model: &mut Model, key: &str, other: &str) {
    let args: [&[u8]; 5] = [b"ZUNIONSTORE", b"c", b"2", key.as_bytes(), other.as_bytes()];
    let mut union: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    for source in [key, other] {
        let elements: Vec<(Vec<u8>, f64)> = match model.get(source) {
            None => Vec::new(),
            Some(Val::Zset(z)) => z.iter().map(|(m, s)| (m.clone(), *s)).collect(),
            Some(Val::Set(s)) => s.iter().map(|m| (m.clone(), 1.0)).collect(),
            Some(_) => return drop(check(engine, &args, err(WRONG_TYPE))),
        };
        for (member, score) in elements {
            *union.entry(member).or_insert(0.0) += score;
        }
    }
    check(engine, &args, int(union.len() as i64));
    store(model, "c", Val::Zset(union));
}

/// Bitmap and HyperLogLog commands, on strings.
fn bits(engine: &mut Engine, model: &mut Model, step: &Step) {
    let key = step.key;
    let offset = u64::from(step.byte(0) % 64);
    let (bit, byte_at, new_byte) = (step.byte(1) % 2, usize::from(step.byte(1) % 4), step.byte(2));
    let (offset_text, bit_text, at_text, byte_text) =
        (offset.to_string(), bit.to_string(), format!("#{byte_at}"), new_byte.to_string());
    let op = step.op % OPS;
    let args: Vec<&[u8]> = match op {
        27 => vec![b"SETBIT", key.as_bytes(), offset_text.as_bytes(), bit_text.as_bytes()],
        28 => vec![b"GETBIT", key.as_bytes(), offset_text.as_bytes()],
        29 => vec![b"BITCOUNT", key.as_bytes()],
        30 => vec![b"BITFIELD", key.as_bytes(), b"SET", b"u8", at_text.as_bytes(), byte_text.as_bytes()],
        31 => vec![b"PFADD", key.as_bytes(), step.member().as_bytes()],
        _ => vec![b"PFCOUNT", key.as_bytes()],
    };
    let (exists, mut s) = match model.get(key) {
        Some(Val::Str(s)) => (true, s.clone()),
        Some(_) => return drop(check(engine, &args, err(WRONG_TYPE))),
        None => (false, Vec::new()),
    };
    let bit_of = |s: &[u8], at: u64| s.get((at / 8) as usize).map_or(0, |b| (b >> (7 - at % 8)) & 1);
    let expect = match op {
        27 => {
            let old = bit_of(&s, offset);
            s.resize(s.len().max(offset as usize / 8 + 1), 0);
            s[offset as usize / 8] = s[offset as usize / 8] & !(0x80 >> (offset % 8)) | (bit << (7 - offset % 8));
            int(old.into())
        }
        28 => int(bit_of(&s, offset).into()),
        29 => int(s.iter().map(|b| i64::from(b.count_ones())).sum()),
        30 => {
            let old = s.get(byte_at).copied().unwrap_or(0);
            s.resize(s.len().max(byte_at + 1), 0);
            s[byte_at] = new_byte;
            Expect::Nodes(vec![Node::Array(1), Node::Integer(old.into())])
        }
        // A string that is not a sketch at all is refused with HyperLogLog's own text; one that
        // starts like a sketch may still be corrupt. A sketch changes in ways the model does not
        // follow: it is read back below.
        _ if exists && !s.starts_with(b"HYLL") => err(NOT_A_SKETCH),
        31 if !exists => int(1),
        32 if !exists => int(0),
        _ => Expect::Any,
    };
    check(engine, &args, expect);
    if op >= 31 {
        if let Some(read) = read_back(engine, key) {
            model.insert(key, read);
        }
    } else if op == 27 || op == 30 {
        model.insert(key, Val::Str(s));
    }
}

fn list_of(model: &Model, key: &str) -> Result<VecDeque<Vec<u8>>, ()> {
    match model.get(key) {
        Some(Val::List(l)) => Ok(l.clone()),
        Some(_) => Err(()),
        None => Ok(VecDeque::new()),
    }
}

/// A list index from the fuzz input: -4..=3, so both ends and out-of-range ones come up.
fn index(step: &Step) -> i64 {
    i64::from(step.byte(1) % 8) - 4
}

fn position(index: i64, len: usize) -> Option<usize> {
    let at = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&at).then_some(at as usize)
}

/// List commands, each checked against a deque.
fn lists(engine: &mut Engine, model: &mut Model, step: &Step) {
    let (key, element, other) = (step.key, step.member().as_bytes(), step.other_key());
    if step.op % OPS == 49 {
        return lmove(engine, model, key, other, step.byte(1));
    }
    let Ok(mut list) = list_of(model, key) else {
        let args: [&[u8]; 3] = [b"LPUSH", key.as_bytes(), element];
        check(engine, &args, err(WRONG_TYPE));
        return;
    };
    let at = index(step);
    let at_text = at.to_string();
    let k = key.as_bytes();
    let (args, expect): (Vec<&[u8]>, Expect) = match step.op % OPS {
        40 => {
            list.push_front(element.to_vec());
            (vec![b"LPUSH", k, element], int(list.len() as i64))
        }
        41 => {
            list.push_back(element.to_vec());
            (vec![b"RPUSH", k, element], int(list.len() as i64))
        }
        42 => (vec![b"LPOP", k], bulk(list.pop_front().as_deref())),
        43 => (vec![b"RPOP", k], bulk(list.pop_back().as_deref())),
        44 => (vec![b"LINDEX", k, at_text.as_bytes()], bulk(position(at, list.len()).map(|p| list[p].as_slice()))),
        45 => (vec![b"LLEN", k], int(list.len() as i64)),
        46 => match position(at, list.len()) {
            Some(p) => {
                list[p] = element.to_vec();
                (vec![b"LSET", k, at_text.as_bytes(), element], ok())
            }
            None if list.is_empty() => (vec![b"LSET", k, at_text.as_bytes(), element], err("ERR no such key")),
            None => (vec![b"LSET", k, at_text.as_bytes(), element], err("ERR index out of range")),
        },
        47 => {
            let before = list.len();
            list.retain(|e| e.as_slice() != element);
            (vec![b"LREM", k, b"0", element], int((before - list.len()) as i64))
        }
        _ => {
            let pivot = MEMBERS[usize::from(step.byte(1)) % MEMBERS.len()].as_bytes();
            let expect = match list.iter().position(|e| e.as_slice() == pivot) {
                Some(p) => {
                    list.insert(p + 1, element.to_vec());
                    int(list.len() as i64)
                }
                None if list.is_empty() => int(0),
                None => int(-1),
            };
            (vec![b"LINSERT", k, b"AFTER", pivot, element], expect)
        }
    };
    check(engine, &args, expect);
    store(model, key, Val::List(list));
}

fn lmove(engine: &mut Engine, model: &mut Model, from: &'static str, to: &'static str, ends: u8) {
    let (from_end, to_end): (&[u8], &[u8]) = (if ends & 1 == 0 { b"LEFT" } else { b"RIGHT" }, if ends & 2 == 0 { b"LEFT" } else { b"RIGHT" });
    let args: [&[u8]; 5] = [b"LMOVE", from.as_bytes(), to.as_bytes(), from_end, to_end];
    let (Ok(mut source), Ok(destination)) = (list_of(model, from), list_of(model, to)) else {
        let source_ok = list_of(model, from).is_ok();
        let source_empty = source_ok && list_of(model, from).is_ok_and(|l| l.is_empty());
        check(engine, &args, if source_empty { bulk(None) } else { err(WRONG_TYPE) });
        return;
    };
    let moved = if from_end == b"LEFT" { source.pop_front() } else { source.pop_back() };
    check(engine, &args, bulk(moved.as_deref()));
    let Some(element) = moved else { return };
    store(model, from, Val::List(source));
    let mut destination = if from == to { list_of(model, to).unwrap_or_default() } else { destination };
    if to_end == b"LEFT" {
        destination.push_front(element);
    } else {
        destination.push_back(element);
    }
    store(model, to, Val::List(destination));
}

fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    cachet_guest::resp::encode_command(&mut out, args);
    out
}

fn peer() -> Peer {
    Peer { kind: PeerKind::Tcp, address: "127.0.0.1:1".into(), local_address: "127.0.0.1:2".into() }
}

/// What the engine holds at `key`, read with commands of its type.
fn read_back(engine: &mut Engine, key: &str) -> Option<Val> {
    let kind = send(engine, &[b"TYPE", key.as_bytes()]);
    let reply = |engine: &mut Engine, command: &[u8]| send(engine, &[command, key.as_bytes()]);
    match kind.first() {
        Some(Node::Simple(t)) if t == "string" => match reply(engine, b"GET").first() {
            Some(Node::Bulk(s)) => Some(Val::Str(s.clone())),
            other => panic!("GET of a string {key}: {other:?}"),
        },
        Some(Node::Simple(t)) if t == "hash" => Some(Val::Hash(pairs(&reply(engine, b"HGETALL")))),
        Some(Node::Simple(t)) if t == "set" => Some(Val::Set(bulks(&reply(engine, b"SMEMBERS")).into_iter().collect())),
        Some(Node::Simple(t)) if t == "list" => {
            Some(Val::List(bulks(&send(engine, &[b"LRANGE", key.as_bytes(), b"0", b"-1"])).into_iter().collect()))
        }
        Some(Node::Simple(t)) if t == "zset" => Some(Val::Zset(scored(&send(engine, &[b"ZRANGE", key.as_bytes(), b"0", b"-1", b"WITHSCORES"])))),
        Some(Node::Simple(t)) if t == "none" => None,
        other => panic!("TYPE {key}: {other:?}"),
    }
}

/// Removes every field TTL, so the model, which knows none, stays exact however long a run is.
fn persist_fields(engine: &mut Engine, model: &Model) {
    for (key, value) in model {
        if let Val::Hash(hash) = value {
            for field in hash.keys() {
                send(engine, &[b"HPERSIST", key.as_bytes(), b"FIELDS", b"1", field]);
            }
        }
    }
}

/// Runs a free-form command on connection 2, reopening any connection it closed (QUIT, CLIENT
/// KILL), then reads the model back from the engine.
fn free_form(engine: &mut Engine, model: &mut Model, value: &[u8]) {
    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let args: Vec<&[u8]> = value.split(|b| *b == b' ').collect();
    if args[0].is_empty() || args[0].eq_ignore_ascii_case(b"CONFIG") || waits(&args) {
        return;
    }
    for out in engine.feed(now, &[Input { id: 2, data: &encode(&args) }]) {
        assert!(out.data.is_empty() || out.data.ends_with(b"\r\n"));
        if out.close {
            engine.close(now, out.id);
            assert!(engine.open(now, out.id, peer(), None).is_none());
        }
    }
    let read = read_model(engine);
    persist_fields(engine, &read);
    *model = read;
}

/// Commands that would make connection 2 wait (a blocking pop, later served behind the model's
/// back) or hold connection 1's commands (CLIENT PAUSE): not run free-form.
fn waits(args: &[&[u8]]) -> bool {
    const BLOCKING: [&[u8]; 8] = [b"BLPOP", b"BRPOP", b"BLMOVE", b"BRPOPLPUSH", b"BLMPOP", b"BZPOPMIN", b"BZPOPMAX", b"BZMPOP"];
    BLOCKING.iter().any(|name| args[0].eq_ignore_ascii_case(name))
        || (args[0].eq_ignore_ascii_case(b"CLIENT") && args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"PAUSE")))
}

fn read_model(engine: &mut Engine) -> Model {
    KEYS.iter().filter_map(|k| read_back(engine, k).map(|v| (*k, v))).collect()
}

fuzz_target!(|data: &[u8]| {
    let now = Now { wall_ms: 1_700_000_000_000, mono_ns: 1_000_000_000 };
    let mut engine = Engine::new(7);
    assert!(engine.open(now, 1, peer(), None).is_none());
    assert!(engine.open(now, 2, peer(), None).is_none());
    let mut model = Model::new();
    if data.first().is_some_and(|b| b & 0x80 != 0) {
        // Half the runs keep every collection in its large encoding from the second element on.
        let limits: [&[u8]; 4] = [b"zset-max-listpack-entries", b"hash-max-listpack-entries", b"set-max-listpack-entries", b"list-max-listpack-size"];
        for limit in limits {
            check(&mut engine, &[b"CONFIG", b"SET", limit, b"1"], ok());
        }
    }
    let mut rest = data;
    while rest.len() >= 3 {
        let (op, key, len) = (rest[0], KEYS[rest[1] as usize % KEYS.len()], rest[2] as usize % 16);
        let value = &rest[3..(3 + len).min(rest.len())];
        rest = &rest[(3 + len).min(rest.len())..];
        if op % OPS == FREE_FORM {
            free_form(&mut engine, &mut model, value);
            continue;
        }
        let step = Step { op, key, value };
        run(&mut engine, &mut model, &step);
        persist_fields(&mut engine, &model);
        for key in KEYS {
            assert_eq!(read_back(&mut engine, key), model.get(key).cloned(), "{key} after op {}", op % OPS);
        }
    }
});
