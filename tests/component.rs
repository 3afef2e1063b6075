//! The component's contract with its hosts: what it imports (its only ways to reach the outside
//! world) is exactly the list README.md documents, and never sockets or files.

use cachet::runtime::{Runtime, RuntimeOptions};

fn runtime() -> Runtime {
    Runtime::new(&RuntimeOptions::default()).expect("the embedded component loads")
}

/// The lines between the README's import-list markers.
fn documented_imports() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let start = readme.find("<!-- imports:start -->").expect("README has an imports list");
    let end = readme.find("<!-- imports:end -->").expect("README's imports list ends");
    readme[start..end]
        .lines()
        .filter_map(|line| line.trim().strip_prefix("import "))
        .map(|name| name.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn imports_are_the_documented_ones() {
    let imports = runtime().imports();
    let mut documented = documented_imports();
    documented.sort();
    assert_eq!(imports, documented, "README.md's import list is out of date");
}

#[test]
fn no_sockets_no_filesystem() {
    // Neither engine, with Lua or without, imports files, sockets or HTTP. See README.md.
    let without_lua = Runtime::new(&RuntimeOptions { component: cachet_component::WASM_WITHOUT_LUA, ..RuntimeOptions::default() })
        .expect("the engine without Lua loads");
    for name in without_lua.imports().into_iter().chain(runtime().imports()) {
        assert!(!name.starts_with("wasi:sockets") && !name.starts_with("wasi:filesystem") && !name.starts_with("wasi:http"), "{name}");
    }
}

#[test]
fn exports_the_server_cache_and_keyvalue_interfaces() {
    let expected = [
        "cachet:engine/cache@0.1.0",
        "cachet:engine/expiry@0.1.0",
        "cachet:engine/maintenance@0.1.0",
        "cachet:engine/server@0.1.0",
        "wasi:keyvalue/atomics@0.2.0-draft",
        "wasi:keyvalue/atomics@0.2.0-draft2",
        "wasi:keyvalue/batch@0.2.0-draft",
        "wasi:keyvalue/batch@0.2.0-draft2",
        "wasi:keyvalue/store@0.2.0-draft",
        "wasi:keyvalue/store@0.2.0-draft2",
    ];
    assert_eq!(runtime().exports(), expected);
}

/// The key-value exports work on the keyspace the server export serves: what one writes, the
/// other reads, in the same instance, through wasmtime exactly as a plugin host calls them.
#[test]
fn keyvalue_and_resp_share_one_keyspace() {
    use cachet::runtime::bindings::keyvalue::exports::cachet::engine::expiry::TimeToLive;
    use cachet::runtime::bindings::keyvalue::exports::wasi::keyvalue0_2_0_draft2::{atomics::CasError, store::Error};
    use cachet::runtime::PeerKind;
    use cachet::runtime::bindings::exports::cachet::engine::server::{Input, Peer};
    let runtime = runtime();
    let mut plugin = runtime.instantiate_plugin().expect("a plugin instance");
    let s = &mut plugin.store;
    let store = plugin.keyvalue.wasi_keyvalue0_2_0_draft2_store();
    let (atomics, batch, expiry) =
        (plugin.keyvalue.wasi_keyvalue0_2_0_draft2_atomics(), plugin.keyvalue.wasi_keyvalue0_2_0_draft2_batch(), plugin.keyvalue.cachet_engine_expiry());
    let server = plugin.server.cachet_engine_server();
    plugin.keyvalue.cachet_engine_maintenance().call_configure(&mut *s, &[("maxmemory".into(), "100mb".into())]).unwrap().unwrap();

    assert!(matches!(store.call_open(&mut *s, "nope").unwrap(), Err(Error::NoSuchStore)));
    let bucket = store.call_open(&mut *s, "2").unwrap().unwrap();
    store.bucket().call_set(&mut *s, bucket, "greeting", b"hello").unwrap().unwrap();
    assert_eq!(atomics.call_increment(&mut *s, bucket, "visits", 3).unwrap().unwrap(), 3);
    expiry.call_set_with_ttl(&mut *s, bucket, "session", b"x", 60_000).unwrap().unwrap();

    let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:50000", local_address: "127.0.0.1:6379" };
    let now = runtime.now();
    assert!(server.call_open(&mut *s, now, 1, peer, None).unwrap().is_ok(), "the connection is welcome");
    let commands = b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$4\r\nMGET\r\n$8\r\ngreeting\r\n$6\r\nvisits\r\n*3\r\n$6\r\nINCRBY\r\n$6\r\nvisits\r\n$2\r\n10\r\n*2\r\n$3\r\nTTL\r\n$7\r\nsession\r\n";
    let out = server.call_feed(&mut *s, now, &[], &[Input { id: 1, len: commands.len() as u32 }], commands).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.data),
        "+OK\r\n*2\r\n$5\r\nhello\r\n$1\r\n3\r\n:13\r\n:60\r\n"
    );
    assert_eq!(store.bucket().call_get(&mut *s, bucket, "visits").unwrap().unwrap().as_deref(), Some(&b"13"[..]));
    let many = batch.call_get_many(&mut *s, bucket, &["greeting".into(), "none".into()]).unwrap().unwrap();
    assert_eq!(many, vec![Some(("greeting".to_string(), b"hello".to_vec())), None]);
    assert!(matches!(expiry.call_ttl(&mut *s, bucket, "session").unwrap().unwrap(), TimeToLive::Milliseconds(ms) if ms > 59_000));

    let cas = atomics.cas().call_new(&mut *s, bucket, "greeting").unwrap().unwrap();
    assert_eq!(atomics.cas().call_current(&mut *s, cas).unwrap().unwrap().as_deref(), Some(&b"hello"[..]));
    store.bucket().call_set(&mut *s, bucket, "greeting", b"changed").unwrap().unwrap();
    let Err(CasError::CasFailed(fresh)) = atomics.call_swap(&mut *s, cas, b"lost").unwrap() else { panic!("a stale swap fails") };
    atomics.call_swap(&mut *s, fresh, b"won").unwrap().unwrap();
    assert_eq!(store.bucket().call_get(&mut *s, bucket, "greeting").unwrap().unwrap().as_deref(), Some(&b"won"[..]));
    let Err(Error::Other(message)) = atomics.call_increment(&mut *s, bucket, "greeting", 1).unwrap() else { panic!("not a number") };
    assert_eq!(message, "ERR value is not an integer or out of range");
}

