//! Links the `cachet` executable so that an idle server keeps little of it in memory.
//!
//! The kernel maps a program's code in 64 KiB windows around each page it runs, so the code a
//! server runs at start-up and per command, scattered among 17 MiB of code it never runs, made
//! about 7 MiB of the executable resident; the same held for the read-only data start-up reads,
//! a few hundred constants, strings and jump tables spread over 8 MiB of `.rodata`. Three linker
//! options fix that where the linker is Rust's own `rust-lld` (the default for x86_64 Linux with
//! glibc):
//!
//! - `--symbol-ordering-file` puts the functions listed in `link-order/functions.txt` (what
//!   start-up, the first PING and common commands run, recorded by `link-order/update.sh`) first
//!   and together;
//! - the linker script `link-order/data.ld` (added to the default layout with `INSERT`) puts the
//!   read-only data start-up reads, which has no symbols to order by, in a section of its own
//!   before `.rodata`, whose own start holds the `cachet` crate's data and the merged constants;
//!   it moves `.gcc_except_table`, read only when a panic unwinds, after `.rodata`, so that the
//!   executable's headers and that data are neighbours;
//! - `-z pack-relative-relocs` stores the position-independent executable's relocations as a
//!   bitmap of a few KiB instead of a 1 MiB table the loader reads at every start (needs glibc
//!   2.36 or later where the program runs, which the loader checks).
//!
//! Elsewhere (another linker, another target, an older glibc) the program is linked as usual.
//! Names the lists have that the program lacks (another compiler version, changed dependencies)
//! are skipped; `link-order/update.sh` records the lists again. The names carry a hash of their crate's
//! build settings, which change with any dependency, so a release build warns when `Cargo.lock` or
//! the compiler is not the one `link-order/recorded-for` says the list was recorded with.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let order = manifest_dir.join("link-order/functions.txt");
    let data = manifest_dir.join("link-order/data.ld");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-changed={}", data.display());
    for variable in ["RUSTC_LINKER", "CARGO_ENCODED_RUSTFLAGS"] {
        println!("cargo:rerun-if-env-changed={variable}");
    }
    if !links_with_rust_lld() {
        return;
    }
    if order.exists() {
        println!("cargo:rustc-link-arg-bin=cachet=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bin=cachet=-Wl,--no-warn-symbol-ordering");
        warn_if_recorded_elsewhere(&manifest_dir);
    }
    if data.exists() {
        println!("cargo:rustc-link-arg-bin=cachet=-Wl,-T,{}", data.display());
    }
    if glibc_has_packed_relocations() {
        println!("cargo:rustc-link-arg-bin=cachet=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the executable is linked by `rust-lld`: a native x86_64 glibc build with no linker of
/// the user's choosing.
fn links_with_rust_lld() -> bool {
    let target = env::var("TARGET").unwrap_or_default();
    let native = env::var("HOST").is_ok_and(|host| host == target);
    let chosen_linker = env::var_os("RUSTC_LINKER").is_some()
        || env::var("CARGO_ENCODED_RUSTFLAGS")
            .is_ok_and(|flags| ["linker", "link-self-contained", "fuse-ld"].iter().any(|flag| flags.contains(flag)));
    target == "x86_64-unknown-linux-gnu" && native && !chosen_linker
}

/// Warns, in a release build, when the function list was recorded with another `Cargo.lock` or
/// compiler than this build's: most of its names are then likely missing from the executable.
fn warn_if_recorded_elsewhere(manifest_dir: &Path) {
    let recorded_for = manifest_dir.join("link-order/recorded-for");
    let lock = manifest_dir.join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", recorded_for.display());
    println!("cargo:rerun-if-changed={}", lock.display());
    println!("cargo:rerun-if-env-changed=RUSTC");
    if env::var("PROFILE").as_deref() != Ok("release") {
        return;
    }
    let (Ok(recorded), Ok(lock)) = (std::fs::read_to_string(&recorded_for), std::fs::read(&lock)) else { return };
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(version) = Command::new(rustc).arg("--version").output() else { return };
    let this_build = build_identity(String::from_utf8_lossy(&version.stdout).trim(), &lock);
    if recorded.trim() != this_build {
        println!(
            "cargo:warning=host/link-order/functions.txt was recorded for another Cargo.lock or compiler ({}; this build: {this_build}): \
             an idle server may keep megabytes more of the executable in memory. Run `bash host/link-order/update.sh`.",
            recorded.trim()
        );
    }
}

/// What `link-order/recorded-for` holds: the compiler's version and a 64-bit FNV-1a hash of
/// `Cargo.lock` (`update.sh` computes the same).
fn build_identity(rustc_version: &str, lock: &[u8]) -> String {
    let hash = lock.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    format!("{rustc_version}; Cargo.lock {hash:016x}")
}

/// Whether this machine's glibc (the one the executable is linked against and, built natively,
/// runs with) reads packed relocations: 2.36 and later.
fn glibc_has_packed_relocations() -> bool {
    let Ok(output) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else { return false };
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else { return false };
    let mut parts = version.split('.').map(|part| part.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 36)
}
