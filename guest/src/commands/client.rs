//! CLIENT: what a connection can learn and say about itself and the other clients.

use super::{Command, Ctx, Flag, SYNTAX_ERROR, is, parse_i64, subcommand_required, write_help};
use crate::session::{PeerKind, Session};

pub const COMMANDS: &[Command] = &[Command::new("client", -2, subcommand_required)
    .flags(&[Flag::Sentinel])
    .group("connection")
    .doc("A container for client connection commands.", "2.4.0", "Depends on subcommand.", "")
    .subcommands(&[
        Command::new("client|id", 2, id).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Returns the unique client ID of the connection.", "5.0.0", "O(1)", ""),
        Command::new("client|setname", 3, setname).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Sets the connection name.", "2.6.9", "O(1)", "connection-name"),
        Command::new("client|getname", 2, getname).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Returns the name of the connection.", "2.6.9", "O(1)", ""),
        Command::new("client|info", 2, info).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Returns information about the connection.", "6.2.0", "O(1)", ""),
        Command::new("client|list", -2, list).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Lists open connections.", "2.4.0", "O(N) where N is the number of client connections",
                "[TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]"),
        Command::new("client|kill", -3, kill).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Terminates open connections.", "2.4.0", "O(N) where N is the number of client connections",
                "<ip:port | <[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>] | [MAXAGE maxage]> [[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>] | [MAXAGE maxage] ...]>"),
        Command::new("client|setinfo", 4, setinfo).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Sets information specific to the client or connection.", "7.2.0", "O(1)", "<LIB-NAME libname | LIB-VER libver>"),
        Command::new("client|no-evict", 3, no_evict).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Sets the client eviction mode of the connection.", "7.0.0", "O(1)", "<ON | OFF>"),
        Command::new("client|no-touch", 3, no_touch).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", "7.2.0", "O(1)", "<ON | OFF>"),
        Command::new("client|reply", 3, reply).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Instruct the server whether to reply to commands", "3.2.0", "O(1)", "<ON | OFF | SKIP>"),
        Command::new("client|pause", -3, pause).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Suspends commands processing.", "3.0.0", "O(1)", "timeout [WRITE | ALL]"),
        Command::new("client|unpause", 2, unpause).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Resumes processing commands from paused clients.", "6.2.0", "O(N) Where N is the number of paused clients", ""),
        Command::new("client|unblock", -3, unblock).flags(&[Flag::Admin, Flag::NoScript, Flag::Loading, Flag::Stale]).group("connection")
            .doc("Unblocks a client blocked by a blocking command from a different connection.", "5.0.0",
                "O(log N) where N is the number of client connections", "client-id [TIMEOUT | ERROR]"),
        super::tracking::TRACKING,
        super::tracking::TRACKINGINFO,
        super::tracking::GETREDIR,
        super::tracking::CACHING,
        Command::new("client|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("connection")
            .doc("Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""),
    ])];

pub const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

/// Names are printable ASCII without spaces, so CLIENT LIST stays one line per client.
pub fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|b| (b'!'..=b'~').contains(b))
}

fn id(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.integer(ctx.session.client_id as i64);
}

fn setname(ctx: &mut Ctx, args: &[&[u8]]) {
    if !valid_name(args[2]) {
        ctx.reply.error(BAD_NAME);
        return;
    }
    ctx.session.set_name((!args[2].is_empty()).then(|| args[2].to_vec()));
    ctx.reply.ok();
}

fn getname(ctx: &mut Ctx, _args: &[&[u8]]) {
    match &ctx.session.name {
        Some(name) => ctx.reply.bulk(name),
        None => ctx.reply.null(),
    }
}

fn info(ctx: &mut Ctx, _args: &[&[u8]]) {
    let line = describe(ctx, ctx.session, "client|info");
    ctx.reply.verbatim(line.as_bytes());
}

fn list(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(wanted) = parse_list_filter(ctx, &args[2..]) else { return };
    let mut text = String::new();
    for session in ctx.all_sessions() {
        if wanted.as_ref().is_none_or(|ids| ids.contains(&session.client_id)) {
            let command = if session.client_id == ctx.session.client_id { "client|list" } else { session.last_command };
            text.push_str(&describe(ctx, session, command));
        }
    }
    ctx.reply.verbatim(text.as_bytes());
}