/// A plugin host with no server connections calls `maintenance.tick` for active expiry: keys
/// nobody reads are reclaimed (DBSIZE counts expired keys until then), and it says when to call
/// again.
#[test]
fn maintenance_tick_reclaims_expired_keys_and_names_its_next_call() {
    use cachet::runtime::PeerKind;
    use cachet::runtime::bindings::exports::cachet::engine::server::{Input, Peer};
    let runtime = runtime();
    let mut plugin = runtime.instantiate_plugin().expect("a plugin instance");
    let s = &mut plugin.store;
    let (store, expiry) = (plugin.keyvalue.wasi_keyvalue0_2_0_draft2_store(), plugin.keyvalue.cachet_engine_expiry());
    let maintenance = plugin.keyvalue.cachet_engine_maintenance();
    let bucket = store.call_open(&mut *s, "0").unwrap().unwrap();
    for i in 0..20 {
        expiry.call_set_with_ttl(&mut *s, bucket, &format!("short:{i}"), b"v", 1).unwrap().unwrap();
    }
    store.bucket().call_set(&mut *s, bucket, "stays", b"v").unwrap().unwrap();
    // Past the keys' millisecond of life on the clock the component reads.
    std::thread::sleep(std::time::Duration::from_millis(5));

    let server = plugin.server.cachet_engine_server();
    let peer = Peer { kind: PeerKind::Unix, address: "test", local_address: "test" };
    let now = runtime.now();
    assert!(server.call_open(&mut *s, now, 1, peer, None).unwrap().is_ok());
    let dbsize = |s: &mut wasmtime::Store<_>| {
        let out = server.call_feed(&mut *s, runtime.now(), &[], &[Input { id: 1, len: 8 }], b"DBSIZE\r\n").unwrap();
        String::from_utf8_lossy(&out.data).into_owned()
    };
    assert_eq!(dbsize(s), ":21\r\n", "expired keys nobody read are still counted");
    let next = maintenance.call_tick(&mut *s).unwrap();
    assert_eq!(dbsize(s), ":1\r\n", "the tick reclaimed them");
    assert!(next > runtime.now().monotonic_ns, "the next call is in the future");
}

