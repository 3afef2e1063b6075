//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: Lua scripts run atomically inside one command,
//! their `redis.call` going through the same [`dispatch`] as a client's commands, so every rule
//! (maxmemory, WATCH, keyspace notifications, tracking) holds for them too. The interpreter and
//! its script cache are in [`crate::scripting`].

use super::{Command, Ctx, Flag, dispatch, int_arg, is, lookup};
use crate::resp::{Limits, Reply, ReplyDecoder};
use crate::scripting::{number_argument, reply_to_lua, set_command_runner, write_reply};
use mlua::{Function, Lua, Table, Value, Variadic};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

const EVAL: &[Flag] = &[Flag::NoScript, Flag::Stale, Flag::MovableKeys];
const EVAL_RO: &[Flag] = &[Flag::ReadOnly, Flag::NoScript, Flag::Stale, Flag::MovableKeys];

pub const COMMANDS: &[Command] = &[
    Command::new("eval", -3, eval).flags(EVAL).counted_keys(2).group("scripting")
        .doc("Executes a server-side Lua script.", "2.6.0", "Depends on the script that is executed.", "script numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("evalsha", -3, evalsha).flags(EVAL).counted_keys(2).group("scripting")
        .doc("Executes a server-side Lua script by SHA1 digest.", "2.6.0", "Depends on the script that is executed.", "sha1 numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("eval_ro", -3, eval_ro).flags(EVAL_RO).counted_keys(2).group("scripting")
        .doc("Executes a read-only server-side Lua script.", "7.0.0", "Depends on the script that is executed.", "script numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("evalsha_ro", -3, evalsha_ro).flags(EVAL_RO).counted_keys(2).group("scripting")
        .doc("Executes a read-only server-side Lua script by SHA1 digest.", "7.0.0", "Depends on the script that is executed.", "sha1 numkeys [key [key ...]] [arg [arg ...]]"),
    Command::new("script", -2, super::subcommand_required).group("scripting")
        .doc("A container for Lua scripts management commands.", "2.6.0", "Depends on subcommand.", "")
        .subcommands(&[
            Command::new("script|exists", -3, script_exists).flags(&[Flag::NoScript]).group("scripting")
                .doc("Determines whether server-side Lua scripts exist in the script cache.", "2.6.0", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", "sha1 [sha1 ...]"),
            Command::new("script|flush", -2, script_flush).flags(&[Flag::NoScript]).group("scripting")
                .doc("Removes all server-side Lua scripts from the script cache.", "2.6.0", "O(N) with N being the number of scripts in cache", "[ASYNC|SYNC]"),
            Command::new("script|help", 2, script_help).flags(&[Flag::Loading, Flag::Stale]).group("scripting")
                .doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
            Command::new("script|kill", 2, script_kill).flags(&[Flag::NoScript, Flag::AllowBusy]).group("scripting")
                .doc("Terminates a server-side Lua script during execution.", "2.6.0", "O(1)", ""),
            Command::new("script|load", 3, script_load).flags(&[Flag::NoScript, Flag::Stale]).group("scripting")
                .doc("Loads a server-side Lua script to the script cache.", "2.6.0", "O(N) with N being the length in bytes of the script body.", "script"),
        ]),
];

const NO_SCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// Where a script comes from: its body (EVAL) or its SHA-1 (EVALSHA).
#[derive(Clone, Copy)]
enum Source {
    Body,
    Sha,
}

fn eval(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Body, false);
}

fn evalsha(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Sha, false);
}

fn eval_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Body, true);
}

fn evalsha_ro(ctx: &mut Ctx, args: &[&[u8]]) {
    run(ctx, args, Source::Sha, true);
}

/// The EVAL family: checks the key count, finds or compiles the script, and runs it with its
/// keys and arguments.
fn run(ctx: &mut Ctx, args: &[&[u8]], source: Source, read_only: bool) {
    let Some(numkeys) = int_arg(ctx, args[2]) else { return };
    if numkeys > (args.len() - 3) as i64 {
        ctx.reply.error("ERR Number of keys can't be greater than number of args");
        return;
    }
    if numkeys < 0 {
        ctx.reply.error("ERR Number of keys can't be negative");
        return;
    }
    let found = match source {
        Source::Body => ctx.scripts.load(args[1]),
        Source::Sha => ctx.scripts.find(args[1]).ok_or_else(|| NO_SCRIPT.to_string()),
    };
    let script = match found {
        Ok(script) => script,
        Err(error) => return ctx.reply.error(&error),
    };
    let environment = match ctx.scripts.environment() {
        Ok(environment) => environment,
        Err(error) => return ctx.reply.error(&error),
    };
    let runnable = Runnable {
        lua: environment.lua.clone(),
        runner: environment.runner.clone(),
        resp3: environment.resp3.clone(),
        function: script.function,
        name: script.sha,
        globals: true,
        allow_oom: false,
    };
    let (keys, argv) = args[3..].split_at(numkeys as usize);
    run_script(ctx, &runnable, keys, argv, read_only);
}

