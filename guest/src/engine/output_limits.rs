//! Output buffer limits (`client-output-buffer-limit`): a client that does not read its output —
//! a subscriber on a busy channel, a MONITOR client, a client that pipelines without reading —
//! must not make the server hold its output without bound.
//!
//! The host writes the engine's output, so only the host knows how much of it a socket has not
//! taken yet; it reports that count (a [`Backlog`]) with a call whenever it changed. What waits for
//! a client is then the host's count plus what the current call has made for it so far, and the
//! engine, which knows every client's class and the limits, decides whom to close: as soon as the
//! hard limit is reached, or once the soft limit has been reached for longer than its seconds —
//! a deadline that [`Engine::next_deadline`] reports, so the host's timer calls `tick` then. A
//! client closed for its limit is closed at once: the host drops what it still holds for it.

use super::Engine;
use crate::outbox::Outbox;
use crate::output_limits::OutputLimits;
use crate::session::Session;
use crate::stats::Stats;
use crate::time::Now;

/// What the host holds unwritten for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub id: u64,
    /// Bytes of the engine's output the host has not yet written to the connection's socket.
    pub unsent: u64,
}

/// What a limit check needs besides the client, borrowed apart from the engine's sessions.
struct Limits<'a> {
    limits: &'a OutputLimits,
    stats: &'a mut Stats,
    soft_limited: &'a mut Vec<u64>,
    now: Now,
}

impl Engine {
    /// Takes the host's counts of unwritten output. A client already over its hard limit, or over
    /// its soft limit for too long, is closed, its closing handed over with this call's output.
    pub fn note_backlogs(&mut self, now: Now, backlogs: &[Backlog]) {
        if backlogs.is_empty() {
            return;
        }
        self.begin(now);
        let mut outbox = std::mem::take(&mut self.outbox);
        for backlog in backlogs {
            if let Some(session) = self.sessions.get_mut(&backlog.id) {
                session.unsent = backlog.unsent;
                self.check_output(&mut outbox, backlog.id, now);
            }
        }
        self.outbox = outbox;
    }

    /// Checks connection `id` (not the one running a command) against its limit: what the host
    /// holds for it and what this call has made for it so far. Closes it when over.
    pub(super) fn check_output(&mut self, outbox: &mut Outbox, id: u64, now: Now) {
        let Some(session) = self.sessions.get_mut(&id) else { return };
        let pending = session.unsent.saturating_add(outbox.pending(id) as u64);
        let mut limits = Limits { limits: &self.config.output_limits, stats: &mut self.stats, soft_limited: &mut self.soft_limited, now };
        if overcomes(&mut limits, session, pending) {
            self.forget(id);
            outbox.discard(id);
        }
    }

    /// Checks the connection running commands, whose replies of this call are `reply`, against
    /// its limit. Returns whether it is to be closed at once.
    pub(super) fn check_own_output(&mut self, session: &mut Session, reply: usize, now: Now) -> bool {
        let pending = session.unsent.saturating_add(reply as u64);
        let mut limits = Limits { limits: &self.config.output_limits, stats: &mut self.stats, soft_limited: &mut self.soft_limited, now };
        overcomes(&mut limits, session, pending)
    }

    /// Checks the connections whose pushed output grew enough during the command just run.
    pub(super) fn check_pushed(&mut self, outbox: &mut Outbox, now: Now) {
        for id in outbox.take_to_check() {
            self.check_output(outbox, id, now);
        }
    }

    /// At the end of a call, checks every connection this call pushed output to without feeding
    /// it (fed connections were checked with their replies).
    pub(super) fn check_call_output(&mut self, outbox: &mut Outbox, now: Now) {
        outbox.take_to_check();
        let pushed: smallvec::SmallVec<[u64; 8]> =
            outbox.outputs().iter().filter(|o| o.progress.is_none() && !o.close && !o.data.is_empty()).map(|o| o.id).collect();
        for id in pushed {
            self.check_output(outbox, id, now);
        }
    }

    /// Closes the clients whose time over the soft limit has run out (a tick).
    pub(super) fn check_soft_limits(&mut self, outbox: &mut Outbox, now: Now) {
        if self.soft_limit_deadline().is_none_or(|at| now.mono_ns < at) {
            return;
        }
        for id in std::mem::take(&mut self.soft_limited) {
            if self.sessions.get(&id).is_some_and(|s| s.soft_limit_since_ns.is_some()) {
                self.soft_limited.push(id);
            }
        }
        for id in self.soft_limited.clone() {
            self.check_output(outbox, id, now);
        }
    }

    /// When the first client over its soft limit will have been so for too long.
    pub(super) fn soft_limit_deadline(&self) -> Option<u64> {
        let limits = &self.config.output_limits;
        self.soft_limited
            .iter()
            .filter_map(|id| self.sessions.get(id))
            .filter_map(|s| {
                let seconds = limits.of(s.output_class()).soft_seconds;
                s.soft_limit_since_ns.map(|since| since.saturating_add(seconds.saturating_mul(1_000_000_000)).saturating_add(1))
            })
            .min()
    }

