//! `cachet component` and `cachet compose`: cachet's component as a file, and an application
//! component with cachet plugged into its imports.
//!
//! An application that imports `wasi:keyvalue/store@0.2.0-draft2` or `@0.2.0-draft` (and atomics,
//! batch, or cachet's `expiry` and `maintenance`) gets those imports satisfied by an instance of cachet's
//! component inside the composed component: its key-value store is cachet's keyspace, and what is
//! left to import is only what the two components need besides (cachet's clock, random and log,
//! and whatever the application imports itself).

use anyhow::{Context, Result, bail};
use clap::Args;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use wac_graph::types::{ItemKind, Package, SubtypeChecker};
use wac_graph::{CompositionGraph, EncodeOptions, NodeKind, PlugError, Processor};

#[derive(Args, Debug)]
pub struct ComponentArgs {
    /// Where to write cachet's component (a .wasm file).
    #[arg(long, short)]
    output: PathBuf,
    /// Which world the component implements: one alone imports only what that world names
    /// (keyvalue and server: cachet's clock, random and log, nothing from WASI); `all` is the
    /// engine the cachet binary runs.
    #[arg(long, value_enum, default_value_t = World::All)]
    world: World,
}

/// cachet's components, one per world and one with every world.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    Keyvalue,
    Server,
    Client,
    All,
}

impl World {
    pub fn name(self) -> &'static str {
        match self {
            World::Keyvalue => "keyvalue",
            World::Server => "server",
            World::Client => "client",
            World::All => "all",
        }
    }

    /// The component's bytes, as embedded in this binary.
    pub fn wasm(self) -> &'static [u8] {
        match self {
            World::Keyvalue => cachet_component::KEYVALUE,
            World::Server => cachet_component::SERVER,
            World::Client => cachet_component::CLIENT,
            World::All => cachet_component::WASM,
        }
    }
}

#[derive(Args, Debug)]
pub struct ComposeArgs {
    /// The application component (.wasm) whose wasi:keyvalue imports cachet is to satisfy.
    app: PathBuf,
    /// Where to write the composed component.
    #[arg(long, short)]
    output: PathBuf,
}

/// Writes one of the embedded components to a file.
pub fn component(args: ComponentArgs) -> Result<()> {
    let wasm = args.world.wasm();
    write(&args.output, wasm, "cachet's component")?;
    println!("wrote cachet's {} component to {} ({} bytes)", args.world.name(), args.output.display(), wasm.len());
    Ok(())
}

/// Composes the application with cachet and writes the result.
pub fn compose_command(args: ComposeArgs) -> Result<()> {
    let app = std::fs::read(&args.app)
        .with_context(|| format!("could not read the application component {}", args.app.display()))?;
    let composed = compose(&app).with_context(|| format!("could not compose {} with cachet", args.app.display()))?;
    write(&args.output, &composed.wasm, "the composed component")?;
    println!("wrote {} ({} bytes)", args.output.display(), composed.wasm.len());
    println!("cachet satisfies the application's imports:");
    for name in &composed.plugged {
        println!("  {name}");
    }
    println!("the composed component imports:");
    for name in &composed.imports {
        println!("  {name}");
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8], what: &str) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| {
        format!("could not write {what} to {} (is its directory there and writable?)", path.display())
    })
}

/// An application composed with cachet.
#[derive(Debug)]
pub struct Composed {
    /// The composed component.
    pub wasm: Vec<u8>,
    /// The application's imports that cachet now satisfies, sorted.
    pub plugged: Vec<String>,
    /// What the composed component still imports, sorted.
    pub imports: Vec<String>,
}

/// A world's imports or exports by name.
type Items = BTreeMap<String, ItemKind>;

