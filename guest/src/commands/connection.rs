//! Connection commands: the client's session with the server.

use super::{Command, Ctx, Flag, is};
use crate::commands::keys::db_index;
use crate::server_facts::REDIS_VERSION;

pub const COMMANDS: &[Command] = &[
    Command::new("ping", -1, ping).flags(&[Flag::Fast]).group("connection")
        .doc("Returns the server's liveliness response.", "1.0.0", "O(1)", "[message]"),
    Command::new("echo", 2, echo).flags(&[Flag::Fast]).group("connection")
        .doc("Returns the given string.", "1.0.0", "O(1)", "message"),
    Command::new("quit", -1, quit).flags(&[Flag::Fast, Flag::NoScript, Flag::Loading, Flag::Stale, Flag::AllowBusy, Flag::NoAuth]).group("connection")
        .doc("Closes the connection.", "1.0.0", "O(1)", ""),
    Command::new("select", 2, select).flags(&[Flag::Fast, Flag::Loading, Flag::Stale]).group("connection")
        .doc("Changes the selected database.", "1.0.0", "O(1)", "index"),
    Command::new("reset", 1, reset).flags(&[Flag::Fast, Flag::NoScript, Flag::Loading, Flag::Stale, Flag::NoAuth, Flag::AllowBusy]).group("connection")
        .doc("Resets the connection.", "6.2.0", "O(1)", ""),
    Command::new("hello", -1, hello).flags(&[Flag::Fast, Flag::NoScript, Flag::Loading, Flag::Stale, Flag::NoAuth, Flag::AllowBusy]).group("connection")
        .doc("Handshakes with the Redis server.", "6.0.0", "O(1)",
            "[protover [AUTH username password] [SETNAME clientname]]"),
    Command::new("auth", -2, auth).flags(&[Flag::Fast, Flag::NoScript, Flag::Loading, Flag::Stale, Flag::NoAuth, Flag::AllowBusy]).group("connection")
        .doc("Authenticates the connection.", "1.0.0", "O(N) where N is the number of passwords defined for the user", "[username] password"),
];

fn ping(ctx: &mut Ctx, args: &[&[u8]]) {
    // A RESP2 client in subscribed mode reads only arrays: PING answers ["pong", message].
    if ctx.session.subscriptions.any() && !ctx.session.resp3() && args.len() <= 2 {
        ctx.reply.array(2);
        ctx.reply.bulk(b"pong");
        ctx.reply.bulk(args.get(1).copied().unwrap_or_default());
        return;
    }
    match args {
        [_] => ctx.reply.simple("PONG"),
        [_, message] => ctx.reply.bulk(message),
        _ => ctx.reply.error("ERR wrong number of arguments for 'ping' command"),
    }
}

fn echo(ctx: &mut Ctx, args: &[&[u8]]) {
    ctx.reply.bulk(args[1]);
}

fn quit(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.ok();
    ctx.session.close_after_reply = true;
}

fn select(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(db) = db_index(ctx, args[1]) {
        ctx.session.select(db);
        ctx.reply.ok();
    }
}

fn reset(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.session.reset();
    ctx.watches.unwatch(ctx.session.connection);
    super::unsubscribe_all(ctx.pubsub, ctx.session);
    ctx.tracking.disable(ctx.session.client_id);
    ctx.session.set_tracking(false);
    ctx.session.user = b"default".to_vec();
    ctx.session.authenticated = ctx.acl.default_needs_no_auth();
    ctx.session.acl_limited.set(ctx.acl.limits(b"default"));
    ctx.reply.set_resp3(false);
    ctx.reply.simple("RESET");
}

/// Without `requirepass` the default user needs no password: `AUTH default <anything>` succeeds,
/// a bare `AUTH <password>` is a configuration mistake Redis points out.
const NO_PASSWORD_SET: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
const WRONG_PASSWORD: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const HELLO_NEEDS_AUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";

fn auth(ctx: &mut Ctx, args: &[&[u8]]) {
    let (user, password) = match args {
        [_, password] => (None, *password),
        [_, user, password] => (Some(*user), *password),
        _ => {
            ctx.reply.error("ERR syntax error");
            return;
        }
    };
    if ctx.acl.default_user().nopass && user.is_none() {
        ctx.reply.error(NO_PASSWORD_SET);
        return;
    }
    if !ctx.auth_allowed() {
        return;
    }
    if super::acl::authenticate(ctx, user.unwrap_or(b"default"), password, args[0]) {
        ctx.reply.ok();
    } else {
        ctx.note_auth_failure();
        ctx.reply.error(WRONG_PASSWORD);
    }
}


