//! The contract a plugin host relies on, checked from a host written as a host author would write
//! one: its own clock (a fake one, moved by the test), its own log, a cap on linear memory, and
//! every import but cachet's clock, random and log linked as a trap. Nothing of cachet's runtime is
//! used but the compiled component, so what passes here is what docs/EMBEDDING.md promises any
//! host: the out-of-memory fault, the clock rule and the wasi:keyvalue conformance table.

use cachet::capabilities::bindings::cachet::engine::{clock, log, random};
use cachet::runtime::bindings::ServerEngine;
use cachet::runtime::bindings::exports::cachet::engine::server::{Input, Peer, PeerKind, Time};
use cachet::runtime::bindings::keyvalue::Keyvalue;
use cachet::runtime::bindings::keyvalue::exports::cachet::engine::expiry::TimeToLive;
use cachet::runtime::bindings::keyvalue::exports::wasi::keyvalue0_2_0_draft2::atomics::CasError;
use cachet::runtime::bindings::keyvalue::exports::wasi::keyvalue0_2_0_draft::store::Error as DraftError;
use cachet::runtime::bindings::keyvalue::exports::wasi::keyvalue0_2_0_draft2::store::Error;
use cachet::runtime::{Runtime, RuntimeOptions};
use std::sync::OnceLock;
use wasmtime::component::{Component, HasSelf, Linker, ResourceAny};
use wasmtime::{StoreLimits, StoreLimitsBuilder, Trap};

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(&RuntimeOptions::default()).expect("the embedded component loads"))
}

/// What the host keeps for one instance: the time it tells the component, the lines the
/// component logged, and the memory cap.
struct HostState {
    mono_ns: u64,
    wall_ms: u64,
    logged: Vec<(log::Level, String)>,
    limits: StoreLimits,
}

impl clock::Host for HostState {
    fn monotonic_now(&mut self) -> u64 {
        self.mono_ns
    }

    fn wall_now(&mut self) -> u64 {
        self.wall_ms
    }
}

impl random::Host for HostState {
    fn random_u64(&mut self) -> u64 {
        0x5eed_5eed_5eed_5eed
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        self.logged.push((level, message));
    }
}

/// One instance with its store and the bindings of the worlds it is driven through (the server's
/// when the component has it).
struct Plugin {
    store: wasmtime::Store<HostState>,
    kv: Keyvalue,
    server: Option<ServerEngine>,
}

const START_WALL_MS: u64 = 1_700_000_000_000;

/// The component built for the keyvalue world alone (`cachet component --world keyvalue`).
fn keyvalue_only() -> &'static Component {
    static COMPILED: OnceLock<Component> = OnceLock::new();
    COMPILED.get_or_init(|| Component::new(runtime().engine(), cachet_component::KEYVALUE).expect("the keyvalue component loads"))
}

/// A linker with cachet's clock, random and log, implemented by this host, and nothing else.
fn capabilities_linker() -> Linker<HostState> {
    let mut linker = Linker::<HostState>::new(runtime().engine());
    clock::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).expect("linking the clock");
    random::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).expect("linking random");
    log::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s).expect("linking the log");
    linker
}

impl Plugin {
    /// An instance of the engine with every world, whose linear memory may grow to `memory_cap`
    /// bytes; WASI and the streams are linked as traps.
    fn new(memory_cap: Option<usize>) -> Plugin {
        let component = runtime().component();
        let mut linker = capabilities_linker();
        linker.define_unknown_imports_as_traps(component).expect("linking WASI and the streams as traps");
        Plugin::instantiate(&linker, component, memory_cap)
    }

    /// An instance of the keyvalue world alone, linked with cachet's capabilities and nothing else.
    fn keyvalue_only(memory_cap: Option<usize>) -> Plugin {
        Plugin::instantiate(&capabilities_linker(), keyvalue_only(), memory_cap)
    }

