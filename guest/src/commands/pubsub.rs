//! Pub/Sub: SUBSCRIBE and friends, PUBLISH, SPUBLISH and PUBSUB. A message goes to every
//! subscriber's connection through the outbox, in the subscriber's protocol: a RESP3 push (`>`), or
//! the array a RESP2 client in subscribed mode expects.

use super::{Command, Ctx, Flag, write_help};
use crate::notify::Event;
use crate::pubsub::{Kind, PubSub};
use crate::resp::Reply;

const SUBSCRIBING: &[Flag] = &[Flag::PubSub, Flag::NoScript, Flag::Loading, Flag::Stale];
const INSPECTING: &[Flag] = &[Flag::PubSub, Flag::Loading, Flag::Stale];

pub const COMMANDS: &[Command] = &[
    Command::new("subscribe", -2, subscribe).flags(SUBSCRIBING).group("pubsub")
        .doc("Listen for messages published to the given channels", "2.0.0", "O(N) where N is the number of channels to subscribe to.", "channel [channel ...]"),
    Command::new("unsubscribe", -1, unsubscribe).flags(SUBSCRIBING).group("pubsub")
        .doc("Stop listening for messages posted to the given channels", "2.0.0", "O(N) where N is the number of clients already subscribed to a channel.", "[channel [channel ...]]"),
    Command::new("psubscribe", -2, psubscribe).flags(SUBSCRIBING).group("pubsub")
        .doc("Listen for messages published to channels matching the given patterns", "2.0.0", "O(N) where N is the number of patterns the client is already subscribed to.", "pattern [pattern ...]"),
    Command::new("punsubscribe", -1, punsubscribe).flags(SUBSCRIBING).group("pubsub")
        .doc("Stop listening for messages posted to channels matching the given patterns", "2.0.0", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", "[pattern [pattern ...]]"),
    Command::new("ssubscribe", -2, ssubscribe).flags(SUBSCRIBING).keys(1, -1, 1).group("pubsub")
        .doc("Listen for messages published to the given shard channels", "7.0.0", "O(N) where N is the number of shard channels to subscribe to.", "shardchannel [shardchannel ...]"),
    Command::new("sunsubscribe", -1, sunsubscribe).flags(SUBSCRIBING).keys(1, -1, 1).group("pubsub")
        .doc("Stop listening for messages posted to the given shard channels", "7.0.0", "O(N) where N is the number of clients already subscribed to a shard channel.", "[shardchannel [shardchannel ...]]"),
    Command::new("publish", 3, publish).flags(&[Flag::PubSub, Flag::Loading, Flag::Stale, Flag::Fast]).group("pubsub")
        .doc("Post a message to a channel", "2.0.0", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", "channel message"),
    Command::new("spublish", 3, spublish).flags(&[Flag::PubSub, Flag::Loading, Flag::Stale, Flag::Fast]).keys(1, 1, 1).group("pubsub")
        .doc("Post a message to a shard channel", "7.0.0", "O(N) where N is the number of clients subscribed to the receiving shard channel.", "shardchannel message"),
    Command::new("pubsub", -2, super::subcommand_required).group("pubsub")
        .doc("A container for Pub/Sub commands", "2.8.0", "Depends on subcommand.", "")
        .subcommands(&[
            Command::new("pubsub|channels", -2, channels).flags(INSPECTING).group("pubsub")
                .doc("List active channels", "2.8.0", "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)", "[pattern]"),
            Command::new("pubsub|numsub", -2, numsub).flags(INSPECTING).group("pubsub")
                .doc("Get the count of subscribers for channels", "2.8.0", "O(N) for the NUMSUB subcommand, where N is the number of requested channels", "[channel [channel ...]]"),
            Command::new("pubsub|numpat", 2, numpat).flags(INSPECTING).group("pubsub")
                .doc("Get the count of unique patterns pattern subscriptions", "2.8.0", "O(1)", ""),
            Command::new("pubsub|shardchannels", -2, shardchannels).flags(INSPECTING).group("pubsub")
                .doc("List active shard channels", "7.0.0", "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).", "[pattern]"),
            Command::new("pubsub|shardnumsub", -2, shardnumsub).flags(INSPECTING).group("pubsub")
                .doc("Get the count of subscribers for shard channels", "7.0.0", "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", "[shardchannel [shardchannel ...]]"),
            Command::new("pubsub|help", 2, help).flags(&[Flag::Loading, Flag::Stale]).group("pubsub")
                .doc("Show helpful text about the different subcommands", "6.2.0", "O(1)", ""),
        ]),
];

/// The commands a RESP2 client may run while it has subscriptions.
pub fn allowed_when_subscribed(command: &Command) -> bool {
    matches!(
        command.name,
        "subscribe" | "unsubscribe" | "psubscribe" | "punsubscribe" | "ssubscribe" | "sunsubscribe" | "ping" | "quit" | "reset"
    )
}

/// The error for any other command then.
pub fn not_allowed_when_subscribed(name: &str) -> String {
    format!("Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
}

/// The reply words of each kind.
fn words(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Channel => ("subscribe", "unsubscribe", "message"),
        Kind::Pattern => ("psubscribe", "punsubscribe", "pmessage"),
        Kind::Shard => ("ssubscribe", "sunsubscribe", "smessage"),
    }
}

/// The count a (un)subscribe reply carries: shard subscriptions are counted on their own.
fn count(ctx: &mut Ctx, kind: Kind) -> i64 {
    let subscriptions = &mut ctx.session.subscriptions;
    (if kind == Kind::Shard { subscriptions.shard.len() } else { subscriptions.count() }) as i64
}

fn confirm(ctx: &mut Ctx, word: &str, name: Option<&[u8]>, kind: Kind) {
    let count = count(ctx, kind);
    ctx.reply.push(3);
    ctx.reply.bulk(word.as_bytes());
    match name {
        Some(name) => ctx.reply.bulk(name),
        None => ctx.reply.null(),
    }
    ctx.reply.integer(count);
}

fn subscribe_to(ctx: &mut Ctx, kind: Kind, names: &[&[u8]]) {
    let connection = ctx.session.connection;
    for name in names {
        let subscribed = ctx.session.subscriptions.of(kind);
        if !subscribed.iter().any(|s| s == name) {
            subscribed.push(name.to_vec());
            ctx.pubsub.subscribe(kind, connection, name);
        }
        confirm(ctx, words(kind).0, Some(name), kind);
    }
}

fn unsubscribe_from(ctx: &mut Ctx, kind: Kind, names: &[&[u8]]) {
    let connection = ctx.session.connection;
    let names: Vec<Vec<u8>> = if names.is_empty() {
        ctx.session.subscriptions.of(kind).clone()
    } else {
        names.iter().map(|n| n.to_vec()).collect()
    };
    if names.is_empty() {
        confirm(ctx, words(kind).1, None, kind);
    }
    for name in &names {
        ctx.session.subscriptions.of(kind).retain(|s| s != name);
        ctx.pubsub.unsubscribe(kind, connection, name);
        confirm(ctx, words(kind).1, Some(name), kind);
    }
}

/// Drops every subscription of the connection (RESET, and a connection that goes away).
pub fn unsubscribe_all(pubsub: &mut crate::pubsub::PubSub, session: &mut crate::session::Session) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in std::mem::take(session.subscriptions.of(kind)) {
            pubsub.unsubscribe(kind, session.connection, &name);
        }
    }
}