fn hello(ctx: &mut Ctx, args: &[&[u8]]) {
    let mut protocol = ctx.session.protocol;
    if let Some(version) = args.get(1) {
        let Some(version) = super::parse_i64(version) else {
            ctx.reply.error("ERR Protocol version is not an integer or out of range");
            return;
        };
        if !(2..=3).contains(&version) {
            ctx.reply.error("NOPROTO unsupported protocol version");
            return;
        }
        protocol = version as u8;
    }
    let mut name = None;
    let mut credentials = None;
    let mut i = 2;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        if is(args[i], "AUTH") && remaining >= 2 {
            credentials = Some((args[i + 1], args[i + 2]));
            i += 3;
        } else if is(args[i], "SETNAME") && remaining >= 1 {
            if !super::client::valid_name(args[i + 1]) {
                ctx.reply.error(super::client::BAD_NAME);
                return;
            }
            name = Some(args[i + 1]);
            i += 2;
        } else {
            ctx.reply.error(&format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(args[i])));
            return;
        }
    }
    if credentials.is_some() && !ctx.auth_allowed() {
        return;
    }
    match credentials {
        Some((user, password)) => {
            if !super::acl::authenticate(ctx, user, password, args[0]) {
                ctx.note_auth_failure();
                ctx.reply.error(WRONG_PASSWORD);
                return;
            }
        }
        None if !ctx.session.authenticated => {
            ctx.reply.error(HELLO_NEEDS_AUTH);
            return;
        }
        None => {}
    }
    if let Some(name) = name {
        ctx.session.set_name((!name.is_empty()).then(|| name.to_vec()));
    }
    if protocol != ctx.session.protocol {
        ctx.session.set_protocol(protocol);
    }
    ctx.reply.set_resp3(protocol == 3);
    write_hello(ctx);
}

