//! FUNCTION and FCALL against a real `cachet serve`: the same command sequences run on cachet and
//! on Debian's redis-server 7.0, replies compared byte for byte in RESP2 and RESP3; FUNCTION DUMP
//! payloads moved from redis-server to cachet and back; redis-py's function calls; and what an
//! engine fault does to the libraries.

mod common;

use common::{Raw, Redis, Server, assert_same_as_redis, resp};
use std::net::TcpStream;

/// A library of one function each way of registering it: Redis lists a library's functions in its
/// hash table's order, which changes from run to run, so the compared listings hold one function.
const ECHO: &str = "#!lua name=echo\nredis.register_function('echo', function(keys, args) return {keys, args, #keys, #args} end)";
const FLAGGED: &str = "#!lua name=flagged\nredis.register_function{function_name = 'reader', description = 'reads a key',\n  callback = function(keys) return redis.call('get', keys[1]) end,\n  flags = {'no-writes', 'ALLOW-STALE', 'allow-cross-slot-keys', 'no-cluster', 'allow-oom'}}";
/// Functions that fail in each way a function can, one per line.
const FAILING: &str = "#!lua name=failing\n\
    redis.register_function('raise', function() error('boom') end)\n\
    redis.register_function('raise_table', function() error({err = 'MINE custom failure'}) end)\n\
    redis.register_function('globals', function() return KEYS end)\n\
    redis.register_function('assign', function() x = 1 end)\n\
    redis.register_function('unknown', function() return redis.call('nosuch') end)\n\
    redis.register_function('wrongtype', function() redis.call('set', 'str', 'v') return redis.call('lpush', 'str', 'x') end)\n\
    redis.register_function('caught', function() return redis.pcall('lpush', 'str', 'x') end)\n\
    redis.register_function('reply_error', function() return redis.error_reply('MY error') end)\n\
    redis.register_function('arith', function() return 1 + nil end)\n\
    redis.register_function('writes', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n\
    redis.register_function{function_name = 'sneaky', flags = {'no-writes'}, callback = function() return redis.call('set', 'k', 'v') end}\n\
    redis.register_function('resp3', function() redis.setresp(3) redis.call('hset', 'h', 'f', 'v') return {redis.call('hgetall', 'h'), redis.call('get', 'missing')} end)\n\
    redis.register_function('library', function() return {string.format('%05.1f', 3.14159), table.concat({'a', 'b'}, '-'), redis.sha1hex('x')} end)\n\
    redis.register_function('api', function() return {type(redis.register_function), type(redis.call), type(redis.setresp)} end)";

