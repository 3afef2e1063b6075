//! `mem://`: a cachet keyspace inside this process. Its connections are calls into one engine
//! instance, made by whoever writes to them: no socket, no thread and no runtime of its own. Input
//! sent while another connection's call holds the engine is run by that caller, with its own, in
//! one engine call (as the server's event loop runs every readable connection at once). A
//! timer task on the opener's tokio runtime runs the engine's background work while anyone holds
//! the keyspace. `mem://name` is shared by every client of the process that opens the same name;
//! plain `mem://` is private to the client opened with it (and its clones).

use super::Supervisor;
use crate::capabilities::streams::{InProcessLink, InProcessServer};
use crate::runtime::{Input, Output, Peer, PeerKind, Progress, Runtime};
use anyhow::Result;
use bytes::BytesMut;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use tokio::sync::Notify;

pub struct InProcess {
    name: String,
    engine: Mutex<Engine>,
    /// Connections with input the engine has not run yet, in the order they sent it. Whoever
    /// holds the engine runs them all in one call, so a sender never waits for another's call.
    waiting: Mutex<Vec<Arc<Mailbox>>>,
    /// Woken when the engine's deadline moves earlier, and when the keyspace is dropped.
    deadline_moved: Arc<Notify>,
}

/// The engine and the mailbox of each of its connections.
struct Engine {
    supervisor: Supervisor,
    mailboxes: HashMap<u64, Arc<Mailbox>>,
    /// Connections whose held input the engine can run now (a pause ended): run with the next batch.
    resumed: Vec<Arc<Mailbox>>,
}

/// What passes between one connection and the engine outside the engine's lock.
struct Mailbox {
    id: u64,
    state: Mutex<MailboxState>,
    arrival: Notify,
}

#[derive(Default)]
struct MailboxState {
    /// Output the connection's owner has not taken yet.
    output: Vec<u8>,
    /// Input the engine has not run yet: new input, and the start of a command still being written.
    input: Vec<u8>,
    /// Whether the mailbox is in `waiting`.
    waiting: bool,
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
            engine: Mutex::new(Engine { supervisor, mailboxes: HashMap::new(), resumed: Vec::new() }),
            waiting: Mutex::new(Vec::new()),
            deadline_moved: deadline_moved.clone(),
        });
        let weak = Arc::downgrade(&server);
        let deadline = {
            let weak = weak.clone();
            move || weak.upgrade().map(|server| server.with_engine(|engine| engine.supervisor.deadline()))
        };
        let tick = move || {
            if let Some(server) = weak.upgrade() {
                server.with_engine(Engine::tick);
            }
        };
        tokio::spawn(super::timer::run(runtime.clock(), deadline_moved, deadline, tick));
        Ok(server)
    }

    /// Runs `work` on the engine, waiting for it if another call holds it; then runs the input
    /// that arrived meanwhile.
    fn with_engine<R>(&self, work: impl FnOnce(&mut Engine) -> R) -> R {
        let mut engine = self.engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = work(&mut engine);
        self.run_waiting(engine);
        result
    }

    /// Queues a connection's input and runs it, unless the engine is busy: then whoever holds it
    /// runs this input with its own, and the sender goes on at once.
    fn send(&self, mailbox: &Arc<Mailbox>, data: &[u8]) -> io::Result<()> {
        {
            let mut state = mailbox.lock();
            if state.closed {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the in-process server closed this connection"));
            }
            state.input.extend_from_slice(data);
            if !state.waiting {
                state.waiting = true;
                self.waiting_list().push(mailbox.clone());
            }
        }
        // When the engine is busy, its holder looks at `waiting` again after it lets go (below).
        if let Some(engine) = self.engine_if_free() {
            self.run_waiting(engine);
        }
        Ok(())
    }

    /// Runs everything waiting, lets the engine go, and takes it again if more input arrived from
    /// senders that found it busy in the meantime.
    fn run_waiting<'a>(&'a self, mut engine: MutexGuard<'a, Engine>) {
        loop {
            loop {
                let mut batch = std::mem::take(&mut *self.waiting_list());
                batch.append(&mut engine.resumed);
                if batch.is_empty() {
                    break;
                }
                engine.run(batch);
            }
            drop(engine);
            if self.waiting_list().is_empty() {
                return;
            }
            let Some(free) = self.engine_if_free() else { return };
            engine = free;
        }
    }

    /// The engine, unless another call holds it.
    fn engine_if_free(&self) -> Option<MutexGuard<'_, Engine>> {
        match self.engine.try_lock() {
            Ok(engine) => Some(engine),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    fn waiting_list(&self) -> MutexGuard<'_, Vec<Arc<Mailbox>>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
        self.report_unsent();
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
                if output.discard_unsent {
                    // Over its output buffer limit: what it has not read is dropped.
                    state.output = Vec::new();
                } else {
                    state.output.extend_from_slice(&output.data);
                }
                state.closed |= output.close;
                if output.resume && !state.waiting {
                    state.waiting = true;
                    self.resumed.push(mailbox.clone());
                }
            }
            mailbox.arrival.notify_one();
            if output.close {
                self.mailboxes.remove(&output.id);
            }
        }
    }

    /// Tells the engine how much output each connection has not received yet (the supervisor
    /// passes on only the counts that changed): the engine closes clients over their output
    /// buffer limit.
    fn report_unsent(&mut self) {
        for (id, mailbox) in &self.mailboxes {
            let unsent = mailbox.lock().output.len() as u64;
            self.supervisor.report_unsent(*id, unsent);
        }
    }

    /// Runs the input of several connections in one engine call, and again for those the engine
    /// stopped early while more of their input is complete. What is left (the start of a
    /// command) waits in the mailbox for the rest.
    fn run(&mut self, batch: Vec<Arc<Mailbox>>) {
        let mut fed: Vec<(Arc<Mailbox>, Vec<u8>, usize)> = batch
            .into_iter()
            .filter_map(|mailbox| {
                let mut state = mailbox.lock();
                state.waiting = false;
                let input = (!state.closed).then(|| std::mem::take(&mut state.input))?;
                drop(state);
                Some((mailbox, input, 0))
            })
            .collect();
        let mut active: Vec<usize> = (0..fed.len()).collect();
        while !active.is_empty() {
            self.report_unsent();
            let inputs: Vec<Input<'_>> = active.iter().map(|&i| Input { id: fed[i].0.id, data: &fed[i].1[fed[i].2..] }).collect();
            let outputs = self.supervisor.feed_all(&inputs);
            let progress: HashMap<u64, Progress> = outputs.iter().filter_map(|o| Some((o.id, o.progress?))).collect();
            self.deliver(outputs);
            let pending = self.supervisor.take_pending();
            self.deliver(pending);
            active.retain(|&i| {
                let (mailbox, input, start) = &mut fed[i];
                let Some(progress) = progress.get(&mailbox.id) else { return false };
                *start += progress.consumed as usize;
                progress.more && *start < input.len()
            });
        }
        for (mailbox, mut input, start) in fed {
            let mut state = mailbox.lock();
            if !state.closed {
                let mut rest = input.split_off(start.min(input.len()));
                rest.extend_from_slice(&state.input);
                state.input = rest;
            }
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
        let peer = Peer { kind: PeerKind::Unix, address: "mem".into(), local_address: "mem".into() };
        let mailbox = self.with_engine(|engine| {
            let id = engine.supervisor.open(peer).map_err(|refusal| {
                io::Error::new(io::ErrorKind::ConnectionRefused, String::from_utf8_lossy(&refusal).trim_end().to_string())
            })?;
            let mailbox = Arc::new(Mailbox { id, state: Mutex::default(), arrival: Notify::new() });
            engine.mailboxes.insert(id, mailbox.clone());
            Ok::<_, io::Error>(mailbox)
        })?;
        Ok(Box::new(Link { mailbox, server: self }))
    }
}

