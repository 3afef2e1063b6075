//! COMMAND: the command table as clients discover it (COMMAND INFO, DOCS, COUNT, LIST, GETKEYS,
//! GETKEYSANDFLAGS).
//!
//! Everything here is generated from the `Command` entries, so the table and what clients are
//! told about it cannot drift apart. Argument documentation is parsed from each command's syntax
//! line, written in the notation of Redis's documentation.

use super::key_flags::keys_and_flags;
use super::{Command, Ctx, Flag, all, is, lookup, write_help};
use crate::glob;

pub const COMMANDS: &[Command] = &[Command::new("command", -1, command)
    .flags(&[Flag::Loading, Flag::Stale])
    .group("server")
    .doc("Returns detailed information about all commands.", "2.8.13", "O(N) where N is the total number of Redis commands", "")
    .subcommands(&[
        Command::new("command|count", 2, count).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns a count of commands.", "2.8.13", "O(1)", ""),
        Command::new("command|info", -2, info).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns information about one, multiple or all commands.", "2.8.13", "O(N) where N is the number of commands to look up", "[command-name [command-name ...]]"),
        Command::new("command|docs", -2, docs).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns documentary information about one, multiple or all commands.", "7.0.0", "O(N) where N is the number of commands to look up", "[command-name [command-name ...]]"),
        Command::new("command|list", -2, list).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns a list of command names.", "7.0.0", "O(N) where N is the total number of Redis commands", "[FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]"),
        Command::new("command|getkeys", -3, getkeys).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Extracts the key names from an arbitrary command.", "2.8.13", "O(N) where N is the number of arguments to the command", "command [arg [arg ...]]"),
        Command::new("command|getkeysandflags", -3, getkeysandflags).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Extracts the key names and access flags for an arbitrary command.", "7.0.0", "O(N) where N is the number of arguments to the command", "command [arg [arg ...]]"),
        Command::new("command|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
    ])];

/// COMMAND with no subcommand lists every command. (With one, the dispatcher runs the subcommand.)
fn command(ctx: &mut Ctx, _args: &[&[u8]]) {
    let commands: Vec<&Command> = all().collect();
    ctx.reply.array(commands.len());
    for command in commands {
        write_info(ctx, command);
    }
}

fn count(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.integer(all().count() as i64);
}

/// The named commands (a `container|sub` name finds a subcommand), or `None` per unknown name.
fn named(args: &[&[u8]]) -> Vec<Option<&'static Command>> {
    args.iter().map(|name| find(name)).collect()
}

fn find(name: &[u8]) -> Option<&'static Command> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    match text.split_once('|') {
        None => lookup(name),
        Some((container, _)) => lookup(container.as_bytes())?.subcommands.iter().find(|s| s.name == text),
    }
}

fn info(ctx: &mut Ctx, args: &[&[u8]]) {
    let commands: Vec<Option<&Command>> = if args.len() == 2 { all().map(Some).collect() } else { named(&args[2..]) };
    ctx.reply.array(commands.len());
    for command in commands {
        match command {
            Some(command) => write_info(ctx, command),
            None => ctx.reply.null_array(),
        }
    }
}

/// Redis 7's ten-field description of a command.
fn write_info(ctx: &mut Ctx, command: &Command) {
    ctx.reply.array(10);
    ctx.reply.bulk(command.name.as_bytes());
    ctx.reply.integer(i64::from(command.arity));
    ctx.reply.set(command.flags.len());
    for flag in command.flags {
        ctx.reply.simple(flag.name());
    }
    let (first, last, step) = command.keys;
    ctx.reply.integer(i64::from(first));
    ctx.reply.integer(i64::from(last));
    ctx.reply.integer(i64::from(step));
    let categories = acl_categories(command);
    ctx.reply.set(categories.len());
    for category in categories {
        ctx.reply.simple(category);
    }
    // Tips and key specifications (cachet reports none), then the subcommands: RESP3 sets, as
    // Redis writes them, but an array when there are subcommands.
    ctx.reply.set(0);
    ctx.reply.set(0);
    if command.subcommands.is_empty() {
        ctx.reply.set(0);
    } else {
        ctx.reply.array(command.subcommands.len());
    }
    for sub in command.subcommands {
        write_info(ctx, sub);
    }
}