/// The names of what a component file imports and exports, sorted.
fn interfaces(wasm: &[u8]) -> (Vec<String>, Vec<String>) {
    let runtime = runtime();
    let component = wasmtime::component::Component::new(runtime.engine(), wasm).expect("a component wasmtime loads");
    let ty = component.component_type();
    let mut imports: Vec<String> = ty.imports(runtime.engine()).map(|(name, _)| name.to_string()).collect();
    let mut exports: Vec<String> = ty.exports(runtime.engine()).map(|(name, _)| name.to_string()).collect();
    imports.sort();
    exports.sort();
    (imports, exports)
}

/// Each world built alone imports only cachet's own capabilities, and nothing from WASI: a host
/// of that world has nothing to stub.
#[test]
fn one_world_components_import_only_cachets_capabilities() {
    let capabilities = ["cachet:engine/clock@0.1.0", "cachet:engine/log@0.1.0", "cachet:engine/random@0.1.0"];
    let (imports, exports) = interfaces(cachet_component::KEYVALUE);
    assert_eq!(imports, capabilities);
    assert_eq!(
        exports,
        [
            "cachet:engine/expiry@0.1.0",
            "cachet:engine/maintenance@0.1.0",
            "wasi:keyvalue/atomics@0.2.0-draft",
            "wasi:keyvalue/atomics@0.2.0-draft2",
            "wasi:keyvalue/batch@0.2.0-draft",
            "wasi:keyvalue/batch@0.2.0-draft2",
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:keyvalue/store@0.2.0-draft2",
        ]
    );
    let (imports, exports) = interfaces(cachet_component::SERVER);
    // The server also hands CONFIG SET of the host's own settings (tls-*) to the host, and reaches
    // the ACL file through it.
    assert_eq!(imports, ["cachet:engine/acl-file@0.1.0", "cachet:engine/clock@0.1.0", "cachet:engine/host-settings@0.1.0", "cachet:engine/log@0.1.0", "cachet:engine/random@0.1.0"]);
    assert_eq!(exports, ["cachet:engine/server@0.1.0"]);
    // The cache client reads no clock and draws no random number: it imports the log and streams.
    let (imports, exports) = interfaces(cachet_component::CLIENT);
    assert_eq!(imports, ["cachet:engine/log@0.1.0", "cachet:engine/streams@0.1.0"]);
    assert_eq!(exports, ["cachet:engine/cache@0.1.0"]);
}

/// The server world alone, linked with cachet's capabilities only, answers RESP as the engine
/// with every world does.
#[test]
fn the_server_world_alone_serves_resp() {
    use cachet::runtime::bindings::ServerEngine;
    use cachet::runtime::PeerKind;
    use cachet::runtime::bindings::exports::cachet::engine::server::{Input, Peer};
    let runtime = runtime();
    let commands: &[u8] = b"SET k v\r\nGET k\r\nINCRBY n 5\r\nRPUSH l a b c\r\nLRANGE l 0 -1\r\nDBSIZE\r\nHELLO 3\r\nHGETALL none\r\n";
    let replies = |component: &wasmtime::component::Component| -> String {
        let mut linker = runtime.capabilities_linker().expect("cachet's capabilities");
        linker.define_unknown_imports_as_traps(component).expect("the full engine's WASI as traps");
        let mut store = runtime.store();
        let instance = linker.instantiate(&mut store, component).expect("instantiating");
        let engine = ServerEngine::new(&mut store, &instance).expect("the server export");
        let server = engine.cachet_engine_server();
        let now = runtime.now();
        let peer = Peer { kind: PeerKind::Tcp, address: "127.0.0.1:50000", local_address: "127.0.0.1:6379" };
        server.call_open(&mut store, now, 1, peer, None).expect("no trap").expect("welcome");
        let out = server.call_feed(&mut store, now, &[], &[Input { id: 1, len: commands.len() as u32 }], commands).expect("no trap");
        String::from_utf8_lossy(&out.data).into_owned()
    };
    // Only cachet's capabilities: instantiating fails if the component imports anything else.
    let component = wasmtime::component::Component::new(runtime.engine(), cachet_component::SERVER).expect("a component");
    let bare = runtime.capabilities_linker().expect("cachet's capabilities");
    bare.instantiate(&mut runtime.store(), &component).expect("the server world needs nothing else");
    let alone = replies(&component);
    assert_eq!(alone, replies(runtime.component()));
    assert!(alone.starts_with("+OK\r\n$1\r\nv\r\n:5\r\n:3\r\n*3\r\n"), "{alone}");
}
