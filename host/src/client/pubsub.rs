//! Pub/sub: channels, patterns and shard channels as a stream of messages.
//!
//! A subscriber has a dedicated connection and a task that reads it: each read waits a short
//! while for the next frame and then gives way to the subscriptions asked for meanwhile. When the
//! connection breaks, the task takes a new one and subscribes again to everything (messages
//! published in between are lost, as with any Redis client).
//!
//! Each connection's id (`CLIENT ID`) is learnt before it subscribes and published with a
//! generation that rises whenever the connection is lost or replaced ([`Subscriber::link`]): a near
//! cache redirects its tracking invalidations to that id, and must know when it changes.

use super::dedicated::Dedicated;
use super::{Client, Error, ErrorKind, Value};
use crate::runtime::{CacheErrorKind, Op, Outcome};
use bytes::Bytes;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// How long one read waits for a frame before the task looks for new subscriptions.
const POLL: Duration = Duration::from_millis(100);

/// Messages held for a subscriber that does not take them; past this, reading stops and the
/// server holds them (up to its output limit for pub/sub clients).
const BACKLOG: usize = 4096;

/// One message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub channel: Bytes,
    /// The pattern it matched (`psubscribe`).
    pub pattern: Option<Bytes>,
    pub payload: Bytes,
    /// It came through a shard channel (`ssubscribe`).
    pub sharded: bool,
    /// The payload's elements when it is an array rather than a string: the keys of a
    /// `__redis__:invalidate` message (none for a null payload: a flush).
    pub items: Vec<Bytes>,
}

/// The subscriber's connection as it stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// Rises each time the connection is lost or replaced.
    pub generation: u64,
    /// The connection's `CLIENT ID`; `None` while there is no connection (or the server has no
    /// CLIENT ID).
    pub id: Option<i64>,
}

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn command(self, subscribe: bool) -> &'static [u8] {
        match (self, subscribe) {
            (Kind::Channel, true) => b"SUBSCRIBE",
            (Kind::Pattern, true) => b"PSUBSCRIBE",
            (Kind::Shard, true) => b"SSUBSCRIBE",
            (Kind::Channel, false) => b"UNSUBSCRIBE",
            (Kind::Pattern, false) => b"PUNSUBSCRIBE",
            (Kind::Shard, false) => b"SUNSUBSCRIBE",
        }
    }
}

/// A change asked of the task, answered once the server confirmed it.
struct Change {
    kind: Kind,
    subscribe: bool,
    names: Vec<Vec<u8>>,
    done: oneshot::Sender<Result<(), Error>>,
}

/// A change sent and not yet confirmed: the names whose confirmation is still to come.
struct Pending {
    kind: Kind,
    subscribe: bool,
    names: BTreeSet<Vec<u8>>,
    done: oneshot::Sender<Result<(), Error>>,
}

/// A subscriber; see [`Client::subscriber`]. Dropping it ends its connection.
pub struct Subscriber {
    changes: mpsc::UnboundedSender<Change>,
    messages: mpsc::Receiver<Message>,
    link: watch::Receiver<Link>,
    task: tokio::task::JoinHandle<()>,
}

impl Client {
    /// A subscriber on a connection of its own. Subscribe with [`Subscriber::subscribe`] (and
    /// `psubscribe`, `ssubscribe`), then read with [`Subscriber::next_message`].
    pub async fn subscriber(&self) -> Result<Subscriber, Error> {
        let mut lease = self.dedicated().await?;
        let id = connection_id(&mut lease).await?;
        let (changes, asked) = mpsc::unbounded_channel();
        let (deliver, messages) = mpsc::channel(BACKLOG);
        let (linked, link) = watch::channel(Link { generation: 0, id });
        let reader = Reader { client: self.clone(), lease: Some(lease), asked, deliver, linked, subscribed: BTreeSet::new(), pending: Vec::new() };
        let task = tokio::spawn(reader.run());
        Ok(Subscriber { changes, messages, link, task })
    }
}

impl Subscriber {
    /// Subscribes to channels; returns once the server confirmed each.
    pub async fn subscribe<A: AsRef<[u8]>>(&self, channels: impl IntoIterator<Item = A>) -> Result<(), Error> {
        self.change(Kind::Channel, true, channels).await
    }

    /// Subscribes to the channels matching glob-style patterns.
    pub async fn psubscribe<A: AsRef<[u8]>>(&self, patterns: impl IntoIterator<Item = A>) -> Result<(), Error> {
        self.change(Kind::Pattern, true, patterns).await
    }