/// CLIENT LIST's filters: `None` lists every client, `Some(ids)` only those (an empty list when
/// the TYPE asked for has no clients here).
fn parse_list_filter(ctx: &mut Ctx, options: &[&[u8]]) -> Option<Option<Vec<u64>>> {
    match options {
        [] => Some(None),
        [kind, name] if is(kind, "TYPE") => {
            let wanted = client_type(ctx, name)?;
            Some(Some(ctx.all_sessions().iter().filter(|s| type_of(s) == wanted).map(|s| s.client_id).collect()))
        }
        [kind, ids @ ..] if is(kind, "ID") && !ids.is_empty() => {
            let parsed: Option<Vec<u64>> = ids.iter().map(|id| parse_i64(id).and_then(|n| u64::try_from(n).ok()).filter(|n| *n > 0)).collect();
            if parsed.is_none() {
                ctx.reply.error("ERR Invalid client ID");
            }
            parsed.map(Some)
        }
        _ => {
            ctx.reply.error(SYNTAX_ERROR);
            None
        }
    }
}

/// The kinds of client CLIENT LIST and CLIENT KILL filter by. cachet has no replicas or masters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    PubSub,
    Replication,
}

/// A TYPE argument, or Redis's error for an unknown one.
fn client_type(ctx: &mut Ctx, name: &[u8]) -> Option<ClientType> {
    if is(name, "normal") {
        Some(ClientType::Normal)
    } else if is(name, "pubsub") {
        Some(ClientType::PubSub)
    } else if ["master", "replica", "slave"].iter().any(|k| is(name, k)) {
        Some(ClientType::Replication)
    } else {
        ctx.reply.error(&format!("ERR Unknown client type '{}'", String::from_utf8_lossy(name)));
        None
    }
}

fn type_of(session: &Session) -> ClientType {
    if session.subscriptions.any() { ClientType::PubSub } else { ClientType::Normal }
}

/// The clients CLIENT KILL's filters select.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    kind: Option<ClientType>,
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    user: Option<Vec<u8>>,
    skip_me: bool,
    max_age: Option<i64>,
}

impl KillFilter {
    fn selects(&self, ctx: &Ctx, session: &Session) -> bool {
        let is_self = session.client_id == ctx.session.client_id;
        let age_s = ctx.now.wall_ms.saturating_sub(session.created_ms) / 1000;
        !(self.skip_me && is_self)
            && self.id.is_none_or(|id| id == session.client_id)
            && self.kind.is_none_or(|kind| kind == type_of(session))
            && self.addr.as_ref().is_none_or(|a| a[..] == *peer_id(session).as_bytes())
            && self.laddr.as_ref().is_none_or(|a| a[..] == *session.peer.local_address.as_bytes())
            && self.user.as_ref().is_none_or(|u| *u == session.user)
            && self.max_age.is_none_or(|max| max == 0 || age_s as i64 >= max)
    }
}

/// CLIENT KILL: the old form names one client by address and answers +OK; the filter form
/// answers how many clients it closed. A client that kills itself gets its reply first.
fn kill(ctx: &mut Ctx, args: &[&[u8]]) {
    if let [_, _, addr] = args {
        let victim = ctx.all_sessions().into_iter().find(|s| peer_id(s).as_bytes() == *addr).map(|s| s.connection);
        match victim {
            Some(connection) => {
                ctx.kill(connection);
                ctx.reply.ok();
            }
            None => ctx.reply.error("ERR No such client"),
        }
        return;
    }
    let Some(filter) = parse_kill_filter(ctx, &args[2..]) else { return };
    let victims: Vec<u64> =
        ctx.all_sessions().into_iter().filter(|s| filter.selects(ctx, s)).map(|s| s.connection).collect();
    for connection in &victims {
        ctx.kill(*connection);
    }
    ctx.reply.integer(victims.len() as i64);
}

