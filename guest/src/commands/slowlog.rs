//! SLOWLOG: the commands that took at least `slowlog-log-slower-than` microseconds (0 logs every
//! command, -1 none), newest first, `slowlog-max-len` at most, in Redis's entry format.

use super::{Command, Ctx, Flag, parse_i64, subcommand_required, write_help};
use crate::slowlog::{Entry, kept_args, redact};

pub const COMMANDS: &[Command] = &[Command::new("slowlog", -2, subcommand_required)
    .group("server")
    .doc("A container for slow log commands.", "2.2.12", "Depends on subcommand.", "")
    .subcommands(&[
        Command::new("slowlog|get", -2, get).flags(&[Flag::Admin, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns the slow log's entries.", "2.2.12", "O(N) where N is the number of entries returned", "[count]"),
        Command::new("slowlog|len", 2, len).flags(&[Flag::Admin, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns the number of entries in the slow log.", "2.2.12", "O(1)", ""),
        Command::new("slowlog|reset", 2, reset).flags(&[Flag::Admin, Flag::Loading, Flag::Stale]).group("server")
            .doc("Clears all entries from the slow log.", "2.2.12", "O(N) where N is the number of entries in the slowlog", ""),
        Command::new("slowlog|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Show helpful text about the different subcommands", "6.2.0", "O(1)", ""),
    ])];

/// Entries SLOWLOG GET returns without a count.
const DEFAULT_COUNT: usize = 10;

/// Logs a command that ran, if it took long enough. Called by the dispatcher for every command
/// but those marked `skip_slowlog` (EXEC, whose commands are logged one by one).
pub(crate) fn log_if_slow(ctx: &mut Ctx, command: &Command, args: &[&[u8]], nanos: u64) {
    let threshold = ctx.config.slowlog_log_slower_than;
    let micros = nanos / 1000;
    if threshold < 0 || (micros as i64) < threshold || command.has_flag(Flag::SkipSlowlog) {
        return;
    }
    let mut args = kept_args(args);
    redact(&mut args);
    let entry = Entry {
        id: 0,
        time: ctx.now.wall_ms / 1000,
        micros,
        args,
        address: ctx.session.peer.address.clone(),
        name: ctx.session.name.clone().unwrap_or_default(),
    };
    let max_len = usize::try_from(ctx.config.slowlog_max_len).unwrap_or(usize::MAX);
    ctx.stats.slowlog.push(entry, max_len);
}

/// `SLOWLOG GET [count]`: the newest `count` entries (10 by default, -1 for all).
fn get(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() > 3 {
        let name = super::truncated(args[1]);
        return ctx.reply.error(&format!("ERR unknown subcommand or wrong number of arguments for '{name}'. Try SLOWLOG HELP."));
    }
    let count = match args.get(2).map(|arg| parse_i64(arg)) {
        None => DEFAULT_COUNT,
        Some(Some(-1)) => usize::MAX,
        Some(Some(n)) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
        Some(_) => return ctx.reply.error("ERR count should be greater than or equal to -1"),
    };
    let entries: Vec<Entry> = ctx.stats.slowlog.newest(count).cloned().collect();
    ctx.reply.array(entries.len());
    for entry in entries {
        ctx.reply.array(6);
        ctx.reply.integer(entry.id as i64);
        ctx.reply.integer(entry.time as i64);
        ctx.reply.integer(entry.micros as i64);
        ctx.reply.array(entry.args.len());
        for arg in &entry.args {
            ctx.reply.bulk(arg);
        }
        ctx.reply.bulk(entry.address.as_bytes());
        ctx.reply.bulk(&entry.name);
    }
}

fn len(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.integer(ctx.stats.slowlog.len() as i64);
}

fn reset(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.stats.slowlog.reset();
    ctx.reply.ok();
}

const HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    /// A SLOWLOG GET reply's entries, each as lines: id, time, microseconds, the arguments, the
    /// address and the name.
    fn entries(reply: &str) -> Vec<Vec<String>> {
        let lines: Vec<&str> = reply.split("\r\n").collect();
        let mut out = Vec::new();
        let mut at = 1;
        while at + 1 < lines.len() && lines[at] == "*6" {
            let mut entry = vec![lines[at + 1].into(), lines[at + 2].into(), lines[at + 3].into()];
            let args: usize = lines[at + 4][1..].parse().unwrap();
            at += 5;
            for _ in 0..args {
                entry.push(lines[at + 1].to_string());
                at += 2;
            }
            entry.push(lines[at + 1].to_string());
            entry.push(lines[at + 3].to_string());
            at += 4;
            out.push(entry);
        }
        out
    }

    #[test]
    fn every_command_is_logged_at_threshold_zero() {
        crate::stopwatch::fake::step_by(2500);
        let mut c = Harness::new();
        c.advance_ms(1_000_000);
        assert_eq!(c.run(&["SLOWLOG", "LEN"]), ":0\r\n", "10 ms by default: nothing this quick");
        c.run(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        c.run(&["CLIENT", "SETNAME", "worker"]);
        c.run(&["SET", "k", &"v".repeat(130)]);
        c.run(&["AUTH", "secret"]);
        let logged = entries(&c.run(&["SLOWLOG", "GET"]));
        let time = (c.now.wall_ms / 1000).to_string();
        assert_eq!(logged[0][..3], [":3".to_string(), format!(":{time}"), ":2".into()]);
        assert_eq!(logged[0][3..], ["AUTH", "(redacted)", "127.0.0.1:40000", "worker"]);
        assert_eq!(logged[1][3..5], ["SET", "k"]);
        assert_eq!(logged[1][5], format!("{}... (2 more bytes)", "v".repeat(128)));
        assert_eq!(logged.iter().map(|e| e[0].as_str()).collect::<Vec<_>>(), [":3", ":2", ":1", ":0"], "newest first");
        assert_eq!(logged[3][3..5], ["CONFIG", "SET"]);
        assert_eq!(c.run(&["SLOWLOG", "LEN"]), ":5\r\n", "SLOWLOG GET itself was logged");
        assert_eq!(entries(&c.run(&["SLOWLOG", "GET", "1"])).len(), 1);
        assert_eq!(entries(&c.run(&["SLOWLOG", "GET", "-1"])).len(), 7);
        assert_eq!(c.run(&["SLOWLOG", "RESET"]), "+OK\r\n");
        assert_eq!(c.run(&["SLOWLOG", "LEN"]), ":1\r\n", "RESET itself is logged after it runs");
        assert_eq!(entries(&c.run(&["SLOWLOG", "GET"]))[0][0], ":9", "ids go on");
    }

    #[test]
    fn the_log_is_capped_and_transactions_log_their_commands() {
        crate::stopwatch::fake::step_by(100);
        let mut c = Harness::new();
        c.run(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        c.run(&["CONFIG", "SET", "slowlog-max-len", "3"]);
        for i in 0..5 {
            c.run(&["SET", &format!("k{i}"), "v"]);
        }
        let args: Vec<String> = entries(&c.run(&["SLOWLOG", "GET", "-1"])).into_iter().map(|e| e[4].clone()).collect();
        assert_eq!(args, ["k4", "k3", "k2"]);
        c.run(&["SLOWLOG", "RESET"]);
        c.run(&["MULTI"]);
        c.run(&["INCR", "n"]);
        c.run(&["EXEC"]);
        let names: Vec<String> = entries(&c.run(&["SLOWLOG", "GET"])).into_iter().map(|e| e[3].clone()).collect();
        assert_eq!(names, ["INCR", "MULTI", "SLOWLOG"], "EXEC is not logged, its commands are");
        c.run(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
        c.run(&["SLOWLOG", "RESET"]);
        c.run(&["SET", "k", "v"]);
        assert_eq!(c.run(&["SLOWLOG", "LEN"]), ":0\r\n", "-1 logs nothing");
    }

    #[test]
    fn long_commands_are_cut_at_32_arguments() {
        let mut c = Harness::new();
        c.run(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        let mut args = vec!["SADD".to_string(), "s".to_string()];
        args.extend((0..40).map(|i| i.to_string()));
        c.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let entry = &entries(&c.run(&["SLOWLOG", "GET", "1"]))[0];
        assert_eq!(entry.len(), 3 + 32 + 2);
        assert_eq!(entry[3 + 30], "28");
        assert_eq!(entry[3 + 31], "... (11 more arguments)");
    }

    #[test]
    fn errors_and_help_as_redis() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["SLOWLOG", "GET", "-2"]), "-ERR count should be greater than or equal to -1\r\n");
        assert_eq!(c.run(&["SLOWLOG", "GET", "x"]), "-ERR count should be greater than or equal to -1\r\n");
        assert_eq!(c.run(&["SLOWLOG", "GET", "1", "2"]), "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n");
        assert_eq!(c.run(&["SLOWLOG", "foo"]), "-ERR unknown subcommand 'foo'. Try SLOWLOG HELP.\r\n");
        assert_eq!(c.run(&["SLOWLOG", "LEN", "x"]), "-ERR wrong number of arguments for 'slowlog|len' command\r\n");
        assert!(c.run(&["SLOWLOG", "HELP"]).starts_with(&format!("*12\r\n+SLOWLOG <subcommand>")));
        assert_eq!(c.run(&["CONFIG", "SET", "slowlog-log-slower-than", "-2"]), "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive\r\n");
        assert_eq!(c.run(&["CONFIG", "GET", "slowlog-max-len"]), format!("*2\r\n{}{}", bulk("slowlog-max-len"), bulk("128")));
    }
}