#[test]
fn loading_libraries_answers_as_redis_does() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let load = |code: &'static str| -> Vec<&'static str> { vec!["FUNCTION", "LOAD", code] };
    let cases: Vec<Vec<&str>> = vec![
        vec!["FUNCTION", "FLUSH"],
        // The header.
        load("return 1"),
        load("#!lua name=x"),
        load("#!lua\n"),
        load("#!\n"),
        load("#!lua name=x foo=bar\n"),
        load("#!lua name=x name=y\n"),
        load("#!lua name=\"unbalanced\n"),
        load("#!lua \"name=spaced out\"\n"),
        load("#! lua name=x\n"),
        load("#!python name=x\n"),
        load("#!lua name=bad-name\n"),
        load("#!lua name=\n"),
        load("#!lua name=x\n"),
        load("#!LUA NAME=x\nreturn 1"),
        // What a library's top-level code may use while it loads.
        load("#!lua name=x\nreturn 1 +"),
        load("#!lua name=x\nerror('boom')"),
        load("#!lua name=x\nlocal s = string.format('%d', 1)"),
        load("#!lua name=x\nlocal t = table"),
        load("#!lua name=x\nredis.call('ping')"),
        load("#!lua name=x\nredis.pcall('ping')"),
        load("#!lua name=x\nredis.setresp(3)"),
        load("#!lua name=x\nlocal k = KEYS"),
        load("#!lua name=x\nglobal = 1"),
        load("#!lua name=x\nredis.log(redis.LOG_NOTICE, 'loading', redis.REDIS_VERSION)"),
        load("#!lua name=x\nlocal v = type(redis.REDIS_VERSION_NUM)"),
        // Top-level code that runs past 500 ms (both servers measure it on their own clock).
        load("#!lua name=x\n while true do end"),
        load("#!lua name=x\nredis.register_function('f', function() return 1 end) local i = 0 while true do i = i + 1 end"),
        vec!["FCALL", "f", "0"],
        // redis.register_function's arguments.
        load("#!lua name=x\nredis.register_function()"),
        load("#!lua name=x\nredis.register_function('f')"),
        load("#!lua name=x\nredis.register_function('f', 1)"),
        load("#!lua name=x\nredis.register_function({}, function() end)"),
        load("#!lua name=x\nredis.register_function('f', function() end, 3)"),
        load("#!lua name=x\nredis.register_function('bad-name', function() end)"),
        load("#!lua name=x\nredis.register_function('f', function() end) redis.register_function('f', function() end)"),
        load("#!lua name=cased\nredis.register_function('f', function() return 1 end) redis.register_function('F', function() return 1 end)"),
        // (Deleting such a library crashes redis-server 7.0.15.)
        vec!["FCALL", "F", "0"],
        load("#!lua name=x\nredis.register_function{function_name = 'f'}"),
        load("#!lua name=x\nredis.register_function{callback = function() end}"),
        load("#!lua name=x\nredis.register_function{function_name = {}, callback = function() end}"),
        load("#!lua name=x\nredis.register_function{function_name = 'f', callback = 1}"),
        load("#!lua name=x\nredis.register_function{function_name = 'f', callback = function() end, description = {}}"),
        load("#!lua name=x\nredis.register_function{function_name = 'f', callback = function() end, flags = 'no-writes'}"),
        load("#!lua name=x\nredis.register_function{function_name = 'f', callback = function() end, flags = {'no-writes', 'fast'}}"),
        load("#!lua name=x\nredis.register_function{function_name = 'f', callback = function() end, flags = {1}}"),
        load("#!lua name=x\nredis.register_function{function_name = 'f', callback = function() end, other = 1}"),
        load("#!lua name=x\nredis.register_function{[1] = 2}"),
        // Libraries that load, and what clashes with them.
        load(ECHO),
        load(ECHO),
        load("#!lua name=other\nredis.register_function('ECHO', function() end)"),
        vec!["FUNCTION", "LOAD", "REPLACE", ECHO],
        vec!["FUNCTION", "LOAD", "REPLACE", "#!lua name=echo\nreturn 1 +"],
        vec!["FUNCTION", "LOAD", "NOW", ECHO],
        vec!["FUNCTION", "LOAD", "REPLACE"],
        load("#!lua name=numbered\nredis.register_function{function_name = 12, callback = function() return 12 end, description = 3.5}"),
        load(FLAGGED),
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "echo"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "FLAG*", "WITHCODE"],
        vec!["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "numbered"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "nothing*"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME"],
        vec!["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
        vec!["FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"],
        vec!["FUNCTION", "LIST", "everything"],
        vec!["FUNCTION", "STATS"],
        vec!["FUNCTION", "DELETE", "numbered"],
        vec!["FUNCTION", "DELETE", "numbered"],
        vec!["FUNCTION", "DELETE", "ECHO"],
        vec!["FUNCTION", "DELETE"],
        vec!["FUNCTION", "STATS"],
        vec!["FUNCTION", "FLUSH", "LATER"],
        vec!["FUNCTION", "FLUSH", "SYNC", "now"],
        vec!["FUNCTION", "FLUSH", "ASYNC"],
        vec!["FUNCTION", "LIST"],
        vec!["FUNCTION", "STATS"],
        vec!["FUNCTION", "KILL"],
        vec!["FUNCTION", "HELP"],
        vec!["FUNCTION", "NOSUCH"],
        vec!["FUNCTION"],
    ];
    let cases: Vec<&[&str]> = cases.iter().map(Vec::as_slice).collect();
    assert_same_as_redis(&server, &redis, &cases);
}