fn parse_kill_filter(ctx: &mut Ctx, options: &[&[u8]]) -> Option<KillFilter> {
    let mut filter = KillFilter { skip_me: true, ..KillFilter::default() };
    for pair in options.chunks(2) {
        let [name, value] = pair else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        };
        if is(name, "ID") {
            match parse_i64(value).filter(|id| *id > 0) {
                Some(id) => filter.id = Some(id as u64),
                None => {
                    ctx.reply.error("ERR client-id should be greater than 0");
                    return None;
                }
            }
        } else if is(name, "TYPE") {
            filter.kind = Some(client_type(ctx, value)?);
        } else if is(name, "USER") {
            if !ctx.acl.users.contains_key(*value) {
                ctx.reply.error(&format!("ERR No such user '{}'", String::from_utf8_lossy(value)));
                return None;
            }
            filter.user = Some(value.to_vec());
        } else if is(name, "ADDR") {
            filter.addr = Some(value.to_vec());
        } else if is(name, "LADDR") {
            filter.laddr = Some(value.to_vec());
        } else if is(name, "SKIPME") && (is(value, "yes") || is(value, "no")) {
            filter.skip_me = is(value, "yes");
        } else if is(name, "MAXAGE") {
            filter.max_age = Some(super::int_arg(ctx, value)?);
        } else {
            ctx.reply.error(SYNTAX_ERROR);
            return None;
        }
    }
    Some(filter)
}

/// A client's address as CLIENT LIST's `addr` shows it and CLIENT KILL matches it.
fn peer_id(session: &Session) -> String {
    match session.peer.kind {
        PeerKind::Unix => format!("{}:0", session.peer.address),
        PeerKind::Tcp | PeerKind::Udp => session.peer.address.clone(),
    }
}

/// CLIENT LIST's `flags`, in Redis's order: `P` subscribed, `x` in MULTI, `b` blocked (waiting for
/// a key, or for a pause to end), `t` tracking (`R` its redirect is gone, `B` broadcast mode), `d` when a watched key
/// changed, `U` on a Unix socket, `e` NO-EVICT, `T` NO-TOUCH, `N` when none applies.
fn client_flags(ctx: &Ctx, session: &Session) -> String {
    let mut flags = String::new();
    if session.subscriptions.any() {
        flags.push('P');
    }
    if session.transaction.is_some() {
        flags.push('x');
    }
    if session.postponed || session.blocked {
        flags.push('b');
    }
    if let Some(tracking) = ctx.tracking.client(session.client_id) {
        flags.push('t');
        if tracking.broken_redirect {
            flags.push('R');
        }
        if tracking.options.bcast {
            flags.push('B');
        }
    }
    if ctx.watches.is_dirty(session.connection) {
        flags.push('d');
    }
    if session.peer.kind == PeerKind::Unix {
        flags.push('U');
    }
    if session.no_evict {
        flags.push('e');
    }
    if session.no_touch {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    flags
}

/// The output waiting for a client: what the host last reported holding unwritten for it, and
/// what the current call has made for it so far. CLIENT LIST's `omem` and `tot-mem`.
pub(crate) fn output_memory(ctx: &Ctx, session: &Session) -> u64 {
    session.unsent.saturating_add(ctx.outbox.pending(session.connection) as u64)
}

/// One client as CLIENT LIST shows it. Input buffers live in the host and are reported as 0;
/// output waiting in the host is `omem` and all of `tot-mem` (cachet has no reply blocks, so
/// `obl` and `oll` stay 0); `fd` is -1 because the engine never sees file descriptors.
pub(crate) fn describe(ctx: &Ctx, session: &Session, command: &str) -> String {
    let is_self = session.client_id == ctx.session.client_id;
    let age = ctx.now.wall_ms.saturating_sub(session.created_ms) / 1000;
    let idle = if is_self { 0 } else { ctx.now.mono_ns.saturating_sub(session.last_active_ns) / 1_000_000_000 };
    let addr = peer_id(session);
    let flags = client_flags(ctx, session);
    let omem = output_memory(ctx, session);
    let multi = session.transaction.as_ref().map_or(-1, |t| t.queued.len() as i64);
    let subscriptions = &session.subscriptions;
    let (sub, psub, ssub) = (subscriptions.channels.len(), subscriptions.patterns.len(), subscriptions.shard.len());
    fn text(field: &Option<Vec<u8>>) -> std::borrow::Cow<'_, str> {
        field.as_deref().map(String::from_utf8_lossy).unwrap_or_default()
    }
    format!(
        "id={} addr={addr} laddr={} fd=-1 name={} age={age} idle={idle} flags={flags} db={} sub={sub} psub={psub} ssub={ssub} \
         multi={multi} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={omem} tot-mem={omem} events=r \
         cmd={command} user={} redir={} resp={} lib-name={} lib-ver={}\n",
        session.client_id,
        session.peer.local_address,
        text(&session.name),
        session.db,
        String::from_utf8_lossy(&session.user),
        super::tracking::redirect_of(ctx.tracking, session.client_id),
        session.protocol,
        text(&session.lib_name),
        text(&session.lib_version),
    )
}

