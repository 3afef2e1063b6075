//! `cachet inspect`: what a component imports and exports, down to each function, and which of
//! cachet's worlds it implements. It reads cachet's own components or any file a host author
//! holds, so the same command answers "what must my host provide for this file?".

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use wasmtime::component::types::{ComponentInstance, ComponentItem};
use wasmtime::component::Component;
use wasmtime::Engine;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A component file to inspect; without one, cachet's own (see --world).
    file: Option<PathBuf>,
    /// Which of cachet's components to inspect when no file is given.
    #[arg(long, value_enum, default_value_t = super::compose::World::All)]
    world: super::compose::World,
}

/// cachet's worlds, each by the interfaces it exports (wit/worlds.wit).
const WORLDS: [(&str, &[&str]); 3] = [
    ("server-engine", &["cachet:engine/server@0.1.0"]),
    ("client", &["cachet:engine/cache@0.1.0"]),
    (
        "keyvalue",
        &[
            "wasi:keyvalue/store@0.2.0-draft2",
            "wasi:keyvalue/atomics@0.2.0-draft2",
            "wasi:keyvalue/batch@0.2.0-draft2",
            "wasi:keyvalue/store@0.2.0-draft",
            "wasi:keyvalue/atomics@0.2.0-draft",
            "wasi:keyvalue/batch@0.2.0-draft",
            "cachet:engine/expiry@0.1.0",
            "cachet:engine/maintenance@0.1.0",
        ],
    ),
];

pub fn run(args: InspectArgs) -> Result<()> {
    let (bytes, origin) = match &args.file {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("could not read {}", path.display()))?;
            (bytes, path.display().to_string())
        }
        None => (args.world.wasm().to_vec(), format!("cachet's {} component", args.world.name())),
    };
    let engine = Engine::default();
    let component = Component::new(&engine, &bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("{origin} is not a component this build of wasmtime can load"))?;
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(&engine).map(|(name, _)| name.to_string()).collect();
    println!("component: {origin}, {} bytes", bytes.len());
    println!("world: {}", world_of(&exports));
    for (name, item) in ty.imports(&engine) {
        print_item("import", name, &item.ty, &engine);
    }
    for (name, item) in ty.exports(&engine) {
        print_item("export", name, &item.ty, &engine);
    }
    Ok(())
}

/// The cachet worlds whose exports the component has, all of each: `cachet` when it has them all.
fn world_of(exports: &[String]) -> String {
    let implemented: Vec<&str> = WORLDS
        .iter()
        .filter(|(_, interfaces)| interfaces.iter().all(|i| exports.iter().any(|e| e == i)))
        .map(|(world, _)| *world)
        .collect();
    match implemented.len() {
        0 => "none of cachet's (it exports no cachet world's interfaces in full)".to_string(),
        n if n == WORLDS.len() => "cachet (server-engine, client and keyvalue)".to_string(),
        _ => implemented.join(", "),
    }
}

/// One import or export, with its functions (and resources' functions) on the lines below it.
fn print_item(kind: &str, name: &str, item: &ComponentItem, engine: &Engine) {
    println!("{kind} {name};");
    if let ComponentItem::ComponentInstance(instance) = item {
        for line in functions(instance, engine) {
            println!("    {line}");
        }
    }
}

/// `func-name(param, ...)` for each function of an interface, sorted; `resource name` for each
/// resource (its methods are the `[method]name.x` functions, listed as such).
fn functions(instance: &ComponentInstance, engine: &Engine) -> Vec<String> {
    let mut lines: Vec<String> = instance
        .exports(engine)
        .filter_map(|(name, item)| match item.ty {
            ComponentItem::ComponentFunc(func) => {
                let params: Vec<&str> = func.params().map(|(param, _)| param).collect();
                Some(format!("{name}({})", params.join(", ")))
            }
            ComponentItem::Resource(_) => Some(format!("resource {name}")),
            _ => None,
        })
        .collect();
    lines.sort();
    lines
}