/// A script or a function, ready to run: the interpreter it lives in, and how its errors name it.
pub(super) struct Runnable {
    pub lua: Lua,
    /// Calls `function` with the keys and arguments tables under the error handler: `(true,
    /// result)` or `(false, error)`.
    pub runner: Function,
    /// Whether the running code asked for RESP3 replies (`redis.setresp(3)`).
    pub resp3: Rc<Cell<bool>>,
    pub function: Function,
    /// The script's SHA-1, or the function's name.
    pub name: String,
    /// EVAL's scripts find their keys and arguments in the globals KEYS and ARGV.
    pub globals: bool,
    /// A function flagged `allow-oom`: its writes run even over `maxmemory`.
    pub allow_oom: bool,
}

/// Runs a script or function and writes its reply (or its error, with where it happened). The
/// client's database and protocol are its own again afterwards, whatever the code selected.
pub(super) fn run_script(ctx: &mut Ctx, runnable: &Runnable, keys: &[&[u8]], argv: &[&[u8]], read_only: bool) {
    if let Err(error) = try_run_script(ctx, runnable, keys, argv, read_only) {
        ctx.reply.error(&format!("ERR Error running script {}: {error}", runnable.name));
    }
}

fn try_run_script(ctx: &mut Ctx, runnable: &Runnable, keys: &[&[u8]], argv: &[&[u8]], read_only: bool) -> mlua::Result<()> {
    let Runnable { lua, runner, resp3, .. } = runnable;
    let (keys, argv) = (string_table(lua, keys)?, string_table(lua, argv)?);
    if runnable.globals {
        let globals = lua.globals();
        globals.raw_set("KEYS", &keys)?;
        globals.raw_set("ARGV", &argv)?;
    }
    resp3.set(false);
    let (db, in_exec, allow_oom, client_resp3) = (ctx.session.db, ctx.session.in_exec, ctx.session.script_allows_oom, ctx.session.resp3());
    // Blocking commands do not wait inside a script, as inside EXEC.
    ctx.session.in_exec = true;
    ctx.session.script_allows_oom = runnable.allow_oom;
    let outcome = {
        let ctx = RefCell::new(&mut *ctx);
        lua.scope(|scope| {
            let call = scope.create_function_mut(|lua, (raise, args): (bool, Variadic<Value>)| {
                let mut ctx = ctx.borrow_mut();
                Ok(call_command(&mut ctx, lua, &args, resp3.get(), read_only).map_or_else(|e| (e, raise), |reply| (reply, false)))
            })?;
            set_command_runner(lua, Value::Function(call))?;
            runner.call::<(bool, Value)>((runnable.function.clone(), keys, argv))
        })
    };
    set_command_runner(lua, Value::Nil)?;
    ctx.session.db = db;
    ctx.session.in_exec = in_exec;
    ctx.session.script_allows_oom = allow_oom;
    let (succeeded, value) = outcome?;
    if succeeded {
        write_reply(&mut ctx.reply, &value, client_resp3, resp3.get());
    } else {
        write_error(&mut ctx.reply, &value, &runnable.name);
    }
    Ok(())
}

fn string_table(lua: &Lua, items: &[&[u8]]) -> mlua::Result<Table> {
    let table = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        table.raw_set(i + 1, lua.create_string(item)?)?;
    }
    Ok(table)
}

/// A script's uncaught error: its `err` text, and where in the script it was raised; `name` is
/// the script's SHA-1 or the function's name.
fn write_error(reply: &mut Reply, error: &Value, name: &str) {
    let Value::Table(error) = error else {
        reply.error(&format!("ERR Error running script {name}, execution failure"));
        return;
    };
    let mut text = match error.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        _ => b"ERR unknown error".to_vec(),
    };
    let source = error.raw_get::<Option<mlua::LuaString>>("source").ok().flatten();
    let line = error.raw_get::<Option<i64>>("line").ok().flatten();
    if let (Some(source), Some(line)) = (source, line) {
        text.extend_from_slice(format!(" script: {name}, on ").as_bytes());
        text.extend_from_slice(&source.as_bytes());
        text.extend_from_slice(format!(":{line}.").as_bytes());
    }
    reply.error_bytes(&text);
}