/// ACL categories as Redis assigns them, derived from the group and flags, in the order Redis
/// lists them (the order of its category bits). ACL rules (`+@read`) use the same.
pub(crate) fn acl_categories(command: &Command) -> Vec<&'static str> {
    let group = command.group;
    let dangerous = command.has_flag(Flag::Admin) || ["keys", "flushdb", "flushall", "swapdb"].contains(&command.name);
    [
        ("@keyspace", group == "generic"),
        ("@read", command.has_flag(Flag::ReadOnly)),
        ("@write", command.has_flag(Flag::Write)),
        ("@set", group == "set"),
        ("@sortedset", group == "sorted-set"),
        ("@list", group == "list"),
        ("@hash", group == "hash"),
        ("@string", group == "string"),
        ("@bitmap", group == "bitmap"),
        ("@hyperloglog", group == "hyperloglog"),
        ("@pubsub", group == "pubsub"),
        ("@admin", command.has_flag(Flag::Admin)),
        ("@fast", command.has_flag(Flag::Fast)),
        ("@slow", !command.has_flag(Flag::Fast)),
        ("@blocking", command.has_flag(Flag::Blocking)),
        ("@dangerous", dangerous),
        ("@connection", group == "connection"),
        ("@transaction", group == "transactions"),
        ("@scripting", group == "scripting"),
    ]
    .into_iter()
    .filter_map(|(name, applies)| applies.then_some(name))
    .collect()
}

fn docs(ctx: &mut Ctx, args: &[&[u8]]) {
    let commands: Vec<&Command> =
        if args.len() == 2 { all().collect() } else { named(&args[2..]).into_iter().flatten().collect() };
    ctx.reply.map(commands.len());
    for command in commands {
        ctx.reply.bulk(command.name.as_bytes());
        write_doc(ctx, command);
    }
}

fn write_doc(ctx: &mut Ctx, command: &Command) {
    let arguments = parse_syntax(command.syntax);
    // MONITOR, say, has no stated complexity: Redis then leaves the field out.
    let described = [("summary", command.summary), ("since", command.since), ("group", command.group), ("complexity", command.complexity)];
    let described: Vec<_> = described.into_iter().filter(|(name, value)| *name != "complexity" || !value.is_empty()).collect();
    let fields = described.len() + usize::from(!arguments.is_empty()) + usize::from(!command.subcommands.is_empty());
    ctx.reply.map(fields);
    for (name, value) in described {
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.bulk(value.as_bytes());
    }
    if !arguments.is_empty() {
        ctx.reply.bulk(b"arguments");
        write_arguments(ctx, &arguments);
    }
    if !command.subcommands.is_empty() {
        ctx.reply.bulk(b"subcommands");
        ctx.reply.map(command.subcommands.len());
        for sub in command.subcommands {
            ctx.reply.bulk(sub.name.as_bytes());
            write_doc(ctx, sub);
        }
    }
}

fn write_arguments(ctx: &mut Ctx, arguments: &[Argument]) {
    ctx.reply.array(arguments.len());
    for argument in arguments {
        let fields = 3 + usize::from(argument.token.is_some()) + usize::from(!argument.flags.is_empty())
            + usize::from(!argument.children.is_empty());
        ctx.reply.map(fields);
        ctx.reply.bulk(b"name");
        ctx.reply.bulk(argument.name.as_bytes());
        ctx.reply.bulk(b"type");
        ctx.reply.bulk(argument.kind.as_bytes());
        ctx.reply.bulk(b"display_text");
        ctx.reply.bulk(argument.name.as_bytes());
        if let Some(token) = &argument.token {
            ctx.reply.bulk(b"token");
            ctx.reply.bulk(token.as_bytes());
        }
        if !argument.flags.is_empty() {
            ctx.reply.bulk(b"flags");
            ctx.reply.set(argument.flags.len());
            for flag in &argument.flags {
                ctx.reply.simple(flag);
            }
        }
        if !argument.children.is_empty() {
            ctx.reply.bulk(b"arguments");
            write_arguments(ctx, &argument.children);
        }
    }
}

