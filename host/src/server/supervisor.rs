//! The engine instance the server's connections share, with its faults contained.
//!
//! A trap inside the component leaves its instance unusable. The supervisor then logs the fault,
//! answers the connection whose input caused it with an error and closes it, and carries on with a
//! fresh instance: every other connection keeps its socket and its session (protocol, database,
//! name), which the engine reported each time it changed. The keyspace itself lived in the faulted
//! instance and starts empty again. When the faulted call ran several connections' input (the
//! event loop shares one call among every connection that was readable), that input is run again
//! one connection at a time on the fresh instance, which finds the culprit.
//!
//! Every call passes the engine the time from the runtime's clock, and keeps the engine's next
//! deadline for the timer.

use crate::capabilities::SharedHostSettings;
use crate::runtime::{Backlog, EngineOutcome, Input, Instance, Output, Peer, Progress, Runtime};
use anyhow::{Context, Result};
use std::sync::Arc;
use tokio::sync::Notify;

/// Whether a fault is one to count, or the same one again while the input of a shared call is
/// run connection by connection to find its culprit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    New,
    Replayed,
}

/// A connection the engine knows, as the host keeps it to restore it into a new instance.
struct Registered {
    peer: Peer,
    session: Option<Vec<u8>>,
    /// Bytes the host holds unwritten for the connection.
    unsent: u64,
    /// `unsent` changed since the engine was last told.
    unreported: bool,
}

pub struct Supervisor {
    runtime: Arc<Runtime>,
    instance: Instance,
    settings: Vec<(String, String)>,
    /// The settings the host applies itself (CONFIG SET tls-*), when it has any.
    host_settings: Option<SharedHostSettings>,
    connections: foldhash::HashMap<u64, Registered>,
    next_id: u64,
    faults: u64,
    /// Output the event loop has not taken yet: made by calls it did not make (the timer's tick, a
    /// UDP datagram's commands, a fault's lost connections).
    pending: Vec<Output>,
    /// Woken when `pending` gains output or the supervisor fails.
    pub pending_ready: Arc<Notify>,
    /// The engine's next deadline, as its last call reported it.
    deadline: Option<u64>,
    /// Woken when a call moves the deadline earlier than the timer is waiting for.
    pub deadline_moved: Arc<Notify>,
    /// Set when no fresh engine could be made after a fault: there is nothing left to serve with.
    failure: Option<anyhow::Error>,
    /// Connections whose unwritten output changed since the engine was last told: it is told with
    /// the next call.
    unreported: Vec<u64>,
}

const FAULT_REPLY: &[u8] = b"-ERR internal error: the engine faulted while running this connection's command; the connection is closed and the cache was reset\r\n";

impl Supervisor {
    pub fn new(runtime: Arc<Runtime>, settings: Vec<(String, String)>) -> Result<Self> {
        let instance = Self::configured_instance(&runtime, &settings)?;
        Ok(Supervisor {
            runtime,
            instance,
            settings,
            host_settings: None,
            connections: foldhash::HashMap::default(),
            next_id: 1,
            faults: 0,
            pending: Vec::new(),
            pending_ready: Arc::new(Notify::new()),
            deadline: Some(0),
            deadline_moved: Arc::new(Notify::new()),
            failure: None,
            unreported: Vec::new(),
        })
    }

    fn configured_instance(runtime: &Runtime, settings: &[(String, String)]) -> Result<Instance> {
        let mut instance = runtime.instantiate()?;
        instance
            .configure(settings)
            .context("the engine faulted while being configured")?
            .map_err(|e| anyhow::anyhow!("invalid setting '{}': {}", e.name, e.message))?;
        Ok(instance)
    }

    /// Sends CONFIG SET of the host's own settings to `settings`, for this engine and any that
    /// replaces it (which is configured with their values of the moment).
    pub fn set_host_settings(&mut self, settings: SharedHostSettings) {
        self.instance.set_host_settings(settings.clone());
        self.host_settings = Some(settings);
    }

    /// Registers a connection. `Err(bytes)` means the engine refused it: write `bytes`, then close.
    pub fn open(&mut self, peer: Peer) -> Result<u64, Vec<u8>> {
        if self.failure.is_some() {
            return Err(FAULT_REPLY.to_vec());
        }
        let id = self.next_id;
        self.next_id += 1;
        match self.instance.open(self.runtime.now(), id, &peer, None) {
            Ok(Ok(outcome)) => {
                self.connections.insert(id, Registered { peer, session: None, unsent: 0, unreported: false });
                let outputs = self.outcome(outcome);
                self.defer(outputs);
                Ok(id)
            }
            Ok(Err(refusal)) => Err(refusal),
            Err(trap) => {
                self.recover(&trap, None, Fault::New);
                Err(FAULT_REPLY.to_vec())
            }
        }
    }