fn setinfo(ctx: &mut Ctx, args: &[&[u8]]) {
    let (attribute, value) = (args[2], args[3]);
    let is_name = is(attribute, "LIB-NAME");
    if !is_name && !is(attribute, "LIB-VER") {
        ctx.reply.error(&format!("ERR Unrecognized option '{}'", String::from_utf8_lossy(attribute)));
        return;
    }
    if !valid_name(value) {
        let which = if is_name { "lib-name" } else { "lib-ver" };
        ctx.reply.error(&format!("ERR {which} cannot contain spaces, newlines or special characters."));
        return;
    }
    let value = Some(value.to_vec());
    if is_name {
        ctx.session.set_lib(value, None);
    } else {
        ctx.session.set_lib(None, value);
    }
    ctx.reply.ok();
}

/// CLIENT REPLY: OFF and SKIP answer nothing themselves; SKIP also silences the next command. The
/// engine drops the replies the mode says to (see `ReplyMode`).
fn reply(ctx: &mut Ctx, args: &[&[u8]]) {
    use crate::session::ReplyMode;
    if is(args[2], "ON") {
        ctx.session.reply_mode = ReplyMode::On;
        ctx.reply.ok();
    } else if is(args[2], "OFF") {
        ctx.session.reply_mode = ReplyMode::Off;
    } else if is(args[2], "SKIP") {
        if ctx.session.reply_mode != ReplyMode::Off {
            ctx.session.reply_mode = ReplyMode::Skip { commands: 2 };
        }
    } else {
        ctx.reply.error(SYNTAX_ERROR);
    }
}

/// ON or OFF, or Redis's syntax error.
fn on_off(ctx: &mut Ctx, arg: &[u8]) -> Option<bool> {
    if is(arg, "ON") || is(arg, "OFF") {
        Some(is(arg, "ON"))
    } else {
        ctx.reply.error(SYNTAX_ERROR);
        None
    }
}

/// NO-EVICT: cachet never evicts clients (it has no `maxmemory-clients`); the flag is shown.
fn no_evict(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(on) = on_off(ctx, args[2]) {
        ctx.session.no_evict = on;
        ctx.reply.ok();
    }
}

/// NO-TOUCH: the client's reads leave the keys' LRU/LFU data alone (TOUCH still updates it).
fn no_touch(ctx: &mut Ctx, args: &[&[u8]]) {
    if let Some(on) = on_off(ctx, args[2]) {
        ctx.session.no_touch = on;
        ctx.reply.ok();
    }
}

