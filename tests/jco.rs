//! The same engine component in a second runtime. `tests/js/host.mjs` runs it under Node.js,
//! transpiled to JavaScript and core WebAssembly with its imports supplied by the script; this
//! test runs it under wasmtime through cachet's runtime, as a plugin host would. Both run one
//! script of RESP and key-value steps on one instance, and every step's result must be the same
//! JSON value, reply bytes included. A number of results are also checked against the values they
//! must have, so the two hosts cannot agree on a wrong answer.
//!
//! Node.js and the packages in `tests/js/package.json` are needed: `npm ci --prefix tests/js`.

use cachet::runtime::bindings::exports::cachet::engine::server::{Input, Peer};
use cachet::runtime::bindings::keyvalue::exports::cachet::engine::expiry::TimeToLive;
use cachet::runtime::bindings::keyvalue::exports::wasi::keyvalue0_2_0_draft2::atomics::CasError;
use cachet::runtime::bindings::keyvalue::exports::wasi::keyvalue0_2_0_draft2::store::Error as StoreError;
use cachet::runtime::{Backlog, EngineOutcome, PeerKind, PluginInstance, Runtime, RuntimeOptions, Time};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use wasmtime::component::ResourceAny;

// ---- JSON as both hosts write it -----------------------------------------------------------------

/// Bytes as the hosts print them: the text when they are UTF-8, else `{"hex": "..."}`.
fn bytes(data: &[u8]) -> Value {
    match std::str::from_utf8(data) {
        Ok(text) => json!(text),
        Err(_) => json!({ "hex": data.iter().map(|b| format!("{b:02x}")).collect::<String>() }),
    }
}

fn optional_bytes(data: Option<&[u8]>) -> Value {
    data.map_or(Value::Null, bytes)
}

fn text<'a>(step: &'a Value, key: &str) -> &'a str {
    step[key].as_str().unwrap_or_else(|| panic!("step {step} has no string `{key}`"))
}

fn int(step: &Value, key: &str) -> i64 {
    step[key].as_i64().unwrap_or_else(|| panic!("step {step} has no integer `{key}`"))
}

fn strings(step: &Value, key: &str) -> Vec<String> {
    serde_json::from_value(step[key].clone()).unwrap_or_else(|e| panic!("step {step}: `{key}` is not a list of strings: {e}"))
}

fn pairs(step: &Value, key: &str) -> Vec<(String, String)> {
    serde_json::from_value(step[key].clone()).unwrap_or_else(|e| panic!("step {step}: `{key}` is not a list of pairs: {e}"))
}

// ---- the script --------------------------------------------------------------------------------

