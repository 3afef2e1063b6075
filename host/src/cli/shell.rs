//! `cachet cli`, the command-line shell: a client in the spirit of `redis-cli`. One command from
//! the arguments, or an interactive prompt with history; replies shown as redis-cli shows them, or
//! raw with `--raw`.

use crate::client::{Client, ClientConfig, ConnectionSettings, ErrorKind, Target, Value};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct ShellArgs {
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Server host name.
    #[arg(short = 'h', long = "host", default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(short = 'p', long = "port", default_value_t = 6379)]
    port: u16,
    /// Server Unix socket (overrides host and port).
    #[arg(short = 's', long = "socket")]
    socket: Option<PathBuf>,
    /// Password (also read from REDISCLI_AUTH).
    #[arg(short = 'a', long = "pass", env = "REDISCLI_AUTH", hide_env_values = true)]
    password: Option<String>,
    /// User name for ACL-style AUTH.
    #[arg(long = "user")]
    user: Option<String>,
    /// Database number.
    #[arg(short = 'n', default_value_t = 0)]
    db: u32,
    /// Server URL (redis://, unix://, mem://); overrides host, port, socket, password and database.
    #[arg(short = 'u', long = "url")]
    url: Option<String>,
    /// Speak RESP3 (HELLO 3).
    #[arg(short = '3')]
    resp3: bool,
    /// Print replies raw, without types or quotes (the default when output is not a terminal).
    #[arg(long)]
    raw: bool,
    /// Print replies with types and quotes even when output is not a terminal.
    #[arg(long, conflicts_with = "raw")]
    no_raw: bool,
    /// The command to run; without one, an interactive prompt opens.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

impl ShellArgs {
    fn config(&self) -> Result<ClientConfig> {
        let mut config = match &self.url {
            Some(url) => ClientConfig::parse(url)?,
            None => {
                let target = match &self.socket {
                    Some(path) => Target::Unix(path.clone()),
                    None => Target::Tcp { host: self.host.clone(), port: self.port },
                };
                let connection = ConnectionSettings {
                    username: self.user.clone(),
                    password: self.password.clone(),
                    database: self.db,
                    ..ConnectionSettings::default()
                };
                ClientConfig { target, connection, pool: Default::default() }
            }
        };
        if self.resp3 {
            config.connection.protocol = 3;
        }
        // One connection, so that SELECT and other session commands keep applying.
        config.pool.max_connections = 1;
        Ok(config)
    }

    fn prompt(&self, config: &ClientConfig) -> String {
        let target = match &config.target {
            Target::Tcp { host, port } => format!("{host}:{port}"),
            Target::Unix(path) => path.display().to_string(),
            Target::Memory(name) => format!("mem://{name}"),
        };
        match config.connection.database {
            0 => format!("{target}> "),
            db => format!("{target}[{db}]> "),
        }
    }
}

pub fn run(args: ShellArgs) -> Result<()> {
    let reactor = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the client's event loop")?;
    reactor.block_on(async {
        let mut args = args;
        // As redis-cli does: piped output is raw unless --no-raw asks otherwise.
        args.raw = args.raw || (!args.no_raw && !std::io::IsTerminal::is_terminal(&std::io::stdout()));
        let config = args.config()?;
        let client = Client::with_config(config.clone()).await?;
        if !args.command.is_empty() {
            return one_shot(&client, &args).await;
        }
        interactive(client, config, &args).await
    })
}

/// The prompt is one user's session, as redis-cli's: its commands (SELECT, HELLO, MULTI, ...) run
/// on a connection of its own.
async fn one_shot(client: &Client, args: &ShellArgs) -> Result<()> {
    let reply = match client.dedicated().await {
        Ok(mut session) => session.call(&args.command).await,
        Err(error) => Err(error),
    };
    let failed = reply.is_err();
    print!("{}", show(&reply, args.raw));
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

async fn interactive(mut client: Client, mut config: ClientConfig, args: &ShellArgs) -> Result<()> {
    let mut session = None;
    let mut editor = rustyline::DefaultEditor::new().context("opening the terminal")?;
    let history = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cachet_history"));
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    loop {
        let line = match editor.readline(&args.prompt(&config)) {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted | rustyline::error::ReadlineError::Eof) => break,
            Err(error) => return Err(error.into()),
        };
        let Some(words) = shlex::split(&line) else {
            println!("Invalid argument(s): unbalanced quotes");
            continue;
        };
        let Some(name) = words.first() else { continue };
        let _ = editor.add_history_entry(line.as_str());
        if name.eq_ignore_ascii_case("quit") || name.eq_ignore_ascii_case("exit") {
            break;
        }
        let reply = match session.as_mut() {
            Some(session) => Ok(session),
            None => client.dedicated().await.map(|fresh| session.insert(fresh)),
        };
        let reply = match reply {
            Ok(current) => current.call(&words).await,
            Err(error) => Err(error),
        };
        print!("{}", show(&reply, args.raw));
        // A broken connection takes its session with it: the next command opens another.
        if reply.as_ref().is_err_and(|e| matches!(e.kind(), ErrorKind::Connection | ErrorKind::Closed | ErrorKind::Timeout)) {
            session = None;
        }
        // The prompt shows the database; a new client keeps it across reconnects.
        if name.eq_ignore_ascii_case("select")
            && reply.is_ok()
            && let Some(db) = words.get(1).and_then(|d| d.parse().ok())
        {
            config.connection.database = db;
            client = Client::with_config(config.clone()).await?;
            session = None;
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// A reply as redis-cli prints it (or raw), ending with a newline.
pub fn show(reply: &Result<Value, crate::client::Error>, raw: bool) -> String {
    let mut out = String::new();
    match reply {
        Ok(value) if raw => write_raw(&mut out, value),
        Ok(value) => write_value(&mut out, value, 0),
        Err(error) if raw => out.push_str(error.message()),
        Err(error) => {
            out.push_str("(error) ");
            out.push_str(error.message());
        }
    }
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Nil => out.push_str("(nil)"),
        Value::Status(s) => out.push_str(s),
        Value::Error(e) => {
            out.push_str("(error) ");
            out.push_str(e);
        }
        Value::Int(n) => out.push_str(&format!("(integer) {n}")),
        Value::Bulk(b) => quote(out, b),
        Value::Double(d) => out.push_str(&format!("(double) {d}")),
        Value::Bool(b) => out.push_str(if *b { "(true)" } else { "(false)" }),
        Value::BigNumber(n) => out.push_str(&format!("(big number) {n}")),
        Value::Verbatim { text, .. } => out.push_str(&String::from_utf8_lossy(text)),
        Value::Array(items) | Value::Push(items) => write_list(out, items, indent, "(empty array)"),
        Value::Set(items) => write_list(out, items, indent, "(empty set)"),
        Value::Map(pairs) => write_numbered(out, pairs, indent, "(empty hash)", "#", |out, (key, value), at| {
            write_value(out, key, at);
            out.push_str(" => ");
            write_value(out, value, at + 4);
        }),
    }
}

fn write_list(out: &mut String, items: &[Value], indent: usize, empty: &str) {
    write_numbered(out, items, indent, empty, ")", write_value);
}

/// Elements numbered as redis-cli numbers them (`1) `, or `1# ` for a map's pairs), each after the
/// first on a line of its own indented to `indent`; `write` prints one element whose nested lines
/// start at the column it is given.
fn write_numbered<T>(
    out: &mut String,
    elements: &[T],
    indent: usize,
    empty: &str,
    marker: &str,
    mut write: impl FnMut(&mut String, &T, usize),
) {
    if elements.is_empty() {
        out.push_str(empty);
    }
    let width = elements.len().to_string().len();
    for (i, element) in elements.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
        }
        let label = format!("{:>width$}{marker} ", i + 1);
        out.push_str(&label);
        write(out, element, indent + label.len());
    }
}

/// A bulk string in double quotes with redis-cli's escapes.
fn quote(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
}

fn write_raw(out: &mut String, value: &Value) {
    match value {
        Value::Nil => {}
        Value::Status(s) | Value::Error(s) | Value::BigNumber(s) => out.push_str(s),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Bulk(b) | Value::Verbatim { text: b, .. } => out.push_str(&String::from_utf8_lossy(b)),
        Value::Double(d) => out.push_str(&d.to_string()),
        Value::Bool(b) => out.push_str(if *b { "1" } else { "0" }),
        Value::Array(items) | Value::Set(items) | Value::Push(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                write_raw(out, item);
            }
        }
        Value::Map(pairs) => {
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                write_raw(out, k);
                out.push('\n');
                write_raw(out, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn replies_print_like_redis_cli() {
        let ok = |v: Value| show(&Ok(v), false);
        assert_eq!(ok(Value::Status("OK".into())), "OK\n");
        assert_eq!(ok(Value::Nil), "(nil)\n");
        assert_eq!(ok(Value::Int(3)), "(integer) 3\n");
        assert_eq!(ok(Value::Bulk(Bytes::from_static(b"a\"b\n\x01"))), "\"a\\\"b\\n\\x01\"\n");
        let nested = Value::Array(vec![Value::Bulk(Bytes::from_static(b"x")), Value::Array(vec![Value::Int(1), Value::Int(2)])]);
        assert_eq!(ok(nested), "1) \"x\"\n2) 1) (integer) 1\n   2) (integer) 2\n");
        assert_eq!(ok(Value::Array(vec![])), "(empty array)\n");
        let map = Value::Map(vec![
            (Value::Bulk(Bytes::from_static(b"k")), Value::Array(vec![Value::Int(1), Value::Int(2)])),
            (Value::Bulk(Bytes::from_static(b"k2")), Value::Nil),
        ]);
        assert_eq!(ok(map), "1# \"k\" => 1) (integer) 1\n       2) (integer) 2\n2# \"k2\" => (nil)\n");
        assert_eq!(ok(Value::Map(vec![])), "(empty hash)\n");
        let error = crate::client::Error::new(crate::client::ErrorKind::Server, "ERR unknown command 'x'");
        assert_eq!(show(&Err(error), false), "(error) ERR unknown command 'x'\n");
        assert_eq!(show(&Ok(Value::Array(vec![Value::Int(1), Value::Nil])), true), "1\n\n");
    }
}
