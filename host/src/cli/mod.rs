//! The `cachet` command line.

pub mod compose;
mod config_file;
mod inspect;
mod serve;
mod shell;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "cachet", version, about = "A Redis-compatible cache server whose protocol and keyspace run in a WebAssembly sandbox")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the cache server (any Redis client can talk to it).
    Serve(serve::ServeArgs),
    /// A command-line client, like redis-cli: `cachet cli SET k v`, or a prompt without a command.
    Cli(shell::ShellArgs),
    /// Print a component's imports and exports, each function, and which of cachet's worlds it
    /// implements (cachet's own component, or a file).
    Inspect(inspect::InspectArgs),
    /// Write cachet's component (every world, or one alone with --world) to a .wasm file.
    Component(compose::ComponentArgs),
    /// Plug cachet into an application component's wasi:keyvalue imports and write the result.
    Compose(compose::ComposeArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Cli(args) => shell::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Component(args) => compose::component(args),
        Command::Compose(args) => compose::compose_command(args),
    }
}