/// What a step's result must be, beyond both hosts agreeing on it.
enum Expect {
    /// Nothing more: the result holds something that is fine but not fixed here (HELLO's reply).
    Agreement,
    /// The whole result.
    Result(Value),
    /// The `outputs` of a server call's result.
    Outputs(Value),
    /// The reply bytes of a `feed` step, which must have one output.
    Reply(&'static [u8]),
}

struct Step {
    json: Value,
    expect: Expect,
}

fn agree(json: Value) -> Step {
    Step { json, expect: Expect::Agreement }
}

fn expect(json: Value, result: Value) -> Step {
    Step { json, expect: Expect::Result(result) }
}

fn expect_outputs(json: Value, outputs: Value) -> Step {
    Step { json, expect: Expect::Outputs(outputs["outputs"].clone()) }
}

fn feed(text: &str, reply: &'static [u8]) -> Step {
    Step { json: json!({ "feed": text, "id": 1 }), expect: Expect::Reply(reply) }
}

/// RESP and key-value steps on one keyspace, each side reading what the other wrote.
fn script() -> Vec<Step> {
    let ok = || json!({ "ok": null });
    vec![
        expect(json!({ "configure": [["port", "6379"], ["bind", "127.0.0.1"]] }), ok()),
        expect(
            json!({ "configure": [["maxmemory-policy", "sometimes"]] }),
            json!({ "err": {
                "name": "maxmemory-policy",
                "message": "argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction",
            } }),
        ),
        expect(json!({ "kv": "configure", "settings": [["maxmemory", "64mb"]] }), ok()),
        agree(json!({ "kv": "configure", "settings": [["hz", "many"]] })),
        agree(json!({ "open": { "id": 1, "kind": "tcp", "address": "127.0.0.1:1", "local": "127.0.0.1:6379" } })),
        feed("PING\r\n", b"+PONG\r\n"),
        // Written through the key-value export, read over RESP, and the other way round.
        expect(json!({ "kv": "set", "bucket": "0", "key": "k", "value": "v" }), ok()),
        feed("GET k\r\n", b"$1\r\nv\r\n"),
        feed("SET counter 41\r\nINCR counter\r\n", b"+OK\r\n:42\r\n"),
        expect(json!({ "kv": "get", "bucket": "0", "key": "counter" }), json!({ "ok": "42" })),
        expect(json!({ "kv": "increment", "bucket": "0", "key": "counter", "delta": 8 }), json!({ "ok": 50 })),
        expect(json!({ "kv": "increment", "bucket": "0", "key": "fresh", "delta": -3 }), json!({ "ok": -3 })),
        // RESP3 from here on: nulls are `_`.
        agree(json!({ "feed": "HELLO 3\r\n", "id": 1 })),
        feed("MGET k counter fresh missing\r\n", b"*4\r\n$1\r\nv\r\n$2\r\n50\r\n$2\r\n-3\r\n_\r\n"),
        expect(json!({ "kv": "exists", "bucket": "0", "key": "k" }), json!({ "ok": true })),
        expect(json!({ "kv": "exists", "bucket": "0", "key": "missing" }), json!({ "ok": false })),
        feed("DEL k fresh\r\n", b":2\r\n"),
        expect(json!({ "kv": "get", "bucket": "0", "key": "k" }), ok()),
        expect(json!({ "kv": "delete", "bucket": "0", "key": "counter" }), ok()),
        feed("GET counter\r\n", b"_\r\n"),
        expect(json!({ "kv": "set-many", "bucket": "0", "pairs": [["a", "1"], ["b", "2"], ["c", "three"]] }), ok()),
        expect(
            json!({ "kv": "get-many", "bucket": "0", "keys": ["a", "nope", "c"] }),
            json!({ "ok": [["a", "1"], null, ["c", "three"]] }),
        ),
        feed("EXISTS a b c d\r\n", b":3\r\n"),
        feed("SET d 4\r\n", b"+OK\r\n"),
        expect(json!({ "kv": "list-keys", "bucket": "0" }), json!({ "ok": { "keys": ["a", "b", "c", "d"], "complete": true } })),
        expect(json!({ "kv": "delete-many", "bucket": "0", "keys": ["a", "b", "nope"] }), ok()),
        feed("EXISTS a b c d\r\n", b":2\r\n"),
        // Expiry, both ways.
        expect(json!({ "kv": "set-with-ttl", "bucket": "0", "key": "session", "value": "s", "ttl_ms": 100_000 }), ok()),
        feed("TTL session\r\n", b":100\r\n"),
        expect(json!({ "kv": "ttl", "bucket": "0", "key": "session" }), json!({ "ok": { "milliseconds": 100_000 } })),
        feed("SET perm x EX 50\r\n", b"+OK\r\n"),
        expect(json!({ "kv": "ttl", "bucket": "0", "key": "perm" }), json!({ "ok": { "milliseconds": 50_000 } })),
        expect(json!({ "kv": "expire", "bucket": "0", "key": "perm", "ttl_ms": null }), json!({ "ok": true })),
        feed("TTL perm\r\n", b":-1\r\n"),
        expect(json!({ "kv": "ttl", "bucket": "0", "key": "perm" }), json!({ "ok": "forever" })),
        expect(json!({ "kv": "expire", "bucket": "0", "key": "perm", "ttl_ms": 7_000 }), json!({ "ok": true })),
        feed("TTL perm\r\n", b":7\r\n"),
        expect(json!({ "kv": "expire", "bucket": "0", "key": "ghost", "ttl_ms": 1_000 }), json!({ "ok": false })),
        expect(json!({ "kv": "ttl", "bucket": "0", "key": "ghost" }), json!({ "ok": "missing" })),
        feed("TTL ghost\r\n", b":-2\r\n"),
        // Errors: the same texts through either interface.
        feed("INCR perm\r\n", b"-ERR value is not an integer or out of range\r\n"),
        expect(
            json!({ "kv": "increment", "bucket": "0", "key": "perm", "delta": 1 }),
            json!({ "err": { "other": "ERR value is not an integer or out of range" } }),
        ),
        feed("FOO bar\r\n", b"-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n"),
        feed("GET\r\n", b"-ERR wrong number of arguments for 'get' command\r\n"),
        expect(json!({ "kv": "open", "bucket": "nope" }), json!({ "err": "no-such-store" })),
        expect(json!({ "kv": "open", "bucket": "16" }), json!({ "err": "no-such-store" })),
        expect(json!({ "kv": "get", "bucket": "nope", "key": "k" }), json!({ "err": "no-such-store" })),
        expect(json!({ "kv": "open", "bucket": "default" }), ok()),
        expect(json!({ "kv": "get", "bucket": "default", "key": "d" }), json!({ "ok": "4" })),
        // Buckets are databases.
        expect(json!({ "kv": "set", "bucket": "3", "key": "k3", "value": "in three" }), ok()),
        expect(json!({ "kv": "get", "bucket": "0", "key": "k3" }), ok()),
        feed("SELECT 3\r\nGET k3\r\n", b"+OK\r\n$8\r\nin three\r\n"),
        // Compare-and-swap against a write made over RESP.
        expect(json!({ "kv": "cas", "bucket": "3", "key": "k3", "name": "c" }), json!({ "ok": { "current": "in three" } })),
        feed("SET k3 changed\r\n", b"+OK\r\n"),
        expect(json!({ "kv": "swap", "name": "c", "value": "lost" }), json!({ "err": { "cas-failed": { "ok": "changed" } } })),
        expect(json!({ "kv": "swap", "name": "c", "value": "won" }), ok()),
        feed("GET k3\r\n", b"$3\r\nwon\r\n"),
        expect(json!({ "kv": "cas", "bucket": "3", "key": "new", "name": "n" }), json!({ "ok": { "current": null } })),
        expect(json!({ "kv": "swap", "name": "n", "value": "made" }), ok()),
        feed("GET new\r\n", b"$4\r\nmade\r\n"),
        // Text beyond ASCII, and bytes that are not UTF-8 (half of a two-byte character).
        expect(json!({ "kv": "set", "bucket": "3", "key": "clé", "value": "é" }), ok()),
        feed("STRLEN clé\r\nGETRANGE clé 0 0\r\n", b":2\r\n$1\r\n\xc3\r\n"),
        expect(json!({ "kv": "list-keys", "bucket": "3" }), json!({ "ok": { "keys": ["clé", "k3", "new"], "complete": true } })),
        // An incomplete command is left for the host to offer again once the 21 bytes of its frame
        // are in; QUIT answers, then asks the host to close the connection.
        expect_outputs(
            json!({ "feed": "*2\r\n$3\r\nGET\r\n$2\r\nk", "id": 1 }),
            json!({ "outputs": [{ "id": 1, "progress": { "consumed": 0, "wanted": 21, "more": false }, "data": "", "close": false, "discard_unsent": false, "session": false }] }),
        ),
        expect_outputs(
            json!({ "feed": "QUIT\r\n", "id": 1 }),
            json!({ "outputs": [{ "id": 1, "progress": { "consumed": 6, "wanted": 0, "more": false }, "data": "+OK\r\n", "close": true, "discard_unsent": false, "session": false }] }),
        ),
    ]
}

// ---- the script under wasmtime -------------------------------------------------------------------

/// A step's recorded time, `[monotonic ns, wall ms]`; without one, each host reads its own clock.
fn step_time(step: &Value) -> Option<Time> {
    let now = step.get("now")?;
    let part = |i: usize| now[i].as_u64().unwrap_or_else(|| panic!("step {step}: `now` is [monotonic ns, wall ms]"));
    Some(Time { monotonic_ns: part(0), wall_ms: part(1) })
}

/// A server call's outcome as both hosts print it. Sessions hold the time a connection opened: with
/// recorded times they compare byte for byte (hex), with each host's own clock only their presence.
fn outcome_json(outcome: &EngineOutcome, recorded: bool) -> Value {
    let outputs: Vec<Value> = outcome
        .outputs
        .iter()
        .map(|o| {
            json!({
                "id": o.id,
                "progress": o.progress.map(|p| json!({ "consumed": p.consumed, "wanted": p.wanted, "more": p.more })),
                "data": bytes(&o.data),
                "close": o.close,
                "discard_unsent": o.discard_unsent,
                "session": match &o.session {
                    _ if !recorded => json!(o.session.is_some()),
                    Some(s) => json!(s.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                    None => Value::Null,
                },
            })
        })
        .collect();
    json!({ "outputs": outputs, "next_deadline": outcome.next_deadline })
}

struct Native {
    plugin: PluginInstance,
    buckets: HashMap<String, ResourceAny>,
    cases: HashMap<String, ResourceAny>,
}

fn store_error(error: &StoreError) -> Value {
    match error {
        StoreError::NoSuchStore => json!("no-such-store"),
        StoreError::AccessDenied => json!("access-denied"),
        StoreError::Other(message) => json!({ "other": message }),
    }
}

fn outcome<T>(result: Result<T, StoreError>, ok: impl FnOnce(T) -> Value) -> Value {
    match result {
        Ok(value) => json!({ "ok": ok(value) }),
        Err(error) => json!({ "err": store_error(&error) }),
    }
}

fn trap<T>(result: wasmtime::Result<T>, step: &Value) -> T {
    result.unwrap_or_else(|e| panic!("the component trapped under wasmtime at step {step}: {e:?}"))
}

impl Native {
    fn new(random_seed: Option<u64>) -> Native {
        // The same component Node.js runs (jco cannot translate the one with Lua), so that even
        // INFO's memory figures agree byte for byte.
        let options = RuntimeOptions { random_seed, component: cachet_component::WASM_WITHOUT_LUA, ..RuntimeOptions::default() };
        let runtime = Runtime::new(&options).expect("the embedded component loads in wasmtime");
        let plugin = runtime.instantiate_plugin().expect("a plugin instance");
        Native { plugin, buckets: HashMap::new(), cases: HashMap::new() }
    }

    fn run(&mut self, step: &Value) -> Value {
        if step.get("kv").is_some() {
            return self.keyvalue(step);
        }
        let server = self.plugin.server.cachet_engine_server();
        let store = &mut self.plugin.store;
        if step.get("configure").is_some() {
            let settings = pairs(step, "configure");
            let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            return match trap(server.call_configure(store, &settings), step) {
                Ok(()) => json!({ "ok": null }),
                Err(e) => json!({ "err": { "name": e.name, "message": e.message } }),
            };
        }
        let recorded = step_time(step).is_some();
        let now = step_time(step).unwrap_or_else(|| {
            let clock = store.data().clock;
            Time { monotonic_ns: clock.monotonic_ns(), wall_ms: clock.wall_ms() }
        });
        let outcome_json = |outcome: &EngineOutcome| outcome_json(outcome, recorded);
        if let Some(open) = step.get("open") {
            let kind = match text(open, "kind") {
                "tcp" => PeerKind::Tcp,
                "unix" => PeerKind::Unix,
                "udp" => PeerKind::Udp,
                other => panic!("no peer kind {other}"),
            };
            let peer = Peer { kind, address: text(open, "address"), local_address: text(open, "local") };
            return match trap(server.call_open(store, now, int(open, "id") as u64, peer, None), step) {
                Ok(welcome) => json!({ "ok": outcome_json(&welcome.into()) }),
                Err(refusal) => json!({ "err": bytes(&refusal) }),
            };
        }
        let backlogs: Vec<Backlog> = step
            .get("backlogs")
            .and_then(Value::as_array)
            .map(|list| {
                let pair = |b: &Value, i: usize| b.get(i).and_then(Value::as_u64).expect("[id, unsent]");
                list.iter().map(|b| Backlog { id: pair(b, 0), unsent: pair(b, 1) }).collect()
            })
            .unwrap_or_default();
        if step.get("feed").is_some() {
            let data = text(step, "feed").as_bytes();
            let input = Input { id: int(step, "id") as u64, len: data.len() as u32 };
            return outcome_json(&trap(server.call_feed(store, now, &backlogs, &[input], data), step).into());
        }
        if step.get("tick").is_some() {
            return outcome_json(&trap(server.call_tick(store, now, &backlogs), step).into());
        }
        if step.get("close").is_some() {
            return outcome_json(&trap(server.call_close(store, now, int(step, "close") as u64), step).into());
        }
        panic!("unknown step {step}");
    }

    /// The bucket a step names, opened on first use.
    fn bucket(&mut self, step: &Value) -> Result<ResourceAny, StoreError> {
        let id = text(step, "bucket");
        if let Some(bucket) = self.buckets.get(id) {
            return Ok(*bucket);
        }
        let store = self.plugin.keyvalue.wasi_keyvalue0_2_0_draft2_store();
        let bucket = trap(store.call_open(&mut self.plugin.store, id), step)?;
        self.buckets.insert(id.to_string(), bucket);
        Ok(bucket)
    }

    fn keyvalue(&mut self, step: &Value) -> Value {
        let op = text(step, "kv");
        let plugin = &mut self.plugin;
        let store = &mut plugin.store;
        match op {
            "configure" => {
                let settings = pairs(step, "settings");
                let maintenance = plugin.keyvalue.cachet_engine_maintenance();
                return match trap(maintenance.call_configure(store, &settings), step) {
                    Ok(()) => json!({ "ok": null }),
                    Err(message) => json!({ "err": message }),
                };
            }
            "open" => {
                let opened = trap(plugin.keyvalue.wasi_keyvalue0_2_0_draft2_store().call_open(&mut *store, text(step, "bucket")), step);
                if let Ok(bucket) = &opened {
                    trap(bucket.resource_drop(store), step);
                }
                return outcome(opened, |_| Value::Null);
            }
            "swap" => {
                let atomics = plugin.keyvalue.wasi_keyvalue0_2_0_draft2_atomics();
                let name = text(step, "name");
                let cas = self.cases.remove(name).unwrap_or_else(|| panic!("no cas named {name}"));
                let value = text(step, "value").as_bytes();
                return match trap(atomics.call_swap(&mut *store, cas, value), step) {
                    Ok(()) => json!({ "ok": null }),
                    Err(CasError::StoreError(e)) => json!({ "err": { "store-error": store_error(&e) } }),
                    Err(CasError::CasFailed(fresh)) => {
                        // A failed swap hands back a fresh CAS: it replaces the stale one, for a retry.
                        self.cases.insert(name.to_string(), fresh);
                        let current = trap(atomics.cas().call_current(store, fresh), step);
                        json!({ "err": { "cas-failed": outcome(current, |v| optional_bytes(v.as_deref())) } })
                    }
                };
            }
            _ => {}
        }
        let bucket = match self.bucket(step) {
            Ok(bucket) => bucket,
            Err(error) => return json!({ "err": store_error(&error) }),
        };
        let kv = &self.plugin.keyvalue;
        let (store, atomics, batch, expiry) =
            (kv.wasi_keyvalue0_2_0_draft2_store(), kv.wasi_keyvalue0_2_0_draft2_atomics(), kv.wasi_keyvalue0_2_0_draft2_batch(), kv.cachet_engine_expiry());
        let unit = |()| Value::Null;
        let s_ = &mut self.plugin.store;
        let key = || text(step, "key");
        let value = || text(step, "value").as_bytes();
        match op {
            "get" => outcome(trap(store.bucket().call_get(s_, bucket, key()), step), |v| optional_bytes(v.as_deref())),
            "set" => outcome(trap(store.bucket().call_set(s_, bucket, key(), value()), step), unit),
            "delete" => outcome(trap(store.bucket().call_delete(s_, bucket, key()), step), unit),
            "exists" => outcome(trap(store.bucket().call_exists(s_, bucket, key()), step), Value::Bool),
            "list-keys" => {
                let mut keys = Vec::new();
                let mut cursor: Option<String> = None;
                let mut pages = 0;
                loop {
                    let page = trap(store.bucket().call_list_keys(&mut *s_, bucket, cursor.as_deref()), step);
                    let page = match page {
                        Ok(page) => page,
                        Err(error) => return json!({ "err": store_error(&error) }),
                    };
                    pages += 1;
                    keys.extend(page.keys);
                    cursor = page.cursor;
                    if cursor.is_none() || pages >= 10_000 {
                        break;
                    }
                }
                keys.sort();
                json!({ "ok": { "keys": keys, "complete": cursor.is_none() } })
            }
            "increment" => outcome(trap(atomics.call_increment(s_, bucket, key(), int(step, "delta")), step), |n| json!(n)),
            "get-many" => outcome(trap(batch.call_get_many(s_, bucket, &strings(step, "keys")), step), |entries| {
                entries.into_iter().map(|e| e.map_or(Value::Null, |(k, v)| json!([k, bytes(&v)]))).collect()
            }),
            "set-many" => {
                let pairs: Vec<(String, Vec<u8>)> = pairs(step, "pairs").into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
                outcome(trap(batch.call_set_many(s_, bucket, &pairs), step), unit)
            }
            "delete-many" => outcome(trap(batch.call_delete_many(s_, bucket, &strings(step, "keys")), step), unit),
            "set-with-ttl" => {
                let ttl = int(step, "ttl_ms") as u64;
                outcome(trap(expiry.call_set_with_ttl(s_, bucket, key(), value(), ttl), step), unit)
            }
            "expire" => {
                let ttl = if step["ttl_ms"].is_null() { None } else { Some(int(step, "ttl_ms") as u64) };
                outcome(trap(expiry.call_expire(s_, bucket, key(), ttl), step), Value::Bool)
            }
            "ttl" => outcome(trap(expiry.call_ttl(s_, bucket, key()), step), |ttl| match ttl {
                TimeToLive::Missing => json!("missing"),
                TimeToLive::Forever => json!("forever"),
                // The two hosts read their clocks at different moments: whole seconds compare.
                TimeToLive::Milliseconds(ms) => json!({ "milliseconds": (ms + 500) / 1000 * 1000 }),
            }),
            "cas" => {
                let cas = match trap(atomics.cas().call_new(&mut *s_, bucket, key()), step) {
                    Ok(cas) => cas,
                    Err(error) => return json!({ "err": store_error(&error) }),
                };
                self.cases.insert(text(step, "name").to_string(), cas);
                let current = trap(atomics.cas().call_current(s_, cas), step);
                outcome(current, |v| json!({ "current": optional_bytes(v.as_deref()) }))
            }
            other => panic!("unknown key-value step {other}"),
        }
    }
}

// ---- the script under Node.js --------------------------------------------------------------------

const SETUP: &str = "run `npm ci --prefix tests/js` (tests/run does it)";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Fails, saying what to install, when Node.js or the JavaScript host's packages are missing.
fn check_js_setup() {
    let node = Command::new("node").arg("--version").output();
    let version = match node {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => panic!("`node --version` failed ({}): Node.js 20 or later is needed; then {SETUP}", out.status),
        Err(e) => panic!("Node.js is needed for this test and `node` could not be run ({e}): install Node.js 20 or later, then {SETUP}"),
    };
    let major: u32 = version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(major >= 20, "Node.js 20 or later is needed, found {version}");
    let modules = js_dir().join("node_modules");
    for needed in [".bin/jco", "@bytecodealliance/jco/package.json", "@bytecodealliance/preview2-shim/package.json"] {
        assert!(modules.join(needed).exists(), "tests/js/node_modules/{needed} is missing: {SETUP}");
    }
}

fn run_tool(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| panic!("{what} could not be started ({e}): {SETUP}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed ({}):\n{stderr}\n{}", out.status, String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{what} printed something that is not UTF-8: {e}"))
}

/// The component transpiled for JavaScript, once for the whole test binary.
fn transpiled() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        check_js_setup();
        let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("jco-{}", std::process::id()));
        std::fs::create_dir_all(&work).expect("a work directory");
        let wasm = work.join("cachet.wasm");
        std::fs::write(&wasm, cachet_component::WASM_WITHOUT_LUA).expect("writing the component");
        let out = work.join("js");
        let _ = std::fs::remove_dir_all(&out);
        let jco = js_dir().join("node_modules/.bin/jco");
        run_tool(
            Command::new(&jco)
                .arg("transpile")
                .arg(&wasm)
                .args(["--name", "cachet", "--instantiation", "async", "--no-typescript", "--quiet", "-o"])
                .arg(&out),
            "transpiling the component (jco transpile)",
        );
        out
    })
}

