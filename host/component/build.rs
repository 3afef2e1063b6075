//! Builds the guest crate as a WebAssembly component so that `cargo build` at the root is all a
//! user runs. The guest is built with its own target directory: sharing the outer build's would
//! deadlock on cargo's lock.
//!
//! Besides the engine (every world, for wasm32-wasip2), each world is built alone for
//! wasm32-unknown-unknown, whose standard library imports no WASI, and made a component here with
//! wit-component: `cachet component --world keyvalue` writes one whose only imports are the ones
//! its world names.

mod reorder;
mod wasm_build;

use std::env;
use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use wasm_build::{Build, TARGET};

/// The target of the one-world engines: a core module whose standard library imports nothing.
const CORE_TARGET: &str = "wasm32-unknown-unknown";

/// Each world built alone: its name in the file written to OUT_DIR, and the guest's feature.
const WORLDS: [(&str, &str); 3] = [("keyvalue", "world-keyvalue"), ("server", "world-server"), ("client", "world-client")];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..").canonicalize().expect("the workspace root exists");
    for watched in ["guest/src", "guest/packed", "guest/Cargo.toml", "guest/build.rs", "wit", "Cargo.toml", "Cargo.lock", "host/component/ziglang.sh"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target(TARGET);
    ensure_target(CORE_TARGET);

    // `fault-injection` (cachet's tests ask for it) builds the guest with its feature of that name.
    // Each engine has a target directory of its own, so building one never overwrites the other.
    let (features, target_dir): (&[&str], _) = if env::var_os("CARGO_FEATURE_FAULT_INJECTION").is_some() {
        (&["fault-injection"], "target/guest-fault-injection")
    } else {
        (&[], "target/guest")
    };
    let target_dir = root.join(target_dir);
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // Built with its function names, which reordering needs; they are dropped after it.
    let config = vec!["profile.release.package.cachet-guest.strip=false".to_string()];
    let engine = Build { package: "cachet-guest", features, env: lua_compiler(&root, &out_dir), config, ..Build::default() };
    let built = wasm_build::build_for(TARGET, &root, &engine, &target_dir).unwrap_or_else(|e| fail(&e));
    let engine = busiest_first(&built, &manifest_dir.join("engine-order.txt"));
    write_component(&out_dir.join("cachet_guest.wasm"), &engine);

    let without_lua = Build { package: "cachet-guest", no_default_features: true, ..Build::default() };
    let built = wasm_build::build_for(TARGET, &root, &without_lua, &root.join("target/guest-without-lua")).unwrap_or_else(|e| fail(&e));
    copy(&built, &out_dir.join("cachet_guest_without_lua.wasm"));

    // One target directory for the three: the guest's dependencies are built once. Each build
    // overwrites the last one's .wasm, so each is made a component before the next starts.
    for (name, feature) in WORLDS {
        let world = Build { package: "cachet-guest", features: &[feature], no_default_features: true, ..Build::default() };
        let core = wasm_build::build_for(CORE_TARGET, &root, &world, &root.join("target/guest-worlds")).unwrap_or_else(|e| fail(&e));
        let component = componentize(&core).unwrap_or_else(|e| fail(&format!("making the {name} world's component: {e}")));
        write_component(&out_dir.join(format!("cachet_{name}.wasm")), &component);
    }
}

/// The engine with the functions `order` lists (one name a line; see `reorder.rs` for why) first.
/// `CACHET_ENGINE_NAMES=1` keeps the function names in it, for profiles of a local build
/// (`CACHET_PERFMAP=1`); otherwise they are dropped, as a stripped build has none.
fn busiest_first(built: &Path, order: &Path) -> Vec<u8> {
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=CACHET_ENGINE_NAMES");
    let keep_names = env::var_os("CACHET_ENGINE_NAMES").is_some_and(|v| v != "0");
    let bytes = std::fs::read(built).unwrap_or_else(|e| fail(&format!("could not read {}: {e}", built.display())));
    let listed = std::fs::read_to_string(order).unwrap_or_default();
    let first: Vec<&str> = listed.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    reorder::busiest_first(&bytes, &first, keep_names).unwrap_or_else(|e| fail(&e))
}

/// Copies a built component into OUT_DIR, with its digest beside it.
fn copy(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap_or_else(|e| fail(&format!("could not read {}: {e}", from.display())));
    write_component(to, &bytes);
}

/// Writes a component into OUT_DIR, with its digest beside it.
fn write_component(to: &Path, bytes: &[u8]) {
    std::fs::write(to, bytes).unwrap_or_else(|e| fail(&format!("could not write {}: {e}", to.display())));
    write_digest(to, bytes);
}

