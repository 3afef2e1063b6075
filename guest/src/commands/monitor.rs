//! MONITOR: every command another client runs is written to the monitoring connections as it
//! runs, through the outbox, as Redis's `+<time> [<db> <address>] "<arg>" ...` lines.

use super::{Command, Ctx, Flag};
use crate::session::PeerKind;
use std::fmt::Write;

pub const COMMANDS: &[Command] = &[Command::new("monitor", 1, monitor)
    .flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale])
    .group("server")
    .doc("Listen for all requests received by the server in real time", "1.0.0", "", "")];

fn monitor(ctx: &mut Ctx, _args: &[&[u8]]) {
    let connection = ctx.session.connection;
    if !ctx.monitors.contains(&connection) {
        ctx.monitors.push(connection);
    }
    ctx.reply.ok();
}

/// Shows a command that ran to every monitor (the caller checks there is one: this runs after
/// every command). Administrative commands are not shown, and passwords are replaced by
/// `(redacted)`, as Redis does.
pub fn show(ctx: &mut Ctx, command: &Command, args: &[&[u8]]) {
    if command.has_flag(Flag::Admin) {
        return;
    }
    let line = line(ctx, args);
    for monitor in ctx.monitors.clone() {
        ctx.push_to(monitor, &line);
    }
}

fn line(ctx: &Ctx, args: &[&[u8]]) -> Vec<u8> {
    let ms = ctx.now.wall_ms;
    let mut text = format!("+{}.{:06} [{} ", ms / 1000, (ms % 1000) * 1000, ctx.session.db);
    match ctx.session.peer.kind {
        PeerKind::Unix => {
            let _ = write!(text, "unix:{}] ", ctx.session.peer.address);
        }
        PeerKind::Tcp | PeerKind::Udp => {
            let _ = write!(text, "{}] ", ctx.session.peer.address);
        }
    }
    let redacted = redacted_from(args);
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        if redacted.is_some_and(|from| i >= from) && is_secret(args, i) {
            text.push_str("\"(redacted)\"");
        } else {
            quote(arg, &mut text);
        }
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// Where passwords start: every argument of AUTH; the two after HELLO's AUTH.
fn redacted_from(args: &[&[u8]]) -> Option<usize> {
    if args[0].eq_ignore_ascii_case(b"AUTH") {
        return Some(1);
    }
    if args[0].eq_ignore_ascii_case(b"HELLO") {
        return args.iter().position(|a| a.eq_ignore_ascii_case(b"AUTH")).map(|at| at + 1);
    }
    None
}

fn is_secret(args: &[&[u8]], i: usize) -> bool {
    if args[0].eq_ignore_ascii_case(b"AUTH") {
        return true;
    }
    redacted_from(args).is_some_and(|from| i < from + 2)
}

/// An argument in double quotes, escaped as Redis's `sdscatrepr` does.
fn quote(arg: &[u8], out: &mut String) {
    out.push('"');
    for &b in arg {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use crate::engine::Input;
    use crate::engine::test_harness::Harness;

    #[test]
    fn monitors_see_commands_as_they_run() {
        let mut c = Harness::new();
        let monitor = c.another(2);
        assert_eq!(c.run_on(monitor, &[b"MONITOR"]), "+OK\r\n");
        let input = b"*3\r\n$3\r\nSET\r\n$2\r\nk\"\r\n$5\r\na\nb\x01\xff\r\nAUTH pw\r\nNOPE\r\nCONFIG GET port\r\nSELECT 2\r\n";
        let outputs = c.engine.feed(c.now, &[Input { id: 1, data: input }]);
        let seen = outputs.iter().find(|o| o.id == monitor).map(|o| String::from_utf8_lossy(&o.data).into_owned());
        let at = "+1700000000.000000";
        assert_eq!(
            seen.as_deref(),
            Some(&*format!(
                "{at} [0 127.0.0.1:40000] \"SET\" \"k\\\"\" \"a\\nb\\x01\\xff\"\r\n\
                 {at} [0 127.0.0.1:40000] \"AUTH\" \"(redacted)\"\r\n\
                 {at} [2 127.0.0.1:40000] \"SELECT\" \"2\"\r\n"
            ))
        );
    }
}