/// Runs the steps under `host.mjs`: one result per step.
fn run_under_node(name: &str, steps: &[Value], random_seed: Option<u64>) -> Vec<Value> {
    let dir = transpiled();
    let script = dir.with_file_name(format!("{name}.json"));
    let seeded = random_seed.map(|seed| json!({ "seed": seed }));
    let all: Vec<Value> = seeded.iter().cloned().chain(steps.iter().cloned()).collect();
    std::fs::write(&script, Value::from(all).to_string()).expect("writing the script");
    let stdout = run_tool(
        Command::new("node").arg(js_dir().join("host.mjs")).arg(dir).arg(&script),
        "running the script under Node.js (tests/js/host.mjs)",
    );
    let lines: Vec<&str> = stdout.lines().skip(usize::from(random_seed.is_some())).collect();
    assert_eq!(lines.len(), steps.len(), "Node.js printed {} lines for {} steps:\n{stdout}", lines.len(), steps.len());
    lines
        .iter()
        .zip(steps)
        .map(|(line, step)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("step {step}: Node.js printed something that is not JSON ({e}): {line}"))
        })
        .collect()
}

/// Runs the steps in both runtimes and checks that every step's result is the same; returns them.
fn run_in_both(name: &str, steps: &[Value], random_seed: Option<u64>) -> Vec<Value> {
    let started = Instant::now();
    let node = run_under_node(name, steps, random_seed);
    let node_time = started.elapsed();
    let started = Instant::now();
    let mut native = Native::new(random_seed);
    let results: Vec<Value> = steps.iter().map(|s| native.run(s)).collect();
    eprintln!("{name}: {} steps: Node.js {node_time:?}, wasmtime {:?} (with compiling)", steps.len(), started.elapsed());
    for (i, ((step, under_wasmtime), under_node)) in steps.iter().zip(&results).zip(&node).enumerate() {
        assert!(
            under_node == under_wasmtime,
            "{name}: step {i} {step} differs between the runtimes\n  Node.js:  {under_node}\n  wasmtime: {under_wasmtime}",
        );
    }
    results
}