/// One argument of a command, as COMMAND DOCS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    pub name: String,
    /// key, string, integer, double, pattern, pure-token, oneof or block.
    pub kind: &'static str,
    pub token: Option<String>,
    /// optional, multiple.
    pub flags: Vec<&'static str>,
    pub children: Vec<Argument>,
}

/// Parses a syntax line such as `key [NX | XX] [EX seconds | PX milliseconds] [key ...]` into
/// arguments: `[...]` is optional, `<...>` groups, `|` separates alternatives, `x [x ...]` or
/// `x ...` repeats, an upper-case word is a token and one followed by a value names that value.
pub fn parse_syntax(syntax: &str) -> Vec<Argument> {
    let tokens = tokenize(syntax);
    let mut pos = 0;
    parse_sequence(&tokens, &mut pos, None)
}

fn tokenize(syntax: &str) -> Vec<String> {
    let spaced = syntax.replace('[', " [ ").replace(']', " ] ").replace('<', " < ").replace('>', " > ").replace('|', " | ");
    spaced.split_whitespace().map(String::from).collect()
}

/// Arguments until the closing bracket `end` (or the end of input). Alternatives separated by `|`
/// become one `oneof` argument.
fn parse_sequence(tokens: &[String], pos: &mut usize, end: Option<&str>) -> Vec<Argument> {
    let mut alternatives: Vec<Vec<Argument>> = vec![Vec::new()];
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        let current = alternatives.last_mut().expect("never empty");
        match token.as_str() {
            t if Some(t) == end => break,
            "|" => alternatives.push(Vec::new()),
            "[" | "<" => {
                let close = if token == "[" { "]" } else { ">" };
                let mut inner = parse_sequence(tokens, pos, Some(close));
                // `[a b ...]`: the dots repeat the whole group, not just its last word.
                let repeats_group = inner.len() > 1 && *pos >= 2 && tokens[*pos - 2] == "...";
                if repeats_group && let Some(last) = inner.last_mut() {
                    last.flags.retain(|f| *f != "multiple");
                }
                if is_repeat_marker(&inner, current) {
                    if let Some(last) = current.last_mut() {
                        add_flag(last, "multiple");
                    }
                    continue;
                }
                let mut group = group_of(inner);
                if token == "[" {
                    add_flag(&mut group, "optional");
                }
                if repeats_group {
                    add_flag(&mut group, "multiple");
                }
                current.push(group);
            }
            "..." => {
                if let Some(last) = current.last_mut() {
                    add_flag(last, "multiple");
                }
            }
            word if is_token(word) => {
                let takes_value = tokens.get(*pos).is_some_and(|next| !is_token(next) && !is_punctuation(next));
                if takes_value {
                    let mut value = plain(&tokens[*pos]);
                    value.token = Some(word.to_string());
                    *pos += 1;
                    current.push(value);
                } else {
                    current.push(Argument { name: word.to_ascii_lowercase(), kind: "pure-token", token: Some(word.to_string()), flags: Vec::new(), children: Vec::new() });
                }
            }
            word => current.push(plain(word)),
        }
    }
    if alternatives.len() == 1 {
        return alternatives.pop().unwrap_or_default();
    }
    let options = alternatives.into_iter().map(group_of).collect();
    vec![Argument { name: "option".into(), kind: "oneof", token: None, flags: Vec::new(), children: options }]
}

/// `[key ...]` after `key`: the bracket only says the previous argument repeats.
fn is_repeat_marker(inner: &[Argument], before: &[Argument]) -> bool {
    match (inner, before.last()) {
        ([single], Some(previous)) => single.name == previous.name && single.flags.contains(&"multiple"),
        _ => false,
    }
}