/// `redis.call` and `redis.pcall`: runs a command for the script and gives its reply as a Lua
/// value, or the error table the script sees (raised by `redis.call`, returned by `redis.pcall`).
fn call_command(ctx: &mut Ctx, lua: &Lua, args: &[Value], resp3: bool, read_only: bool) -> Result<Value, Value> {
    let words = arguments(args).map_err(|message| error_table(lua, message))?;
    let words: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
    check_callable(&words, read_only).map_err(|message| error_table(lua, message))?;
    let mut buf = Vec::new();
    let protocol = ctx.session.protocol;
    ctx.session.protocol = if resp3 { 3 } else { 2 };
    {
        let mut inner = Ctx {
            keyspace: &mut *ctx.keyspace,
            config: &mut *ctx.config,
            stats: &mut *ctx.stats,
            rng: &mut *ctx.rng,
            session: &mut *ctx.session,
            others: ctx.others,
            facts: ctx.facts,
            reply: Reply::new(&mut buf, resp3),
            outbox: &mut *ctx.outbox,
            watches: &mut *ctx.watches,
            pubsub: &mut *ctx.pubsub,
            monitors: &mut *ctx.monitors,
            tracking: &mut *ctx.tracking,
            pause: &mut *ctx.pause,
            blocking: &mut *ctx.blocking,
            scripts: &mut *ctx.scripts,
            now: ctx.now,
        };
        dispatch(&mut inner, &words);
    }
    ctx.session.protocol = protocol;
    let nodes = ReplyDecoder::new(Limits::default()).decode(&buf).ok().and_then(|(nodes, _)| nodes);
    let nodes = nodes.ok_or_else(|| error_table(lua, "ERR the command's reply could not be read"))?;
    let value = reply_to_lua(lua, &nodes, resp3).map_err(|e| error_table(lua, &format!("ERR {e}")))?;
    if let Some(crate::resp::Node::Error(_)) = nodes.first() {
        return Err(value);
    }
    Ok(value)
}

/// The script's arguments as a command line: strings as they are, numbers as Redis prints them.
fn arguments(args: &[Value]) -> Result<Vec<Vec<u8>>, &'static str> {
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    args.iter()
        .map(|arg| match arg {
            Value::String(s) => Ok(s.as_bytes().to_vec()),
            Value::Integer(n) => Ok(number_argument(*n as f64).into_bytes()),
            Value::Number(n) => Ok(number_argument(*n).into_bytes()),
            _ => Err("ERR Lua redis lib command arguments must be strings or integers"),
        })
        .collect()
}

/// Redis's checks before a script's command runs: it exists, has the right number of arguments,
/// may run from a script, and does not write from a read-only script.
fn check_callable(words: &[&[u8]], read_only: bool) -> Result<(), &'static str> {
    let command = lookup(words[0]).ok_or("ERR Unknown Redis command called from script")?;
    let command = match (command.subcommands.is_empty(), words.get(1)) {
        (false, Some(sub)) => command
            .subcommands
            .iter()
            .find(|s| s.name.split_once('|').is_some_and(|(_, name)| is(sub, name)))
            .ok_or("ERR Unknown Redis command called from script")?,
        _ => command,
    };
    if !command.accepts(words.len()) {
        return Err("ERR Wrong number of args calling Redis command from script");
    }
    if command.has_flag(Flag::NoScript) {
        return Err("ERR This Redis command is not allowed from script");
    }
    if read_only && command.has_flag(Flag::Write) {
        return Err("ERR Write commands are not allowed from read-only scripts.");
    }
    Ok(())
}

fn error_table(lua: &Lua, message: &str) -> Value {
    let table = lua.create_table().and_then(|t| t.raw_set("err", message).map(|()| t));
    table.map_or(Value::Nil, Value::Table)
}

fn script_load(ctx: &mut Ctx, args: &[&[u8]]) {
    match ctx.scripts.load(args[2]) {
        Ok(script) => ctx.reply.bulk(script.sha.as_bytes()),
        Err(error) => ctx.reply.error(&error),
    }
}

