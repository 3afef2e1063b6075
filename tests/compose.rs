//! An application component composed with cachet: `cachet compose` plugs cachet's wasi:keyvalue
//! exports into the example application (examples/kv-app), and the composed component runs with
//! nothing but cachet's clock, random and log. Every other import — WASI, cachet's streams — is
//! linked as a trap, so the application gets a working cache and no network, files or WASI at all.

use cachet::runtime::{Runtime, RuntimeOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use wasmtime::component::{Component, Instance, TypedFunc};

#[path = "../host/component/wasm_build.rs"]
#[allow(dead_code)]
mod wasm_build;

const CACHET: &str = env!("CARGO_BIN_EXE_cachet-under-test");
const PAGES: &str = "cachet-example:kv-app/pages";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compose");
    std::fs::create_dir_all(&dir).expect("creating the test's scratch directory");
    dir.join(name)
}

/// Builds examples/kv-app for wasm32-wasip2, once per test run, and returns its .wasm. It uses the
/// target directory of the engine's release build, not the outer build's, whose lock the running
/// `cargo test` may hold.
fn example_app() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = workspace_root();
        wasm_build::build(&root, "cachet-example-kv-app", &[], &root.join("target/guest"))
            .unwrap_or_else(|e| panic!("{e}"))
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
fn composed_app() -> &'static (Vec<u8>, String) {
    static COMPOSED: OnceLock<(Vec<u8>, String)> = OnceLock::new();
    COMPOSED.get_or_init(|| {
        let out = scratch("kv-app.composed.wasm");
        let _ = std::fs::remove_file(&out);
        let output = cachet(&[
            "compose".as_ref(),
            example_app().as_os_str(),
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

fn compiled_composition() -> Component {
    let (wasm, _) = composed_app();
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
    let component = compiled_composition();
    let engine = runtime().engine();
    let ty = component.component_type();
    let mut imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
    imports.sort();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();

    assert_eq!(exports, [PAGES], "the composed component exports the application's interface and nothing else");
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
    let (_, stdout) = composed_app();
    assert_eq!(listed_under(stdout, "the composed component imports:"), imports, "cachet compose printed:\n{stdout}");
    assert_eq!(
        listed_under(stdout, "cachet satisfies the application's imports:"),
        ["wasi:keyvalue/atomics@0.2.0-draft2", "wasi:keyvalue/store@0.2.0-draft2"],
        "cachet compose printed:\n{stdout}"
    );
}

type Handle = TypedFunc<(String,), (Result<String, String>,)>;

/// An instance of the composed component linked with cachet's capabilities only: every other
/// import traps if it is ever called.
fn instantiate(component: &Component) -> (wasmtime::Store<cachet::capabilities::HostState>, Handle) {
    let runtime = runtime();
    let mut linker = runtime.capabilities_linker().expect("a linker with cachet's capabilities");
    linker.define_unknown_imports_as_traps(component).expect("linking the other imports as traps");
    let mut store = runtime.store();
    let instance: Instance = linker.instantiate(&mut store, component).expect("instantiating the composed component");
    let pages = instance.get_export_index(&mut store, None, PAGES).unwrap_or_else(|| panic!("no export {PAGES}"));
    let handle = instance.get_export_index(&mut store, Some(&pages), "handle").expect("pages exports handle");
    let handle = instance.get_typed_func(&mut store, handle).expect("handle has the type the WIT gives it");
    (store, handle)
}

fn page(path: &str, rendered_on: u32) -> String {
    format!("<h1>{path}</h1><p>rendered on visit {rendered_on}</p>")
}

#[test]
fn application_counts_and_caches_in_cachets_keyspace() {
    let component = compiled_composition();
    // cachet's capabilities alone do not satisfy the composition's other imports (WASI, streams):
    // the traps linked below are all it gets of them.
    let bare = runtime().capabilities_linker().expect("a linker with cachet's capabilities");
    assert!(
        bare.instantiate(&mut runtime().store(), &component).is_err(),
        "the capabilities linker should define nothing but cachet's clock, random and log"
    );
    let (mut store, handle) = instantiate(&component);
    let mut call = |path: &str| -> String {
        let (result,) = handle
            .call(&mut store, (path.to_string(),))
            .unwrap_or_else(|e| panic!("handle({path}) trapped: {e:?}"));
        result.unwrap_or_else(|e| panic!("handle({path}) failed: {e}"))
    };

    assert_eq!(call("/"), format!("visit 1 of /, rendered: {}", page("/", 1)));
    assert_eq!(call("/"), format!("visit 2 of /, cached: {}", page("/", 1)), "the second visit is served from the cache");
    assert_eq!(call("/"), format!("visit 3 of /, cached: {}", page("/", 1)));
    assert_eq!(call("/about"), format!("visit 1 of /about, rendered: {}", page("/about", 1)), "each path has its own count");
    assert_eq!(call("/about"), format!("visit 2 of /about, cached: {}", page("/about", 1)));
    assert_eq!(call("/"), format!("visit 4 of /, cached: {}", page("/", 1)));

    // The keyspace lives in the instance: a new instance starts empty.
    let (mut fresh, fresh_handle) = instantiate(&component);
    let (result,) = fresh_handle.call(&mut fresh, ("/".to_string(),)).expect("handle on a fresh instance");
    assert_eq!(result.as_deref(), Ok(format!("visit 1 of /, rendered: {}", page("/", 1)).as_str()));
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