// ---- the tests -----------------------------------------------------------------------------------

#[test]
fn node_and_wasmtime_run_the_component_alike() {
    let steps = script();
    let json: Vec<Value> = steps.iter().map(|s| s.json.clone()).collect();
    let results = run_in_both("script", &json, None);
    for (i, (step, result)) in steps.iter().zip(&results).enumerate() {
        match &step.expect {
            Expect::Agreement => {}
            Expect::Result(expected) => assert!(result == expected, "step {i} {}: expected {expected}, got {result}", step.json),
            Expect::Outputs(expected) => {
                let outputs = &result["outputs"];
                assert!(outputs == expected, "step {i} {}: expected outputs {expected}, got {result}", step.json);
            }
            Expect::Reply(expected) => {
                let outputs = result["outputs"].as_array().map_or(&[][..], Vec::as_slice);
                assert_eq!(outputs.len(), 1, "step {i} {}: one output expected, got {result}", step.json);
                let (reply, expected) = (&outputs[0]["data"], bytes(expected));
                assert!(*reply == expected, "step {i} {}: the reply should be {expected}, not {reply}", step.json);
            }
        }
    }
}

/// A recorded session: every server call with the time it was made at. The engine decides nothing
/// by a clock (it reads one only to time commands) and, with a seeded host, draws the same random
/// numbers, so both runtimes must give the same bytes for every call — replies, pushes, closes,
/// sessions and deadlines — through expiry (lazy and by the timer), eviction under maxmemory, an
/// idle timeout and CLIENT KILL. The slow log is off: which commands take 10 ms is a measurement
/// that differs between runtimes, and an entry would show in INFO's used_memory.
fn recorded_session(maxmemory: u64) -> Vec<Value> {
    const START_NS: u64 = 5_000_000_000;
    const START_MS: u64 = 1_750_000_000_000;
    let at = |ms: u64| json!([START_NS + ms * 1_000_000, START_MS + ms]);
    let feed = |ms: u64, id: u64, text: &str| json!({ "feed": text, "id": id, "now": at(ms) });
    let open = |ms: u64, id: u64| {
        json!({ "open": { "id": id, "kind": "tcp", "address": format!("127.0.0.1:{}", 40000 + id), "local": "127.0.0.1:6379" }, "now": at(ms) })
    };
    let mut steps = vec![
        json!({ "configure": [["port", "6379"], ["maxmemory-policy", "allkeys-random"], ["hz", "10"], ["slowlog-log-slower-than", "-1"]] }),
        open(0, 1),
        open(0, 2),
        open(1, 3),
        feed(2, 1, "HELLO 3\r\nSET short v PX 150\r\nSET lazy v PX 305\r\nSET keeps v\r\nPTTL short\r\n"),
        json!({ "tick": true, "now": at(50) }),
        feed(100, 2, "DBSIZE\r\nTIME\r\n"),
        // The timer's expiry takes `short` (nobody reads it); `lazy` goes when it is read.
        json!({ "tick": true, "now": at(200) }),
        json!({ "tick": true, "now": at(300) }),
        feed(310, 2, "GET lazy\r\nGET keeps\r\nDBSIZE\r\nINFO keyspace\r\n"),
        // One client closes another, idle one; the victim's output comes from a call it was not in.
        feed(400, 1, "CLIENT KILL ID 3\r\nCLIENT LIST\r\n"),
        json!({ "close": 3, "now": at(401) }),
    ];
    let value = "x".repeat(2000);
    for batch in 0..4 {
        let mut text = String::new();
        for i in 0..25 {
            text.push_str(&format!("SET key:{batch}:{i} {value}\r\n"));
        }
        steps.push(feed(500 + batch, 2, &text));
    }
    steps.extend([
        feed(600, 2, "INFO memory\r\n"),
        // Eviction: a memory cap below what the keys take, reached by sampling random keys.
        feed(700, 2, &format!("CONFIG SET maxmemory {maxmemory}\r\nSET one-more v\r\nDBSIZE\r\nINFO stats\r\nCONFIG SET maxmemory 0\r\n")),
        // An idle timeout, run by the timer at the deadline the engine reported.
        feed(800, 1, "CONFIG SET timeout 1\r\n"),
        json!({ "tick": true, "now": at(900) }),
        feed(1500, 1, "PING\r\n"),
        json!({ "tick": true, "now": at(2000) }),
        feed(2100, 1, "CLIENT LIST\r\nINFO clients\r\n"),
        // Output buffer limits: a subscriber over the soft limit for more than its second is
        // closed by the timer at the deadline the engine reported; one whose backlog reaches the
        // hard limit is closed at once, its unwritten output dropped.
        feed(2200, 1, "*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$7\r\ntimeout\r\n$1\r\n0\r\n*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$26\r\nclient-output-buffer-limit\r\n$17\r\npubsub 1000 500 1\r\n"),
        open(2200, 4),
        feed(2201, 4, "SUBSCRIBE news\r\n"),
        json!({ "tick": true, "now": at(2300), "backlogs": [[4, 600]] }),
        json!({ "feed": "PUBLISH news hello\r\nCLIENT LIST\r\n", "id": 1, "now": at(2400), "backlogs": [[4, 700]] }),
        json!({ "tick": true, "now": at(3301) }),
        open(3400, 5),
        feed(3401, 5, "SUBSCRIBE news\r\n"),
        json!({ "feed": "PUBLISH news again\r\n", "id": 1, "now": at(3500), "backlogs": [[5, 990]] }),
        feed(3501, 1, "INFO stats\r\n"),
    ]);
    steps
}