/// Several arguments in brackets form a block; one stays itself.
fn group_of(mut arguments: Vec<Argument>) -> Argument {
    if arguments.len() == 1 {
        return arguments.pop().unwrap_or_else(|| plain("argument"));
    }
    let name = arguments.first().map_or("block".to_string(), |a| a.name.clone());
    Argument { name, kind: "block", token: None, flags: Vec::new(), children: arguments }
}

fn add_flag(argument: &mut Argument, flag: &'static str) {
    if !argument.flags.contains(&flag) {
        argument.flags.push(flag);
    }
}

fn is_token(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_uppercase()) && word.chars().all(|c| c.is_ascii_uppercase() || c == '-' || c.is_ascii_digit())
}

fn is_punctuation(word: &str) -> bool {
    matches!(word, "[" | "]" | "<" | ">" | "|" | "...")
}

/// A value argument, typed by its name.
fn plain(name: &str) -> Argument {
    const INTEGERS: &[&str] = &[
        "seconds", "milliseconds", "unix-time-seconds", "unix-time-milliseconds", "offset", "start", "end", "index",
        "db", "count", "cursor", "increment", "decrement", "destination-db", "protover", "client-id", "index1", "index2",
    ];
    let kind = match name {
        "key" | "newkey" | "source" | "destination" => "key",
        "pattern" => "pattern",
        _ if INTEGERS.contains(&name) => "integer",
        _ => "string",
    };
    Argument { name: name.to_string(), kind, token: None, flags: Vec::new(), children: Vec::new() }
}

fn list(ctx: &mut Ctx, args: &[&[u8]]) {
    let pattern: Option<&[u8]> = match &args[2..] {
        [] => None,
        [filter, kind, pattern] if is(filter, "FILTERBY") && is(kind, "PATTERN") => Some(pattern),
        [filter, kind, category] if is(filter, "FILTERBY") && is(kind, "ACLCAT") => {
            let wanted = format!("@{}", String::from_utf8_lossy(category).to_ascii_lowercase());
            let names: Vec<&str> = all().filter(|c| acl_categories(c).contains(&wanted.as_str())).map(|c| c.name).collect();
            write_names(ctx, &names);
            return;
        }
        [filter, kind, _] if is(filter, "FILTERBY") && is(kind, "MODULE") => {
            write_names(ctx, &[]);
            return;
        }
        _ => {
            ctx.reply.error(super::SYNTAX_ERROR);
            return;
        }
    };
    let names: Vec<&str> = all().map(|c| c.name).filter(|n| pattern.is_none_or(|p| glob::matches(p, n.as_bytes(), true))).collect();
    write_names(ctx, &names);
}

fn write_names(ctx: &mut Ctx, names: &[&str]) {
    ctx.reply.array(names.len());
    for name in names {
        ctx.reply.bulk(name.as_bytes());
    }
}

/// The keys a command line would touch.
fn getkeys(ctx: &mut Ctx, args: &[&[u8]]) {
    match keys_and_flags(&args[2..]) {
        Err(error) => ctx.reply.error(error),
        Ok(keys) => {
            ctx.reply.array(keys.len());
            for (key, _) in keys {
                ctx.reply.bulk(key);
            }
        }
    }
}

