//! `mem://`: a cachet keyspace inside this process. Its connections are calls into one engine
//! instance, made by whoever writes to them: no socket, no thread and no runtime of its own. A
//! timer task on the opener's tokio runtime runs the engine's background work while anyone holds
//! the keyspace. `mem://name` is shared by every client of the process that opens the same name;
//! plain `mem://` is private to the client opened with it (and its clones).

use super::Supervisor;
use crate::capabilities::streams::{InProcessLink, InProcessServer};
use crate::runtime::{Input, Output, Peer, PeerKind, Runtime};
use anyhow::Result;
use bytes::BytesMut;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use tokio::sync::Notify;

pub struct InProcess {
    name: String,
    engine: Mutex<Engine>,
    /// Woken when the engine's deadline moves earlier, and when the keyspace is dropped.
    deadline_moved: Arc<Notify>,
}

/// The engine and the output waiting for each of its connections.
struct Engine {
    supervisor: Supervisor,
    mailboxes: HashMap<u64, Arc<Mailbox>>,
}

/// What the engine has for one connection that its owner has not taken yet.
#[derive(Default)]
struct Mailbox {
    state: Mutex<MailboxState>,
    arrival: Notify,
}

#[derive(Default)]
struct MailboxState {
    output: Vec<u8>,
    /// Input the engine has not consumed yet: the start of a command still being written.
    pending_input: Vec<u8>,
    closed: bool,
}

static NAMED: Mutex<Option<HashMap<String, Weak<InProcess>>>> = Mutex::new(None);

impl InProcess {
    /// The keyspace called `name` (a new private one when `name` is empty). Must be called from
    /// within a tokio runtime, which runs its timer.
    pub fn open(name: &str, runtime: Arc<Runtime>) -> Result<Arc<InProcess>> {
        if name.is_empty() {
            return Self::start(name, runtime);
        }
        let mut named = NAMED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let named = named.get_or_insert_with(HashMap::new);
        if let Some(server) = named.get(name).and_then(Weak::upgrade) {
            return Ok(server);
        }
        let server = Self::start(name, runtime)?;
        named.insert(name.to_string(), Arc::downgrade(&server));
        Ok(server)
    }

    fn start(name: &str, runtime: Arc<Runtime>) -> Result<Arc<InProcess>> {
        let settings = vec![("port".to_string(), "0".to_string()), ("bind".to_string(), String::new())];
        let supervisor = Supervisor::new(runtime.clone(), settings)?;
        let deadline_moved = supervisor.deadline_moved.clone();
        let server = Arc::new(InProcess {
            name: name.to_string(),
            engine: Mutex::new(Engine { supervisor, mailboxes: HashMap::new() }),
            deadline_moved: deadline_moved.clone(),
        });
        let weak = Arc::downgrade(&server);
        let deadline = {
            let weak = weak.clone();
            move || weak.upgrade().map(|server| server.lock().supervisor.deadline())
        };
        let tick = move || {
            if let Some(server) = weak.upgrade() {
                server.lock().tick();
            }
        };
        tokio::spawn(super::timer::run(runtime.clock(), deadline_moved, deadline, tick));
        Ok(server)
    }

    fn lock(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        // The timer sees the keyspace is gone and ends.
        self.deadline_moved.notify_one();
    }
}

impl Engine {
    fn tick(&mut self) {
        self.supervisor.tick();
        let pending = self.supervisor.take_pending();
        self.deliver(pending);
    }

    /// Puts each output in its connection's mailbox.
    fn deliver(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            let Some(mailbox) = self.mailboxes.get(&output.id) else { continue };
            {
                let mut state = mailbox.lock();
                state.output.extend_from_slice(&output.data);
                state.closed |= output.close;
            }
            mailbox.arrival.notify_one();
            if output.close {
                self.mailboxes.remove(&output.id);
            }
        }
    }

    /// Runs a connection's input, and the rest of it again while the engine stops early.
    fn run(&mut self, id: u64, mailbox: &Mailbox, data: &[u8]) {
        let mut input = std::mem::take(&mut mailbox.lock().pending_input);
        input.extend_from_slice(data);
        let mut start = 0;
        loop {
            let outputs = self.supervisor.feed_all(&[Input { id, data: &input[start..] }]);
            let progress = outputs.iter().find(|o| o.id == id).and_then(|o| o.progress);
            self.deliver(outputs);
            let pending = self.supervisor.take_pending();
            self.deliver(pending);
            let Some(progress) = progress else { break };
            start += progress.consumed as usize;
            if !progress.more || start >= input.len() {
                break;
            }
        }
        let mut state = mailbox.lock();
        if !state.closed {
            state.pending_input = input.split_off(start.min(input.len()));
        }
    }
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, MailboxState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl InProcessServer for InProcess {
    fn name(&self) -> &str {
        &self.name
    }

    fn connect(self: Arc<Self>) -> io::Result<Box<dyn InProcessLink>> {
        let mut engine = self.lock();
        let peer = Peer { kind: PeerKind::Unix, address: "mem".into(), local_address: "mem".into() };
        let id = engine.supervisor.open(peer).map_err(|refusal| {
            io::Error::new(io::ErrorKind::ConnectionRefused, String::from_utf8_lossy(&refusal).trim_end().to_string())
        })?;
        let mailbox = Arc::new(Mailbox::default());
        engine.mailboxes.insert(id, mailbox.clone());
        drop(engine);
        Ok(Box::new(Link { id, mailbox, server: self }))
    }
}

/// One connection to an in-process keyspace.
struct Link {
    id: u64,
    mailbox: Arc<Mailbox>,
    server: Arc<InProcess>,
}

impl InProcessLink for Link {
    fn send(&self, data: &[u8]) -> io::Result<()> {
        if self.mailbox.lock().closed {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the in-process server closed this connection"));
        }
        self.server.lock().run(self.id, &self.mailbox, data);
        Ok(())
    }

    fn receive(&self, into: &mut BytesMut) -> io::Result<usize> {
        let mut state = self.mailbox.lock();
        if state.output.is_empty() {
            return if state.closed { Err(io::ErrorKind::UnexpectedEof.into()) } else { Ok(0) };
        }
        into.extend_from_slice(&state.output);
        let n = state.output.len();
        state.output.clear();
        Ok(n)
    }

    fn arrival(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.mailbox.arrival.notified())
    }

    fn close(&self) {
        {
            let mut state = self.mailbox.lock();
            if state.closed {
                return;
            }
            state.closed = true;
        }
        let mut engine = self.server.lock();
        engine.mailboxes.remove(&self.id);
        engine.supervisor.close(self.id);
        let pending = engine.supervisor.take_pending();
        engine.deliver(pending);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.close();
    }
}