fn script_exists(ctx: &mut Ctx, args: &[&[u8]]) {
    ctx.reply.array(args.len() - 2);
    for sha in &args[2..] {
        let exists = ctx.scripts.exists(sha);
        ctx.reply.integer(i64::from(exists));
    }
}

fn script_flush(ctx: &mut Ctx, args: &[&[u8]]) {
    let mode_ok = match args {
        [_, _] => true,
        [_, _, mode] => is(mode, "sync") || is(mode, "async"),
        _ => false,
    };
    if !mode_ok {
        ctx.reply.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    ctx.scripts.flush();
    ctx.reply.ok();
}

/// Nothing else runs while a script does, so a client's SCRIPT KILL always finds none running.
fn script_kill(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.error("NOTBUSY No scripts in execution right now.");
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

fn script_help(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.array(SCRIPT_HELP.len());
    for line in SCRIPT_HELP {
        ctx.reply.simple(line);
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::Harness;

    fn eval(c: &mut Harness, script: &str) -> String {
        c.run(&["EVAL", script, "0"])
    }

    #[test]
    fn lua_values_become_replies_as_redis_converts_them() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return 3.99"), ":3\r\n", "numbers are truncated to integers");
        assert_eq!(eval(&mut c, "return -3.99"), ":-3\r\n");
        assert_eq!(eval(&mut c, "return 'x'"), "$1\r\nx\r\n");
        assert_eq!(eval(&mut c, "return true"), ":1\r\n");
        assert_eq!(eval(&mut c, "return false"), "$-1\r\n");
        assert_eq!(eval(&mut c, "return nil"), "$-1\r\n");
        assert_eq!(eval(&mut c, "return {1, 'a', {2}, nil, 3}"), "*3\r\n:1\r\n$1\r\na\r\n*1\r\n:2\r\n", "arrays stop at the first nil");
        assert_eq!(eval(&mut c, "return {ok = 'FINE'}"), "+FINE\r\n");
        assert_eq!(eval(&mut c, "return {err = 'MY error'}"), "-MY error\r\n");
        assert_eq!(eval(&mut c, "return {double = 1.5}"), "$3\r\n1.5\r\n");
        assert_eq!(eval(&mut c, "return redis.error_reply('boom')"), "-ERR boom\r\n");
        assert_eq!(eval(&mut c, "return redis.error_reply('CODE text')"), "-CODE text\r\n");
        assert_eq!(eval(&mut c, "return redis.status_reply('PONG')"), "+PONG\r\n");
        c.run(&["HELLO", "3"]);
        assert_eq!(eval(&mut c, "return true"), ":1\r\n", "booleans follow the script's protocol");
        assert_eq!(eval(&mut c, "return false"), "_\r\n");
        assert_eq!(eval(&mut c, "redis.setresp(3) return true"), "#t\r\n");
        assert_eq!(eval(&mut c, "redis.setresp(3) return false"), "#f\r\n");
        assert_eq!(eval(&mut c, "return {double = 1.5}"), ",1.5\r\n");
        assert_eq!(eval(&mut c, "return {map = {a = 1}}"), "%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(eval(&mut c, "return {set = {a = true}}"), "~1\r\n$1\r\na\r\n");
        assert_eq!(eval(&mut c, "return {big_number = '123'}"), "(123\r\n");
        assert_eq!(eval(&mut c, "local t = {} t[1] = t return t").matches("-ERR reached lua stack limit").count(), 1);
    }

    #[test]
    fn replies_become_lua_values_as_redis_converts_them() {
        let mut c = Harness::new();
        c.run(&["RPUSH", "list", "a", "b"]);
        c.run(&["HSET", "hash", "f", "v"]);
        assert_eq!(eval(&mut c, "return type(redis.call('get', 'missing'))"), "$7\r\nboolean\r\n", "RESP2 null is false");
        assert_eq!(eval(&mut c, "return redis.call('ping')['ok']"), "$4\r\nPONG\r\n", "a status is an ok table");
        assert_eq!(eval(&mut c, "return redis.call('lrange', 'list', 0, -1)"), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        assert_eq!(eval(&mut c, "return redis.call('hgetall', 'hash')"), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n", "RESP2: a flat array");
        assert_eq!(eval(&mut c, "redis.setresp(3) return redis.call('hgetall', 'hash').map.f"), "$1\r\nv\r\n", "RESP3: a map table");
        assert_eq!(eval(&mut c, "redis.setresp(3) return type(redis.call('get', 'missing'))"), "$3\r\nnil\r\n", "RESP3 null is nil");
        assert_eq!(eval(&mut c, "return redis.call('incrbyfloat', 'n', 0.5)"), "$3\r\n0.5\r\n", "numbers are passed as %.17g");
        assert_eq!(eval(&mut c, "return redis.pcall('incr', 'list')['err']"), "$65\r\nWRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    }

    #[test]
    fn errors_name_the_script_and_the_line() {
        let mut c = Harness::new();
        let sha = crate::scripting::sha1_hex(b"return x");
        assert_eq!(eval(&mut c, "return x"), format!("-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: {sha}, on @user_script:1.\r\n"));
        let body = "\nx = 1";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR user_script:2: Attempt to modify a readonly table script: {sha}, on @user_script:2.\r\n"));
        let body = "return redis.call('nosuch')";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR Unknown Redis command called from script script: {sha}, on @user_script:1.\r\n"));
        let body = "return redis.call('multi')";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(eval(&mut c, body), format!("-ERR This Redis command is not allowed from script script: {sha}, on @user_script:1.\r\n"));
        assert_eq!(eval(&mut c, "return redis.pcall('multi')['err']"), "$49\r\nERR This Redis command is not allowed from script\r\n");
        assert_eq!(eval(&mut c, "return 1 +"), "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n");
        for hidden in ["os", "io", "loadfile", "dofile", "require", "debug", "print"] {
            assert!(eval(&mut c, &format!("return {hidden}")).contains("nonexistent global variable"), "{hidden}");
        }
    }

    #[test]
    fn key_counts_and_the_script_cache() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["EVAL", "return 1", "2", "a"]), "-ERR Number of keys can't be greater than number of args\r\n");
        assert_eq!(c.run(&["EVAL", "return 1", "-1"]), "-ERR Number of keys can't be negative\r\n");
        assert_eq!(c.run(&["EVAL", "return 1", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
        assert_eq!(c.run(&["SCRIPT", "LOAD", "return 1"]), "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n");
        assert_eq!(c.run(&["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"]), ":1\r\n");
        assert_eq!(c.run(&["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "ab"]), "*2\r\n:1\r\n:0\r\n");
        assert_eq!(c.run(&["SCRIPT", "FLUSH", "LATER"]), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
        assert_eq!(c.run(&["SCRIPT", "FLUSH", "ASYNC"]), "+OK\r\n");
        assert_eq!(c.run(&["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"]), "*1\r\n:0\r\n");
        assert_eq!(c.run(&["SCRIPT", "KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
        assert_eq!(c.run(&["EVAL", "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "1", "k", "v"]), "*4\r\n$1\r\nk\r\n$1\r\nv\r\n:1\r\n:1\r\n");
    }

    #[test]
    fn read_only_scripts_refuse_writes_and_errors_keep_earlier_writes() {
        let mut c = Harness::new();
        let body = "return redis.call('set', 'a', '1')";
        let sha = crate::scripting::sha1_hex(body.as_bytes());
        assert_eq!(c.run(&["EVAL_RO", body, "0"]), format!("-ERR Write commands are not allowed from read-only scripts. script: {sha}, on @user_script:1.\r\n"));
        assert_eq!(c.run(&["EVAL_RO", "return redis.call('get', 'a')", "0"]), "$-1\r\n");
        assert!(c.run(&["EVAL", "redis.call('set', 'a', '1') redis.call('incr', 'a') redis.call('lpush', 'a', 'x')", "0"]).starts_with("-WRONGTYPE"));
        assert_eq!(c.run(&["GET", "a"]), "$1\r\n2\r\n", "no rollback: the writes before the error stay");
    }

    #[test]
    fn select_inside_a_script_stays_inside_it() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "redis.call('select', 1) redis.call('set', 'k', 'one') return redis.call('dbsize')"), ":1\r\n");
        assert_eq!(c.run(&["DBSIZE"]), ":0\r\n");
    }

    #[test]
    fn math_random_draws_redis_numbers() {
        let mut c = Harness::new();
        assert_eq!(eval(&mut c, "return tostring(math.random())"), "$16\r\n0.39646477363839\r\n");
        assert_eq!(eval(&mut c, "return math.random(100)"), ":85\r\n");
    }
}
