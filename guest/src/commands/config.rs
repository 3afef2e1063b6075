//! CONFIG: reading and changing settings at run time.

use super::{Command, Ctx, Flag, subcommand_required, write_help};
use crate::config::Config;

pub const COMMANDS: &[Command] = &[Command::new("config", -2, subcommand_required)
    .group("server")
    .doc("A container for server configuration commands.", "2.0.0", "Depends on subcommand.", "")
    .subcommands(&[
        Command::new("config|get", -3, get).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns the effective values of configuration parameters.", "2.0.0", "O(N) when N is the number of configuration parameters provided", "parameter [parameter ...]"),
        Command::new("config|set", -4, set).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Sets configuration parameters in-flight.", "2.0.0", "O(N) when N is the number of configuration parameters provided", "parameter value [parameter value ...]"),
        Command::new("config|resetstat", 2, resetstat).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Resets the server's statistics.", "2.0.0", "O(1)", ""),
        Command::new("config|rewrite", 2, rewrite).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("server")
            .doc("Persists the effective configuration to file.", "2.8.0", "O(1)", ""),
        Command::new("config|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("server")
            .doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
    ])];

fn get(ctx: &mut Ctx, args: &[&[u8]]) {
    let found = ctx.config.get_matching(&args[2..]);
    ctx.reply.map(found.len());
    for (name, value) in found {
        ctx.reply.bulk(name.as_bytes());
        ctx.reply.bulk(value.as_bytes());
    }
}

/// All settings or none: they are applied to a copy, which replaces the configuration only when
/// every one was accepted.
fn set(ctx: &mut Ctx, args: &[&[u8]]) {
    if args.len() % 2 != 0 {
        ctx.reply.error("ERR wrong number of arguments for 'config|set' command");
        return;
    }
    let mut updated: Config = ctx.config.clone();
    let mut seen: Vec<String> = Vec::new();
    // The settings the host applies itself, as given: it sees them once every other was accepted.
    let mut for_host: Vec<(String, String)> = Vec::new();
    for pair in args[2..].chunks_exact(2) {
        let name = String::from_utf8_lossy(pair[0]).to_ascii_lowercase();
        let value = String::from_utf8_lossy(pair[1]);
        if seen.contains(&name) {
            ctx.reply.error(&format!("ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"));
            return;
        }
        if let Err(error) = updated.set(&name, &value) {
            ctx.reply.error(&format!("ERR {}", error.message));
            return;
        }
        if Config::host_owned(&name) {
            let name = Config::canonical_name(&name).unwrap_or_default().to_string();
            let value = (updated.get_matching(&[name.as_bytes()]).into_iter().next()).map_or_else(|| value.to_string(), |(_, v)| v);
            for_host.push((name, value));
        }
        seen.push(name);
    }
    if let Some((first, _)) = for_host.first()
        && let Err(why) = ctx.host_settings.apply(&for_host)
    {
        ctx.reply.error(&format!("ERR CONFIG SET failed (possibly related to argument '{first}') - {why}"));
        return;
    }
    *ctx.config = updated;
    if seen.iter().any(|name| name == "requirepass") {
        ctx.acl.set_requirepass(&ctx.config.requirepass);
    }
    ctx.keyspace.events.configure(ctx.config.notify_keyspace_events);
    ctx.reply.ok();
}

fn resetstat(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.stats.reset();
    ctx.keyspace.stats = Default::default();
    ctx.reply.ok();
}

fn rewrite(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.config.config_file.is_empty() {
        ctx.reply.error("ERR The server is running without a config file");
    } else {
        ctx.reply.error("ERR cachet does not rewrite its configuration file; edit it and restart the server");
    }
}

const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Not supported: cachet does not write files.",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn get_and_set() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["CONFIG", "GET", "maxclients"]), format!("*2\r\n{}{}", bulk("maxclients"), bulk("10000")));
        assert_eq!(c.run(&["CONFIG", "GET", "save", "appendonly"]), format!("*4\r\n{}{}{}{}", bulk("save"), bulk(""), bulk("appendonly"), bulk("no")));
        assert_eq!(c.run(&["CONFIG", "GET", "nosuch"]), "*0\r\n");
        assert_eq!(c.run(&["CONFIG", "SET", "timeout", "30", "hz", "20"]), "+OK\r\n");
        assert_eq!(c.run(&["CONFIG", "GET", "hz"]), format!("*2\r\n{}{}", bulk("hz"), bulk("20")));
        assert_eq!(
            c.run(&["CONFIG", "SET", "timeout", "5", "maxclients", "x"]),
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n"
        );
        assert_eq!(c.run(&["CONFIG", "GET", "timeout"]), format!("*2\r\n{}{}", bulk("timeout"), bulk("30")), "nothing changed");
        assert_eq!(c.run(&["CONFIG", "SET", "hz", "1", "hz", "2"]), "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n");
        assert_eq!(c.run(&["CONFIG", "SET", "hz"]), "-ERR wrong number of arguments for 'config|set' command\r\n");
        assert_eq!(c.run(&["CONFIG", "SET", "hz", "1", "timeout"]), "-ERR wrong number of arguments for 'config|set' command\r\n");
        assert_eq!(c.run(&["CONFIG", "SET", "databases", "4"]), "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n");
        c.run(&["HELLO", "3"]);
        assert!(c.run(&["CONFIG", "GET", "hz"]).starts_with("%1\r\n"), "a map in RESP3");
    }

    #[test]
    fn host_settings_reach_the_host_once_the_others_are_accepted() {
        use std::cell::RefCell;
        use std::rc::Rc;
        let mut c = Harness::new();
        let seen: Rc<RefCell<Vec<Vec<(String, String)>>>> = Rc::default();
        let log = seen.clone();
        c.engine.set_host_settings(Box::new(move |changes| {
            log.borrow_mut().push(changes.to_vec());
            match changes.iter().any(|(_, value)| value.contains("bad")) {
                true => Err("Unable to update TLS configuration. Check server logs.".into()),
                false => Ok(()),
            }
        }));
        let pair = |n: &str, v: &str| (n.to_string(), v.to_string());
        assert_eq!(c.run(&["CONFIG", "SET", "TLS-KEY-FILE", "new.key", "hz", "20", "tls-cert-file", "new.crt"]), "+OK\r\n");
        assert_eq!(seen.borrow().last().cloned(), Some(vec![pair("tls-key-file", "new.key"), pair("tls-cert-file", "new.crt")]));
        assert_eq!(c.run(&["CONFIG", "GET", "tls-cert-file"]), format!("*2\r\n{}{}", bulk("tls-cert-file"), bulk("new.crt")));

        // The host refuses: the first host setting is named, and nothing changes.
        assert_eq!(
            c.run(&["CONFIG", "SET", "hz", "30", "tls-ca-cert-file", "ca.crt", "tls-cert-file", "bad.crt"]),
            "-ERR CONFIG SET failed (possibly related to argument 'tls-ca-cert-file') - Unable to update TLS configuration. Check server logs.\r\n"
        );
        assert_eq!(c.run(&["CONFIG", "GET", "hz"]), format!("*2\r\n{}{}", bulk("hz"), bulk("20")));
        assert_eq!(c.run(&["CONFIG", "GET", "tls-ca-cert-file"]), format!("*2\r\n{}{}", bulk("tls-ca-cert-file"), bulk("")));

        // A value the engine refuses never reaches the host.
        let calls = seen.borrow().len();
        assert_eq!(
            c.run(&["CONFIG", "SET", "tls-cert-file", "x.crt", "tls-auth-clients", "maybe"]),
            "-ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - argument(s) must be one of the following: no, yes, optional\r\n"
        );
        assert_eq!(c.run(&["CONFIG", "SET", "maxclients", "0", "tls-cert-file", "x.crt"]).get(..5), Some("-ERR "));
        assert_eq!(seen.borrow().len(), calls);
        assert_eq!(c.run(&["CONFIG", "SET", "tls-auth-clients", "OPTIONAL"]), "+OK\r\n");
        assert_eq!(seen.borrow().last().cloned(), Some(vec![pair("tls-auth-clients", "optional")]));
        assert_eq!(c.run(&["CONFIG", "SET", "tls-port", "7000"]), "-ERR CONFIG SET failed (possibly related to argument 'tls-port') - can't set immutable config\r\n");
    }

    #[test]
    fn resetstat_and_rewrite() {
        let mut c = Harness::new();
        c.run(&["GET", "missing"]);
        assert_eq!(c.run(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
        assert!(c.run(&["INFO", "stats"]).contains("keyspace_misses:0\r\n"));
        assert_eq!(c.run(&["CONFIG", "REWRITE"]), "-ERR The server is running without a config file\r\n");
    }
}
