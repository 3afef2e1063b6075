//! Stream connections (TCP, Unix sockets, in-process): one loop serves them all, as Redis's does.
//!
//! Each turn reads every connection that became readable, runs everything they sent in **one**
//! call into the engine, and writes the replies. A call into the sandbox has a fixed cost (the
//! arguments and replies cross the boundary); with many busy clients that cost is shared by all of
//! them instead of paid per read, and no task switch happens per connection.
//!
//! The loop learns which connections are ready from per-connection wakers that put the
//! connection's id on a queue: a turn touches only the connections that have something to do, so
//! thousands of idle clients cost nothing but their sockets. Reads go into one buffer shared by
//! the turn; a connection keeps bytes of its own only while a command is incomplete.

use super::Shared;
use crate::runtime::{Input, Output, Peer};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{mpsc, watch};

/// The largest read from one connection in one turn.
const READ_SIZE: usize = 64 * 1024;

/// A turn reads at most this much in all; connections beyond it wait for the next turn.
const TURN_INPUT: usize = 1024 * 1024;

/// Buffers above this size are given back once the command they held is done.
const KEEP_BUFFER: usize = 64 * 1024;

/// A byte stream a client is connected by.
pub trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Stream for T {}

/// A new connection for the loop.
pub type Arrival = (Box<dyn Stream>, Peer);

/// Connections whose socket became ready, filled by their wakers.
#[derive(Default)]
struct ReadyQueue {
    state: Mutex<Queued>,
}

#[derive(Default)]
struct Queued {
    ids: Vec<u64>,
    /// The loop's waker while it waits for work.
    waiting: Option<Waker>,
}

impl ReadyQueue {
    fn push(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.ids.push(id);
        if let Some(waker) = state.waiting.take() {
            waker.wake();
        }
    }

    /// Whether connections are queued for another turn.
    fn is_busy(&self) -> bool {
        !self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).ids.is_empty()
    }

    /// Waits until some connection is ready, and takes them all.
    async fn next(&self) -> Vec<u64> {
        std::future::poll_fn(|cx| {
            let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if state.ids.is_empty() {
                state.waiting = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(std::mem::take(&mut state.ids))
        })
        .await
    }
}

/// Wakes the loop for one connection.
struct ConnectionWaker {
    id: u64,
    queue: Arc<ReadyQueue>,
}

impl Wake for ConnectionWaker {
    fn wake(self: Arc<Self>) {
        self.queue.push(self.id);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.queue.push(self.id);
    }
}

struct Connection {
    stream: Box<dyn Stream>,
    waker: Waker,
    /// Input the engine has not consumed yet (an incomplete command, or the rest after `more`).
    pending: Vec<u8>,
    /// Bytes needed in `pending` before feeding it again is worthwhile.
    wanted: usize,
    /// Replies not written yet, from `written` on; nothing more is read until they are.
    unwritten: Vec<u8>,
    written: usize,
    /// How many unwritten bytes the engine was last told of (see [`report_unsent`]).
    reported: u64,
    /// The engine stopped early with a large reply: feed `pending` again once it is written.
    more: bool,
    /// Where the input fed in this turn is, until the engine's output for it is taken.
    fed: Option<Source>,
    /// Close once `unwritten` is written.
    closing: bool,
    /// The last turn that served the connection, so an id queued twice is served once.
    turn: u64,
}

/// What a turn does with one connection.
enum Step {
    /// Nothing to run: it waits for its socket.
    Wait,
    /// Run the connection's input, found here.
    Feed(Source),
    /// Gone or finished: close it.
    Close,
}

/// Where a connection's input for the engine is.
#[derive(Clone)]
enum Source {
    /// This part of the turn's buffer (what was read this turn).
    Turn(std::ops::Range<usize>),
    /// The connection's own buffer (a command that took several reads, or the rest after `more`).
    Pending,
}

