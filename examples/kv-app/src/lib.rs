//! An application component that keeps its state in a key-value store: it counts visits per path
//! with `atomics.increment` and caches each rendered page in the bucket. Composed with cachet
//! (`cachet compose`), the store is cachet's keyspace inside the same component.
//!
//! It is a component or nothing: built for another target (as `cargo test --workspace` does), the
//! crate is empty.
#![cfg(target_family = "wasm")]

wit_bindgen::generate!({
    // The wasi:keyvalue package is cachet's own copy, in the repository's wit/deps/keyvalue.
    path: ["../../wit/deps/keyvalue", "wit"],
    world: "cachet-example:kv-app/app",
    generate_all,
});

use exports::cachet_example::kv_app::pages::Guest;
use wasi::keyvalue::{atomics, store};

struct App;

impl Guest for App {
    fn handle(path: String) -> Result<String, String> {
        let bucket = store::open("default").map_err(describe)?;
        let visit = atomics::increment(&bucket, &format!("visits:{path}"), 1).map_err(describe)?;
        let page_key = format!("page:{path}");
        let (source, page) = match bucket.get(&page_key).map_err(describe)? {
            Some(bytes) => ("cached", String::from_utf8(bytes).map_err(|_| format!("the page cached for {path} is not UTF-8"))?),
            None => {
                let page = render(&path, visit);
                bucket.set(&page_key, page.as_bytes()).map_err(describe)?;
                ("rendered", page)
            }
        };
        Ok(format!("visit {visit} of {path}, {source}: {page}"))
    }
}

/// The "expensive" work the cache saves: the page remembers on which visit it was rendered.
fn render(path: &str, visit: i64) -> String {
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