/// CLIENT PAUSE timeout-ms [WRITE|ALL]: see [`crate::pause`].
fn pause(ctx: &mut Ctx, args: &[&[u8]]) {
    let all = match args.get(3) {
        _ if args.len() > 4 => {
            ctx.reply.error("ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.");
            return;
        }
        None => true,
        Some(mode) if is(mode, "ALL") => true,
        Some(mode) if is(mode, "WRITE") => false,
        Some(_) => {
            ctx.reply.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    };
    let Some(timeout_ms) = parse_i64(args[2]) else {
        ctx.reply.error("ERR timeout is not an integer or out of range");
        return;
    };
    if timeout_ms < 0 {
        ctx.reply.error("ERR timeout is negative");
        return;
    }
    let until = ctx.now.mono_ns.saturating_add((timeout_ms as u64).saturating_mul(1_000_000));
    ctx.pause.start(until, all);
    ctx.reply.ok();
}

fn unpause(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.pause.end();
    ctx.reply.ok();
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking command as if its time were
/// up, or with an error. 1 when the client was blocked, 0 otherwise.
fn unblock(ctx: &mut Ctx, args: &[&[u8]]) {
    let Some(id) = parse_i64(args[2]) else {
        ctx.reply.error(super::NOT_AN_INTEGER);
        return;
    };
    let error = match &args[3..] {
        [] => false,
        [reason] if is(reason, "TIMEOUT") || is(reason, "ERROR") => is(reason, "ERROR"),
        [_] => {
            ctx.reply.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
        _ => {
            ctx.reply.error(SYNTAX_ERROR);
            return;
        }
    };
    let blocked = u64::try_from(id).ok().and_then(|id| ctx.tracking.connection_of(id)).filter(|c| ctx.blocking.is_blocked(*c));
    if let Some(connection) = blocked {
        ctx.blocking.request_unblock(connection, error);
    }
    ctx.reply.integer(i64::from(blocked.is_some()));
}

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "    * MAXAGE <maxage>",
    "      Kill connections older than the specified age.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]",
    "      Return clients with the given IDs.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::{Harness, bulk};

    #[test]
    fn names() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["CLIENT", "GETNAME"]), "$-1\r\n");
        assert_eq!(c.run(&["CLIENT", "SETNAME", "worker"]), "+OK\r\n");
        assert_eq!(c.run(&["CLIENT", "GETNAME"]), bulk("worker"));
        assert_eq!(c.run(&["CLIENT", "SETNAME", "a b"]), "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
        assert_eq!(c.run(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
        assert_eq!(c.run(&["CLIENT", "GETNAME"]), "$-1\r\n");
        assert_eq!(c.run(&["CLIENT", "ID"]), ":1\r\n");
        assert_eq!(c.run(&["client", "setname"]), "-ERR wrong number of arguments for 'client|setname' command\r\n");
        assert_eq!(c.run(&["CLIENT", "BOGUS"]), "-ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.\r\n");
        assert_eq!(c.run(&["CLIENT"]), "-ERR wrong number of arguments for 'client' command\r\n");
    }

    #[test]
    fn list_and_info() {
        let mut c = Harness::new();
        let other = c.another(7);
        c.run_on(other, &[b"CLIENT", b"SETNAME", b"second"]);
        c.run(&["CLIENT", "SETINFO", "LIB-NAME", "redis-rs"]);
        c.run(&["CLIENT", "SETINFO", "lib-ver", "1.0"]);
        let list = c.run(&["CLIENT", "LIST"]);
        let lines: Vec<&str> = list.lines().skip(1).filter(|l| l.starts_with("id=")).collect();
        assert_eq!(lines.len(), 2, "{list}");
        assert!(lines[0].starts_with("id=1 addr=127.0.0.1:40000 laddr=127.0.0.1:6379 fd=-1 name= age=0 idle=0 flags=N db=0 "), "{}", lines[0]);
        assert!(lines[0].ends_with("cmd=client|list user=default redir=-1 resp=2 lib-name=redis-rs lib-ver=1.0"), "{}", lines[0]);
        assert!(lines[1].contains("name=second") && lines[1].contains("cmd=client|setname"), "{}", lines[1]);
        let only = c.run(&["CLIENT", "LIST", "ID", "2"]);
        assert!(only.contains("id=2 ") && !only.contains("id=1 "), "{only}");
        assert_eq!(c.run(&["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
        assert_eq!(c.run(&["CLIENT", "LIST", "TYPE", "x"]), "-ERR Unknown client type 'x'\r\n");
        assert_eq!(c.run(&["CLIENT", "LIST", "ID", "x"]), "-ERR Invalid client ID\r\n");
        let info = c.run(&["CLIENT", "INFO"]);
        assert!(info.contains("id=1 ") && info.contains("cmd=client|info") && info.ends_with("\n\r\n"), "{info}");
        assert_eq!(c.run(&["CLIENT", "SETINFO", "LIB-NAME", "a b"]), "-ERR lib-name cannot contain spaces, newlines or special characters.\r\n");
        assert_eq!(c.run(&["CLIENT", "SETINFO", "COLOR", "red"]), "-ERR Unrecognized option 'COLOR'\r\n");
        assert_eq!(c.run(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
        assert_eq!(c.run(&["CLIENT", "NO-TOUCH", "maybe"]), "-ERR syntax error\r\n");
        assert!(c.run(&["CLIENT", "HELP"]).starts_with("*60\r\n+CLIENT <subcommand>"));
    }

    #[test]
    fn kill_closes_another_connection_in_the_same_call() {
        use crate::engine::Input;
        let mut c = Harness::new();
        let (victim, bystander) = (c.another(7), c.another(8));
        let kill = b"*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$2\r\nID\r\n$1\r\n2\r\n";
        let inputs = [Input { id: 1, data: kill }, Input { id: victim, data: b"PING\r\n" }, Input { id: bystander, data: b"PING\r\n" }];
        let outputs = c.engine.feed(c.now, &inputs);
        let summary: Vec<(u64, String, bool)> =
            outputs.iter().map(|o| (o.id, String::from_utf8_lossy(&o.data).into_owned(), o.close)).collect();
        assert_eq!(
            summary,
            [(1, ":1\r\n".into(), false), (victim, String::new(), true), (bystander, "+PONG\r\n".into(), false)],
            "the victim is closed before its own input runs, and that input is dropped"
        );
        assert_eq!(outputs[1].progress.map(|p| p.consumed), Some(6));
        assert_eq!(c.connected_clients(), 2);
    }

    #[test]
    fn kill_filters_and_errors() {
        let mut c = Harness::new();
        c.another(7);
        assert_eq!(c.run(&["CLIENT", "KILL", "127.0.0.1:1"]), "-ERR No such client\r\n");
        assert_eq!(c.run(&["CLIENT", "KILL", "ID", "0"]), "-ERR client-id should be greater than 0\r\n");
        assert_eq!(c.run(&["CLIENT", "KILL", "TYPE", "x"]), "-ERR Unknown client type 'x'\r\n");
        assert_eq!(c.run(&["CLIENT", "KILL", "USER", "alice"]), "-ERR No such user 'alice'\r\n");
        assert_eq!(c.run(&["CLIENT", "KILL", "ID", "2", "SKIPME"]), "-ERR syntax error\r\n");
        assert_eq!(c.run(&["CLIENT", "KILL", "MAXAGE", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":0\r\n");
        assert_eq!(c.run(&["CLIENT", "KILL", "TYPE", "normal"]), ":1\r\n", "everyone but the caller");
        assert_eq!(c.connected_clients(), 1);
        let out = c.engine.feed_one(c.now, 1, b"CLIENT KILL 127.0.0.1:40000\r\nPING\r\n");
        assert_eq!((out.data.as_slice(), out.close), (&b"+OK\r\n"[..], true), "a client killing itself hears +OK first");
    }

    #[test]
    fn reply_off_on_and_skip() {
        let mut c = Harness::new();
        let out = c.engine.feed_one(c.now, 1, b"CLIENT REPLY SKIP\r\nPING\r\nPING x\r\nCLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\nCLIENT REPLY FOO\r\n");
        assert_eq!(String::from_utf8_lossy(&out.data), "$1\r\nx\r\n+OK\r\n+PONG\r\n-ERR syntax error\r\n");
    }

    /// What `connection` got from one engine call: its bytes, whether it is to be fed again, and
    /// how much of its input was consumed (when it was fed).
    fn outcome_for(outputs: &[crate::outbox::Output], connection: u64) -> (String, bool, Option<usize>) {
        outputs.iter().find(|o| o.id == connection).map_or((String::new(), false, None), |o| {
            (String::from_utf8_lossy(&o.data).into_owned(), o.resume, o.progress.map(|p| p.consumed))
        })
    }

    #[test]
    fn pause_all_holds_every_command_until_its_time_is_up() {
        use crate::engine::Input;
        let mut c = Harness::new();
        let other = c.another(7);
        assert_eq!(c.run(&["CLIENT", "PAUSE", "1000", "ALL"]), "+OK\r\n");
        let ping = b"PING\r\n";
        let outputs = c.engine.feed(c.now, &[Input { id: other, data: ping }]);
        assert_eq!(outcome_for(&outputs, other), (String::new(), false, Some(0)), "held, not consumed");
        assert_eq!(c.engine.next_deadline(), Some(c.now.mono_ns + 1_000_000_000));
        let held = c.engine.feed(c.now, &[Input { id: 1, data: b"CLIENT LIST\r\n" }]);
        assert_eq!(outcome_for(&held, 1).2, Some(0), "the pausing client waits too");
        c.advance_ms(1000);
        let outputs = c.engine.tick(c.now);
        assert!(outcome_for(&outputs, other).1 && outcome_for(&outputs, 1).1, "both fed again");
        let outputs = c.engine.feed(c.now, &[Input { id: other, data: ping }]);
        assert_eq!(outcome_for(&outputs, other), ("+PONG\r\n".into(), false, Some(ping.len())));
        assert_eq!(c.engine.next_deadline(), None);
    }

    #[test]
    fn pause_write_holds_writes_until_unpause() {
        use crate::engine::Input;
        let mut c = Harness::new();
        let other = c.another(7);
        c.run(&["CLIENT", "PAUSE", "100000", "WRITE"]);
        let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let input = [&b"GET k\r\nMULTI\r\nGET k\r\nEXEC\r\n"[..], set].concat();
        let outputs = c.engine.feed(c.now, &[Input { id: other, data: &input }]);
        let (reply, _, consumed) = outcome_for(&outputs, other);
        assert_eq!(reply, "$-1\r\n+OK\r\n+QUEUED\r\n*1\r\n$-1\r\n", "reads and a read-only transaction run");
        assert_eq!(consumed, Some(input.len() - set.len()));
        assert!(c.run(&["CLIENT", "LIST"]).contains(" flags=b "));
        let outputs = c.run_seen_by_all(1, &["CLIENT", "UNPAUSE"]);
        assert!(outputs.iter().any(|(id, _)| *id == other), "{outputs:?}");
        let outputs = c.engine.feed(c.now, &[Input { id: other, data: set }]);
        assert_eq!(outcome_for(&outputs, other).0, "+OK\r\n");
    }

    #[test]
    fn pause_and_unblock_errors() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["CLIENT", "PAUSE", "-1"]), "-ERR timeout is negative\r\n");
        assert_eq!(c.run(&["CLIENT", "PAUSE", "abc"]), "-ERR timeout is not an integer or out of range\r\n");
        assert_eq!(c.run(&["CLIENT", "PAUSE", "10", "MAYBE"]), "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n");
        assert_eq!(c.run(&["CLIENT", "PAUSE", "10", "WRITE", "x"]), "-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n");
        assert_eq!(c.run(&["CLIENT", "UNPAUSE", "x"]), "-ERR wrong number of arguments for 'client|unpause' command\r\n");
        assert_eq!(c.run(&["CLIENT", "UNBLOCK", "1"]), ":0\r\n");
        assert_eq!(c.run(&["CLIENT", "UNBLOCK", "x"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(c.run(&["CLIENT", "UNBLOCK", "1", "MAYBE"]), "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
        assert_eq!(c.run(&["CLIENT", "UNBLOCK", "1", "ERROR"]), ":0\r\n");
    }

    #[test]
    fn no_touch_reads_leave_idle_time_alone_and_touch_still_counts() {
        let mut c = Harness::new();
        c.run(&["SET", "k", "v"]);
        c.advance_ms(20_000);
        assert_eq!(c.run(&["CLIENT", "NO-TOUCH", "ON"]), "+OK\r\n");
        assert_eq!(c.run(&["CLIENT", "NO-EVICT", "ON"]), "+OK\r\n");
        assert!(c.run(&["CLIENT", "INFO"]).contains(" flags=eT "));
        c.run(&["GET", "k"]);
        assert_eq!(c.run(&["OBJECT", "IDLETIME", "k"]), ":20\r\n");
        c.run(&["TOUCH", "k"]);
        assert_eq!(c.run(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");
        c.advance_ms(5_000);
        c.run(&["CLIENT", "NO-TOUCH", "OFF"]);
        c.run(&["GET", "k"]);
        assert_eq!(c.run(&["OBJECT", "IDLETIME", "k"]), ":0\r\n");
    }
}
