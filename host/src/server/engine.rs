//! The engine as the server's connections share it, with faults contained.
//!
//! A trap inside the component leaves its instance unusable. This wrapper then logs the fault,
//! answers the connection whose input caused it with an error and closes it, and carries on with a
//! fresh instance: every other connection keeps its socket and its session (protocol, database,
//! name), which the engine reported each time it changed. The keyspace itself lived in the faulted
//! instance and starts empty again. When the faulted call ran several connections' input (the
//! event loop shares one call among every connection that was readable), that input is run again
//! one connection at a time on the fresh instance, which finds the culprit.

use crate::runtime::{Input, Instance, Output, Peer, Runtime};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use tokio::sync::Notify;

/// What the host must do with one connection after feeding it.
#[derive(Debug, Default)]
pub struct FeedResult {
    pub consumed: usize,
    pub wanted: usize,
    pub reply: Vec<u8>,
    pub close: bool,
    /// Write the reply, then feed the rest of the input again without waiting for more.
    pub more: bool,
}

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
}

pub struct SharedEngine {
    runtime: Arc<Runtime>,
    instance: Instance,
    settings: Vec<(String, String)>,
    connections: HashMap<u64, Registered>,
    next_id: u64,
    faults: u64,
    /// Connections to close outside a reply (idle timeout, lost in a fault), for the event loop.
    kicked: Vec<u64>,
    /// Woken when `kicked` gains a connection.
    pub kick: Rc<Notify>,
}

const FAULT_REPLY: &[u8] = b"-ERR internal error: the engine faulted while running this connection's command; the connection is closed and the cache was reset\r\n";

impl SharedEngine {
    pub fn new(runtime: Arc<Runtime>, settings: Vec<(String, String)>) -> Result<Self> {
        let instance = Self::configured_instance(&runtime, &settings)?;
        Ok(SharedEngine {
            runtime,
            instance,
            settings,
            connections: HashMap::new(),
            next_id: 1,
            faults: 0,
            kicked: Vec::new(),
            kick: Rc::new(Notify::new()),
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

    /// Registers a connection. `Err(bytes)` means the engine refused it: write `bytes`, then close.
    pub fn open(&mut self, peer: Peer) -> Result<u64, Vec<u8>> {
        let id = self.next_id;
        self.next_id += 1;
        match self.instance.open(id, &peer, None) {
            Ok(None) => {
                self.connections.insert(id, Registered { peer, session: None });
                Ok(id)
            }
            Ok(Some(refusal)) => Err(refusal),
            Err(trap) => {
                self.recover(&trap, None, Fault::New);
                Err(FAULT_REPLY.to_vec())
            }
        }
    }

    pub fn close(&mut self, id: u64) {
        if self.connections.remove(&id).is_some()
            && let Err(trap) = self.instance.close(id)
        {
            self.recover(&trap, None, Fault::New);
        }
    }

    /// Runs what `data` holds for connection `id`.
    pub fn feed(&mut self, id: u64, data: &[u8]) -> FeedResult {
        self.feed_alone(&Input { id, data }, Fault::New)
    }

    /// Runs what each input holds, in one call into the engine; one result per input, in order.
    /// When the engine faults, the inputs are run again one connection at a time on the fresh
    /// engine, so that only the connection whose input faults is answered with an error and closed.
    pub fn feed_all(&mut self, inputs: &[Input<'_>]) -> Vec<FeedResult> {
        if let [input] = inputs {
            return vec![self.feed_alone(input, Fault::New)];
        }
        match self.instance.feed(inputs) {
            Ok(outputs) => self.results(inputs, outputs),
            Err(trap) => {
                self.recover(&trap, None, Fault::New);
                tracing::warn!(
                    "the faulted call ran the input of {} connections: running each again on its own",
                    inputs.len()
                );
                inputs.iter().map(|input| self.feed_alone(input, Fault::Replayed)).collect()
            }
        }
    }

    fn feed_alone(&mut self, input: &Input<'_>, fault: Fault) -> FeedResult {
        let inputs = std::slice::from_ref(input);
        match self.instance.feed(inputs) {
            Ok(outputs) => self.results(inputs, outputs).pop().unwrap_or_default(),
            Err(trap) => {
                self.recover(&trap, Some(input.id), fault);
                FeedResult { consumed: input.data.len(), reply: FAULT_REPLY.to_vec(), close: true, ..FeedResult::default() }
            }
        }
    }

    /// One result per input, in order. An input the engine gave no output for (its connection
    /// is unknown to it) is closed.
    fn results(&mut self, inputs: &[Input<'_>], outputs: Vec<Output>) -> Vec<FeedResult> {
        let mut outputs = outputs.into_iter().peekable();
        inputs
            .iter()
            .map(|input| match outputs.next_if(|out| out.id == input.id) {
                Some(out) => self.result(out),
                None => FeedResult { consumed: input.data.len(), close: true, ..FeedResult::default() },
            })
            .collect()
    }

    fn result(&mut self, out: Output) -> FeedResult {
        if let Some(session) = out.session
            && let Some(conn) = self.connections.get_mut(&out.id)
        {
            conn.session = Some(session);
        }
        FeedResult {
            consumed: out.consumed as usize,
            wanted: out.wanted as usize,
            reply: out.reply,
            close: out.close,
            more: out.more,
        }
    }

    /// Connections the engine wants closed since the last call.
    pub fn take_kicked(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.kicked)
    }

    fn kick_out(&mut self, id: u64) {
        self.kicked.push(id);
        self.kick.notify_one();
    }

    /// Runs the engine's background work; returns when it wants to run again.
    pub fn tick(&mut self) -> u64 {
        match self.instance.tick() {
            Ok(tick) => {
                for id in tick.close {
                    if self.connections.contains_key(&id) {
                        self.kick_out(id);
                    }
                }
                tick.next_deadline
            }
            Err(trap) => {
                self.recover(&trap, None, Fault::New);
                self.runtime.clock().monotonic_ns() + 100_000_000
            }
        }
    }

    /// How many times the engine faulted and was replaced.
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// Replaces the faulted instance and re-registers every connection but `culprit`.
    fn recover(&mut self, trap: &anyhow::Error, culprit: Option<u64>, fault: Fault) {
        if fault == Fault::New {
            self.faults += 1;
        }
        match culprit {
            Some(id) => tracing::error!(
                "the engine faulted ({trap:#}); closing connection {id} and continuing with a fresh engine \
                 (the cache is empty again; other clients keep their connections and sessions)"
            ),
            None => tracing::error!(
                "the engine faulted ({trap:#}); continuing with a fresh engine (the cache is empty again; \
                 clients keep their connections and sessions)"
            ),
        }
        if let Some(id) = culprit {
            self.connections.remove(&id);
        }
        let mut settings = self.settings.clone();
        settings.push(("engine-faults".into(), self.faults.to_string()));
        let mut instance = match Self::configured_instance(&self.runtime, &settings) {
            Ok(instance) => instance,
            Err(error) => {
                // The settings were accepted by the first instance, so this should not happen; if it
                // does, there is no engine to serve with.
                tracing::error!("could not start a fresh engine after a fault: {error:#}");
                std::process::exit(70);
            }
        };
        let mut lost = Vec::new();
        for (id, conn) in &self.connections {
            match instance.open(*id, &conn.peer, conn.session.as_deref()) {
                Ok(None) => {}
                _ => lost.push(*id),
            }
        }
        for id in lost {
            if self.connections.remove(&id).is_some() {
                self.kick_out(id);
            }
        }
        self.instance = instance;
    }
}