/// Serves every stream connection until `stop` changes. Fails when the engine cannot go on (no
/// fresh instance could replace a faulted one).
pub async fn run(shared: Shared, mut arrivals: mpsc::UnboundedReceiver<Arrival>, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let queue = Arc::new(ReadyQueue::default());
    let pending_ready = shared.supervisor.borrow().pending_ready.clone();
    let mut event_loop =
        EventLoop { shared, queue: queue.clone(), connections: foldhash::HashMap::default(), input: TurnInput::default(), turn: 0 };
    let mut busy = BusyTurns::default();
    let result = loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break Ok(()),
            arrival = arrivals.recv() => match arrival {
                Some((stream, peer)) => event_loop.arrive(stream, peer),
                None => break Ok(()),
            },
            _ = pending_ready.notified() => event_loop.deliver_pending(),
            ready = queue.next() => {
                event_loop.serve(ready);
                if busy.turned(queue.is_busy()) {
                    tokio::task::yield_now().await;
                }
            }
        }
        if let Some(failure) = event_loop.shared.supervisor.borrow_mut().take_failure() {
            break Err(failure);
        }
    };
    event_loop.shut_down();
    result
}

/// How long the loop may turn without a pause before it lets the runtime poll the sockets.
const FAIR_TURNS: Duration = Duration::from_micros(500);

/// Turns run back to back. Connections served in a turn are queued again at once, so a client that
/// never pauses (a pipelined bulk load) keeps the loop turning, and the runtime polls the sockets,
/// waking the other connections, only when the loop yields: a PING waited behind every command of
/// a load of 10,000 SETs, about 10 ms. Yielding after every busy turn, as Redis polls its sockets
/// once per turn, cost a system call per turn and 5 % of the LPUSH/BRPOP job queue's throughput,
/// whose turns are short; yielding once the loop has turned for [`FAIR_TURNS`] without a pause
/// bounds the wait to about that, plus a turn.
#[derive(Default)]
struct BusyTurns {
    since: Option<Instant>,
}

impl BusyTurns {
    /// Notes the end of a turn after which connections are (`busy`) or are not queued; true when
    /// the loop should yield before the next.
    fn turned(&mut self, busy: bool) -> bool {
        if !busy {
            self.since = None;
            return false;
        }
        let now = Instant::now();
        match self.since {
            Some(since) if now.duration_since(since) >= FAIR_TURNS => {
                self.since = None;
                true
            }
            Some(_) => false,
            None => {
                self.since = Some(now);
                false
            }
        }
    }
}

struct EventLoop {
    shared: Shared,
    queue: Arc<ReadyQueue>,
    connections: foldhash::HashMap<u64, Connection>,
    input: TurnInput,
    turn: u64,
}

/// The turn's input: every connection's bytes, one after another. The buffer only grows and is
/// reused from turn to turn, so a read never pays for clearing the memory it reads into.
#[derive(Default)]
struct TurnInput {
    buffer: Vec<u8>,
    len: usize,
}

impl TurnInput {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn len(&self) -> usize {
        self.len
    }

    /// `n` more bytes of room at the end, to be filled and then kept with [`TurnInput::grow`].
    fn room(&mut self, n: usize) -> &mut [u8] {
        if self.buffer.len() < self.len + n {
            self.buffer.resize(self.len + n, 0);
        }
        &mut self.buffer[self.len..self.len + n]
    }

    fn grow(&mut self, n: usize) {
        self.len += n;
    }

    /// Bytes of the buffer, including ones read into [`TurnInput::room`] and not kept.
    fn get(&self, range: std::ops::Range<usize>) -> &[u8] {
        &self.buffer[range]
    }
}

