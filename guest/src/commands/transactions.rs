//! MULTI, EXEC, DISCARD, WATCH and UNWATCH: a client queues commands and EXEC runs them one after
//! another with nothing in between, or runs none of them when a key the client WATCHes changed
//! since (optimistic locking). Queuing itself happens in `dispatch`, which sees every command.

use super::{Command, Ctx, Flag, dispatch};
use crate::session::Transaction;

const CONTROL: &[Flag] = &[Flag::NoScript, Flag::Loading, Flag::Stale, Flag::Fast, Flag::AllowBusy];

pub const COMMANDS: &[Command] = &[
    Command::new("multi", 1, multi).flags(CONTROL).group("transactions")
        .doc("Mark the start of a transaction block", "1.2.0", "O(1)", ""),
    Command::new("exec", 1, exec).flags(&[Flag::NoScript, Flag::Loading, Flag::Stale, Flag::SkipSlowlog]).group("transactions")
        .doc("Execute all commands issued after MULTI", "1.2.0", "Depends on commands in the transaction", ""),
    Command::new("discard", 1, discard).flags(CONTROL).group("transactions")
        .doc("Discard all commands issued after MULTI", "2.0.0", "O(N), when N is the number of queued commands", ""),
    Command::new("watch", -2, watch).flags(CONTROL).keys(1, -1, 1).group("transactions")
        .doc("Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0", "O(1) for every key.", "key [key ...]"),
    Command::new("unwatch", 1, unwatch).flags(CONTROL).group("transactions")
        .doc("Forget about all watched keys", "2.2.0", "O(1)", ""),
];

/// Whether a command runs at once inside MULTI instead of being queued.
pub fn runs_inside_multi(command: &Command) -> bool {
    matches!(command.name, "multi" | "exec" | "discard" | "watch" | "quit" | "reset")
}

fn multi(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.session.transaction.is_some() {
        ctx.reply.error("ERR MULTI calls can not be nested");
        return;
    }
    ctx.session.transaction = Some(Transaction::default());
    ctx.reply.ok();
}

fn exec(ctx: &mut Ctx, _args: &[&[u8]]) {
    let Some(transaction) = ctx.session.transaction.take() else {
        ctx.reply.error("ERR EXEC without MULTI");
        return;
    };
    let connection = ctx.session.connection;
    let changed = ctx.watches.is_dirty(connection) || watched_key_vanished(ctx);
    ctx.watches.unwatch(connection);
    if transaction.failed {
        ctx.reply.error("EXECABORT Transaction discarded because of previous errors.");
    } else if changed {
        ctx.reply.null_array();
    } else {
        ctx.reply.array(transaction.queued.len());
        ctx.session.in_exec = true;
        for command in &transaction.queued {
            let args: Vec<&[u8]> = command.iter().map(Vec::as_slice).collect();
            dispatch(ctx, &args);
        }
        ctx.session.in_exec = false;
    }
}

/// A key that existed when WATCH ran and is gone now — expired, though nobody removed it yet —
/// fails the transaction as a change would.
fn watched_key_vanished(ctx: &mut Ctx) -> bool {
    let now = ctx.now_ms();
    let watched = ctx.watches.watched(ctx.session.connection).to_vec();
    watched.iter().any(|w| w.existed && !ctx.keyspace.contains(w.db, &w.key, now))
}

fn discard(ctx: &mut Ctx, _args: &[&[u8]]) {
    if ctx.session.transaction.take().is_none() {
        ctx.reply.error("ERR DISCARD without MULTI");
        return;
    }
    ctx.watches.unwatch(ctx.session.connection);
    ctx.reply.ok();
}

