//! A script that runs longer than a slice (see `scripting::slices`) stays atomic across engine
//! calls: while it is suspended, other clients' commands wait — held, as CLIENT PAUSE holds them —
//! and once it has run for `busy-reply-threshold` they are answered `-BUSY`, except the few Redis
//! lets through (SCRIPT KILL, AUTH, HELLO...). The engine's deadline is "now" meanwhile, so the
//! host's timer resumes the script at once; background work (expiry, eviction, timeouts) waits for
//! its end, as it does in Redis while a script runs. Functions (FCALL) run the same way.

use super::Engine;
use crate::commands::is;
use crate::outbox::Outbox;
use crate::session::Session;
use crate::time::Now;

/// What becomes of a command that arrives while a script is suspended.
pub(super) enum Gate {
    Run,
    /// Left unconsumed until the script ends.
    Hold,
    /// Answered with this error.
    Refuse(&'static str),
}

#[cfg(feature = "lua")]
impl Engine {
    pub(super) fn script_is_suspended(&self) -> bool {
        self.scripts.running.is_some()
    }

    /// Whether `args` from `session` run, wait or get `-BUSY` while a script is suspended.
    pub(super) fn script_gate(&mut self, session: &Session, args: &[&[u8]], now: Now) -> Gate {
        let Some(running) = self.scripts.running.as_mut() else { return Gate::Run };
        if !running.is_busy(now, self.config.busy_reply_threshold) {
            running.hold(session.connection);
            return Gate::Hold;
        }
        let subcommand = |container: &str, names: &[&str]| args.len() == 2 && is(args[0], container) && names.iter().any(|name| is(args[1], name));
        let allowed = match args.first().and_then(|name| crate::commands::lookup(name)) {
            Some(command) if command.name == "shutdown" => crate::commands::scripting::ends_busy_script(args),
            Some(command) => command.has_flag(crate::commands::Flag::AllowBusy) || subcommand("script", &["kill"]) || subcommand("function", &["kill", "stats"]),
            None => false,
        };
        if allowed { Gate::Run } else { Gate::Refuse(crate::commands::scripting::busy_reply(running.mode.interpreter)) }
    }

    /// Runs the suspended script's next slice (or ends it, killed), on its owner's session. When
    /// it ends, its client gets the reply and every held client is fed again — or earlier, to be
    /// answered `-BUSY`, once the script has run past `busy-reply-threshold`.
    pub(super) fn resume_script(&mut self, outbox: &mut Outbox, now: Now) {
        let Some(running) = self.scripts.running.as_mut() else { return };
        if running.is_busy(now, self.config.busy_reply_threshold) {
            // What waited is answered now, as Redis answers it once the script is busy.
            for connection in running.held.drain(..) {
                outbox.to(connection).resume = true;
            }
        }
        let (owner, started) = (running.owner, running.started);
        let orphan = running.orphan.take();
        let orphaned = orphan.is_some();
        let Some(mut session) = orphan.or_else(|| self.sessions.remove(&owner)) else {
            self.scripts.running = None;
            return;
        };
        let mut reply = if orphaned { Vec::new() } else { std::mem::take(&mut outbox.to(owner).data) };
        let ran = super::Ran { reply_start: reply.len(), closes_before: outbox.closes(), args: None, command: None };
        let ended = self.in_context(&mut session, &mut reply, outbox, started, crate::commands::scripting::resume);
        self.after_command(&mut session, &mut reply, ran, outbox, started);
        match ended {
            Some(running) => {
                for connection in running.held {
                    outbox.to(connection).resume = true;
                }
                if !orphaned {
                    outbox.to(owner).resume = true;
                }
            }
            None if orphaned => {
                if let Some(running) = self.scripts.running.as_mut() {
                    running.orphan = Some(session);
                }
                return;
            }
            None => {}
        }
        if !orphaned {
            self.put_back(session, reply, outbox);
        }
    }

    /// A closed connection no longer waits for the script; the script of one that closed runs on
    /// with its session, unanswered.
    pub(super) fn script_forgets(&mut self, session: Option<Box<Session>>, connection: u64) -> Option<Box<Session>> {
        let Some(running) = self.scripts.running.as_mut() else { return session };
        running.held.retain(|held| *held != connection);
        if running.owner == connection
            && let Some(session) = session
        {
            running.orphan = Some(session);
            return None;
        }
        session
    }

    /// SCRIPT KILL was accepted by the command just run: the script ends now.
    pub(super) fn script_was_killed(&self) -> bool {
        self.scripts.running.as_ref().is_some_and(|running| running.killed)
    }
}

#[cfg(not(feature = "lua"))]
impl Engine {
    pub(super) fn script_is_suspended(&self) -> bool {
        false
    }

    pub(super) fn script_gate(&mut self, _: &Session, _: &[&[u8]], _: Now) -> Gate {
        Gate::Run
    }

    pub(super) fn resume_script(&mut self, _: &mut Outbox, _: Now) {}

    pub(super) fn script_forgets(&mut self, session: Option<Box<Session>>, _: u64) -> Option<Box<Session>> {
        session
    }

    pub(super) fn script_was_killed(&self) -> bool {
        false
    }
}