#[test]
fn functions_run_as_redis_runs_them() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["FUNCTION", "FLUSH"],
        &["FUNCTION", "LOAD", ECHO],
        &["FUNCTION", "LOAD", FLAGGED],
        &["FUNCTION", "LOAD", FAILING],
        // Keys and arguments are the function's two parameters.
        &["FCALL", "echo", "2", "k1", "k2", "a1"],
        &["FCALL", "ECHO", "0"],
        &["FCALL", "echo", "0", "only", "args"],
        &["FCALL", "echo", "3", "a", "b"],
        &["FCALL", "echo", "-1"],
        &["FCALL", "echo", "many"],
        &["FCALL", "nosuch", "0"],
        &["FCALL", "nosuch", "many"],
        &["FCALL", "echo"],
        &["FCALL_RO", "echo", "0"],
        // Errors, with the function's name and line.
        &["FCALL", "raise", "0"],
        &["FCALL", "raise_table", "0"],
        &["FCALL", "globals", "0"],
        &["FCALL", "assign", "0"],
        &["FCALL", "unknown", "0"],
        &["FCALL", "wrongtype", "0"],
        &["FCALL", "caught", "0"],
        &["FCALL", "reply_error", "0"],
        &["FCALL", "arith", "0"],
        // Writes, no-writes and FCALL_RO.
        &["FCALL", "writes", "1", "k", "v"],
        &["FCALL", "reader", "1", "k"],
        &["FCALL_RO", "reader", "1", "k"],
        &["FCALL_RO", "writes", "1", "k", "w"],
        &["FCALL", "sneaky", "0"],
        &["FCALL_RO", "sneaky", "0"],
        &["GET", "k"],
        // Conversions and the runtime environment.
        &["FCALL", "resp3", "0"],
        &["FCALL", "library", "0"],
        &["FCALL", "api", "0"],
        &["FCALL", "12", "0"],
        // Functions and EVAL's scripts are flushed apart.
        &["SCRIPT", "LOAD", "return 1"],
        &["SCRIPT", "FLUSH"],
        &["FCALL", "echo", "0"],
        &["SCRIPT", "LOAD", "return 1"],
        &["FUNCTION", "FLUSH"],
        &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"],
        &["FCALL", "echo", "0"],
    ]);
}

#[test]
fn functions_inside_transactions_and_under_maxmemory() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let spender = "#!lua name=spender\nredis.register_function{function_name = 'spend', flags = {'allow-oom'}, callback = function(keys) return redis.call('set', keys[1], 'v') end}";
    assert_same_as_redis(&server, &redis, &[
        &["FUNCTION", "FLUSH"],
        &["FUNCTION", "LOAD", ECHO],
        &["FUNCTION", "LOAD", FLAGGED],
        &["FUNCTION", "LOAD", FAILING],
        &["FUNCTION", "LOAD", spender],
        &["MULTI"],
        &["FCALL", "writes", "1", "counter", "1"],
        &["FCALL", "reader", "1", "counter"],
        &["EXEC"],
        &["CONFIG", "SET", "maxmemory", "1"],
        &["FCALL", "writes", "1", "k", "v"],
        &["FCALL", "reader", "1", "k"],
        &["FCALL", "spend", "1", "k"],
        &["FCALL_RO", "writes", "1", "k", "v"],
        &["GET", "k"],
        // Over maxmemory, MULTI refuses what it would queue: every function, whatever its flags.
        &["MULTI"],
        &["FCALL", "writes", "1", "k", "v"],
        &["FCALL", "reader", "1", "k"],
        &["FCALL", "spend", "1", "k"],
        &["FCALL", "nosuch", "0"],
        &["GET", "k"],
        &["EXEC"],
        &["MULTI"],
        &["DISCARD"],
        &["CONFIG", "SET", "maxmemory", "0"],
    ]);
}