/// One connection to an in-process keyspace.
struct Link {
    mailbox: Arc<Mailbox>,
    server: Arc<InProcess>,
}

impl InProcessLink for Link {
    fn send(&self, data: &[u8]) -> io::Result<()> {
        self.server.send(&self.mailbox, data)
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
        let id = self.mailbox.id;
        self.server.with_engine(|engine| {
            engine.mailboxes.remove(&id);
            engine.supervisor.close(id);
            let pending = engine.supervisor.take_pending();
            engine.deliver(pending);
        });
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyspace() -> Arc<InProcess> {
        InProcess::open("", Runtime::shared().expect("the component loads")).expect("a keyspace")
    }

    fn taken(link: &dyn InProcessLink) -> String {
        let mut into = BytesMut::new();
        link.receive(&mut into).expect("the link is open");
        String::from_utf8_lossy(&into).into_owned()
    }

    #[tokio::test]
    async fn input_sent_while_the_engine_is_busy_is_run_by_its_holder_when_it_lets_go() {
        let server = keyspace();
        let first = server.clone().connect().expect("a link");
        let second = server.clone().connect().expect("a link");
        server.with_engine(|_| {
            first.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n").expect("sent");
            // A command in two pieces: the engine sees it whole only once both have arrived.
            second.send(b"*2\r\n$3\r\nGET\r\n$1").expect("sent");
            second.send(b"\r\nk\r\n").expect("sent");
            assert_eq!(taken(first.as_ref()), "", "nothing runs while the engine is held");
        });
        assert_eq!(taken(first.as_ref()), "+OK\r\n");
        assert_eq!(taken(second.as_ref()), "$1\r\nv\r\n", "the later sender's input ran after the earlier one's");
    }

    #[tokio::test]
    async fn the_start_of_a_command_waits_for_its_rest() {
        let server = keyspace();
        let link = server.clone().connect().expect("a link");
        link.send(b"*1\r\n$4\r\nPI").expect("sent");
        assert_eq!(taken(link.as_ref()), "");
        link.send(b"NG\r\n*1\r\n$4\r\nPING\r\n").expect("sent");
        assert_eq!(taken(link.as_ref()), "+PONG\r\n+PONG\r\n");
    }

    #[tokio::test]
    async fn a_link_the_engine_closed_refuses_input() {
        let server = keyspace();
        let link = server.clone().connect().expect("a link");
        link.send(b"*1\r\n$4\r\nQUIT\r\n").expect("sent");
        assert_eq!(taken(link.as_ref()), "+OK\r\n");
        let refused = link.send(b"*1\r\n$4\r\nPING\r\n").expect_err("closed");
        assert_eq!(refused.kind(), io::ErrorKind::BrokenPipe);
    }
}