/// Writes `<component>.digest`: a hash of its bytes, so that a host can name the compiled
/// component in its cache without reading the component at every start (see `digest_of`).
fn write_digest(component: &Path, bytes: &[u8]) {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    let path = component.with_extension("wasm.digest");
    let text = format!("{:016x}{:08x}", hasher.finish(), bytes.len());
    std::fs::write(&path, text).unwrap_or_else(|e| fail(&format!("could not write {}: {e}", path.display())));
}

/// The environment that makes the `cc` crate compile Lua for wasm32-wasip2 with Zig's clang (the
/// only C compiler found to build it with Wasm exceptions for setjmp/longjmp): wrappers for the
/// compiler and archiver, the flags, and where Zig keeps wasi-libc's sources (the guest's build
/// script compiles its setjmp runtime from them).
fn lua_compiler(root: &Path, out_dir: &Path) -> Vec<(String, String)> {
    println!("cargo:rerun-if-env-changed=CACHET_ZIG_PYTHON");
    let script = root.join("host/component/ziglang.sh");
    let found = Command::new(&script).output().unwrap_or_else(|e| fail(&format!("could not run {}: {e}", script.display())));
    if !found.status.success() {
        fail(&format!(
            "Zig's C compiler, which builds Lua into the engine, is missing and could not be installed:\n{}",
            String::from_utf8_lossy(&found.stderr)
        ));
    }
    eprint!("{}", String::from_utf8_lossy(&found.stderr));
    let python = String::from_utf8_lossy(&found.stdout).trim().to_string();
    let lib = Command::new(&python)
        .args(["-c", "import ziglang, os; print(os.path.join(os.path.dirname(ziglang.__file__), 'lib'))"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| fail(&format!("{python} does not have the ziglang package")));
    // Zig does not know the name wasm32-wasip2, which the cc crate passes: the wrapper drops it.
    let cc = out_dir.join("zig-cc");
    let cc_script = format!(
        "#!/bin/sh\nskip=\nfor arg do\n  shift\n  if [ -n \"$skip\" ]; then skip=; continue; fi\n  case \"$arg\" in\n    \
         --target=*) continue ;;\n    -target|--target) skip=1; continue ;;\n  esac\n  set -- \"$@\" \"$arg\"\ndone\n\
         exec '{python}' -m ziglang cc -target wasm32-wasi -fno-sanitize=all \"$@\"\n"
    );
    let ar = out_dir.join("zig-ar");
    let ar_script = format!("#!/bin/sh\nexec '{python}' -m ziglang ar \"$@\"\n");
    for (path, text) in [(&cc, cc_script), (&ar, ar_script)] {
        write_executable(path, &text);
    }
    vec![
        ("CC_wasm32_wasip2".into(), cc.display().to_string()),
        ("AR_wasm32_wasip2".into(), ar.display().to_string()),
        ("CFLAGS_wasm32_wasip2".into(), "-mexception-handling".into()),
        ("CACHET_ZIG_LIB".into(), lib),
    ]
}

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap_or_else(|e| fail(&format!("could not write {}: {e}", path.display())));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| fail(&format!("could not make {} executable: {e}", path.display())));
}

/// A component from a core module that wit-bindgen built: its world is in the module's custom
/// section, and every import the module has must be one that world names.
fn componentize(core: &Path) -> Result<Vec<u8>, String> {
    let module = std::fs::read(core).map_err(|e| format!("could not read {}: {e}", core.display()))?;
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.module(&module).map_err(|e| format!("{e:#}"))?;
    encoder.validate(true).encode().map_err(|e| format!("{e:#}"))
}

/// Adds a target's standard library through rustup when it is missing.
fn ensure_target(target: &str) {
    if target_installed(target) {
        return;
    }
    println!("cargo:warning=adding the {target} target with rustup (needed once to build cachet's engine)");
    let added = Command::new("rustup").args(["target", "add", target]).status();
    match added {
        Ok(status) if status.success() && target_installed(target) => {}
        Ok(_) => fail(&format!("`rustup target add {target}` failed; run it by hand and build again")),
        Err(_) => fail(&format!(
            "the {target} target is missing and rustup was not found: install the Rust standard library for \
             {target} (with rustup: `rustup target add {target}`) and build again"
        )),
    }
}

fn target_installed(target: &str) -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).args(["--print", "target-libdir", "--target", target]).output();
    match output {
        Ok(out) if out.status.success() => {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Path::new(&dir).read_dir().is_ok_and(|mut entries| entries.any(|e| {
                e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
            }))
        }
        _ => false,
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
