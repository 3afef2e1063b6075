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
    for name in runtime().imports() {
        assert!(!name.starts_with("wasi:sockets") && !name.starts_with("wasi:filesystem") && !name.starts_with("wasi:http"), "{name}");
    }
}

#[test]
fn exports_the_server_and_cache_interfaces() {
    assert_eq!(runtime().exports(), vec!["cachet:engine/cache@0.1.0".to_string(), "cachet:engine/server@0.1.0".to_string()]);
}