    fn instantiate(linker: &Linker<HostState>, component: &Component, memory_cap: Option<usize>) -> Plugin {
        let mut limits = StoreLimitsBuilder::new();
        if let Some(cap) = memory_cap {
            limits = limits.memory_size(cap);
        }
        let state = HostState { mono_ns: 1_000_000_000, wall_ms: START_WALL_MS, logged: Vec::new(), limits: limits.build() };
        let mut store = wasmtime::Store::new(runtime().engine(), state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(1_000_000);
        let instance = linker.instantiate(&mut store, component).expect("instantiating with cachet's capabilities only");
        let kv = Keyvalue::new(&mut store, &instance).expect("the key-value exports");
        let server = ServerEngine::new(&mut store, &instance).ok();
        Plugin { store, kv, server }
    }

    fn open(&mut self, name: &str) -> Result<ResourceAny, Error> {
        self.kv.wasi_keyvalue0_2_0_draft2_store().call_open(&mut self.store, name).expect("open does not trap")
    }

    fn bucket(&mut self, name: &str) -> ResourceAny {
        self.open(name).unwrap_or_else(|e| panic!("bucket {name}: {e:?}"))
    }

    fn set(&mut self, bucket: ResourceAny, key: &str, value: &[u8]) {
        self.kv.wasi_keyvalue0_2_0_draft2_store().bucket().call_set(&mut self.store, bucket, key, value).expect("no trap").expect("stored");
    }

    fn get(&mut self, bucket: ResourceAny, key: &str) -> Option<Vec<u8>> {
        self.kv.wasi_keyvalue0_2_0_draft2_store().bucket().call_get(&mut self.store, bucket, key).expect("no trap").expect("read")
    }

    fn exists(&mut self, bucket: ResourceAny, key: &str) -> bool {
        self.kv.wasi_keyvalue0_2_0_draft2_store().bucket().call_exists(&mut self.store, bucket, key).expect("no trap").expect("read")
    }

    fn list_keys(&mut self, bucket: ResourceAny, cursor: Option<&str>) -> Result<(Vec<String>, Option<String>), Error> {
        let page = self.kv.wasi_keyvalue0_2_0_draft2_store().bucket().call_list_keys(&mut self.store, bucket, cursor).expect("no trap")?;
        Ok((page.keys, page.cursor))
    }

    fn set_with_ttl(&mut self, bucket: ResourceAny, key: &str, value: &[u8], ttl_ms: u64) {
        let expiry = self.kv.cachet_engine_expiry();
        expiry.call_set_with_ttl(&mut self.store, bucket, key, value, ttl_ms).expect("no trap").expect("stored");
    }

    fn expire(&mut self, bucket: ResourceAny, key: &str, ttl_ms: Option<u64>) -> bool {
        self.kv.cachet_engine_expiry().call_expire(&mut self.store, bucket, key, ttl_ms).expect("no trap").expect("expire")
    }

    fn ttl(&mut self, bucket: ResourceAny, key: &str) -> TimeToLive {
        self.kv.cachet_engine_expiry().call_ttl(&mut self.store, bucket, key).expect("no trap").expect("ttl")
    }

    fn cas(&mut self, bucket: ResourceAny, key: &str) -> ResourceAny {
        self.kv.wasi_keyvalue0_2_0_draft2_atomics().cas().call_new(&mut self.store, bucket, key).expect("no trap").expect("a cas")
    }

    fn swap(&mut self, cas: ResourceAny, value: &[u8]) -> Result<(), CasError> {
        self.kv.wasi_keyvalue0_2_0_draft2_atomics().call_swap(&mut self.store, cas, value).expect("no trap")
    }

    fn open_draft(&mut self, name: &str) -> Result<ResourceAny, DraftError> {
        self.kv.wasi_keyvalue0_2_0_draft_store().call_open(&mut self.store, name).expect("open does not trap")
    }

    /// A bucket opened through wasi:keyvalue@0.2.0-draft.
    fn draft_bucket(&mut self, name: &str) -> ResourceAny {
        self.open_draft(name).unwrap_or_else(|e| panic!("0.2.0-draft bucket {name}: {e:?}"))
    }

    fn draft_list_keys(&mut self, bucket: ResourceAny, cursor: Option<u64>) -> Result<(Vec<String>, Option<u64>), DraftError> {
        let page = self.kv.wasi_keyvalue0_2_0_draft_store().bucket().call_list_keys(&mut self.store, bucket, cursor).expect("no trap")?;
        Ok((page.keys, page.cursor))
    }

    fn draft_increment(&mut self, bucket: ResourceAny, key: &str, delta: u64) -> Result<u64, DraftError> {
        self.kv.wasi_keyvalue0_2_0_draft_atomics().call_increment(&mut self.store, bucket, key, delta).expect("no trap")
    }

    fn configure(&mut self, name: &str, value: &str) {
        let settings = [(name.to_string(), value.to_string())];
        self.kv.cachet_engine_maintenance().call_configure(&mut self.store, &settings).expect("no trap").expect("accepted");
    }

    /// One RESP command on connection 1 (opened on first use), answered at the host's time.
    fn resp(&mut self, command: &str) -> String {
        let state = self.store.data();
        let now = Time { monotonic_ns: state.mono_ns, wall_ms: state.wall_ms };
        let server = self.server.as_ref().expect("a component with the server export").cachet_engine_server();
        let peer = Peer { kind: PeerKind::Unix, address: "test", local_address: "test" };
        let _ = server.call_open(&mut self.store, now, 1, peer, None).expect("open does not trap");
        let data = format!("{command}\r\n");
        let out = server.call_feed(&mut self.store, now, &[], &[Input { id: 1, len: data.len() as u32 }], data.as_bytes()).expect("no trap");
        String::from_utf8_lossy(&out.data).into_owned()
    }

    fn errors(&self) -> Vec<&str> {
        self.store.data().logged.iter().filter(|(level, _)| *level == log::Level::Error).map(|(_, m)| m.as_str()).collect()
    }
}

const MIB: usize = 1 << 20;

/// A value that fits in the capped memory once but not twice: the component takes the call's
/// argument, and storing its copy fails. It says so through `log` and traps with `unreachable`;
/// it never reaches for wasi:cli/stderr (linked as a trap here, which would otherwise be the
/// error the host sees).
#[test]
fn out_of_memory_is_logged_then_traps() {
    out_of_memory_in(Plugin::new(Some(16 * MIB)));
    out_of_memory_in(Plugin::keyvalue_only(Some(16 * MIB)));
}

fn out_of_memory_in(mut plugin: Plugin) {
    let bucket = plugin.bucket("0");
    plugin.set(bucket, "small", b"fits");
    let large = vec![7u8; 10 * MIB];
    let trap = plugin.kv.wasi_keyvalue0_2_0_draft2_store().bucket().call_set(&mut plugin.store, bucket, "large", &large).expect_err("past the cap");
    assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached), "{trap:?}");
    assert!(!format!("{trap:?}").contains("wasi:cli"), "the component reached for WASI: {trap:?}");
    let errors = plugin.errors();
    assert_eq!(errors.len(), 1, "one error line: {errors:?}");
    assert!(errors[0].starts_with(cachet::capabilities::OUT_OF_MEMORY), "{}", errors[0]);
    assert!(errors[0].contains("bytes failed"), "{}", errors[0]);
}