    /// Stops watching the soft limit of a connection that is gone.
    pub(super) fn forget_soft_limited(&mut self, id: u64) {
        if !self.soft_limited.is_empty() {
            self.soft_limited.retain(|s| *s != id);
        }
    }
}

/// Whether a client with `pending` bytes waiting overcomes its limit; starts or stops the clock of
/// its soft limit. Logs and counts the disconnection Redis's way.
fn overcomes(limits: &mut Limits<'_>, session: &mut Session, pending: u64) -> bool {
    let limit = limits.limits.of(session.output_class());
    let over = if limit.hard_reached(pending) {
        true
    } else if !limit.soft_reached(pending) {
        if session.soft_limit_since_ns.take().is_some() {
            limits.soft_limited.retain(|id| *id != session.connection);
        }
        false
    } else {
        match session.soft_limit_since_ns {
            None => {
                session.soft_limit_since_ns = Some(limits.now.mono_ns);
                limits.soft_limited.push(session.connection);
                false
            }
            Some(since) => limits.now.mono_ns.saturating_sub(since) > limit.soft_seconds.saturating_mul(1_000_000_000),
        }
    };
    if over {
        limits.stats.output_limit_disconnections += 1;
        crate::log::warn(&format!(
            "Client id={} addr={} laddr={} omem={pending} class={} scheduled to be closed ASAP for overcoming of output buffer limits.",
            session.client_id,
            session.peer.address,
            session.peer.local_address,
            session.output_class().name(),
        ));
    }
    over
}

#[cfg(test)]
mod tests {
    use super::Backlog;
    use crate::engine::Input;
    use crate::engine::test_harness::Harness;
    use crate::outbox::Output;

    const SUBSCRIBER: u64 = 2;

    /// An engine with `limits` set, the harness's connection (1) as publisher and connection 2
    /// subscribed to `news`.
    fn with_subscriber(limits: &str) -> Harness {
        let mut c = Harness::new();
        assert_eq!(c.run(&["CONFIG", "SET", "client-output-buffer-limit", limits]), "+OK\r\n");
        c.another(SUBSCRIBER);
        assert!(c.run_on(SUBSCRIBER, &[b"SUBSCRIBE", b"news"]).starts_with("*3\r\n$9\r\nsubscribe"));
        c
    }

    /// Runs RESP input from the publisher and returns every output of the call.
    fn feed(c: &mut Harness, input: &[u8]) -> Vec<Output> {
        c.engine.feed(c.now, &[Input { id: 1, data: input }])
    }

    fn publish(c: &mut Harness, message: &str) -> Vec<Output> {
        feed(c, format!("*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n${}\r\n{message}\r\n", message.len()).as_bytes())
    }

    fn report(c: &mut Harness, unsent: u64) {
        c.engine.note_backlogs(c.now, &[Backlog { id: SUBSCRIBER, unsent }]);
    }

    fn subscriber_output(outputs: &[Output]) -> Option<&Output> {
        outputs.iter().find(|o| o.id == SUBSCRIBER)
    }

    fn disconnections(c: &mut Harness) -> String {
        let info = c.run(&["INFO", "stats"]);
        info.lines().find_map(|l| l.strip_prefix("client_output_buffer_limit_disconnections:")).expect("the field").to_string()
    }

    fn closed_at_once(output: Option<&Output>) -> bool {
        output.is_some_and(|o| o.close && o.discard_unsent && o.data.is_empty())
    }

    #[test]
    fn reaching_the_hard_limit_closes_the_subscriber_at_once() {
        let mut c = with_subscriber("pubsub 1000 0 0");
        report(&mut c, 900);
        let outputs = publish(&mut c, "fits");
        assert!(!subscriber_output(&outputs).expect("a message").close, "900 + 43 bytes is under the limit");
        report(&mut c, 980);
        let outputs = publish(&mut c, "over the limit");
        assert_eq!(outputs[0].data, b":1\r\n", "the publisher's reply counts the subscriber");
        assert!(closed_at_once(subscriber_output(&outputs)), "{outputs:?}");
        assert_eq!(c.connected_clients(), 1);
        assert_eq!(disconnections(&mut c), "1");
        assert_eq!(publish(&mut c, "anyone?")[0].data, b":0\r\n");
    }

    #[test]
    fn a_report_over_the_hard_limit_closes_with_the_next_call() {
        let mut c = with_subscriber("pubsub 1000 0 0");
        report(&mut c, 1000);
        let outputs = c.engine.tick(c.now);
        assert!(closed_at_once(subscriber_output(&outputs)), "{outputs:?}");
        assert_eq!(disconnections(&mut c), "1");
    }