/// Plugs cachet's exports into every import of `app` (a component's bytes) that they match.
///
/// Fails, saying why, when `app` is not a component, when it imports none of cachet's exports,
/// or when it imports one of cachet's interfaces at another version or with another type, or a
/// wasi:keyvalue interface cachet does not implement (it would be left importing a key-value
/// store the composed component does not contain).
pub fn compose(app: &[u8]) -> Result<Composed> {
    check_component(app)?;
    let mut graph = CompositionGraph::new();
    // The engine without Lua: an application reaches it through wasi:keyvalue, never through
    // scripts, and it imports no files (see README.md's list of the component's imports).
    let cachet = Package::from_bytes("cachet:engine", None, cachet_component::WASM_WITHOUT_LUA, graph.types_mut())
        .context("cachet's own component could not be read (this is a bug in cachet)")?;
    let app = Package::from_bytes("application:component", None, app.to_vec(), graph.types_mut())
        .context("the application is not a valid WebAssembly component")?;
    let cachet = graph.register_package(cachet).context("registering cachet's component")?;
    let app = graph.register_package(app).context("registering the application component")?;

    let app_imports: Items = graph.types()[graph[app].ty()].imports.iter().map(|(n, k)| (n.clone(), *k)).collect();
    let cachet_exports: Items = graph.types()[graph[cachet].ty()].exports.iter().map(|(n, k)| (n.clone(), *k)).collect();
    check_matching_imports(&graph, &app_imports, &cachet_exports)?;

    match wac_graph::plug(&mut graph, vec![cachet], app) {
        Ok(()) => {}
        Err(PlugError::NoPlugHappened) => {
            bail!(
                "the application imports none of the interfaces cachet exports ({}); it imports: {}. \
                 Build it against wasi:keyvalue/store@0.2.0-draft2 (the WIT is in cachet's wit/deps/keyvalue) \
                 or wasi:keyvalue/store@0.2.0-draft (wit/deps/keyvalue-0.2.0-draft)",
                list(cachet_exports.keys().filter(|name| is_offered(name))),
                list(app_imports.keys()),
            )
        }
        Err(PlugError::GraphError { source }) => return Err(source.context("composing the two components failed")),
    }

    let plugged: Vec<String> = {
        let app_instance = graph
            .node_ids()
            .find(|&id| matches!(graph[id].kind(), NodeKind::Instantiation(_)) && graph[id].package() == Some(app))
            .context("the application's instance is missing from the composition (this is a bug in cachet)")?;
        let mut names: Vec<String> = graph.get_instantiation_arguments(app_instance).map(|(name, _)| name.to_string()).collect();
        names.sort();
        names
    };
    let imports: Vec<String> = {
        let names: BTreeSet<String> = graph.imports().map(|(name, _, _)| name.to_string()).collect();
        names.into_iter().collect()
    };
    let wasm = graph
        .encode(EncodeOptions {
            processor: Some(Processor { name: "cachet", version: env!("CARGO_PKG_VERSION") }),
            ..EncodeOptions::default()
        })
        .map_err(anyhow::Error::from)
        .context("encoding the composed component failed")?;
    Ok(Composed { wasm, plugged, imports })
}

/// The exports of cachet that an application may import: the key-value interfaces and cachet's
/// extensions of them. (The server and client interfaces are exported too, for cachet's own host.)
fn is_offered(name: &str) -> bool {
    name.starts_with("wasi:keyvalue/") || name.starts_with("cachet:engine/expiry@") || name.starts_with("cachet:engine/maintenance@")
}

/// Refuses, with the reason, an application that imports one of cachet's interfaces in a form
/// cachet's export cannot satisfy (another version, or another type), or a wasi:keyvalue
/// interface cachet does not implement: the composed component would still import a key-value
/// store from its host.
fn check_matching_imports(
    graph: &CompositionGraph,
    imports: &Items,
    exports: &Items,
) -> Result<()> {
    let mut problems = Vec::new();
    let mut cache = Default::default();
    let mut checker = SubtypeChecker::new(&mut cache);
    for (name, import) in imports {
        if let Some(export) = exports.get(name) {
            if let Err(error) = checker.is_subtype(*export, graph.types(), *import, graph.types()) {
                problems.push(format!(
                    "it imports {name} with a type that differs from cachet's ({error:#}); build it against the WIT in \
                     cachet's wit/ directory"
                ));
            }
            continue;
        }
        let wanted = unversioned(name);
        let offered: Vec<&str> = exports.keys().filter(|export| is_offered(export) && unversioned(export) == wanted).map(String::as_str).collect();
        if !offered.is_empty() {
            let offered = offered.join(" or ");
            problems.push(format!("it imports {name}, but cachet exports {offered}: build it against {offered}"));
        } else if name.starts_with("wasi:keyvalue/") {
            problems.push(format!(
                "it imports {name}, which cachet does not implement (cachet exports {})",
                list(exports.keys().filter(|export| export.starts_with("wasi:keyvalue/")))
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!("cachet cannot satisfy all of the application's key-value imports: {}", problems.join("; "))
}

/// `wasi:keyvalue/store@0.2.0` -> `wasi:keyvalue/store`.
fn unversioned(name: &str) -> &str {
    name.split_once('@').map_or(name, |(name, _)| name)
}

fn list<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() { "nothing".to_string() } else { names.join(", ") }
}

/// Refuses bytes that are not a component, saying what they are instead.
fn check_component(bytes: &[u8]) -> Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    const MODULE: [u8; 4] = [1, 0, 0, 0];
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        bail!("the application is not a WebAssembly file (it does not start with \\0asm)");
    }
    if bytes[4..8] == MODULE {
        bail!(
            "the application is a core WebAssembly module, not a component: build it as a component \
             (for Rust, with --target wasm32-wasip2)"
        );
    }
    Ok(())
}