/// A value larger than the whole cap fails while the host hands it over, where the component may
/// call no import: it traps with `unreachable` and logs nothing (a `log` call there would trap
/// with "cannot leave component instance" instead). The host's limiter saw the refused growth.
#[test]
fn an_argument_larger_than_the_cap_traps_without_a_line() {
    let mut plugin = Plugin::new(Some(16 * MIB));
    let bucket = plugin.bucket("0");
    let huge = vec![7u8; 32 * MIB];
    let trap = plugin.kv.wasi_keyvalue0_2_0_draft2_store().bucket().call_set(&mut plugin.store, bucket, "huge", &huge).expect_err("past the cap");
    assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached), "{trap:?}");
    assert!(plugin.errors().is_empty(), "{:?}", plugin.errors());
}

/// A bug traps the same way but logs a panic, never the out-of-memory line: that line is how a
/// host tells the two apart.
#[test]
fn a_bug_is_told_apart_from_the_memory_cap() {
    const { assert!(cachet_component::FAULT_INJECTION, "the tests' engine faults on DEBUG PANIC") };
    let mut plugin = Plugin::new(Some(16 * MIB));
    let state = plugin.store.data();
    let now = Time { monotonic_ns: state.mono_ns, wall_ms: state.wall_ms };
    let server = plugin.server.as_ref().expect("the server export").cachet_engine_server();
    let peer = Peer { kind: PeerKind::Unix, address: "test", local_address: "test" };
    let _ = server.call_open(&mut plugin.store, now, 1, peer, None).expect("open does not trap");
    let trap = server.call_feed(&mut plugin.store, now, &[], &[Input { id: 1, len: 13 }], b"DEBUG PANIC\r\n").expect_err("a bug");
    assert_eq!(trap.downcast_ref::<Trap>(), Some(&Trap::UnreachableCodeReached), "{trap:?}");
    let errors = plugin.errors();
    assert!(errors.iter().any(|e| e.starts_with("engine panic:")), "{errors:?}");
    assert!(!errors.iter().any(|e| e.starts_with(cachet::capabilities::OUT_OF_MEMORY)), "{errors:?}");
}