fn watch(ctx: &mut Ctx, args: &[&[u8]]) {
    if ctx.session.transaction.is_some() {
        ctx.reply.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let (db, now, connection) = (ctx.db(), ctx.now_ms(), ctx.session.connection);
    for key in &args[1..] {
        let existed = ctx.keyspace.contains(db, key, now);
        ctx.watches.watch(connection, db, key, existed);
    }
    ctx.reply.ok();
}

fn unwatch(ctx: &mut Ctx, _args: &[&[u8]]) {
    ctx.watches.unwatch(ctx.session.connection);
    ctx.reply.ok();
}

#[cfg(test)]
mod tests {
    use crate::engine::test_harness::Harness;

    #[test]
    fn queued_commands_run_together_at_exec() {
        let mut c = Harness::new();
        assert_eq!(c.run(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.run(&["SET", "a", "1"]), "+QUEUED\r\n");
        assert_eq!(c.run(&["INCR", "a"]), "+QUEUED\r\n");
        let other = c.another(2);
        let list = c.run_on(other, &[b"CLIENT", b"LIST", b"ID", b"1"]);
        assert!(list.contains(" flags=x db=0 sub=0 psub=0 ssub=0 multi=2 "), "CLIENT LIST shows the transaction: {list}");
        assert_eq!(c.run(&["DISCARD"]), "+OK\r\n");
        c.run(&["MULTI"]);
        c.run(&["SET", "a", "1"]);
        c.run(&["INCR", "a"]);
        assert_eq!(c.run(&["HELLO", "9"]), "+QUEUED\r\n", "errors at run time are the command's reply");
        assert_eq!(c.run(&["EXEC"]), "*3\r\n+OK\r\n:2\r\n-NOPROTO unsupported protocol version\r\n");
        assert_eq!(c.run(&["GET", "a"]), "$1\r\n2\r\n");
    }

    #[test]
    fn errors_while_queuing_abort_the_transaction() {
        let mut c = Harness::new();
        c.run(&["MULTI"]);
        assert_eq!(c.run(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
        assert_eq!(c.run(&["WATCH", "x"]), "-ERR WATCH inside MULTI is not allowed\r\n");
        assert_eq!(c.run(&["SET", "a", "1"]), "+QUEUED\r\n");
        assert!(c.run(&["NOPE"]).starts_with("-ERR unknown command 'NOPE'"));
        assert_eq!(c.run(&["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
        assert_eq!(c.run(&["EXEC"]), "-EXECABORT Transaction discarded because of previous errors.\r\n");
        assert_eq!(c.run(&["GET", "a"]), "$-1\r\n", "nothing ran");
        assert_eq!(c.run(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
        assert_eq!(c.run(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
        c.run(&["MULTI"]);
        c.run(&["SET", "a", "1"]);
        assert_eq!(c.run(&["DISCARD"]), "+OK\r\n");
        assert_eq!(c.run(&["GET", "a"]), "$-1\r\n");
    }

    #[test]
    fn a_watched_key_changed_by_anyone_fails_exec() {
        let mut c = Harness::new();
        let other = c.another(2);
        c.run(&["SET", "k", "v"]);
        c.run(&["WATCH", "k"]);
        c.run_on(other, &[b"SET", b"k", b"changed"]);
        c.run(&["MULTI"]);
        c.run(&["SET", "k", "mine"]);
        assert_eq!(c.run(&["EXEC"]), "*-1\r\n");
        assert_eq!(c.run(&["GET", "k"]), "$7\r\nchanged\r\n");
        // The watch ended with EXEC: the next transaction runs.
        c.run(&["MULTI"]);
        c.run(&["SET", "k", "mine"]);
        assert_eq!(c.run(&["EXEC"]), "*1\r\n+OK\r\n");
        // A write that changes nothing (NX on an existing key) does not count, as in Redis.
        c.run(&["WATCH", "k"]);
        c.run_on(other, &[b"SET", b"k", b"x", b"NX"]);
        c.run(&["MULTI"]);
        c.run(&["GET", "k"]);
        assert_eq!(c.run(&["EXEC"]), "*1\r\n$4\r\nmine\r\n");
    }

    #[test]
    fn expiry_flush_and_unwatch() {
        let mut c = Harness::new();
        c.run(&["SET", "k", "v", "PX", "100"]);
        c.run(&["WATCH", "k"]);
        c.advance_ms(200);
        c.run(&["MULTI"]);
        c.run(&["PING"]);
        assert_eq!(c.run(&["EXEC"]), "*-1\r\n", "a watched key that expired fails EXEC");

        c.run(&["SET", "k", "v"]);
        c.run(&["WATCH", "k"]);
        c.run(&["FLUSHALL"]);
        c.run(&["MULTI"]);
        assert_eq!(c.run(&["EXEC"]), "*-1\r\n", "FLUSHALL touches watched keys");

        c.run(&["SET", "k", "v"]);
        c.run(&["WATCH", "k"]);
        c.run(&["UNWATCH"]);
        c.run(&["SET", "k", "w"]);
        c.run(&["MULTI"]);
        assert_eq!(c.run(&["EXEC"]), "*0\r\n");

        c.run(&["HELLO", "3"]);
        c.run(&["WATCH", "k"]);
        c.run(&["DEL", "k"]);
        c.run(&["MULTI"]);
        assert_eq!(c.run(&["EXEC"]), "_\r\n", "RESP3's null");
    }
}