fn connect(port: u16) -> Raw {
    Raw(TcpStream::connect(("127.0.0.1", port)).expect("the server accepts"))
}

/// Sends a command of byte arguments and returns its reply's bytes.
fn call(conn: &mut Raw, args: &[&[u8]]) -> Vec<u8> {
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        request.extend_from_slice(arg);
        request.extend_from_slice(b"\r\n");
    }
    conn.send(&request);
    conn.reply()
}

/// The payload of a FUNCTION DUMP reply.
fn dump(conn: &mut Raw) -> Vec<u8> {
    let reply = call(conn, &[b"FUNCTION", b"DUMP"]);
    let body = reply.iter().position(|&b| b == b'\n').expect("a bulk header") + 1;
    reply[body..reply.len() - 2].to_vec()
}

/// FUNCTION LIST WITHCODE for one library at a time (Redis's order of libraries is its hash
/// table's), and a call of a function of each.
fn listings(conn: &mut Raw, libraries: &[(&str, &str)]) -> Vec<String> {
    let mut seen = Vec::new();
    for (library, function) in libraries {
        seen.push(call(conn, &[b"FUNCTION", b"LIST", b"WITHCODE", b"LIBRARYNAME", library.as_bytes()]));
        seen.push(call(conn, &[b"FCALL", function.as_bytes(), b"0"]));
    }
    seen.iter().map(|reply| String::from_utf8_lossy(reply).into_owned()).collect()
}

#[test]
fn dumps_move_between_cachet_and_redis_both_ways() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let (mut ours, mut theirs) = (server.raw(), connect(redis.port));
    // Long and repetitive: redis-server writes it LZF-compressed.
    let long = format!(
        "#!lua name=long\nredis.register_function('long', function() return {{{}}} end)",
        (0..200).map(|i| format!("'item number {i}'")).collect::<Vec<_>>().join(", ")
    );
    let libraries: [&[u8]; 3] = [ECHO.as_bytes(), FLAGGED.as_bytes(), long.as_bytes()];
    let names = [("echo", "echo"), ("flagged", "reader"), ("long", "long")];
    for library in libraries {
        call(&mut theirs, &[b"FUNCTION", b"LOAD", library]);
    }
    let from_redis = dump(&mut theirs);
    assert_eq!(call(&mut ours, &[b"FUNCTION", b"RESTORE", &from_redis]), b"+OK\r\n");
    assert_eq!(listings(&mut ours, &names), listings(&mut theirs, &names), "Redis's dump restored in cachet");
    // Which of the clashing libraries Redis names depends on its hash table's order.
    for conn in [&mut ours, &mut theirs] {
        let clash = String::from_utf8(call(conn, &[b"FUNCTION", b"RESTORE", &from_redis])).expect("text");
        assert!(clash.starts_with("-ERR Library ") && clash.ends_with(" already exists\r\n"), "{clash}");
    }

    let from_cachet = dump(&mut ours);
    assert_eq!(call(&mut theirs, &[b"FUNCTION", b"RESTORE", &from_cachet, b"FLUSH"]), b"+OK\r\n");
    assert_eq!(listings(&mut theirs, &names), listings(&mut ours, &names), "cachet's dump restored in Redis");

    // A dump of one library that LZF would not shrink (so Redis writes it uncompressed too) is the
    // same bytes from both.
    for conn in [&mut ours, &mut theirs] {
        call(conn, &[b"FUNCTION", b"FLUSH"]);
        call(conn, &[b"FUNCTION", b"LOAD", b"#!lua name=tiny\nredis.register_function('t', function() return 7 end)"]);
    }
    assert_eq!(dump(&mut ours), dump(&mut theirs));

    // Bad payloads are refused alike.
    let mut flipped = from_cachet.clone();
    *flipped.last_mut().expect("a payload") ^= 1;
    for payload in [&b"garbage"[..], b"", &flipped] {
        assert_eq!(call(&mut ours, &[b"FUNCTION", b"RESTORE", payload]), call(&mut theirs, &[b"FUNCTION", b"RESTORE", payload]));
    }
    for policy in [&b"REPLACE"[..], b"flush", b"LATER"] {
        let restore: [&[u8]; 4] = [b"FUNCTION", b"RESTORE", &from_redis, policy];
        assert_eq!(call(&mut ours, &restore), call(&mut theirs, &restore), "{}", String::from_utf8_lossy(policy));
    }
    let too_many: [&[u8]; 5] = [b"FUNCTION", b"RESTORE", &from_redis, b"FLUSH", b"x"];
    assert_eq!(call(&mut ours, &too_many), call(&mut theirs, &too_many));
}