impl EventLoop {
    fn arrive(&mut self, mut stream: Box<dyn Stream>, peer: Peer) {
        let opened = self.shared.supervisor.borrow_mut().open(peer);
        match opened {
            Ok(id) => {
                let waker = Waker::from(Arc::new(ConnectionWaker { id, queue: self.queue.clone() }));
                let connection = Connection {
                    stream,
                    waker,
                    pending: Vec::new(),
                    wanted: 0,
                    unwritten: Vec::new(),
                    written: 0,
                    reported: 0,
                    more: false,
                    fed: None,
                    closing: false,
                    turn: 0,
                };
                self.connections.insert(id, connection);
                self.queue.push(id);
            }
            // A refusal is short: write what the socket takes now, then close.
            Err(refusal) => {
                let waker = Waker::noop();
                let _ = Pin::new(&mut stream).poll_write(&mut Context::from_waker(waker), &refusal);
            }
        }
    }

    /// One turn: read every ready connection, run their input in one engine call, write replies.
    fn serve(&mut self, ready: Vec<u64>) {
        self.turn += 1;
        self.input.clear();
        let mut fed = Vec::new();
        let mut closed = Vec::new();
        for id in ready {
            if self.input.len() + READ_SIZE > TURN_INPUT {
                // The rest waits for the next turn.
                self.queue.push(id);
                continue;
            }
            match self.step(id) {
                Step::Wait => {}
                Step::Feed(source) => {
                    if let Some(conn) = self.connections.get_mut(&id) {
                        conn.fed = Some(source);
                        fed.push(id);
                    }
                }
                Step::Close => closed.push(id),
            }
        }
        if !fed.is_empty() {
            let inputs: Vec<Input<'_>> = fed.iter().map(|id| Input { id: *id, data: self.data(*id) }).collect();
            let outputs = self.shared.supervisor.borrow_mut().feed_all(&inputs);
            for output in outputs {
                if let Some(id) = self.deliver(output) {
                    closed.push(id);
                }
            }
        }
        for id in closed {
            self.close(id);
        }
    }

    /// Flushes a connection's unwritten replies, then reads it, and says what to run.
    fn step(&mut self, id: u64) -> Step {
        let turn = self.turn;
        let Some(conn) = self.connections.get_mut(&id) else { return Step::Wait };
        if conn.turn == turn {
            return Step::Wait;
        }
        conn.turn = turn;
        let flushed = flush(conn);
        report_unsent(&self.shared, id, conn);
        match flushed {
            Ok(true) => {}
            Ok(false) => return Step::Wait,
            Err(_) => return Step::Close,
        }
        if conn.closing {
            return Step::Close;
        }
        if conn.more {
            conn.more = false;
            return Step::Feed(Source::Pending);
        }
        if !conn.pending.is_empty() {
            // Part of a command is here: the rest goes beside it until the whole command is.
            return match read_into_pending(conn) {
                Ok(0) => Step::Wait,
                Ok(_) if conn.pending.len() < conn.wanted => {
                    self.again(id);
                    Step::Wait
                }
                Ok(_) => Step::Feed(Source::Pending),
                Err(_) => Step::Close,
            };
        }
        let start = self.input.len();
        match read(conn, self.input.room(READ_SIZE)) {
            Ok(0) => Step::Wait,
            Ok(n) if n < conn.wanted => {
                conn.pending.extend_from_slice(self.input.get(start..start + n));
                self.again(id);
                Step::Wait
            }
            Ok(n) => {
                self.input.grow(n);
                Step::Feed(Source::Turn(start..self.input.len()))
            }
            Err(_) => Step::Close,
        }
    }

    /// The input fed for a connection this turn.
    fn data(&self, id: u64) -> &[u8] {
        let Some(conn) = self.connections.get(&id) else { return &[] };
        match &conn.fed {
            Some(Source::Turn(range)) => self.input.get(range.clone()),
            Some(Source::Pending) => &conn.pending,
            None => &[],
        }
    }