fn subscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    subscribe_to(ctx, Kind::Channel, &args[1..]);
}

fn unsubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    unsubscribe_from(ctx, Kind::Channel, &args[1..]);
}

fn psubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    subscribe_to(ctx, Kind::Pattern, &args[1..]);
}

fn punsubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    unsubscribe_from(ctx, Kind::Pattern, &args[1..]);
}

fn ssubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    subscribe_to(ctx, Kind::Shard, &args[1..]);
}

fn sunsubscribe(ctx: &mut Ctx, args: &[&[u8]]) {
    unsubscribe_from(ctx, Kind::Shard, &args[1..]);
}

/// Whether a connection speaks RESP3, and how bytes are written to it: what delivering a message
/// needs, inside a command (through its context) or outside one (a timer tick's notifications).
pub(crate) type Resp3Of<'a> = &'a dyn Fn(u64) -> bool;
pub(crate) type PushTo<'a> = &'a mut dyn FnMut(u64, &[u8]);

fn publish(ctx: &mut Ctx, args: &[&[u8]]) {
    let receivers = with_receivers(ctx, |pubsub, resp3_of, push| publish_to(pubsub, args[1], args[2], resp3_of, push));
    ctx.reply.integer(receivers as i64);
}

fn spublish(ctx: &mut Ctx, args: &[&[u8]]) {
    let receivers = with_receivers(ctx, |pubsub, resp3_of, push| {
        let receivers = pubsub.shard_receivers(args[1]);
        let mut encoded = Message::new(vec![b"smessage", args[1], args[2]]);
        for connection in receivers {
            push(*connection, encoded.encoded(resp3_of(*connection)));
        }
        receivers.len()
    });
    ctx.reply.integer(receivers as i64);
}