#[test]
fn info_counts_functions_and_libraries() {
    let server = Server::start(&[]);
    let mut conn = server.raw();
    call(&mut conn, &[b"FUNCTION", b"LOAD", ECHO.as_bytes()]);
    call(&mut conn, &[b"FUNCTION", b"LOAD", FAILING.as_bytes()]);
    let info = server.cli(&["INFO", "memory"]);
    assert!(info.contains("number_of_functions:15\r\nnumber_of_libraries:2\r\n"), "{info}");
    let vm: u64 = field(&info, "used_memory_vm_functions").parse().expect("a number");
    assert!(vm > 0, "the functions' interpreter has memory: {info}");
    assert!(field(&info, "used_memory_functions").parse::<u64>().expect("a number") >= (ECHO.len() + FAILING.len()) as u64);
    call(&mut conn, &[b"FUNCTION", b"FLUSH"]);
    let info = server.cli(&["INFO", "memory"]);
    assert!(info.contains("number_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:0\r\n"), "{info}");
}

fn field<'a>(info: &'a str, name: &str) -> &'a str {
    info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')).unwrap_or_else(|| panic!("{name} in {info}"))
}

/// Libraries live in the engine's memory: a fault loses them with the keyspace (README, "When the
/// engine faults").
#[test]
fn an_engine_fault_loses_the_libraries() {
    let server = Server::start(&[]);
    let mut survivor = server.raw();
    survivor.roundtrip(&resp(&["FUNCTION", "LOAD", ECHO]), "$4\r\necho\r\n");
    survivor.roundtrip(&resp(&["FCALL", "echo", "0"]), "*4\r\n*0\r\n*0\r\n:0\r\n:0\r\n");
    let mut culprit = server.raw();
    culprit.send(resp(&["DEBUG", "PANIC"]).as_bytes());
    assert!(culprit.read_until("\r\n").starts_with("-ERR internal error: the engine faulted"));
    survivor.roundtrip(&resp(&["FCALL", "echo", "0"]), "-ERR Function not found\r\n");
    survivor.roundtrip(&resp(&["FUNCTION", "LOAD", ECHO]), "$4\r\necho\r\n");
}

const REDIS_PY: &str = r##"
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
r.function_flush()
code = "#!lua name=py\nredis.register_function('add', function(keys, args) return redis.call('incrby', keys[1], args[1]) end)"
print(r.function_load(code))
print(r.fcall('add', 1, 'counter', 5), r.fcall('add', 1, 'counter', 2))
print(r.function_list(library='py', withcode=True))
try:
    r.function_load(code)
except redis.ResponseError as e:
    print('error:', e)
print(r.function_load(code, replace=True))
payload = r.function_dump()
print(r.function_flush(), r.function_restore(payload), r.fcall('add', 1, 'counter', 1))
print(r.function_delete('py'))
"##;