    /// Takes the engine's output for a connection: keeps the input it did not consume, writes its
    /// bytes. Returns the connection's id when it is to be closed now.
    fn deliver(&mut self, output: Output) -> Option<u64> {
        let id = output.id;
        // Output for a connection this loop does not serve (a UDP sender's) has nowhere to go.
        let conn = self.connections.get_mut(&id)?;
        if let Some(progress) = output.progress {
            let consumed = progress.consumed as usize;
            match conn.fed.take() {
                Some(Source::Turn(range)) => {
                    let data = self.input.get(range);
                    conn.pending.extend_from_slice(&data[consumed.min(data.len())..]);
                }
                Some(Source::Pending) => {
                    conn.pending.drain(..consumed.min(conn.pending.len()));
                }
                None => {}
            }
            if conn.pending.is_empty() && conn.pending.capacity() > KEEP_BUFFER {
                conn.pending = Vec::new();
            }
            conn.wanted = progress.wanted as usize;
            conn.more = progress.more;
        }
        if output.discard_unsent {
            // Over its output buffer limit: what it has not read is dropped, and it is closed now.
            conn.unwritten = Vec::new();
            conn.written = 0;
            return Some(id);
        }
        // The buffer this output's bytes leave behind goes back to the engine's instance for
        // later outputs.
        let emptied = if conn.unwritten.is_empty() {
            conn.written = 0;
            std::mem::replace(&mut conn.unwritten, output.data)
        } else {
            if conn.written >= conn.unwritten.len() / 2 {
                // Only what is left to write is kept, so a client that reads slowly costs what it
                // has not read, not everything since it last caught up.
                conn.unwritten.drain(..conn.written);
                conn.written = 0;
            }
            conn.unwritten.extend_from_slice(&output.data);
            output.data
        };
        self.shared.supervisor.borrow_mut().recycle(emptied);
        conn.closing |= output.close;
        conn.more |= output.resume;
        let flushed = flush(conn);
        report_unsent(&self.shared, id, conn);
        match flushed {
            Ok(true) if conn.closing => Some(id),
            Ok(true) => {
                if output.progress.is_some() || output.resume {
                    self.again(id);
                }
                None
            }
            // The rest is written when the socket wakes the loop.
            Ok(false) => None,
            Err(_) => Some(id),
        }
    }

    /// Serves the connection again next turn. Needed after every read that returned data: only
    /// a read that finds nothing registers the connection's waker with its socket. When nothing
    /// came since, that read costs no system call (a short read told the runtime the socket was
    /// drained).
    fn again(&self, id: u64) {
        self.queue.push(id);
    }

    /// Delivers output made outside this loop's calls (the timer's tick, UDP datagrams, faults).
    fn deliver_pending(&mut self) {
        let outputs = self.shared.supervisor.borrow_mut().take_pending();
        for output in outputs {
            if let Some(id) = self.deliver(output) {
                self.close(id);
            }
        }
    }

    fn close(&mut self, id: u64) {
        if let Some(mut conn) = self.connections.remove(&id) {
            let _ = Pin::new(&mut conn.stream).poll_shutdown(&mut Context::from_waker(Waker::noop()));
        }
        self.shared.supervisor.borrow_mut().close(id);
    }

    /// Stops serving: replies already made get one more chance to be written, then every
    /// connection is closed.
    fn shut_down(&mut self) {
        let ids: Vec<u64> = self.connections.keys().copied().collect();
        for id in ids {
            if let Some(conn) = self.connections.get_mut(&id) {
                let _ = flush(conn);
            }
            self.close(id);
        }
    }
}

/// Tells the engine, with its next call, how much of the connection's output is still unwritten
/// when that changed: the engine closes clients over their output buffer limit.
fn report_unsent(shared: &Shared, id: u64, conn: &mut Connection) {
    let unsent = (conn.unwritten.len() - conn.written) as u64;
    if unsent != conn.reported {
        conn.reported = unsent;
        shared.supervisor.borrow_mut().report_unsent(id, unsent);
    }
}