/// cachet's own runtime tells a fault at the cap from a bug in both cases: by the line, or by the
/// growth its limiter refused. The server's supervisor names the cause with it.
#[test]
fn cachets_runtime_marks_a_fault_at_the_cap() {
    let runtime = Runtime::new(&RuntimeOptions { memory_limit: Some(16 * MIB), ..RuntimeOptions::default() }).expect("a runtime");
    let peer = cachet::runtime::Peer { kind: PeerKind::Unix, address: "test".into(), local_address: "test".into() };
    for (size, logged) in [(10 * MIB, true), (32 * MIB, false)] {
        let mut instance = runtime.instantiate().expect("an instance");
        instance.open(runtime.now(), 1, &peer, None).expect("no trap").expect("welcome");
        assert_eq!(instance.out_of_memory(), None);
        let command = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${size}\r\n{}\r\n", "x".repeat(size));
        // Fed whole when it fits, so that storing the value is what fails.
        let data = &command.as_bytes()[..command.len().min(size + 64)];
        instance.feed(runtime.now(), &[], &[cachet::runtime::Input { id: 1, data }]).expect_err("past the cap");
        let line = instance.out_of_memory().expect("the fault is known to be the cap");
        assert!(line.starts_with("out of memory:"), "{line}");
        assert_eq!(line.contains("allocation of"), logged, "{size} bytes: {line}");
    }
}

/// Expiry reads the wall clock on every call: a host whose clock moves only wall time (the
/// monotonic reading never changes here) sees a key expire the millisecond its TTL is over.
#[test]
fn expiry_follows_the_wall_clock_alone() {
    let mut plugin = Plugin::new(None);
    let bucket = plugin.bucket("0");
    plugin.set_with_ttl(bucket, "t", b"v", 1_000);
    for _ in 0..5 {
        plugin.get(bucket, "t");
    }
    plugin.store.data_mut().wall_ms += 999;
    assert_eq!(plugin.get(bucket, "t").as_deref(), Some(&b"v"[..]));
    assert_eq!(plugin.ttl(bucket, "t"), TimeToLive::Milliseconds(1));
    plugin.store.data_mut().wall_ms += 1;
    assert_eq!(plugin.get(bucket, "t"), None, "the TTL is over on the wall clock");
    assert!(!plugin.exists(bucket, "t"));
    assert_eq!(plugin.ttl(bucket, "t"), TimeToLive::Missing);

    // maintenance.tick reclaims keys nobody reads on the same clock.
    for i in 0..20 {
        plugin.set_with_ttl(bucket, &format!("short:{i}"), b"v", 10);
    }
    plugin.store.data_mut().wall_ms += 10;
    plugin.kv.cachet_engine_maintenance().call_tick(&mut plugin.store).expect("no trap");
    assert_eq!(plugin.resp("DBSIZE"), ":0\r\n", "the tick removed the expired keys");
}

/// Each row of the conformance table in docs/EMBEDDING.md, in the order it lists them.
#[test]
fn bucket_names_are_canonical_database_numbers() {
    let mut plugin = Plugin::new(None);
    plugin.configure("databases", "4");
    for name in ["", "default", "0", "3"] {
        assert!(plugin.open(name).is_ok(), "'{name}' names a database");
    }
    for name in ["4", "16", "cache", "-1", "+1", "99999999999999999999"] {
        assert!(matches!(plugin.open(name), Err(Error::NoSuchStore)), "'{name}'");
    }
    for (name, canonical) in [("00", "0"), ("01", "1"), ("0000015", "15")] {
        let Err(Error::Other(message)) = plugin.open(name) else { panic!("'{name}' must be refused") };
        assert_eq!(message, format!("no bucket is named '{name}': a database's bucket is its number without leading zeros (open '{canonical}')"));
    }
    // "" and "default" are database 0.
    let (zero, default) = (plugin.bucket("0"), plugin.bucket("default"));
    plugin.set(zero, "k", b"v");
    assert_eq!(plugin.get(default, "k").as_deref(), Some(&b"v"[..]));
}