/// The keys a command line would touch, each with what the command does to it (`RW`, `access`...).
fn getkeysandflags(ctx: &mut Ctx, args: &[&[u8]]) {
    match keys_and_flags(&args[2..]) {
        Err(error) => ctx.reply.error(error),
        Ok(keys) => {
            ctx.reply.array(keys.len());
            for (key, flags) in keys {
                ctx.reply.array(2);
                ctx.reply.bulk(key);
                ctx.reply.set(flags.len());
                for flag in flags {
                    ctx.reply.simple(flag);
                }
            }
        }
    }
}

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all commands.",
    "COUNT",
    "    Return the total number of commands in this server.",
    "LIST",
    "    Return a list of all commands in this server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple commands.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple commands.",
    "GETKEYS <full-command>",
    "    Return the keys from a full command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full command.",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use super::{Argument, parse_syntax};
    use crate::engine::test_harness::{Harness, bulk};

    fn arg(name: &str, kind: &'static str, token: Option<&str>, flags: &[&'static str]) -> Argument {
        Argument { name: name.into(), kind, token: token.map(String::from), flags: flags.to_vec(), children: Vec::new() }
    }

    #[test]
    fn syntax_lines_become_arguments() {
        assert_eq!(parse_syntax("key [key ...]"), vec![arg("key", "key", None, &["multiple"])]);
        assert_eq!(parse_syntax("key value"), vec![arg("key", "key", None, &[]), arg("value", "string", None, &[])]);
        let set = parse_syntax("key value [NX | XX] [GET] [EX seconds | PX milliseconds | KEEPTTL]");
        assert_eq!(set.len(), 5);
        assert_eq!(set[2].kind, "oneof");
        assert_eq!(set[2].flags, vec!["optional"]);
        assert_eq!(set[2].children, vec![arg("nx", "pure-token", Some("NX"), &[]), arg("xx", "pure-token", Some("XX"), &[])]);
        assert_eq!(set[3], arg("get", "pure-token", Some("GET"), &["optional"]));
        assert_eq!(set[4].children[0], arg("seconds", "integer", Some("EX"), &[]));
        let scan = parse_syntax("cursor [MATCH pattern] [COUNT count]");
        assert_eq!(scan[1], arg("pattern", "pattern", Some("MATCH"), &["optional"]));
        let mset = parse_syntax("key value [key value ...]");
        assert_eq!(mset.len(), 3);
        assert_eq!(mset[2].kind, "block");
        assert_eq!(mset[2].flags, vec!["optional", "multiple"]);
        let hello = parse_syntax("[protover [AUTH username password] [SETNAME clientname]]");
        assert_eq!(hello.len(), 1);
        assert_eq!(hello[0].kind, "block");
        assert!(parse_syntax("").is_empty());
    }

    #[test]
    fn info_count_list() {
        let mut c = Harness::new();
        let count = c.run(&["COMMAND", "COUNT"]);
        let n: usize = count.trim_start_matches(':').trim().parse().unwrap();
        assert!(n > 60, "{n} commands");
        let info = c.run(&["COMMAND", "INFO", "get", "nosuch"]);
        assert!(info.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"), "{info}");
        assert!(info.ends_with("*-1\r\n"), "{info}");
        let all = c.run(&["COMMAND"]);
        assert!(all.starts_with(&format!("*{n}\r\n")));
        let names = c.run(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "getr*"]);
        assert_eq!(names, format!("*1\r\n{}", bulk("getrange")));
        assert!(c.run(&["COMMAND", "INFO", "client|setname"]).contains("client|setname"));
    }

    #[test]
    fn docs_and_getkeys() {
        let mut c = Harness::new();
        let docs = c.run(&["COMMAND", "DOCS", "set"]);
        assert!(docs.starts_with(&format!("*2\r\n{}*10\r\n{}", bulk("set"), bulk("summary"))), "{docs}");
        assert!(docs.contains(&bulk("arguments")) && docs.contains(&bulk("KEEPTTL")), "{docs}");
        c.run(&["HELLO", "3"]);
        assert!(c.run(&["COMMAND", "DOCS", "get"]).starts_with("%1\r\n$3\r\nget\r\n%5\r\n"));
        c.run(&["HELLO", "2"]);
        assert_eq!(c.run(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]), format!("*2\r\n{}{}", bulk("a"), bulk("b")));
        assert_eq!(c.run(&["COMMAND", "GETKEYS", "PING"]), "-ERR The command has no key arguments\r\n");
        assert_eq!(c.run(&["COMMAND", "GETKEYS", "NOPE", "x"]), "-ERR Invalid command specified\r\n");
    }
}