/// Runs `deliver` with the subscriptions and the ways of reaching any connection from a command:
/// its own connection through its reply, the others through the outbox.
fn with_receivers(ctx: &mut Ctx, deliver: impl FnOnce(&PubSub, Resp3Of, PushTo) -> usize) -> usize {
    let (me, my_resp3) = (ctx.session.connection, ctx.session.resp3());
    let Ctx { pubsub, others, reply, outbox, .. } = ctx;
    let resp3_of = |c: u64| if c == me { my_resp3 } else { others.get(&c).is_some_and(|s| s.resp3()) };
    let mut push = |c: u64, bytes: &[u8]| if c == me { reply.raw(bytes) } else { outbox.push(c, bytes) };
    deliver(pubsub, &resp3_of, &mut push)
}

/// Publishes `message` on `channel` to its subscribers and every matching pattern's; returns how
/// many received it.
pub(crate) fn publish_to(pubsub: &PubSub, channel: &[u8], message: &[u8], resp3_of: Resp3Of, push: PushTo) -> usize {
    let receivers = pubsub.receivers(channel);
    // Receivers come grouped: the channel's subscribers, then each matching pattern's, so one
    // encoding per group and protocol serves them all.
    let mut encoded: Option<(Option<&[u8]>, Message)> = None;
    for (connection, pattern) in &receivers {
        if encoded.as_ref().is_none_or(|(current, _)| current != pattern) {
            let mut fields: Vec<&[u8]> = vec![if pattern.is_some() { b"pmessage" } else { b"message" }];
            fields.extend(*pattern);
            fields.extend([channel, message]);
            encoded = Some((*pattern, Message::new(fields)));
        }
        if let Some((_, message)) = &mut encoded {
            push(*connection, message.encoded(resp3_of(*connection)));
        }
    }
    receivers.len()
}

/// Publishes keyspace notifications (see [`crate::notify`]) on the channels `flags` asks for.
pub(crate) fn publish_events(pubsub: &PubSub, events: &[Event], flags: u16, resp3_of: Resp3Of, push: PushTo) {
    // Nobody subscribes to anything: no channel name need be built.
    if pubsub.channels() == 0 && pubsub.patterns() == 0 {
        return;
    }
    for event in events {
        for (channel, message) in event.messages(flags) {
            publish_to(pubsub, &channel, message, resp3_of, push);
        }
    }
}

/// A message for subscribers, encoded at most once per protocol however many receive it.
struct Message<'a> {
    fields: Vec<&'a [u8]>,
    /// RESP2's array and RESP3's push, once written.
    encoded: [Option<Vec<u8>>; 2],
}

impl<'a> Message<'a> {
    fn new(fields: Vec<&'a [u8]>) -> Self {
        Message { fields, encoded: [None, None] }
    }

    /// The message in RESP3 or RESP2.
    fn encoded(&mut self, resp3: bool) -> &[u8] {
        let fields = &self.fields;
        self.encoded[usize::from(resp3)].get_or_insert_with(|| {
            let mut bytes = Vec::with_capacity(fields.iter().map(|f| f.len() + 16).sum());
            let mut message = Reply::new(&mut bytes, resp3);
            message.push(fields.len());
            for field in fields {
                message.bulk(field);
            }
            bytes
        })
    }
}

fn channels(ctx: &mut Ctx, args: &[&[u8]]) {
    list_active(ctx, Kind::Channel, args);
}

fn shardchannels(ctx: &mut Ctx, args: &[&[u8]]) {
    list_active(ctx, Kind::Shard, args);
}