/// Where the recorded session reports its memory, and where it then evicts.
const MEMORY_STEP: usize = 16;
const EVICTION_STEP: usize = 17;
const IDLE_TICK_STEP: usize = 21;
/// Where the subscriber's backlog first reaches the soft output buffer limit.
const SOFT_LIMIT_STEP: usize = 26;

#[test]
fn a_recorded_session_replays_to_the_same_bytes_in_both_runtimes() {
    // The cap that makes about half of the 200 KB of values go: from the memory the session uses
    // at that point, which is itself the same in every run.
    let probe = recorded_session(0);
    let mut native = Native::new(Some(0x5eed));
    let info = probe[..=MEMORY_STEP].iter().map(|step| native.run(step)).last().expect("steps");
    let info = info["outputs"][0]["data"].as_str().expect("INFO memory").to_string();
    let used: u64 = info
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in {info}"));
    let steps = recorded_session(used - 100_000);
    let results = run_in_both("replay", &steps, Some(0x5eed));
    // Twice under wasmtime, too: nothing of the host's clock or randomness leaks in.
    let mut again = Native::new(Some(0x5eed));
    for (step, first) in steps.iter().zip(&results) {
        assert_eq!(&again.run(step), first, "step {step} differs between two wasmtime runs");
    }
    let data = |i: usize, id: u64| -> String {
        let outputs = results[i]["outputs"].as_array().expect("a server step");
        outputs.iter().filter(|o| o["id"] == id).map(|o| o["data"].as_str().unwrap_or("<binary>").to_string()).collect()
    };
    let closed = |i: usize, id: u64| results[i]["outputs"].as_array().expect("a server step").iter().any(|o| o["id"] == id && o["close"] == true);
    assert_eq!(data(6, 2), ":3\r\n*2\r\n$10\r\n1750000000\r\n$6\r\n100000\r\n");
    assert!(data(9, 2).starts_with("$-1\r\n$1\r\nv\r\n:1\r\n"), "expired by the timer and lazily: {}", data(9, 2));
    assert!(data(10, 1).starts_with(":1\r\n") && closed(10, 3), "CLIENT KILL closes connection 3 in the same call");
    let evicted = data(EVICTION_STEP, 2);
    let kept: u64 = evicted.split("\r\n").nth(2).and_then(|n| n.strip_prefix(':')).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!((20..=90).contains(&kept), "about half the keys are evicted: {evicted}");
    assert!(evicted.contains("evicted_keys:") && !evicted.contains("evicted_keys:0\r\n"), "{evicted}");
    assert!(closed(IDLE_TICK_STEP, 2) && !closed(IDLE_TICK_STEP, 1), "the idle client 2 is closed by the timer, 1 is not");
    assert!(!closed(IDLE_TICK_STEP - 2, 2), "not before it has been idle for the whole timeout");
    let discarded = |i: usize, id: u64| {
        results[i]["outputs"].as_array().expect("a server step").iter().any(|o| o["id"] == id && o["close"] == true && o["discard_unsent"] == true)
    };
    let soft_deadline = 5_000_000_000u64 + 2_300_000_000 + 1_000_000_000 + 1;
    assert_eq!(results[SOFT_LIMIT_STEP]["next_deadline"], soft_deadline, "the soft limit's clock is the next deadline");
    assert!(data(SOFT_LIMIT_STEP + 1, 4).contains("hello") && !closed(SOFT_LIMIT_STEP + 1, 4), "within its second the subscriber stays");
    assert!(discarded(SOFT_LIMIT_STEP + 2, 4), "past its second over the soft limit, the timer closes it");
    assert!(discarded(SOFT_LIMIT_STEP + 5, 5), "a backlog reaching the hard limit closes at once");
    assert!(data(SOFT_LIMIT_STEP + 6, 1).contains("client_output_buffer_limit_disconnections:2\r\n"));
    for step in &results {
        assert!(step.get("next_deadline").is_none_or(|d| d.is_null() || d.is_u64()), "{step}");
    }
}