    /// Subscribes to shard channels (Redis Cluster's SSUBSCRIBE).
    pub async fn ssubscribe<A: AsRef<[u8]>>(&self, channels: impl IntoIterator<Item = A>) -> Result<(), Error> {
        self.change(Kind::Shard, true, channels).await
    }

    pub async fn unsubscribe<A: AsRef<[u8]>>(&self, channels: impl IntoIterator<Item = A>) -> Result<(), Error> {
        self.change(Kind::Channel, false, channels).await
    }

    pub async fn punsubscribe<A: AsRef<[u8]>>(&self, patterns: impl IntoIterator<Item = A>) -> Result<(), Error> {
        self.change(Kind::Pattern, false, patterns).await
    }

    pub async fn sunsubscribe<A: AsRef<[u8]>>(&self, channels: impl IntoIterator<Item = A>) -> Result<(), Error> {
        self.change(Kind::Shard, false, channels).await
    }

    /// The next message; `None` once the subscriber can no longer read (the client was closed).
    pub async fn next_message(&mut self) -> Option<Message> {
        self.messages.recv().await
    }

    /// The connection's id and generation, updated as it is lost and replaced.
    pub fn link(&self) -> watch::Receiver<Link> {
        self.link.clone()
    }

    async fn change<A: AsRef<[u8]>>(&self, kind: Kind, subscribe: bool, names: impl IntoIterator<Item = A>) -> Result<(), Error> {
        let names = super::owned(names);
        if names.is_empty() {
            return Err(Error::new(ErrorKind::Invalid, "name at least one channel or pattern"));
        }
        let (done, confirmed) = oneshot::channel();
        let gone = || Error::new(ErrorKind::Closed, "the subscriber's connection task ended");
        self.changes.send(Change { kind, subscribe, names, done }).map_err(|_| gone())?;
        confirmed.await.map_err(|_| gone())?
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The task that owns the connection.
struct Reader {
    client: Client,
    lease: Option<Dedicated>,
    asked: mpsc::UnboundedReceiver<Change>,
    deliver: mpsc::Sender<Message>,
    linked: watch::Sender<Link>,
    /// Everything subscribed, to subscribe again on a new connection.
    subscribed: BTreeSet<(Kind, Vec<u8>)>,
    /// Changes sent, waiting for their confirmations: the names not yet confirmed.
    pending: Vec<Pending>,
}

impl Reader {
    async fn run(mut self) {
        let mut pause = Duration::from_millis(50);
        loop {
            if self.deliver.is_closed() {
                return;
            }
            match self.step().await {
                Ok(()) => pause = Duration::from_millis(50),
                Err(error) if error.kind() == ErrorKind::Closed && self.client.is_closed() => return,
                Err(error) => {
                    tracing::debug!("pub/sub connection lost ({error}); subscribing again on a new one");
                    if self.lease.take().is_some() {
                        self.linked.send_modify(|link| *link = Link { generation: link.generation + 1, id: None });
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                    if let Err(error) = self.reconnect().await {
                        tracing::debug!("pub/sub reconnect failed: {error}");
                    }
                }
            }
        }
    }

    /// Sends the changes asked for, then reads one frame if one comes within the poll.
    async fn step(&mut self) -> Result<(), Error> {
        let Some(lease) = self.lease.as_mut() else { return Err(Error::new(ErrorKind::Connection, "no connection")) };
        let mut ops = Vec::new();
        while let Ok(change) = self.asked.try_recv() {
            let command = std::iter::once(change.kind.command(change.subscribe).to_vec()).chain(change.names.iter().cloned());
            ops.push(Op::Send(command.collect()));
            self.pending.push(Pending { kind: change.kind, subscribe: change.subscribe, names: change.names.into_iter().collect(), done: change.done });
        }
        ops.push(Op::Receive);
        let mut replies = lease.receive(ops, POLL).await?;
        match replies.pop() {
            Some(Ok(Outcome::Reply(nodes))) => self.frame(Value::from_nodes(nodes)).await,
            Some(Err(error)) if error.kind == CacheErrorKind::Timeout => Ok(()),
            Some(Err(error)) if error.kind == CacheErrorKind::Server => {
                // The server refused a change (SSUBSCRIBE across slots, say): the oldest waiting.
                if !self.pending.is_empty() {
                    let _ = self.pending.remove(0).done.send(Err(error.into()));
                }
                Ok(())
            }
            Some(Err(error)) => Err(error.into()),
            _ => Err(Error::new(ErrorKind::Protocol, "no frame from the client component")),
        }
    }

    /// A new connection, subscribed to everything the last one was (confirmations arrive as frames).
    async fn reconnect(&mut self) -> Result<(), Error> {
        let mut lease = self.client.dedicated().await?;
        let id = connection_id(&mut lease).await?;
        let mut ops = Vec::new();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            let names: Vec<Vec<u8>> = self.subscribed.iter().filter(|(k, _)| *k == kind).map(|(_, n)| n.clone()).collect();
            if !names.is_empty() {
                ops.push(Op::Send(std::iter::once(kind.command(true).to_vec()).chain(names).collect()));
            }
        }
        // Changes sent on the lost connection and not yet confirmed are sent again.
        for Pending { kind, subscribe, names, .. } in &self.pending {
            ops.push(Op::Send(std::iter::once(kind.command(*subscribe).to_vec()).chain(names.iter().cloned()).collect()));
        }
        if !ops.is_empty() {
            for reply in lease.receive(ops, POLL).await? {
                reply.map_err(Error::from)?;
            }
        }
        self.lease = Some(lease);
        self.linked.send_modify(|link| *link = Link { generation: link.generation + 1, id });
        Ok(())
    }

    /// A message goes to the subscriber; a confirmation settles what it confirms.
    async fn frame(&mut self, frame: Value) -> Result<(), Error> {
        let (Value::Array(parts) | Value::Push(parts)) = frame else { return Ok(()) };
        let text = |i: usize| parts.get(i).and_then(Value::as_bytes).map(Bytes::copy_from_slice);
        let items = |i: usize| match parts.get(i) {
            Some(Value::Array(items) | Value::Set(items)) => items.iter().filter_map(Value::as_bytes).map(Bytes::copy_from_slice).collect(),
            _ => Vec::new(),
        };
        let kind_word = text(0).map(|w| w.to_ascii_lowercase()).unwrap_or_default();
        let message = match kind_word.as_slice() {
            b"message" => Message { channel: text(1).unwrap_or_default(), pattern: None, payload: text(2).unwrap_or_default(), sharded: false, items: items(2) },
            b"smessage" => Message { channel: text(1).unwrap_or_default(), pattern: None, payload: text(2).unwrap_or_default(), sharded: true, items: items(2) },
            b"pmessage" => Message { pattern: text(1), channel: text(2).unwrap_or_default(), payload: text(3).unwrap_or_default(), sharded: false, items: items(3) },
            word => {
                self.confirmed(word, text(1));
                return Ok(());
            }
        };
        // Waiting here stops reading: the server keeps what the subscriber has not taken yet.
        let _ = self.deliver.send(message).await;
        Ok(())
    }

    fn confirmed(&mut self, word: &[u8], name: Option<Bytes>) {
        let (kind, subscribe) = match word {
            b"subscribe" => (Kind::Channel, true),
            b"psubscribe" => (Kind::Pattern, true),
            b"ssubscribe" => (Kind::Shard, true),
            b"unsubscribe" => (Kind::Channel, false),
            b"punsubscribe" => (Kind::Pattern, false),
            b"sunsubscribe" => (Kind::Shard, false),
            _ => return,
        };
        let Some(name) = name else { return };
        let name = name.to_vec();
        if subscribe {
            self.subscribed.insert((kind, name.clone()));
        } else {
            self.subscribed.remove(&(kind, name.clone()));
        }
        if let Some(at) = self.pending.iter().position(|p| p.kind == kind && p.subscribe == subscribe && p.names.contains(&name)) {
            self.pending[at].names.remove(&name);
            if self.pending[at].names.is_empty() {
                let done = self.pending.remove(at).done;
                let _ = done.send(Ok(()));
            }
        }
    }
}

/// The lease's `CLIENT ID`; `None` when the server has no such command. A broken connection is an
/// error.
async fn connection_id(lease: &mut Dedicated) -> Result<Option<i64>, Error> {
    match lease.call(["CLIENT", "ID"]).await {
        Ok(Value::Int(id)) => Ok(Some(id)),
        Ok(_) => Ok(None),
        Err(error) if error.kind() == ErrorKind::Server => Ok(None),
        Err(error) => Err(error),
    }
}