/// CHANNELS and SHARDCHANNELS, with at most one pattern.
fn list_active(ctx: &mut Ctx, kind: Kind, args: &[&[u8]]) {
    if args.len() > 3 {
        let sub = String::from_utf8_lossy(args[1]);
        ctx.reply.error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP."));
        return;
    }
    let pattern = args.get(2).copied();
    let names: Vec<Vec<u8>> = ctx.pubsub.active(kind, pattern).into_iter().map(<[u8]>::to_vec).collect();
    ctx.reply.array(names.len());
    for name in &names {
        ctx.reply.bulk(name);
    }
}

fn numsub(ctx: &mut Ctx, args: &[&[u8]]) {
    count_subscribers(ctx, Kind::Channel, &args[2..]);
}

fn shardnumsub(ctx: &mut Ctx, args: &[&[u8]]) {
    count_subscribers(ctx, Kind::Shard, &args[2..]);
}

/// NUMSUB and SHARDNUMSUB: a flat array of names and counts, in RESP3 too, as Redis 7.0 answers.
fn count_subscribers(ctx: &mut Ctx, kind: Kind, names: &[&[u8]]) {
    ctx.reply.array(2 * names.len());
    for name in names {
        let subscribers = ctx.pubsub.subscribers(kind, name);
        ctx.reply.bulk(name);
        ctx.reply.integer(subscribers as i64);
    }
}

fn numpat(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.reply.integer(ctx.pubsub.patterns() as i64);
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

fn help(ctx: &mut Ctx, _args: &[&[u8]]) {
    write_help(ctx, HELP);
}

#[cfg(test)]
mod tests {
    use crate::engine::Input;
    use crate::engine::test_harness::Harness;

    #[test]
    fn a_message_reaches_subscribers_on_other_connections_in_their_protocol() {
        let mut c = Harness::new();
        let resp3 = c.another(2);
        let publisher = c.another(3);
        assert_eq!(c.run(&["SUBSCRIBE", "news"]), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
        c.run_on(resp3, &[b"HELLO", b"3"]);
        assert_eq!(c.run_on(resp3, &[b"PSUBSCRIBE", b"n*"]), ">3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n");
        let outputs = c.engine.feed(c.now, &[Input { id: publisher, data: b"PUBLISH news hello\r\n" }]);
        let by_id = |id: u64| outputs.iter().find(|o| o.id == id).map(|o| String::from_utf8_lossy(&o.data).into_owned());
        assert_eq!(by_id(publisher).as_deref(), Some(":2\r\n"));
        assert_eq!(by_id(1).as_deref(), Some("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"));
        assert_eq!(by_id(resp3).as_deref(), Some(">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n"));
        assert_eq!(c.run_on(publisher, &[b"PUBSUB", b"NUMPAT"]), ":1\r\n");
        let list = c.run_on(publisher, &[b"CLIENT", b"LIST", b"TYPE", b"pubsub"]);
        assert_eq!(list.matches("id=").count(), 2, "{list}");
        assert!(list.contains("id=1 ") && list.contains(" flags=P db=0 sub=1 psub=0 ssub=0 "), "{list}");
        let info = c.run_on(publisher, &[b"INFO", b"stats"]);
        assert!(info.contains("pubsub_channels:1\r\npubsub_patterns:1\r\n"), "{info}");
    }

    #[test]
    fn subscribed_mode_and_unsubscribing() {
        let mut c = Harness::new();
        c.run(&["SUBSCRIBE", "a"]);
        assert_eq!(c.run(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(
            c.run(&["GET", "k"]),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        );
        assert_eq!(c.run(&["UNSUBSCRIBE"]), "*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n");
        assert_eq!(c.run(&["UNSUBSCRIBE"]), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        assert_eq!(c.run(&["GET", "k"]), "$-1\r\n", "out of subscribed mode");
        c.run(&["SUBSCRIBE", "a"]);
        assert_eq!(c.run(&["RESET"]), "+RESET\r\n");
        assert_eq!(c.run(&["PUBLISH", "a", "x"]), ":0\r\n", "RESET unsubscribed");
    }

    #[test]
    fn a_closed_subscriber_receives_nothing_more() {
        let mut c = Harness::new();
        let subscriber = c.another(2);
        c.run_on(subscriber, &[b"SUBSCRIBE", b"a"]);
        c.engine.close(c.now, subscriber);
        assert_eq!(c.run(&["PUBLISH", "a", "x"]), ":0\r\n");
        assert_eq!(c.run(&["PUBSUB", "CHANNELS"]), "*0\r\n");
    }
}
