//! The engine as the server's connections share it, with faults contained.
//!
//! A trap inside the component leaves its instance unusable. This wrapper then logs the fault,
//! answers the connection whose input caused it with an error and closes it, and carries on with a
//! fresh instance: every other connection keeps its socket and its session (protocol, database,
//! name), which the engine reported each time it changed. The keyspace itself lived in the faulted
//! instance and starts empty again.

use crate::runtime::{Input, Instance, Peer, Runtime};
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

/// A connection the engine knows, as the host keeps it to restore it into a new instance.
struct Registered {
    peer: Peer,
    session: Option<Vec<u8>>,
    /// Woken when the engine wants the connection closed outside a reply (idle timeout).
    kick: Rc<Notify>,
}

pub struct SharedEngine {
    runtime: Arc<Runtime>,
    instance: Instance,
    settings: Vec<(String, String)>,
    connections: HashMap<u64, Registered>,
    next_id: u64,
    faults: u64,
}

const FAULT_REPLY: &[u8] = b"-ERR internal error: the engine faulted while running this connection's command; the connection is closed and the cache was reset\r\n";

impl SharedEngine {
    pub fn new(runtime: Arc<Runtime>, settings: Vec<(String, String)>) -> Result<Self> {
        let instance = Self::configured_instance(&runtime, &settings)?;
        Ok(SharedEngine { runtime, instance, settings, connections: HashMap::new(), next_id: 1, faults: 0 })
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
    pub fn open(&mut self, peer: Peer) -> Result<(u64, Rc<Notify>), Vec<u8>> {
        let id = self.next_id;
        self.next_id += 1;
        match self.instance.open(id, &peer, None) {
            Ok(None) => {
                let kick = Rc::new(Notify::new());
                self.connections.insert(id, Registered { peer, session: None, kick: kick.clone() });
                Ok((id, kick))
            }
            Ok(Some(refusal)) => Err(refusal),
            Err(trap) => {
                self.recover(&trap, None);
                Err(FAULT_REPLY.to_vec())
            }
        }
    }

    pub fn close(&mut self, id: u64) {
        if self.connections.remove(&id).is_some()
            && let Err(trap) = self.instance.close(id)
        {
            self.recover(&trap, None);
        }
    }

    /// Runs what `data` holds for connection `id`.
    pub fn feed(&mut self, id: u64, data: &[u8]) -> FeedResult {
        let input = [Input { id, data }];
        match self.instance.feed(&input) {
            Ok(mut outputs) => {
                let Some(out) = outputs.pop() else {
                    return FeedResult { consumed: data.len(), close: true, ..FeedResult::default() };
                };
                if let Some(session) = out.session
                    && let Some(conn) = self.connections.get_mut(&id)
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
            Err(trap) => {
                self.recover(&trap, Some(id));
                FeedResult { consumed: data.len(), reply: FAULT_REPLY.to_vec(), close: true, ..FeedResult::default() }
            }
        }
    }

    /// Runs the engine's background work; returns when it wants to run again.
    pub fn tick(&mut self) -> u64 {
        match self.instance.tick() {
            Ok(tick) => {
                for id in tick.close {
                    if let Some(conn) = self.connections.get(&id) {
                        conn.kick.notify_one();
                    }
                }
                tick.next_deadline
            }
            Err(trap) => {
                self.recover(&trap, None);
                self.runtime.clock().monotonic_ns() + 100_000_000
            }
        }
    }

    /// How many times the engine faulted and was replaced.
    pub fn faults(&self) -> u64 {
        self.faults
    }

    /// Replaces the faulted instance and re-registers every connection but `culprit`.
    fn recover(&mut self, trap: &anyhow::Error, culprit: Option<u64>) {
        self.faults += 1;
        tracing::error!(
            "the engine faulted ({trap:#}); closing connection {culprit:?} and continuing with a fresh engine \
             (the cache is empty again; other clients keep their connections and sessions)"
        );
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
            if let Some(conn) = self.connections.remove(&id) {
                conn.kick.notify_one();
            }
        }
        self.instance = instance;
    }
}