/// Reads once from the connection into `into`. `Ok(0)` when nothing was there (the connection's
/// waker will tell when something is); end of stream is an error.
fn read(conn: &mut Connection, into: &mut [u8]) -> io::Result<usize> {
    let mut buf = ReadBuf::new(into);
    let polled = Pin::new(&mut conn.stream).poll_read(&mut Context::from_waker(&conn.waker), &mut buf);
    let n = buf.filled().len();
    match polled {
        Poll::Pending => Ok(0),
        Poll::Ready(Ok(())) if n == 0 => Err(io::ErrorKind::UnexpectedEof.into()),
        Poll::Ready(Ok(())) => Ok(n),
        Poll::Ready(Err(error)) => Err(error),
    }
}

/// Reads once onto the end of the connection's incomplete command.
fn read_into_pending(conn: &mut Connection) -> io::Result<usize> {
    let mut pending = std::mem::take(&mut conn.pending);
    let start = pending.len();
    pending.resize(start + READ_SIZE, 0);
    let read = read(conn, &mut pending[start..]);
    pending.truncate(start + *read.as_ref().unwrap_or(&0));
    conn.pending = pending;
    read
}

/// Writes what the connection has unwritten. `Ok(true)` when all of it is written, `Ok(false)`
/// when the socket is full (its waker wakes the loop when it drains).
fn flush(conn: &mut Connection) -> io::Result<bool> {
    let mut cx = Context::from_waker(&conn.waker);
    while conn.written < conn.unwritten.len() {
        match Pin::new(&mut conn.stream).poll_write(&mut cx, &conn.unwritten[conn.written..]) {
            Poll::Ready(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Poll::Ready(Ok(n)) => conn.written += n,
            Poll::Ready(Err(error)) => return Err(error),
            Poll::Pending => return Ok(false),
        }
    }
    // A TLS stream may keep encrypted bytes it could not write yet; a socket has nothing to flush.
    match Pin::new(&mut conn.stream).poll_flush(&mut cx) {
        Poll::Ready(Ok(())) => {}
        Poll::Ready(Err(error)) => return Err(error),
        Poll::Pending => return Ok(false),
    }
    if conn.unwritten.capacity() > KEEP_BUFFER {
        conn.unwritten = Vec::new();
    } else {
        conn.unwritten.clear();
    }
    conn.written = 0;
    Ok(true)
}

/// The loop driven with in-memory streams: no sockets, and every interleaving forced by the test.
/// Connections that arrive together with their input already written are read in one turn, so
/// their input shares one engine call.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{PeerKind, Runtime, RuntimeOptions};
    use crate::server::Supervisor;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::OnceLock;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    fn runtime() -> Arc<Runtime> {
        static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
        RUNTIME.get_or_init(|| Arc::new(Runtime::new(&RuntimeOptions::default()).expect("the component loads"))).clone()
    }

    struct Harness {
        arrivals: mpsc::UnboundedSender<Arrival>,
        stop: watch::Sender<bool>,
        served: tokio::task::JoinHandle<anyhow::Result<()>>,
        #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
        supervisor: Rc<RefCell<Supervisor>>,
    }

    impl Harness {
        fn start() -> Harness {
            Harness::start_with(Vec::new())
        }

        fn start_with(settings: Vec<(String, String)>) -> Harness {
            let supervisor = Supervisor::new(runtime(), settings).expect("an engine");
            let supervisor = Rc::new(RefCell::new(supervisor));
            let shared = Shared { supervisor: supervisor.clone(), tcp_keepalive: 0 };
            let (arrivals, arrived) = mpsc::unbounded_channel();
            let (stop, stopped) = watch::channel(false);
            let served = tokio::task::spawn_local(run(shared, arrived, stopped));
            Harness { arrivals, stop, served, supervisor }
        }

        /// A client whose first bytes are already written when the loop first sees it. `capacity`
        /// is how much either direction of the stream holds before the writer must wait.
        async fn connect(&self, first: &[u8], capacity: usize) -> DuplexStream {
            let (mut client, server) = tokio::io::duplex(capacity);
            client.write_all(first).await.expect("room for the first bytes");
            self.arrive(Box::new(server));
            client
        }

        fn arrive(&self, stream: Box<dyn Stream>) {
            let peer = Peer { kind: PeerKind::Unix, address: "test".into(), local_address: "test".into() };
            self.arrivals.send((stream, peer)).expect("the loop runs");
        }

        async fn stop(self) {
            let _ = self.stop.send(true);
            self.served.await.expect("the loop ends").expect("without a failure");
        }
    }

    /// Reads `n` bytes; a test that waits for a reply that never comes fails instead of hanging.
    async fn read_exactly(client: &mut DuplexStream, n: usize) -> String {
        let mut reply = vec![0; n];
        let read = tokio::time::timeout(std::time::Duration::from_secs(60), client.read_exact(&mut reply)).await;
        read.expect("no reply within a minute").expect("the reply");
        String::from_utf8_lossy(&reply).into_owned()
    }

    fn local<F: Future>(test: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        tokio::task::LocalSet::new().block_on(&rt, test)
    }

    #[test]
    fn a_command_arriving_a_byte_at_a_time_is_answered_once_whole() {
        local(async {
            let harness = Harness::start();
            let mut client = harness.connect(b"", 1024).await;
            for byte in b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n" {
                client.write_all(&[*byte]).await.unwrap();
                tokio::task::yield_now().await;
            }
            assert_eq!(read_exactly(&mut client, 11).await, "$5\r\nhello\r\n");
            harness.stop().await;
        });
    }

    #[test]
    fn many_connections_in_one_turn_each_get_their_own_replies_in_order() {
        local(async {
            let harness = Harness::start();
            let mut clients = Vec::new();
            for c in 0..40 {
                let request: String = (0..10).map(|i| format!("ECHO {c}:{i}\r\n")).collect();
                clients.push(harness.connect(request.as_bytes(), 4096).await);
            }
            for (c, client) in clients.iter_mut().enumerate() {
                let expected: String = (0..10).map(|i| format!("{c}:{i}")).map(|w| format!("${}\r\n{w}\r\n", w.len())).collect();
                assert_eq!(read_exactly(client, expected.len()).await, expected);
            }
            harness.stop().await;
        });
    }

    #[test]
    fn a_reader_that_does_not_read_holds_up_only_itself() {
        local(async {
            let harness = Harness::start();
            let mut writer = harness.connect(format!("SET big {}\r\n", "x".repeat(100_000)).as_bytes(), 200_000).await;
            assert_eq!(read_exactly(&mut writer, 5).await, "+OK\r\n");
            // Its reply is 100 KB; the stream holds 1 KB until the client reads.
            let mut slow = harness.connect(b"GET big\r\nGET big\r\n", 1024).await;
            let mut other = harness.connect(b"PING\r\n", 1024).await;
            assert_eq!(read_exactly(&mut other, 7).await, "+PONG\r\n");
            other.write_all(b"ECHO still\r\n").await.unwrap();
            assert_eq!(read_exactly(&mut other, 11).await, "$5\r\nstill\r\n");
            let reply = read_exactly(&mut slow, 2 * "$100000\r\n\r\n".len() + 200_000).await;
            assert_eq!(reply.matches("$100000\r\n").count(), 2);
            harness.stop().await;
        });
    }

    /// A client that always has more commands: each read gives a buffer full of PINGs, until
    /// `reads` reaches `stop_after`; on its second read it has `other` send a PING (the loop is
    /// turning by then). Its own replies are thrown away.
    struct Flood {
        reads: Rc<std::cell::Cell<usize>>,
        stop_after: usize,
        other: std::os::unix::net::UnixStream,
    }

    impl AsyncRead for Flood {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            let reads = self.reads.get() + 1;
            if reads > self.stop_after {
                return Poll::Pending;
            }
            self.reads.set(reads);
            if reads == 2 {
                use std::io::Write as _;
                (&self.other).write_all(b"PING\r\n")?;
            }
            while buf.remaining() >= 6 {
                buf.put_slice(b"PING\r\n");
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Flood {
        fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(data.len()))
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A socket's readiness reaches the loop only when the runtime polls the sockets, which it
    /// does only when the loop yields; a connection that is never short of input must not keep
    /// the loop from yielding, or every other client waits until it pauses. (The flood's 1,000
    /// turns of 10,000 PINGs each take far longer than `FAIR_TURNS`.)
    #[test]
    fn a_client_that_never_pauses_does_not_keep_the_others_waiting() {
        local(async {
            const FLOOD_READS: usize = 1_000;
            let harness = Harness::start();
            let (client, server) = std::os::unix::net::UnixStream::pair().expect("a socket pair");
            server.set_nonblocking(true).unwrap();
            harness.arrive(Box::new(tokio::net::UnixStream::from_std(server).expect("registered")));
            let reads = Rc::new(std::cell::Cell::new(0));
            let other = client.try_clone().expect("a second handle");
            harness.arrive(Box::new(Flood { reads: reads.clone(), stop_after: FLOOD_READS, other }));
            client.set_nonblocking(true).unwrap();
            let mut client = tokio::net::UnixStream::from_std(client).expect("registered");
            let mut reply = [0; 7];
            let read = tokio::time::timeout(std::time::Duration::from_secs(60), client.read_exact(&mut reply)).await;
            read.expect("a reply within a minute").expect("the reply");
            assert_eq!(&reply, b"+PONG\r\n");
            assert!(reads.get() < FLOOD_READS, "answered only after the flood paused ({} reads of it)", reads.get());
            harness.stop().await;
        });
    }

    #[test]
    fn a_connection_closed_by_another_ones_command_sees_its_stream_end() {
        local(async {
            let harness = Harness::start();
            let mut victim = harness.connect(b"CLIENT ID\r\n", 1024).await;
            assert_eq!(read_exactly(&mut victim, 4).await, ":1\r\n");
            let mut killer = harness.connect(b"CLIENT KILL ID 1\r\n", 1024).await;
            assert_eq!(read_exactly(&mut killer, 4).await, ":1\r\n");
            let mut rest = Vec::new();
            victim.read_to_end(&mut rest).await.expect("the stream ends");
            assert!(rest.is_empty(), "nothing more was written: {rest:?}");
            killer.write_all(b"PING\r\n").await.unwrap();
            assert_eq!(read_exactly(&mut killer, 7).await, "+PONG\r\n");
            harness.stop().await;
        });
    }

    /// A subscriber that reads nothing while a publisher sends far more than its output buffer
    /// limit: the loop reports what it holds unwritten, the engine closes the subscriber, and the
    /// loop drops its output and ends its stream; the publisher's later messages reach nobody.
    #[test]
    fn a_subscriber_over_its_output_buffer_limit_is_closed_and_its_output_dropped() {
        local(async {
            let limits = ("client-output-buffer-limit".to_string(), "pubsub 64kb 0 0".to_string());
            let harness = Harness::start_with(vec![limits]);
            let mut subscriber = harness.connect(b"SUBSCRIBE news\r\n", 1024).await;
            assert_eq!(read_exactly(&mut subscriber, 33).await, "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
            let mut publisher = harness.connect(b"", 64 * 1024).await;
            let publish = format!("PUBLISH news {}\r\n", "m".repeat(10_000));
            let mut heard = 0;
            for _ in 0..40 {
                publisher.write_all(publish.as_bytes()).await.unwrap();
                match read_exactly(&mut publisher, 4).await.as_str() {
                    ":1\r\n" => heard += 1,
                    ":0\r\n" => {}
                    other => panic!("PUBLISH answered {other:?}"),
                }
            }
            assert!((6..=10).contains(&heard), "{heard} messages reached the subscriber before it was closed");
            let mut rest = Vec::new();
            subscriber.read_to_end(&mut rest).await.expect("the subscriber's stream ends");
            assert!(rest.len() <= 1024, "what it had not read was dropped: {} bytes came", rest.len());
            harness.stop().await;
        });
    }

    /// DEBUG PANIC shares its engine call with other clients' input: the fresh engine runs their
    /// input again, and only the culprit is closed.
    #[cfg(feature = "fault-injection")]
    #[test]
    fn a_fault_in_a_shared_call_closes_only_its_culprit() {
        local(async {
            let harness = Harness::start();
            let mut before = harness.connect(b"SELECT 3\r\nECHO a\r\n", 1024).await;
            let mut culprit = harness.connect(b"DEBUG PANIC\r\n", 1024).await;
            let mut after = harness.connect(b"ECHO b\r\nECHO c\r\n", 1024).await;
            assert_eq!(read_exactly(&mut before, 12).await, "+OK\r\n$1\r\na\r\n");
            assert_eq!(read_exactly(&mut after, 14).await, "$1\r\nb\r\n$1\r\nc\r\n");
            let mut reply = String::new();
            culprit.read_to_string(&mut reply).await.expect("the culprit's stream ends");
            assert!(reply.starts_with("-ERR internal error: the engine faulted"), "{reply}");
            assert_eq!(harness.supervisor.borrow().faults(), 1, "one fault, though the input ran twice");
            before.write_all(b"CLIENT INFO\r\n").await.unwrap();
            let mut info = vec![0; 4096];
            let n = before.read(&mut info).await.unwrap();
            assert!(String::from_utf8_lossy(&info[..n]).contains(" db=3 "), "the session survived the fault");
            harness.stop().await;
        });
    }

    /// What a fault loses besides the keyspace: an open transaction and its WATCHes. The
    /// connection and its session (database, protocol) stay.
    #[cfg(feature = "fault-injection")]
    #[test]
    fn a_fault_forgets_transactions_but_keeps_sessions() {
        local(async {
            let harness = Harness::start();
            let mut client = harness.connect(b"SELECT 2\r\nSET k v\r\nWATCH k\r\nMULTI\r\nGET k\r\n", 1024).await;
            assert_eq!(read_exactly(&mut client, 29).await, "+OK\r\n+OK\r\n+OK\r\n+OK\r\n+QUEUED\r\n");
            let mut culprit = harness.connect(b"DEBUG PANIC\r\n", 1024).await;
            let mut reply = String::new();
            culprit.read_to_string(&mut reply).await.expect("the culprit's stream ends");
            assert!(reply.starts_with("-ERR internal error: the engine faulted"), "{reply}");
            client.write_all(b"EXEC\r\nCLIENT INFO\r\n").await.unwrap();
            assert_eq!(read_exactly(&mut client, 25).await, "-ERR EXEC without MULTI\r\n");
            let mut info = vec![0; 4096];
            let n = client.read(&mut info).await.unwrap();
            assert!(String::from_utf8_lossy(&info[..n]).contains(" db=2 "), "the session survived the fault");
            harness.stop().await;
        });
    }

    /// Subscriptions live in the engine: after a fault the subscriber keeps its connection, and
    /// must subscribe again to hear anything.
    #[cfg(feature = "fault-injection")]
    #[test]
    fn a_fault_forgets_subscriptions_but_keeps_the_subscriber() {
        local(async {
            let harness = Harness::start();
            let mut subscriber = harness.connect(b"SUBSCRIBE news\r\n", 1024).await;
            assert_eq!(read_exactly(&mut subscriber, 33).await, "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
            let mut culprit = harness.connect(b"DEBUG PANIC\r\n", 1024).await;
            let mut reply = String::new();
            culprit.read_to_string(&mut reply).await.expect("the culprit's stream ends");
            let mut publisher = harness.connect(b"PUBLISH news lost\r\n", 1024).await;
            assert_eq!(read_exactly(&mut publisher, 4).await, ":0\r\n");
            subscriber.write_all(b"PING\r\n").await.unwrap();
            assert_eq!(read_exactly(&mut subscriber, 7).await, "+PONG\r\n", "the connection stays, out of subscribed mode");
            harness.stop().await;
        });
    }
}
