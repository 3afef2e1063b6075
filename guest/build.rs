//! For the engine with Lua built for a WASI target: Rust's wasm32-wasip2 sysroot lacks the two
//! small libraries Lua's C build links (`setjmp`, the runtime of setjmp/longjmp over Wasm
//! exceptions, and `wasi-emulated-signal`), so they are compiled here from the wasi-libc sources
//! Zig ships, with the compiler cachet-component's build script names (see host/component/ziglang.sh).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CACHET_ZIG_LIB");
    let target = env::var("TARGET").unwrap_or_default();
    if !target.contains("wasi") || env::var_os("CARGO_FEATURE_LUA").is_none() {
        return;
    }
    let Some(zig_lib) = env::var_os("CACHET_ZIG_LIB").map(PathBuf::from) else {
        eprintln!(
            "error: building cachet-guest with Lua for {target} needs Zig's C compiler: build it through \
             cachet-component (`cargo build`), which sets it up, or build with --no-default-features"
        );
        std::process::exit(1);
    };
    let wasi = zig_lib.join("libc/wasi");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));

    // The exception tag setjmp's runtime throws with; wasi-libc defines it in assembly.
    let tag = out_dir.join("c_longjmp_tag.s");
    std::fs::write(&tag, ".tagtype __c_longjmp i32\n.globl __c_longjmp\n__c_longjmp:\n").expect("writing into OUT_DIR");
    wasm_exceptions()
        .file(wasi.join("libc-top-half/musl/src/setjmp/wasm32/rt.c"))
        .file(&tag)
        .compile("setjmp");
    wasm_exceptions()
        .file(wasi.join("libc-bottom-half/signal/signal.c"))
        .compile("wasi-emulated-signal");
    // Linked whole, ahead of wasi-libc, so that its file and clock functions stay out.
    println!("cargo:rerun-if-changed=src/scripting/no_files.c");
    wasm_exceptions().file("src/scripting/no_files.c").compile("no_files");
    println!("cargo:rustc-link-lib=static:+whole-archive=no_files");
    println!("cargo:rustc-link-search=native={}", out_dir.display());
}

/// A C build with the exception-handling code generation Lua's build (lua-src) uses: with Wasm
/// exceptions as they are standardised (exnref), not the legacy ones.
fn wasm_exceptions() -> cc::Build {
    let mut build = cc::Build::new();
    for flag in ["-wasm-enable-eh", "-wasm-enable-sjlj", "-wasm-use-legacy-eh=false"] {
        build.flag("-mllvm").flag(flag);
    }
    build.cargo_metadata(false);
    build
}