    #[test]
    fn staying_over_the_soft_limit_for_its_seconds_closes_on_the_timer() {
        let mut c = with_subscriber("pubsub 0 500 10");
        assert_eq!(c.engine.next_deadline(), None);
        report(&mut c, 600);
        let started = c.now.mono_ns;
        assert_eq!(c.engine.next_deadline(), Some(started + 10_000_000_000 + 1), "the timer is set, nothing polls");
        c.advance_ms(10_000);
        assert!(subscriber_output(&c.engine.tick(c.now)).is_none(), "ten seconds are not more than ten");
        assert_eq!(c.connected_clients(), 2);
        c.advance_ms(1);
        assert!(closed_at_once(subscriber_output(&c.engine.tick(c.now))));
        assert_eq!(c.connected_clients(), 1);
        assert_eq!(c.engine.next_deadline(), None);
        assert_eq!(disconnections(&mut c), "1");
    }

    #[test]
    fn a_subscriber_that_drains_in_time_stays() {
        let mut c = with_subscriber("pubsub 0 500 10");
        report(&mut c, 600);
        c.advance_ms(9_000);
        publish(&mut c, "still behind");
        report(&mut c, 100);
        assert_eq!(c.engine.next_deadline(), None, "under the soft limit again: the clock stops");
        assert!(c.engine.soft_limited.is_empty());
        c.advance_ms(20_000);
        c.engine.tick(c.now);
        report(&mut c, 600);
        c.advance_ms(9_000);
        assert!(subscriber_output(&c.engine.tick(c.now)).is_none(), "the clock started again from zero");
        assert_eq!(c.connected_clients(), 2);
        assert_eq!(disconnections(&mut c), "0");
    }

    /// One call publishing far more than the limit to a subscriber that does not read: the
    /// subscriber is closed during the call, so the call never holds much more than its limit.
    #[test]
    fn one_call_cannot_pile_up_output_past_the_limit() {
        let mut c = with_subscriber("pubsub 200kb 0 0");
        let message = "m".repeat(10_000);
        let publish = format!("*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n${}\r\n{message}\r\n", message.len());
        let outputs = feed(&mut c, publish.repeat(100).as_bytes());
        let replies = String::from_utf8_lossy(&outputs[0].data).into_owned();
        let delivered = replies.matches(":1\r\n").count();
        assert!((20..=28).contains(&delivered), "{delivered} messages reached the subscriber before it was closed");
        assert_eq!(replies.matches(":0\r\n").count(), 100 - delivered);
        assert!(closed_at_once(subscriber_output(&outputs)));
    }

    #[test]
    fn subscribers_in_resp3_are_pubsub_class_and_monitors_normal() {
        let mut c = Harness::new();
        c.run(&["CONFIG", "SET", "client-output-buffer-limit", "pubsub 100 0 0"]);
        c.another(SUBSCRIBER);
        c.run_on(SUBSCRIBER, &[b"HELLO", b"3"]);
        report(&mut c, 5_000);
        assert!(c.engine.tick(c.now).is_empty(), "without subscriptions the client is normal: no limit");
        let subscribed = c.engine.feed_one(c.now, SUBSCRIBER, b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n");
        assert!(closed_at_once(Some(&subscribed)), "subscribed in RESP3, it is pubsub class: {subscribed:?}");

        c.another(3);
        c.run_on(3, &[b"MONITOR"]);
        c.engine.note_backlogs(c.now, &[Backlog { id: 3, unsent: 5_000 }]);
        assert!(c.engine.tick(c.now).is_empty(), "a MONITOR client is normal class");
    }

    #[test]
    fn a_normal_client_over_its_limit_loses_its_reply_and_connection() {
        let mut c = Harness::new();
        c.run(&["SET", "big", &"v".repeat(1_000)]);
        c.run(&["CONFIG", "SET", "client-output-buffer-limit", "normal 1000 0 0"]);
        let out = c.engine.feed_one(c.now, 1, b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
        assert!(out.close && out.discard_unsent && out.data.is_empty(), "{out:?}");
    }

    #[test]
    fn waiting_output_shows_in_client_list_and_info() {
        let mut c = with_subscriber("pubsub 0 0 0");
        report(&mut c, 12_345);
        let list = c.run(&["CLIENT", "LIST"]);
        let line = list.lines().find(|l| l.contains("flags=P")).expect("the subscriber");
        assert!(line.contains(" obl=0 oll=0 omem=12345 tot-mem=12345 "), "{line}");
        let clients = c.run(&["INFO", "clients"]);
        assert!(clients.contains("client_recent_max_output_buffer:12345\r\n"), "{clients}");
        let memory = c.run(&["INFO", "memory"]);
        assert!(memory.contains("mem_clients_slaves:0\r\nmem_clients_normal:12345\r\n"), "{memory}");
    }
}
