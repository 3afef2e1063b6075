//! CLIENT TRACKING, TRACKINGINFO, GETREDIR and CACHING, what a tracking client's reads leave in
//! the tracking table, and how invalidation messages are written for each recipient's protocol.
//! The bookkeeping itself is in [`crate::tracking`].

use super::{Command, Ctx, Flag, SYNTAX_ERROR, is};
use crate::outbox::Outbox;
use crate::session::{Session, Sessions};
use crate::tracking::{Message, Options, Payload, Tracking, check};

const FLAGS: &[Flag] = &[Flag::NoScript, Flag::Loading, Flag::Stale];

pub const TRACKING: Command = Command::new("client|tracking", -3, tracking).flags(FLAGS).group("connection")
        .doc("Controls server-assisted client-side caching for the connection.", "6.0.0",
            "O(1). Some options may introduce additional complexity.",
            "<ON | OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]");
pub const TRACKINGINFO: Command = Command::new("client|trackinginfo", 2, trackinginfo).flags(FLAGS).group("connection")
        .doc("Returns information about server-assisted client-side caching for the connection.", "6.2.0", "O(1)", "");
pub const GETREDIR: Command = Command::new("client|getredir", 2, getredir).flags(FLAGS).group("connection")
        .doc("Returns the client ID to which the connection's tracking notifications are redirected.", "6.0.0", "O(1)", "");
pub const CACHING: Command = Command::new("client|caching", 3, caching).flags(FLAGS).group("connection")
        .doc("Instructs the server whether to track the keys in the next request.", "6.0.0", "O(1)", "<YES | NO>");

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP].
fn tracking(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(options) = parse_options(ctx, &args[3..]) else { return };
    let id = ctx.session.client_id;
    if is(args[2], "ON") {
        let current = ctx.tracking.client(id).map(|c| &c.options);
        if let Err(error) = check(current, &options) {
            ctx.reply.error(&error);
            return;
        }
        ctx.tracking.enable(id, ctx.session.connection, options);
        ctx.keyspace.keep_modified(true);
        ctx.session.set_tracking(true);
    } else if is(args[2], "OFF") {
        ctx.tracking.disable(id);
        ctx.session.set_tracking(false);
    } else {
        ctx.reply.error(SYNTAX_ERROR);
        return;
    }
    ctx.reply.ok();
}