#[test]
fn requirepass_guards_resp_clients_only_and_access_is_never_denied() {
    let mut plugin = Plugin::new(None);
    plugin.configure("requirepass", "secret");
    let bucket = plugin.bucket("0");
    plugin.set(bucket, "k", b"v");
    assert_eq!(plugin.get(bucket, "k").as_deref(), Some(&b"v"[..]), "the host's own calls need no password");
    assert!(plugin.resp("GET k").starts_with("-NOAUTH"), "a RESP client still does");
}

#[test]
fn list_keys_cursors() {
    let mut plugin = Plugin::new(None);
    let bucket = plugin.bucket("0");
    for i in 0..150 {
        plugin.set(bucket, &format!("key:{i}"), b"v");
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let (keys, next) = plugin.list_keys(bucket, cursor.as_deref()).expect("a page");
        assert!(keys.len() <= 100);
        seen.extend(keys);
        match next {
            Some(next) => {
                assert!(next != "0" && !next.starts_with('0') && next.parse::<u64>().is_ok(), "cursor '{next}'");
                cursor = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 150);
    for refused in ["", "0", "007", "-1", "abc", "18446744073709551616"] {
        let Err(Error::Other(message)) = plugin.list_keys(bucket, Some(refused)) else { panic!("'{refused}' must be refused") };
        assert!(message.starts_with(&format!("invalid cursor '{refused}'")), "{message}");
    }
}

#[test]
fn a_ttl_of_zero_removes_the_key_both_ways() {
    let mut plugin = Plugin::new(None);
    let bucket = plugin.bucket("0");
    plugin.set(bucket, "a", b"old");
    plugin.set_with_ttl(bucket, "a", b"new", 0);
    assert_eq!(plugin.ttl(bucket, "a"), TimeToLive::Missing);
    plugin.set(bucket, "b", b"v");
    assert!(plugin.expire(bucket, "b", Some(0)));
    assert_eq!(plugin.ttl(bucket, "b"), TimeToLive::Missing);
    assert!(!plugin.expire(bucket, "b", Some(0)), "nothing left to expire");
}

#[test]
fn compare_and_swap_compares_content() {
    let mut plugin = Plugin::new(None);
    let bucket = plugin.bucket("0");
    plugin.set(bucket, "k", b"a");
    let cas = plugin.cas(bucket, "k");
    // Changed, then changed back with a TTL: the content is the same, so the swap goes through.
    plugin.set(bucket, "k", b"b");
    plugin.set_with_ttl(bucket, "k", b"a", 60_000);
    plugin.swap(cas, b"swapped").expect("same content");
    assert_eq!(plugin.get(bucket, "k").as_deref(), Some(&b"swapped"[..]));
    assert_eq!(plugin.ttl(bucket, "k"), TimeToLive::Milliseconds(60_000), "a swap keeps the TTL");
    let stale = plugin.cas(bucket, "k");
    plugin.set(bucket, "k", b"changed");
    assert!(matches!(plugin.swap(stale, b"lost"), Err(CasError::CasFailed(_))), "different content fails the swap");
}

/// A sequence of key-value calls a host makes, with its results as text: the same on every build
/// of the engine.
fn keyvalue_session(plugin: &mut Plugin) -> Vec<String> {
    let mut seen = Vec::new();
    let bucket = plugin.bucket("2");
    plugin.set(bucket, "greeting", b"hello");
    seen.push(format!("{:?}", plugin.get(bucket, "greeting")));
    let counter = plugin.kv.wasi_keyvalue0_2_0_draft2_atomics().call_increment(&mut plugin.store, bucket, "n", 41).expect("no trap");
    seen.push(format!("{counter:?}"));
    plugin.set_with_ttl(bucket, "session", b"s", 1_500);
    plugin.store.data_mut().wall_ms += 1_000;
    seen.push(format!("{:?}", plugin.ttl(bucket, "session")));
    let cas = plugin.cas(bucket, "greeting");
    seen.push(format!("{:?}", plugin.swap(cas, b"swapped")));
    let many = plugin.kv.wasi_keyvalue0_2_0_draft2_batch().call_get_many(&mut plugin.store, bucket, &["greeting".into(), "none".into()]);
    seen.push(format!("{:?}", many.expect("no trap")));
    seen.push(format!("{:?}", plugin.list_keys(bucket, None).map(|(mut keys, cursor)| { keys.sort(); (keys, cursor) })));
    seen.push(format!("{:?}", plugin.open("01")));
    plugin.store.data_mut().wall_ms += 500;
    seen.push(format!("{:?}", plugin.get(bucket, "session")));
    seen
}

/// `cachet component --world keyvalue`: the keyvalue world alone instantiates with cachet's clock,
/// random and log and nothing else (no WASI, no streams, not even as traps), and answers as the
/// engine with every world does.
#[test]
fn the_keyvalue_world_alone_needs_nothing_but_cachets_capabilities() {
    let mut alone = Plugin::keyvalue_only(None);
    let mut full = Plugin::new(None);
    assert!(alone.server.is_none(), "the keyvalue component exports no server");
    let expected = keyvalue_session(&mut full);
    assert_eq!(keyvalue_session(&mut alone), expected);
    assert_eq!(expected[0], "Some([104, 101, 108, 108, 111])", "{expected:?}");
    assert_eq!(expected[7], "None", "the session key expired on the wall clock: {expected:?}");
}

/// Not a check: prints what the keyvalue world alone costs next to the engine with every world
/// (compile, instantiate, one call), for docs/EMBEDDING.md. Run it on a quiet machine with
/// `cargo test -p cachet-tests --test plugin_host -- --ignored --nocapture measure`.
#[test]
#[ignore]
fn measure_the_keyvalue_world_alone() {
    use std::time::Instant;
    let engine = runtime().engine();
    let worlds = [("all", cachet_component::WASM), ("keyvalue", cachet_component::KEYVALUE)];
    // Twice each, interleaved, so that a change in the machine's load shows as a difference between
    // the two rounds of one component rather than between the components.
    for (name, wasm) in worlds.into_iter().chain(worlds) {
        let compile = (0..3)
            .map(|_| {
                let started = Instant::now();
                Component::new(engine, wasm).expect("compiles");
                started.elapsed()
            })
            .min()
            .expect("three runs");
        let make = |n: u32| {
            let started = Instant::now();
            for _ in 0..n {
                let mut plugin = if name == "all" { Plugin::new(None) } else { Plugin::keyvalue_only(None) };
                plugin.bucket("0");
            }
            started.elapsed() / n
        };
        make(1); // the first instance compiles the component; it is measured above
        let instantiate = (0..5).map(|_| make(50)).min().expect("five rounds");
        let mut plugin = if name == "all" { Plugin::new(None) } else { Plugin::keyvalue_only(None) };
        let bucket = plugin.bucket("0");
        plugin.set(bucket, "k", b"value");
        // The least of five rounds: the machine's other work only ever adds time.
        let per_call = |plugin: &mut Plugin, call: &dyn Fn(&mut Plugin)| {
            (0..5)
                .map(|_| {
                    let started = Instant::now();
                    for _ in 0..5_000 {
                        call(plugin);
                    }
                    started.elapsed() / 5_000
                })
                .min()
                .expect("five rounds")
        };
        let get = per_call(&mut plugin, &|p| {
            p.get(bucket, "k");
        });
        let set = per_call(&mut plugin, &|p| p.set(bucket, "k", b"value"));
        println!("{name}: {} bytes, compile {compile:?}, instantiate+open {instantiate:?}, get {get:?}, set {set:?}", wasm.len());
    }
}

/// examples/python-host/host.py's session, run here through wasmtime in Rust, printed the same way.
fn python_session_in_rust(plugin: &mut Plugin) -> Vec<String> {
    let shown = |result: Result<Option<Vec<u8>>, Error>| match result {
        Ok(Some(value)) => format!("value {}", String::from_utf8_lossy(&value)),
        Ok(None) => "none".to_string(),
        Err(Error::Other(message)) => format!("error other: {message}"),
        Err(e) => format!("error {e:?}"),
    };
    let mut lines = Vec::new();
    let bucket = plugin.bucket("2");
    plugin.set(bucket, "greeting", b"hello");
    lines.push(shown(Ok(plugin.get(bucket, "greeting"))));
    let n = plugin.kv.wasi_keyvalue0_2_0_draft2_atomics().call_increment(&mut plugin.store, bucket, "n", 41).expect("no trap").expect("a number");
    lines.push(format!("int {n}"));
    plugin.set_with_ttl(bucket, "session", b"s", 1_500);
    plugin.store.data_mut().wall_ms += 1_000;
    let TimeToLive::Milliseconds(ms) = plugin.ttl(bucket, "session") else { panic!("the session key expires") };
    lines.push(format!("ttl milliseconds {ms}"));
    let cas = plugin.cas(bucket, "greeting");
    lines.push(match plugin.swap(cas, b"swapped") {
        Ok(()) => "swap ok".to_string(),
        Err(_) => "swap failed".to_string(),
    });
    let many = plugin.kv.wasi_keyvalue0_2_0_draft2_batch().call_get_many(&mut plugin.store, bucket, &["greeting".into(), "none".into()]);
    let many: Vec<String> = many
        .expect("no trap")
        .expect("values")
        .into_iter()
        .map(|pair| pair.map_or("-".to_string(), |(key, value)| format!("{key}={}", String::from_utf8_lossy(&value))))
        .collect();
    lines.push(format!("many {}", many.join(", ")));
    let (mut keys, cursor) = plugin.list_keys(bucket, None).expect("a page");
    keys.sort();
    lines.push(format!("keys {} cursor {}", keys.join(","), cursor.as_deref().unwrap_or("-")));
    lines.push(shown(plugin.open("01").map(|_| None)));
    plugin.store.data_mut().wall_ms += 500;
    lines.push(shown(Ok(plugin.get(bucket, "session"))));
    lines.push(format!("bool {}", plugin.expire(bucket, "greeting", Some(0))));
    lines.push(format!("bool {}", plugin.exists(bucket, "greeting")));
    lines
}

/// The Python interpreter with the `wasmtime` package: `CACHET_PYTHON`, else the virtual
/// environment tests/run makes.
fn python() -> std::path::PathBuf {
    if let Some(python) = std::env::var_os("CACHET_PYTHON") {
        return python.into();
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run tests/run (it makes the virtual environment), or `python3 -m venv tests/.venv && \
         tests/.venv/bin/pip install -r examples/python-host/requirements.txt`, or point CACHET_PYTHON at a Python with wasmtime",
        venv.display()
    );
    venv
}

/// examples/python-host: a host in Python (the `wasmtime` package) runs the keyvalue component and
/// prints the same results as the Rust host for the same session and the same clock.
#[test]
fn the_python_host_agrees_with_the_rust_host() {
    let component = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cachet-keyvalue.wasm");
    std::fs::write(&component, cachet_component::KEYVALUE).expect("writing the keyvalue component");
    let host = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-host/host.py");
    let output = std::process::Command::new(python()).arg(&host).arg(&component).output().expect("running the Python host");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "host.py failed ({}):\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    let python: Vec<&str> = stdout.lines().collect();
    let rust = python_session_in_rust(&mut Plugin::keyvalue_only(None));
    assert_eq!(python, rust);
    assert_eq!(rust.len(), 10, "{rust:?}");
}

/// wasi:keyvalue@0.2.0-draft, the second conformance table of docs/EMBEDDING.md: the same buckets
/// under the same names as 0.2.0-draft2, and the same store and batch calls, in both the engine
/// with every world and the keyvalue world alone.
#[test]
fn the_0_2_0_draft_export_shares_buckets_and_names_with_draft2() {
    for mut plugin in [Plugin::new(None), Plugin::keyvalue_only(None)] {
        plugin.configure("databases", "4");
        for name in ["", "default", "0", "3"] {
            assert!(plugin.open_draft(name).is_ok(), "'{name}' names a database");
        }
        for name in ["4", "16", "cache", "-1", "+1"] {
            assert!(matches!(plugin.open_draft(name), Err(DraftError::NoSuchStore)), "'{name}'");
        }
        let Err(DraftError::Other(message)) = plugin.open_draft("01") else { panic!("'01' must be refused") };
        assert_eq!(message, "no bucket is named '01': a database's bucket is its number without leading zeros (open '1')");

        let (draft, draft2) = (plugin.draft_bucket(""), plugin.bucket("0"));
        plugin.kv.wasi_keyvalue0_2_0_draft_store().bucket().call_set(&mut plugin.store, draft, "from-draft", b"a").expect("no trap").expect("stored");
        assert_eq!(plugin.get(draft2, "from-draft").as_deref(), Some(&b"a"[..]), "one database behind both versions");
        plugin.set(draft2, "from-draft2", b"b");
        let store = plugin.kv.wasi_keyvalue0_2_0_draft_store();
        let got = store.bucket().call_get(&mut plugin.store, draft, "from-draft2").expect("no trap").expect("read");
        assert_eq!(got.as_deref(), Some(&b"b"[..]));
        assert!(store.bucket().call_exists(&mut plugin.store, draft, "from-draft").expect("no trap").expect("read"));
        store.bucket().call_delete(&mut plugin.store, draft, "from-draft").expect("no trap").expect("deleted");
        store.bucket().call_delete(&mut plugin.store, draft, "from-draft").expect("no trap").expect("deleting a missing key is no error");
        assert!(!plugin.exists(draft2, "from-draft"));

        let batch = plugin.kv.wasi_keyvalue0_2_0_draft_batch();
        let pairs = [("x".to_string(), b"1".to_vec()), ("y".to_string(), b"2".to_vec())];
        batch.call_set_many(&mut plugin.store, draft, &pairs).expect("no trap").expect("stored");
        let keys = ["x".to_string(), "none".to_string(), "y".to_string()];
        let got = batch.call_get_many(&mut plugin.store, draft, &keys).expect("no trap").expect("read");
        assert_eq!(got, [Some(("x".to_string(), b"1".to_vec())), None, Some(("y".to_string(), b"2".to_vec()))]);
        batch.call_delete_many(&mut plugin.store, draft, &keys).expect("no trap").expect("deleted");
        assert!(!plugin.exists(draft2, "x") && !plugin.exists(draft2, "y"));
    }
}

/// 0.2.0-draft's list-keys cursor is SCAN's, as a number: pages of at most 100 keys, none at the
/// end, none or 0 to start, and any u64 taken.
#[test]
fn the_0_2_0_draft_export_lists_keys_with_u64_cursors() {
    let mut plugin = Plugin::keyvalue_only(None);
    let bucket = plugin.draft_bucket("");
    let written: std::collections::BTreeSet<String> = (0..250).map(|i| format!("key:{i}")).collect();
    let pairs: Vec<(String, Vec<u8>)> = written.iter().map(|k| (k.clone(), b"v".to_vec())).collect();
    plugin.kv.wasi_keyvalue0_2_0_draft_batch().call_set_many(&mut plugin.store, bucket, &pairs).expect("no trap").expect("stored");
    let mut listed = std::collections::BTreeSet::new();
    let (mut cursor, mut pages) = (None, 0);
    loop {
        let (keys, next) = plugin.draft_list_keys(bucket, cursor).expect("a page");
        assert!(keys.len() <= 100, "{} keys in one page", keys.len());
        listed.extend(keys);
        pages += 1;
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(listed, written);
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(plugin.draft_list_keys(bucket, Some(0)), plugin.draft_list_keys(bucket, None), "0 starts a listing too");
    for position in [1, 12345, u64::MAX] {
        assert!(plugin.draft_list_keys(bucket, Some(position)).is_ok(), "{position} is a SCAN cursor");
    }
}

/// 0.2.0-draft's increment is unsigned; cachet's values are Redis's signed 64-bit integers. What
/// cannot be returned is refused, and nothing is written.
#[test]
fn the_0_2_0_draft_export_increments_unsigned() {
    let mut plugin = Plugin::keyvalue_only(None);
    let (draft, draft2) = (plugin.draft_bucket(""), plugin.bucket(""));
    assert_eq!(plugin.draft_increment(draft, "n", 5), Ok(5), "a missing key starts from 0");
    assert_eq!(plugin.draft_increment(draft, "n", 1 << 63), Err(DraftError::Other("ERR value is not an integer or out of range".into())));
    assert_eq!(plugin.get(draft2, "n").as_deref(), Some(&b"5"[..]));

    plugin.set(draft2, "neg", b"-10");
    assert!(plugin.expire(draft2, "neg", Some(100_000)));
    let refused = plugin.draft_increment(draft, "neg", 3);
    let message = "the value of 'neg' would be negative, which this increment (unsigned in wasi:keyvalue@0.2.0-draft) cannot return";
    assert_eq!(refused, Err(DraftError::Other(message.into())));
    assert_eq!(plugin.get(draft2, "neg").as_deref(), Some(&b"-10"[..]), "a refused increment writes nothing");
    assert_eq!(plugin.draft_increment(draft, "neg", 10), Ok(0));
    assert_eq!(plugin.ttl(draft2, "neg"), TimeToLive::Milliseconds(100_000), "the key keeps its TTL");

    plugin.set(draft2, "max", i64::MAX.to_string().as_bytes());
    assert_eq!(plugin.draft_increment(draft, "max", 1), Err(DraftError::Other("ERR increment or decrement would overflow".into())));
    plugin.set(draft2, "text", b"abc");
    assert_eq!(plugin.draft_increment(draft, "text", 1), Err(DraftError::Other("ERR value is not an integer or out of range".into())));
}
