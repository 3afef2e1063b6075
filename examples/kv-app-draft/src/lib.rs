//! examples/kv-app written against `wasi:keyvalue@0.2.0-draft`, the version wasmtime-wasi-keyvalue
//! implements: its `increment` is unsigned and its list-keys cursor a u64. Composed with cachet
//! (`cachet compose`), the store is cachet's keyspace inside the same component; run by a host
//! with wasmtime-wasi-keyvalue, it is that host's store.
//!
//! It is a component or nothing: built for another target, the crate is empty.
#![cfg(target_family = "wasm")]

wit_bindgen::generate!({
    // The wasi:keyvalue@0.2.0-draft package is cachet's copy, in wit/deps/keyvalue-0.2.0-draft.
    path: ["../../wit/deps/keyvalue-0.2.0-draft", "wit"],
    world: "cachet-example:kv-app-draft/app",
    generate_all,
});

use exports::cachet_example::kv_app_draft::pages::Guest;
use std::cell::RefCell;
use wasi::keyvalue::{atomics, store};

const VISITS: &str = "visits:";

thread_local! {
    // The bucket is opened once per instance: wasmtime-wasi-keyvalue's in-memory store gives each
    // `open` a fresh copy of its data, so what one handle writes, another would not see.
    static BUCKET: RefCell<Option<store::Bucket>> = const { RefCell::new(None) };
}

/// Runs `f` on the instance's bucket, the one named "" (the store's default).
fn with_bucket<T>(f: impl FnOnce(&store::Bucket) -> Result<T, store::Error>) -> Result<T, String> {
    BUCKET.with_borrow_mut(|slot| {
        let bucket = match slot.take() {
            Some(bucket) => bucket,
            None => store::open("").map_err(describe)?,
        };
        let result = f(&bucket).map_err(describe);
        *slot = Some(bucket);
        result
    })
}

struct App;

impl Guest for App {
    fn handle(path: String) -> Result<String, String> {
        let (visit, cached) = with_bucket(|bucket| {
            let visit = atomics::increment(bucket, &format!("{VISITS}{path}"), 1)?;
            Ok((visit, bucket.get(&format!("page:{path}"))?))
        })?;
        let (source, page) = match cached {
            Some(bytes) => ("cached", String::from_utf8(bytes).map_err(|_| format!("the page cached for {path} is not UTF-8"))?),
            None => {
                let page = render(&path, visit);
                with_bucket(|bucket| bucket.set(&format!("page:{path}"), page.as_bytes()))?;
                ("rendered", page)
            }
        };
        Ok(format!("visit {visit} of {path}, {source}: {page}"))
    }

    fn visited() -> Result<Vec<String>, String> {
        let mut paths = Vec::new();
        let mut cursor = None;
        loop {
            let page = with_bucket(|bucket| bucket.list_keys(cursor))?;
            paths.extend(page.keys.iter().filter_map(|key| key.strip_prefix(VISITS)).map(str::to_string));
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
        paths.sort();
        Ok(paths)
    }
}

/// The "expensive" work the cache saves: the page remembers on which visit it was rendered.
fn render(path: &str, visit: u64) -> String {
    format!("<h1>{path}</h1><p>rendered on visit {visit}</p>")
}

fn describe(error: store::Error) -> String {
    match error {
        store::Error::NoSuchStore => "the key-value store does not exist".to_string(),
        store::Error::AccessDenied => "access to the key-value store was denied".to_string(),
        store::Error::Other(message) => format!("key-value store error: {message}"),
    }
}

export!(App);