#[test]
fn redis_py_loads_and_calls_functions() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let run = |port: u16| {
        let out = std::process::Command::new("python3").args(["-c", REDIS_PY, &port.to_string()]).output().expect("python3 runs");
        assert!(out.status.success(), "redis-py failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(run(server.port), run(redis.port));
}

/// What two clients see around runaway functions, as in tests/scripting.rs for scripts: one calls
/// a function that never ends, the other asks until it is answered BUSY, tries SCRIPT KILL (which
/// does not stop functions), looks at FUNCTION STATS and stops it with FUNCTION KILL; then the same
/// with a function that wrote first, which FUNCTION KILL refuses and which ends by itself.
fn runaway_function_transcript(port: u16) -> Vec<String> {
    let connect = || {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(120))).expect("timeout");
        Raw(stream)
    };
    let (mut owner, mut other) = (connect(), connect());
    let mut seen = Vec::new();
    let library = "#!lua name=runaway\n\
        redis.register_function('spin', function() local i = 0 while true do i = i + 1 end end)\n\
        redis.register_function('busy_writer', function(keys, args) redis.call('set', 'x', '1') local n = tonumber(args[1]) local i = 0 while i < n do i = i + 1 end return 'done' end)";
    seen.push(other.ask(&["FUNCTION", "LOAD", "REPLACE", library]));
    seen.push(other.ask(&["CONFIG", "SET", "busy-reply-threshold", "50"]));

    owner.send(resp(&["FCALL", "spin", "0"]).as_bytes());
    seen.push(common::busy_reply(&mut other));
    let mut stats = String::new();
    seen.extend(while_a_function_runs(&mut other, &mut stats));
    assert!(stats.contains(&running("spin", 3)), "{stats}");
    seen.extend(after_the_function(&mut owner, &mut other));

    let call = |count: &str| resp(&["FCALL", "busy_writer", "0", count]);
    seen.extend(common::while_a_writing_script_runs(&mut owner, &mut other, call, |other| while_a_function_runs(other, &mut stats)));
    assert!(stats.contains(&running("busy_writer", 4)), "{stats}");
    seen.extend(after_the_function(&mut owner, &mut other));
    seen
}

/// While a function runs: SCRIPT KILL (which does not kill functions), FUNCTION STATS (into
/// `stats`, not compared: it holds timings), and FUNCTION KILL.
fn while_a_function_runs(other: &mut Raw, stats: &mut String) -> Vec<String> {
    let script_kill = other.ask(&["SCRIPT", "KILL"]);
    *stats = other.ask(&["FUNCTION", "STATS"]);
    vec![script_kill, other.ask(&["FUNCTION", "KILL"])]
}

/// What FUNCTION STATS shows of `function` running, called with `words` words.
fn running(function: &str, words: usize) -> String {
    format!("$4\r\nname\r\n${}\r\n{function}\r\n$7\r\ncommand\r\n*{words}\r\n$5\r\nFCALL\r\n", function.len())
}

/// Once FUNCTION KILL was sent: the function's own reply, FUNCTION KILL again with nothing
/// running, and what the function left.
fn after_the_function(owner: &mut Raw, other: &mut Raw) -> Vec<String> {
    vec![String::from_utf8_lossy(&owner.reply()).into_owned(), other.ask(&["FUNCTION", "KILL"]), other.ask(&["GET", "x"])]
}

#[test]
fn runaway_functions_get_busy_replies_and_are_killed_as_on_redis() {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let ours = runaway_function_transcript(server.port);
    assert_eq!(ours, runaway_function_transcript(redis.port));
    assert!(ours[4].starts_with("+OK") && ours[5].starts_with("-ERR Script killed by user"), "{ours:?}");
    assert!(ours[10].starts_with("-UNKILLABLE") && ours[11] == "$4\r\ndone\r\n", "{ours:?}");
}
