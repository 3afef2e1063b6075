//! An application component composed with cachet: `cachet compose` plugs cachet's wasi:keyvalue
//! exports into an example application — examples/kv-app for wasi:keyvalue@0.2.0-draft2,
//! examples/kv-app-draft for @0.2.0-draft — and the composed component runs with nothing but
//! cachet's clock, random and log. Every other import — WASI, cachet's streams — is linked as a
//! trap, so the application gets a working cache and no network, files or WASI at all. The
//! 0.2.0-draft application also runs, uncomposed, on wasmtime-wasi-keyvalue's store, and answers
//! the same.

use cachet::runtime::{Runtime, RuntimeOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use wasmtime::component::{Component, Instance, TypedFunc};

#[path = "../host/component/wasm_build.rs"]
#[allow(dead_code)]
mod wasm_build;

const CACHET: &str = env!("CARGO_BIN_EXE_cachet-under-test");

/// An example application, built and composed with cachet at most once per test run.
struct Example {
    package: &'static str,
    /// The interface it exports.
    pages: &'static str,
    /// The imports of the application that cachet satisfies, sorted.
    plugged: [&'static str; 2],
    built: OnceLock<PathBuf>,
    composed: OnceLock<(Vec<u8>, String)>,
}

static DRAFT2_APP: Example = Example {
    package: "cachet-example-kv-app",
    pages: "cachet-example:kv-app/pages",
    plugged: ["wasi:keyvalue/atomics@0.2.0-draft2", "wasi:keyvalue/store@0.2.0-draft2"],
    built: OnceLock::new(),
    composed: OnceLock::new(),
};

static DRAFT_APP: Example = Example {
    package: "cachet-example-kv-app-draft",
    pages: "cachet-example:kv-app-draft/pages",
    plugged: ["wasi:keyvalue/atomics@0.2.0-draft", "wasi:keyvalue/store@0.2.0-draft"],
    built: OnceLock::new(),
    composed: OnceLock::new(),
};

const EXAMPLES: [&Example; 2] = [&DRAFT2_APP, &DRAFT_APP];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compose");
    std::fs::create_dir_all(&dir).expect("creating the test's scratch directory");
    dir.join(name)
}

/// Builds the example for wasm32-wasip2, once per test run, and returns its .wasm. It uses the
/// target directory of the engine's release build, not the outer build's, whose lock the running
/// `cargo test` may hold.
fn example_app(example: &'static Example) -> &'static Path {
    example.built.get_or_init(|| {
        let root = workspace_root();
        wasm_build::build(&root, example.package, &[], &root.join("target/guest")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn cachet(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(CACHET).args(args).output().expect("running the cachet binary")
}

fn describe(output: &Output) -> String {
    format!(
        "exit status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `cachet compose` on the example and returns the composed component and what it printed.
fn composed_app(example: &'static Example) -> &'static (Vec<u8>, String) {
    example.composed.get_or_init(|| {
        let out = scratch(&format!("{}.composed.wasm", example.package));
        let _ = std::fs::remove_file(&out);
        let output = cachet(&[
            "compose".as_ref(),
            example_app(example).as_os_str(),
            "--output".as_ref(),
            out.as_os_str(),
        ]);
        assert!(output.status.success(), "cachet compose failed: {}", describe(&output));
        let wasm = std::fs::read(&out).unwrap_or_else(|e| panic!("cachet compose wrote no {}: {e}", out.display()));
        (wasm, String::from_utf8_lossy(&output.stdout).into_owned())
    })
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| Runtime::new(&RuntimeOptions::default()).expect("the embedded component loads"))
}

fn compiled_composition(example: &'static Example) -> Component {
    let (wasm, _) = composed_app(example);
    Component::new(runtime().engine(), wasm).expect("wasmtime accepts the composed component")
}

/// The lines of `cachet compose`'s output under `heading`, up to the next heading.
fn listed_under(stdout: &str, heading: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with(heading))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .map(|line| line.trim().to_string())
        .collect()
}

#[test]
fn composed_component_satisfies_keyvalue_inside_and_imports_no_io() {
    for example in EXAMPLES {
        satisfies_keyvalue_inside_and_imports_no_io(example);
    }
}

fn satisfies_keyvalue_inside_and_imports_no_io(example: &'static Example) {
    let component = compiled_composition(example);
    let engine = runtime().engine();
    let ty = component.component_type();
    let mut imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
    imports.sort();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();

    assert_eq!(exports, [example.pages], "the composed component exports the application's interface and nothing else");
    for name in &imports {
        assert!(!name.starts_with("wasi:keyvalue"), "{name} should be satisfied inside the composition; imports: {imports:?}");
        for forbidden in ["sockets", "filesystem", "http"] {
            assert!(!name.contains(forbidden), "the composed component imports {name}; imports: {imports:?}");
        }
    }
    for capability in ["cachet:engine/clock@0.1.0", "cachet:engine/random@0.1.0", "cachet:engine/log@0.1.0"] {
        assert!(imports.iter().any(|name| name == capability), "cachet's {capability} should still be imported: {imports:?}");
    }

    // What `cachet compose` reports is what the file holds.
    let (_, stdout) = composed_app(example);
    assert_eq!(listed_under(stdout, "the composed component imports:"), imports, "cachet compose printed:\n{stdout}");
    assert_eq!(listed_under(stdout, "cachet satisfies the application's imports:"), example.plugged, "cachet compose printed:\n{stdout}");
}

type Handle = TypedFunc<(String,), (Result<String, String>,)>;

/// An instance of the composed component linked with cachet's capabilities only: every other
/// import traps if it is ever called.
fn instantiate(example: &'static Example, component: &Component) -> (wasmtime::Store<cachet::capabilities::HostState>, Handle) {
    let (mut store, instance) = instance_of(component);
    let handle = pages_function(&instance, &mut store, example, "handle");
    (store, handle)
}

fn instance_of(component: &Component) -> (wasmtime::Store<cachet::capabilities::HostState>, Instance) {
    let runtime = runtime();
    let mut linker = runtime.capabilities_linker().expect("a linker with cachet's capabilities");
    linker.define_unknown_imports_as_traps(component).expect("linking the other imports as traps");
    let mut store = runtime.store();
    let instance = linker.instantiate(&mut store, component).expect("instantiating the composed component");
    (store, instance)
}

/// A function of the example's `pages` export.
fn pages_function<T, P: wasmtime::component::ComponentNamedList, R: wasmtime::component::ComponentNamedList>(
    instance: &Instance,
    store: &mut wasmtime::Store<T>,
    example: &Example,
    name: &str,
) -> TypedFunc<P, R>
where
    P: wasmtime::component::Lower,
    R: wasmtime::component::Lift,
{
    let pages = instance.get_export_index(&mut *store, None, example.pages).unwrap_or_else(|| panic!("no export {}", example.pages));
    let function = instance.get_export_index(&mut *store, Some(&pages), name).unwrap_or_else(|| panic!("pages exports no {name}"));
    instance.get_typed_func(&mut *store, function).unwrap_or_else(|e| panic!("{name} has another type than the WIT gives it: {e}"))
}

#[test]
fn application_counts_and_caches_in_cachets_keyspace() {
    for example in EXAMPLES {
        counts_and_caches_in_cachets_keyspace(example);
    }
}

/// The visits the tests make, and what the application answers to each, whichever store it uses.
const VISITS: [(&str, &str); 6] = [
    ("/", "visit 1 of /, rendered: <h1>/</h1><p>rendered on visit 1</p>"),
    ("/", "visit 2 of /, cached: <h1>/</h1><p>rendered on visit 1</p>"),
    ("/", "visit 3 of /, cached: <h1>/</h1><p>rendered on visit 1</p>"),
    ("/about", "visit 1 of /about, rendered: <h1>/about</h1><p>rendered on visit 1</p>"),
    ("/about", "visit 2 of /about, cached: <h1>/about</h1><p>rendered on visit 1</p>"),
    ("/", "visit 4 of /, cached: <h1>/</h1><p>rendered on visit 1</p>"),
];

fn counts_and_caches_in_cachets_keyspace(example: &'static Example) {
    let component = compiled_composition(example);
    // cachet's capabilities alone do not satisfy the composition's other imports (WASI, streams):
    // the traps linked below are all it gets of them.
    let bare = runtime().capabilities_linker().expect("a linker with cachet's capabilities");
    assert!(
        bare.instantiate(&mut runtime().store(), &component).is_err(),
        "the capabilities linker should define nothing but cachet's clock, random and log"
    );
    let (mut store, handle) = instantiate(example, &component);
    for (path, answer) in VISITS {
        assert_eq!(call(&handle, &mut store, path), answer, "{}", example.package);
    }

    // The keyspace lives in the instance: a new instance starts empty.
    let (mut fresh, fresh_handle) = instantiate(example, &component);
    assert_eq!(call(&fresh_handle, &mut fresh, "/"), VISITS[0].1, "{}", example.package);
}

fn call<T>(handle: &Handle, store: &mut wasmtime::Store<T>, path: &str) -> String {
    let (result,) = handle.call(&mut *store, (path.to_string(),)).unwrap_or_else(|e| panic!("handle({path}) trapped: {e:?}"));
    result.unwrap_or_else(|e| panic!("handle({path}) failed: {e}"))
}

type Visited = TypedFunc<(), (Result<Vec<String>, String>,)>;

fn visited<T>(function: &Visited, store: &mut wasmtime::Store<T>) -> Vec<String> {
    let (result,) = function.call(&mut *store, ()).unwrap_or_else(|e| panic!("visited() trapped: {e:?}"));
    result.unwrap_or_else(|e| panic!("visited() failed: {e}"))
}

/// The 0.2.0-draft application pages through the keys with list-keys' u64 cursor: through
/// cachet's SCAN cursor when composed, in pages of at most 100 keys.
#[test]
fn the_draft_application_lists_keys_with_u64_cursors() {
    let (mut store, instance) = instance_of(&compiled_composition(&DRAFT_APP));
    let handle: Handle = pages_function(&instance, &mut store, &DRAFT_APP, "handle");
    let visited_fn: Visited = pages_function(&instance, &mut store, &DRAFT_APP, "visited");
    let mut paths: Vec<String> = (0..250).map(|i| format!("/page/{i:03}")).collect();
    for path in &paths {
        call(&handle, &mut store, path);
    }
    paths.sort();
    assert_eq!(visited(&visited_fn, &mut store), paths, "250 visits and 250 cached pages take several pages of list-keys");
}

/// The same 0.2.0-draft application, not composed, on wasmtime-wasi-keyvalue's in-memory store,
/// linked as that crate's documentation shows (with wasmtime-wasi's WASI, granting nothing): it
/// answers as it does with cachet inside. (With WASI linked by `define_unknown_imports_as_traps`
/// instead, wasmtime refuses to instantiate it: the atomics import's `bucket` is then a
/// "mismatched resource type".)
#[test]
fn the_draft_application_answers_alike_on_wasmtime_wasi_keyvalue() {
    use wasmtime::component::{Linker, ResourceTable};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
    use wasmtime_wasi_keyvalue::{WasiKeyValue, WasiKeyValueCtx, WasiKeyValueCtxBuilder};

    struct Host {
        table: ResourceTable,
        wasi: WasiCtx,
        keyvalue: WasiKeyValueCtx,
    }
    impl WasiView for Host {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
        }
    }
    let engine = runtime().engine();
    let component = Component::new(engine, std::fs::read(example_app(&DRAFT_APP)).expect("the built application"))
        .expect("wasmtime accepts the application");
    let mut linker = Linker::<Host>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("linking WASI");
    wasmtime_wasi_keyvalue::add_to_linker(&mut linker, |h: &mut Host| WasiKeyValue::new(&h.keyvalue, &mut h.table))
        .expect("linking wasmtime-wasi-keyvalue");
    let host = Host { table: ResourceTable::new(), wasi: WasiCtx::builder().build(), keyvalue: WasiKeyValueCtxBuilder::new().build() };
    let mut store = wasmtime::Store::new(engine, host);
    // cachet's engine interrupts at epoch deadlines; this store's is far off.
    store.set_epoch_deadline(1_000_000);
    let instance = linker.instantiate(&mut store, &component).expect("instantiating on wasmtime-wasi-keyvalue");
    let handle: Handle = pages_function(&instance, &mut store, &DRAFT_APP, "handle");
    for (path, answer) in VISITS {
        assert_eq!(call(&handle, &mut store, path), answer);
    }
    let visited_fn: Visited = pages_function(&instance, &mut store, &DRAFT_APP, "visited");
    assert_eq!(visited(&visited_fn, &mut store), ["/", "/about"]);
}

#[test]
fn component_command_writes_the_embedded_component() {
    let out = scratch("cachet.wasm");
    let _ = std::fs::remove_file(&out);
    let output = cachet(&["component".as_ref(), "--output".as_ref(), out.as_os_str()]);
    assert!(output.status.success(), "cachet component failed: {}", describe(&output));
    let written = std::fs::read(&out).expect("cachet component wrote its file");
    assert!(written == cachet_component::WASM, "the written file differs from the embedded component");
}

/// `cachet component --world W` writes that world's component, and `cachet inspect` on the file
/// names the world and lists each function of its imports and exports.
#[test]
fn component_command_writes_each_world_and_inspect_names_it() {
    let worlds = [
        ("keyvalue", cachet_component::KEYVALUE, "world: keyvalue"),
        ("server", cachet_component::SERVER, "world: server-engine"),
        ("client", cachet_component::CLIENT, "world: client"),
        ("all", cachet_component::WASM, "world: cachet (server-engine, client and keyvalue)"),
    ];
    for (world, embedded, named) in worlds {
        let out = scratch(&format!("cachet-{world}.wasm"));
        let _ = std::fs::remove_file(&out);
        let output = cachet(&["component".as_ref(), "--world".as_ref(), world.as_ref(), "--output".as_ref(), out.as_os_str()]);
        assert!(output.status.success(), "cachet component --world {world} failed: {}", describe(&output));
        let written = std::fs::read(&out).expect("cachet component wrote its file");
        assert!(written == embedded, "the {world} file differs from the embedded component");
        let output = cachet(&["inspect".as_ref(), out.as_os_str()]);
        assert!(output.status.success(), "cachet inspect failed: {}", describe(&output));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.lines().any(|line| line == named), "{world}: {stdout}");
        assert!(!stdout.contains("import wasi:") || world == "all", "{world} imports WASI: {stdout}");
        if world == "keyvalue" || world == "all" {
            for version in ["0.2.0-draft2", "0.2.0-draft"] {
                for interface in ["store", "atomics", "batch"] {
                    let export = format!("export wasi:keyvalue/{interface}@{version};");
                    assert!(stdout.lines().any(|line| line == export), "{world}: {export} is not listed: {stdout}");
                }
            }
        }
        if world == "keyvalue" {
            for function in ["    open(identifier)", "    [method]bucket.list-keys(self, cursor)", "    wall-now()", "    log(level, message)"] {
                assert!(stdout.lines().any(|line| line == function), "{function} is not listed: {stdout}");
            }
        }
    }
    let output = cachet(&["component".as_ref(), "--world".as_ref(), "everything".as_ref(), "--output".as_ref(), "x.wasm".as_ref()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("keyvalue") && stderr.contains("server"), "{stderr}");
}

#[test]
fn compose_refuses_an_application_without_keyvalue_imports() {
    // cachet's own component imports clock, random, log and streams: nothing cachet exports.
    let app = scratch("no-keyvalue.wasm");
    std::fs::write(&app, cachet_component::WASM).expect("writing the test input");
    let out = scratch("no-keyvalue.composed.wasm");
    let _ = std::fs::remove_file(&out);
    let output = cachet(&["compose".as_ref(), app.as_os_str(), "--output".as_ref(), out.as_os_str()]);
    assert!(!output.status.success(), "composing should fail: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("imports none of the interfaces cachet exports") && stderr.contains("wasi:keyvalue/store@0.2.0-draft2"),
        "the error should say what is missing and what to build against: {stderr}"
    );
    assert!(!out.exists(), "nothing should be written on failure");
}

#[test]
fn compose_refuses_files_that_are_not_components() {
    let manifest = workspace_root().join("Cargo.toml");
    let out = scratch("not-wasm.composed.wasm");
    let output = cachet(&["compose".as_ref(), manifest.as_os_str(), "--output".as_ref(), out.as_os_str()]);
    assert!(!output.status.success(), "composing should fail: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a WebAssembly file"), "{stderr}");

    let core_module = scratch("core-module.wasm");
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").expect("writing the test input");
    let output = cachet(&["compose".as_ref(), core_module.as_os_str(), "--output".as_ref(), out.as_os_str()]);
    assert!(!output.status.success(), "composing should fail: {}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("core WebAssembly module, not a component"), "{stderr}");

    let missing = scratch("missing.wasm");
    let output = cachet(&["compose".as_ref(), missing.as_os_str(), "--output".as_ref(), out.as_os_str()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("could not read the application component"), "{stderr}");
}
