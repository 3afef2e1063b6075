//! `mem://`: a cachet keyspace inside this process, served by the same component on a thread of
//! its own and reached through socket pairs, so no port is opened and nothing leaves the process.
//! `mem://name` is shared by every client of the process that opens the same name; plain `mem://`
//! is private to the client opened with it (and its clones).

use crate::runtime::Runtime;
use crate::server::{Server, ServerOptions};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::{mpsc, oneshot};

pub struct MemoryServer {
    name: String,
    inbox: mpsc::UnboundedSender<UnixStream>,
    /// Dropping it stops the server thread.
    _stop: oneshot::Sender<()>,
}

static NAMED: Mutex<Option<HashMap<String, Weak<MemoryServer>>>> = Mutex::new(None);

impl MemoryServer {
    /// The keyspace called `name` (a new private one when `name` is empty).
    pub fn open(name: &str, runtime: Arc<Runtime>) -> Result<Arc<MemoryServer>> {
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

    fn start(name: &str, runtime: Arc<Runtime>) -> Result<Arc<MemoryServer>> {
        let (inbox, received) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let options = ServerOptions { bind: Vec::new(), port: 0, ..ServerOptions::default() };
        std::thread::Builder::new()
            .name(format!("cachet-mem-{name}"))
            .spawn(move || {
                let reactor = tokio::runtime::Builder::new_current_thread().enable_all().build();
                let Ok(reactor) = reactor else { return };
                let server = Server::in_process(runtime, options, received);
                reactor.block_on(async {
                    if let Err(error) = server.run(async { let _ = stopped.await; }).await {
                        tracing::error!("the in-process server stopped: {error:#}");
                    }
                });
            })
            .context("could not start the thread of the in-process (mem://) server")?;
        Ok(Arc::new(MemoryServer { name: name.to_string(), inbox, _stop: stop }))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to the in-process server.
    pub fn connect(&self) -> io::Result<tokio::net::UnixStream> {
        let (ours, theirs) = UnixStream::pair()?;
        self.inbox.send(theirs).map_err(|_| io::Error::other("the in-process server has stopped"))?;
        ours.set_nonblocking(true)?;
        tokio::net::UnixStream::from_std(ours)
    }
}