fn parse_options(ctx: &mut Ctx, args: &[&[u8]]) -> Option<Options> {
    let mut options = Options::default();
    let mut rest = args.iter();
    while let Some(option) = rest.next() {
        let has_value = rest.len() > 0;
        if is(option, "REDIRECT") && has_value {
            if options.redirect != 0 {
                ctx.reply.error("ERR A client can only redirect to a single other client");
                return None;
            }
            let value = rest.next().copied().unwrap_or_default();
            let Some(redirect) = super::int_arg(ctx, value) else { return None };
            let redirect = u64::try_from(redirect).unwrap_or(0);
            if ctx.tracking.connection_of(redirect).is_none() {
                ctx.reply.error("ERR The client ID you want redirect to does not exist");
                return None;
            }
            options.redirect = redirect;
        } else if is(option, "PREFIX") && has_value {
            options.prefixes.push(rest.next().copied().unwrap_or_default().to_vec());
        } else if is(option, "BCAST") {
            options.bcast = true;
        } else if is(option, "OPTIN") {
            options.optin = true;
        } else if is(option, "OPTOUT") {
            options.optout = true;
        } else if is(option, "NOLOOP") {
            options.noloop = true;
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
    }
    Some(options)
}

/// CLIENT CACHING YES|NO: whether the next command's reads are remembered, against the mode's
/// default (OPTIN remembers nothing, OPTOUT everything).
fn caching(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(client) = ctx.tracking.client_mut(ctx.session.client_id).filter(|c| c.options.optin || c.options.optout) else {
        ctx.reply.error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
        return;
    };
    if is(args[2], "YES") {
        if !client.options.optin {
            ctx.reply.error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
            return;
        }
    } else if is(args[2], "NO") {
        if !client.options.optout {
            ctx.reply.error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
            return;
        }
    } else {
        ctx.reply.error(SYNTAX_ERROR);
        return;
    }
    client.caching = true;
    ctx.reply.ok();
}

/// CLIENT GETREDIR: -1 without tracking, 0 without redirection, the client id otherwise.
fn getredir(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.integer(redirect_of(ctx.tracking, ctx.session.client_id));
}

/// What CLIENT GETREDIR and CLIENT LIST's `redir` say of a client.
pub fn redirect_of(tracking: &Tracking, client: u64) -> i64 {
    tracking.client(client).map_or(-1, |c| c.options.redirect as i64)
}

fn trackinginfo(ctx: &mut Ctx, _args: &[&[u8]]) {
    let client = ctx.tracking.client(ctx.session.client_id);
    let mut flags: Vec<&str> = Vec::new();
    let mut prefixes: Vec<Vec<u8>> = Vec::new();
    match client {
        None => flags.push("off"),
        Some(c) => {
            let o = &c.options;
            flags.push("on");
            for (set, name) in [(o.bcast, "bcast"), (o.optin, "optin"), (o.optin && c.caching, "caching-yes"), (o.optout, "optout"),
                (o.optout && c.caching, "caching-no"), (o.noloop, "noloop"), (c.broken_redirect, "broken_redirect")]
            {
                if set {
                    flags.push(name);
                }
            }
            prefixes = o.prefixes.clone();
            prefixes.sort();
        }
    }
    let redirect = redirect_of(ctx.tracking, ctx.session.client_id);
    ctx.reply.map(3);
    ctx.reply.bulk(b"flags");
    ctx.reply.set(flags.len());
    for flag in flags {
        ctx.reply.bulk(flag.as_bytes());
    }
    ctx.reply.bulk(b"redirect");
    ctx.reply.integer(redirect);
    ctx.reply.bulk(b"prefixes");
    ctx.reply.array(prefixes.len());
    for prefix in &prefixes {
        ctx.reply.bulk(prefix);
    }
}

/// After a command of a tracking client: the keys a read-only command read are remembered (as
/// the client's mode and CLIENT CACHING say).
pub fn remember_reads(ctx: &mut Ctx, command: &Command, args: &[&[u8]]) {
    let id = ctx.session.client_id;
    if !command.has_flag(Flag::ReadOnly) || !ctx.tracking.remembers_reads(id) {
        return;
    }
    for key in command.key_args(args) {
        ctx.tracking.remember(id, key);
    }
    ctx.keyspace.keep_modified(true);
}

/// Whether a command ends CLIENT CACHING's effect: any but CLIENT's own subcommands, outside
/// MULTI (inside, it lasts until EXEC).
pub fn ends_caching(command: &Command, session: &Session) -> bool {
    !command.name.starts_with("client") && session.transaction.is_none()
}

/// Writes the messages tracking owes. A message to `current` (the client whose command is
/// running, if any) goes into `reply` after what is there; others go through the outbox.
pub fn deliver(tracking: &mut Tracking, sessions: &Sessions, current: Option<(&Session, &mut Vec<u8>)>, outbox: &mut Outbox) {
    let (session, mut reply) = current.unzip();
    for message in tracking.take_pending() {
        let Some((connection, bytes)) = render(tracking, sessions, session, &message) else { continue };
        match &mut reply {
            Some(reply) if session.is_some_and(|s| s.connection == connection) => reply.extend_from_slice(&bytes),
            _ => outbox.push(connection, &bytes),
        }
    }
}

/// A message as bytes, and the connection they go to: RESP3 clients get an `invalidate` push;
/// RESP2 clients only through a REDIRECT connection in subscribed mode, as a message on
/// `__redis__:invalidate`. A redirect to a client that is gone marks the tracking client's
/// redirect broken and tells it so (RESP3 only).
fn render(tracking: &mut Tracking, sessions: &Sessions, current: Option<&Session>, message: &Message) -> Option<(u64, Vec<u8>)> {
    let session_of = |connection: u64| match current {
        Some(session) if session.connection == connection => Some(session),
        _ => sessions.get(&connection).map(|s| &**s),
    };
    let redirect = tracking.client(message.client)?.options.redirect;
    let own = tracking.client(message.client)?.connection;
    let tracker = session_of(own)?;
    let null: &[u8] = if tracker.resp3() { b"_\r\n" } else { b"$-1\r\n" };
    let (connection, redirected) = if redirect == 0 {
        (own, false)
    } else {
        match tracking.connection_of(redirect) {
            Some(connection) => (connection, true),
            None => {
                let resp3 = tracker.resp3();
                tracking.client_mut(message.client)?.broken_redirect = true;
                return resp3.then(|| (own, format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{redirect}\r\n").into_bytes()));
            }
        }
    };
    let target = session_of(connection)?;
    let mut bytes = if target.resp3() {
        b">2\r\n$10\r\ninvalidate\r\n".to_vec()
    } else if redirected && target.subscriptions.any() {
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n".to_vec()
    } else {
        return None;
    };
    match &message.payload {
        Payload::Everything => bytes.extend_from_slice(null),
        Payload::Keys(keys) => {
            bytes.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
            for key in keys {
                bytes.extend_from_slice(format!("${}\r\n", key.len()).as_bytes());
                bytes.extend_from_slice(key);
                bytes.extend_from_slice(b"\r\n");
            }
        }
    }
    Some((connection, bytes))
}

#[cfg(test)]
mod tests;