    /// Gives back an output's buffer once its bytes are written, for later outputs.
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        self.instance.recycle(buffer);
    }

    /// Notes how many bytes of a connection's output the host holds unwritten; the engine learns
    /// it with the next call, and closes clients over their output buffer limit.
    pub fn report_unsent(&mut self, id: u64, unsent: u64) {
        if let Some(conn) = self.connections.get_mut(&id)
            && conn.unsent != unsent
        {
            conn.unsent = unsent;
            if !conn.unreported {
                conn.unreported = true;
                self.unreported.push(id);
            }
        }
    }

    /// The counts to report with the next call.
    fn take_backlogs(&mut self) -> Vec<Backlog> {
        let mut backlogs = Vec::with_capacity(self.unreported.len());
        for id in std::mem::take(&mut self.unreported) {
            if let Some(conn) = self.connections.get_mut(&id) {
                conn.unreported = false;
                backlogs.push(Backlog { id, unsent: conn.unsent });
            }
        }
        backlogs
    }

    pub fn close(&mut self, id: u64) {
        if self.connections.remove(&id).is_none() || self.failure.is_some() {
            return;
        }
        match self.instance.close(self.runtime.now(), id) {
            Ok(outcome) => {
                let outputs = self.outcome(outcome);
                self.defer(outputs);
            }
            Err(trap) => self.recover(&trap, None, Fault::New),
        }
    }

    /// Runs what each input holds, in one call into the engine. Returns the call's output: one for
    /// each input's connection, and any for other connections.
    ///
    /// When the engine faults, the inputs are run again one connection at a time on the fresh
    /// engine, so that only the connection whose input faults is answered with an error and closed.
    pub fn feed_all(&mut self, inputs: &[Input<'_>]) -> Vec<Output> {
        if let [input] = inputs {
            return self.feed_alone(input, Fault::New);
        }
        if self.failure.is_some() {
            return inputs.iter().map(|input| unserved(input)).collect();
        }
        let backlogs = self.take_backlogs();
        match self.instance.feed(self.runtime.now(), &backlogs, inputs) {
            Ok(outcome) => self.outcome(outcome),
            Err(trap) => {
                self.recover(&trap, None, Fault::New);
                tracing::warn!(
                    "the faulted call ran the input of {} connections: running each again on its own",
                    inputs.len()
                );
                inputs.iter().flat_map(|input| self.feed_alone(input, Fault::Replayed)).collect()
            }
        }
    }

    fn feed_alone(&mut self, input: &Input<'_>, fault: Fault) -> Vec<Output> {
        if self.failure.is_some() {
            return vec![unserved(input)];
        }
        let inputs = std::slice::from_ref(input);
        let backlogs = self.take_backlogs();
        match self.instance.feed(self.runtime.now(), &backlogs, inputs) {
            Ok(outcome) => self.outcome(outcome),
            Err(trap) => {
                self.recover(&trap, Some(input.id), fault);
                vec![Output { data: FAULT_REPLY.to_vec(), ..unserved(input) }]
            }
        }
    }

    /// Takes note of what a call reports (sessions, closes, the next deadline) and returns its
    /// output.
    fn outcome(&mut self, mut outcome: EngineOutcome) -> Vec<Output> {
        for out in &mut outcome.outputs {
            if out.close {
                self.connections.remove(&out.id);
            } else if let Some(session) = out.session.take()
                && let Some(conn) = self.connections.get_mut(&out.id)
            {
                conn.session = Some(session);
            }
        }
        self.note_deadline(outcome.next_deadline);
        outcome.outputs
    }

    fn note_deadline(&mut self, deadline: Option<u64>) {
        let earlier = match (deadline, self.deadline) {
            (Some(new), Some(old)) => new < old,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.deadline = deadline;
        if earlier {
            self.deadline_moved.notify_one();
        }
    }

    /// Hands output to the event loop for its next turn.
    pub fn defer(&mut self, outputs: Vec<Output>) {
        if !outputs.is_empty() {
            self.pending.extend(outputs);
            self.pending_ready.notify_one();
        }
    }

    /// Output the event loop has not taken yet.
    pub fn take_pending(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.pending)
    }

    /// Runs the engine's due background work; its output waits for the event loop. Returns when
    /// the engine next has work, `None` when only input can give it some.
    pub fn tick(&mut self) -> Option<u64> {
        if self.failure.is_some() {
            return None;
        }
        let backlogs = self.take_backlogs();
        match self.instance.tick(self.runtime.now(), &backlogs) {
            Ok(outcome) => {
                let outputs = self.outcome(outcome);
                self.defer(outputs);
            }
            Err(trap) => self.recover(&trap, None, Fault::New),
        }
        self.deadline
    }

    /// The engine's next deadline, as the last call reported it.
    pub fn deadline(&self) -> Option<u64> {
        self.deadline
    }

    /// How many times the engine faulted and was replaced.
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// Why the server cannot go on, once no fresh engine could replace a faulted one. The
    /// supervisor stays failed; the first caller gets the reason, later ones a plain statement.
    pub fn take_failure(&mut self) -> Option<anyhow::Error> {
        self.failure.as_mut().map(|failure| std::mem::replace(failure, anyhow::anyhow!("the engine has failed")))
    }

    /// Replaces the faulted instance and re-registers every connection but `culprit`.
    fn recover(&mut self, trap: &anyhow::Error, culprit: Option<u64>, fault: Fault) {
        if fault == Fault::New {
            self.faults += 1;
        }
        // The component's own out-of-memory line (logged just before) names the cause; the trap
        // itself is the `unreachable` that follows it.
        let cause = match self.instance.out_of_memory() {
            Some(_) => "ran out of memory at its linear-memory cap (raise --engine-memory-limit, or lower maxmemory)".to_string(),
            None => format!("faulted ({trap:#})"),
        };
        match culprit {
            Some(id) => tracing::error!(
                "the engine {cause}; closing connection {id} and continuing with a fresh engine \
                 (the cache is empty again; other clients keep their connections and sessions)"
            ),
            None => tracing::error!(
                "the engine {cause}; continuing with a fresh engine (the cache is empty again; \
                 clients keep their connections and sessions)"
            ),
        }
        if let Some(id) = culprit {
            self.connections.remove(&id);
        }
        let mut settings = self.settings.clone();
        settings.push(("engine-faults".into(), self.faults.to_string()));
        if let Some(host) = &self.host_settings {
            settings.extend(host.current());
        }
        let mut instance = match Self::configured_instance(&self.runtime, &settings) {
            Ok(mut instance) => {
                if let Some(host) = &self.host_settings {
                    instance.set_host_settings(host.clone());
                }
                instance
            }
            Err(error) => {
                // The settings were accepted by the first instance, so this should not happen; if it
                // does, there is no engine to serve with, and the server stops with this error.
                tracing::error!("could not start a fresh engine after a fault: {error:#}");
                self.failure = Some(error.context("could not start a fresh engine after a fault"));
                self.pending_ready.notify_one();
                return;
            }
        };
        let now = self.runtime.now();
        let mut lost = Vec::new();
        let mut kept = Vec::new();
        self.unreported.clear();
        for (id, conn) in self.connections.iter_mut() {
            match instance.open(now, *id, &conn.peer, conn.session.as_deref()) {
                // The fresh engine is told of every backlog with its first call, and input the
                // faulted engine held (a paused client's) is offered to it.
                Ok(Ok(_)) => {
                    conn.unreported = conn.unsent > 0;
                    if conn.unreported {
                        self.unreported.push(*id);
                    }
                    kept.push(Output { id: *id, progress: None, data: Vec::new(), close: false, discard_unsent: false, session: None, resume: true });
                }
                _ => lost.push(*id),
            }
        }
        self.defer(kept);
        for id in lost {
            self.connections.remove(&id);
            self.defer(vec![Output { id, progress: None, data: Vec::new(), close: true, discard_unsent: false, session: None, resume: false }]);
        }
        self.instance = instance;
        self.deadline = Some(0);
        self.deadline_moved.notify_one();
    }
}

/// The output for an input nobody ran: dropped, and its connection closed.
fn unserved(input: &Input<'_>) -> Output {
    let progress = Progress { consumed: input.data.len() as u32, wanted: 0, more: false };
    Output { id: input.id, progress: Some(progress), data: Vec::new(), close: true, discard_unsent: false, session: None, resume: false }
}