/// The map HELLO answers with, as Redis 7 sends it.
fn write_hello(ctx: &mut Ctx) {
    ctx.reply.map(7);
    ctx.reply.bulk(b"server");
    ctx.reply.bulk(b"redis");
    ctx.reply.bulk(b"version");
    ctx.reply.bulk(REDIS_VERSION.as_bytes());
    ctx.reply.bulk(b"proto");
    ctx.reply.integer(i64::from(ctx.session.protocol));
    ctx.reply.bulk(b"id");
    ctx.reply.integer(ctx.session.client_id as i64);
    ctx.reply.bulk(b"mode");
    ctx.reply.bulk(b"standalone");
    ctx.reply.bulk(b"role");
    ctx.reply.bulk(b"master");
    ctx.reply.bulk(b"modules");
    ctx.reply.array(0);
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn ping_echo_quit() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["PING"]), "+PONG\r\n");
        assert_eq!(c.run(&["PING", "hi"]), bulk("hi"));
        assert_eq!(c.run(&["PING", "a", "b"]), "-ERR wrong number of arguments for 'ping' command\r\n");
        assert_eq!(c.run(&["ECHO", "x y"]), bulk("x y"));
        let out = c.engine.feed_one(c.now, 1, b"QUIT\r\nPING\r\n");
        assert_eq!(out.data, b"+OK\r\n");
        assert!(out.close);
        assert_eq!(out.progress.map(|p| p.consumed), Some(6), "nothing after QUIT runs");
    }

    #[test]
    fn select_changes_the_session() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["SELECT", "16"]), "-ERR DB index is out of range\r\n");
        assert_eq!(c.run(&["SELECT", "-1"]), "-ERR DB index is out of range\r\n");
        assert_eq!(c.run(&["SELECT", "x"]), "-ERR value is not an integer or out of range\r\n");
        c.run(&["SET", "k", "zero"]);
        let out = c.engine.feed_one(c.now, 1, b"SELECT 9\r\n");
        assert!(out.session.is_some(), "the host is told the session changed");
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n");
        c.run(&["SELECT", "0"]);
        assert_eq!(c.run(&["GET", "k"]), bulk("zero"));
    }

    #[test]
    fn hello_switches_protocol() {
        let mut c = Harness::new();
        let reply = c.run(&["HELLO", "3"]);
        assert!(reply.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n"), "{reply}");
        assert!(reply.contains("$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:1\r\n"), "{reply}");
        assert!(reply.ends_with("$7\r\nmodules\r\n*0\r\n"), "{reply}");
        assert_eq!(c.run(&["GET", "missing"]), "_\r\n");
        assert!(c.run(&["HELLO"]).starts_with("%7\r\n"), "HELLO without a version keeps RESP3");
        assert!(c.run(&["HELLO", "2"]).starts_with("*14\r\n"));
        assert_eq!(c.run(&["GET", "missing"]), "$-1\r\n");
        assert_eq!(c.run(&["HELLO", "4"]), "-NOPROTO unsupported protocol version\r\n");
        assert_eq!(c.run(&["HELLO", "x"]), "-ERR Protocol version is not an integer or out of range\r\n");
        assert_eq!(c.run(&["HELLO", "3", "FOO"]), "-ERR Syntax error in HELLO option 'FOO'\r\n");
        assert_eq!(c.run(&["GET", "missing"]), "$-1\r\n", "a failed HELLO changes nothing");
        assert!(c.run(&["HELLO", "3", "AUTH", "default", "secret", "SETNAME", "app"]).starts_with("%7"));
        assert_eq!(c.run(&["CLIENT", "GETNAME"]), bulk("app"));
        assert_eq!(c.run(&["HELLO", "3", "AUTH", "alice", "pw"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        assert_eq!(c.run(&["HELLO", "3", "SETNAME", "a b"]), "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    }

    #[test]
    fn requirepass() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["CONFIG", "SET", "requirepass", "s3cret"]), "+OK\r\n");
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n", "clients connected before keep their access");
        let other = c.another(2);
        let on_other = |c: &mut Harness, args: &[&str]| {
            let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            c.run_on(other, &bytes)
        };
        assert_eq!(on_other(&mut c, &["GET", "k"]), "-NOAUTH Authentication required.\r\n");
        assert_eq!(on_other(&mut c, &["PING"]), "-NOAUTH Authentication required.\r\n");
        assert!(on_other(&mut c, &["HELLO", "3"]).starts_with("-NOAUTH HELLO must be called with the client already authenticated"));
        assert_eq!(on_other(&mut c, &["AUTH", "wrong"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        assert_eq!(on_other(&mut c, &["AUTH", "s3cre"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        assert_eq!(on_other(&mut c, &["AUTH", "alice", "s3cret"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        assert_eq!(on_other(&mut c, &["HELLO", "3", "AUTH", "default", "nope"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        assert_eq!(on_other(&mut c, &["AUTH", "s3cret"]), "+OK\r\n");
        assert_eq!(on_other(&mut c, &["GET", "k"]), "$-1\r\n");
        assert_eq!(on_other(&mut c, &["RESET"]), "+RESET\r\n");
        assert_eq!(on_other(&mut c, &["GET", "k"]), "-NOAUTH Authentication required.\r\n", "RESET signs the client out");
        assert!(on_other(&mut c, &["HELLO", "3", "AUTH", "default", "s3cret"]).starts_with("%7"));
        assert_eq!(on_other(&mut c, &["GET", "k"]), "_\r\n");
        let third = c.another(3);
        let out = c.engine.feed_one(c.now, third, b"QUIT\r\n");
        assert_eq!(out.data, b"+OK\r\n", "QUIT needs no password");
    }

    #[test]
    fn protected_mode_refuses_other_hosts_without_a_password() {
        use crate::session::{Peer, PeerKind};
        let mut c = Harness::new();
        let outsider = Peer { kind: PeerKind::Tcp, address: "192.0.2.7:4000".into(), local_address: "0.0.0.0:6379".into() };
        let refusal = c.engine.open(c.now, 10, outsider.clone(), None).expect("refused");
        assert!(String::from_utf8_lossy(&refusal).starts_with("-DENIED Redis is running in protected mode"));
        c.run(&["CONFIG", "SET", "requirepass", "pw"]);
        assert!(c.engine.open(c.now, 11, outsider.clone(), None).is_none(), "a password lifts protected mode");
        c.run(&["CONFIG", "SET", "requirepass", "", "protected-mode", "no"]);
        assert!(c.engine.open(c.now, 12, outsider, None).is_none());
    }

    #[test]
    fn secrets_compare_fully() {
        use crate::acl::same_secret;
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
        assert!(same_secret(b"", b""));
    }

    #[test]
    fn reset_and_auth() {
        let mut c = Harness::new();
        c.run(&["HELLO", "3", "SETNAME", "x"]);
        c.run(&["SELECT", "4"]);
        assert_eq!(c.run(&["RESET"]), "+RESET\r\n");
        assert_eq!(c.run(&["GET", "missing"]), "$-1\r\n");
        assert_eq!(c.run(&["CLIENT", "GETNAME"]), "$-1\r\n");
        assert!(c.run(&["AUTH", "pw"]).starts_with("-ERR AUTH <password> called without any password configured"));
        assert_eq!(c.run(&["AUTH", "default", "pw"]), "+OK\r\n");
        assert_eq!(c.run(&["AUTH", "bob", "pw"]), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    }
}
