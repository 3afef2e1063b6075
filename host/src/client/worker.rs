//! The workers behind the shared connections. A worker with requests to run takes a connection
//! and keeps it while replies are outstanding, sending what callers queue meanwhile at once
//! instead of after the replies before it (continuous pipelining, up to [`WINDOW`] requests in
//! flight). Its component instance, a conveyor, turns requests into bytes and bytes into
//! results; the worker moves the bytes, and answers each caller.

use super::job_queue::{Enlisted, Job, JobQueue};
use super::{Error, ErrorKind, Replies, Reply};
use crate::capabilities::streams::{Pool, PooledStream, StreamError, StreamErrorKind};
use crate::runtime::{CacheError, CacheErrorKind, CacheOptions, ConveyorInstance, Runtime};
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::sync::Arc;

/// The most requests in flight on one connection; past it, another worker takes new requests.
const WINDOW: usize = 1024;

/// How much to read at once.
const READ_SIZE: usize = 64 * 1024;

/// Takes jobs and runs them, until the client is closed. A worker whose instance failed makes a
/// fresh one for the next jobs.
pub(super) async fn work(queue: Enlisted, runtime: Arc<Runtime>, pool: Pool, options: CacheOptions) {
    let worker = queue.worker();
    let mut instance: Option<ConveyorInstance> = None;
    let mut callers_last_time = 0;
    loop {
        let Some(jobs) = next_jobs(&queue, worker, callers_last_time > 1).await else { return };
        callers_last_time = jobs.len();
        if instance.is_none() {
            match runtime.instantiate_conveyor(&options).await {
                Ok(fresh) => instance = Some(fresh),
                Err(error) => {
                    let error = Error::new(ErrorKind::Engine, format!("the client component could not start: {error:#}"));
                    jobs.into_iter().for_each(|job| drop(job.reply.send(Err(error.clone()))));
                    continue;
                }
            }
        }
        let Some(conveyor) = instance.as_mut() else { continue };
        let mut line = Line { queue: &queue, worker, pool: &pool, retries: options.retries, unsent: VecDeque::new(), in_flight: VecDeque::new(), flying: 0 };
        line.queue_jobs(jobs);
        if let Err(error) = line.run(conveyor).await {
            tracing::error!("the client component failed: {error:#}");
            line.fail_everything(&Error::new(ErrorKind::Engine, format!("the client component failed: {error:#}")));
            instance = None;
        }
    }
}

/// Everything queued, up to a window; `None` once the client is closed and nothing is left.
/// `others_coming` when this worker last answered several callers at once.
async fn next_jobs(queue: &JobQueue, worker: usize, others_coming: bool) -> Option<Vec<Job>> {
    loop {
        if !queue.wait(worker, false).await {
            return None;
        }
        if others_coming || queue.busy() {
            // Callers answered together are queueing their next requests right now: one yield
            // lets them go out together. A lone caller has nobody to wait for, and the yield would
            // cost it a trip through the scheduler (on a multi-threaded runtime, often a wake of
            // another thread).
            tokio::task::yield_now().await;
        }
        let jobs = open_jobs(queue.take(worker, WINDOW));
        if !jobs.is_empty() {
            return Some(jobs);
        }
    }
}

/// A caller that stopped waiting (its response timeout passed) is not sent at all.
fn open_jobs(mut jobs: Vec<Job>) -> Vec<Job> {
    jobs.retain(|job| !job.reply.is_closed());
    jobs
}

/// One caller's job on its way: which of its requests still wait for a result.
struct Pending {
    job: Job,
    results: SmallVec<[Option<Reply>; 1]>,
    /// The positions of the requests sent (or to be sent) whose results are still to come, in
    /// the order they go out; `answered` of them have their result.
    todo: SmallVec<[u32; 1]>,
    answered: usize,
    /// How often its requests were sent again after a connection broke.
    retried: u32,
}

impl Pending {
    fn new(job: Job) -> Self {
        let count = job.ops.len();
        Pending { results: (0..count).map(|_| None).collect(), todo: (0..count as u32).collect(), answered: 0, retried: 0, job }
    }

    fn waiting(&self) -> usize {
        self.todo.len() - self.answered
    }

    /// Takes the next result; true once every request has one.
    fn answer(&mut self, reply: Reply) -> bool {
        if let Some(&at) = self.todo.get(self.answered) {
            self.results[at as usize] = Some(reply);
            self.answered += 1;
        }
        self.waiting() == 0
    }

    /// Answers the caller; a request without a result (never the case unless the component
    /// answered too few) gets `missing`'s error.
    fn finish(self, missing: impl Fn() -> CacheError) {
        let replies: Replies = self.results.into_iter().map(|r| r.unwrap_or_else(|| Err(missing()))).collect();
        let _ = self.job.reply.send(Ok(replies));
    }

    fn fail(self, error: &Error) {
        let _ = self.job.reply.send(Err(error.clone()));
    }
}

/// How a connection's turn ended.
enum Ended {
    /// Nothing is left in flight; the connection goes back to the pool.
    Idle,
    /// The connection broke or timed out with requests in flight.
    Lost(CacheError),
    /// The connection cannot go on and every request sent on it has its answer (the server
    /// refused the set-up, or sent what is not RESP): what was not sent fails with `failed` if
    /// nothing was sent yet (a refused set-up fails every request, as a batch's does).
    Unusable { failed: CacheError, before_any_request: bool },
    /// The connection broke while being set up: no request was sent.
    SetUpLost(CacheError),
}

/// A worker's jobs: those still to send, and those in flight on its connection, in the order they
/// went out.
struct Line<'a> {
    queue: &'a JobQueue,
    worker: usize,
    pool: &'a Pool,
    retries: u32,
    unsent: VecDeque<Pending>,
    in_flight: VecDeque<Pending>,
    /// Requests sent on the connection whose results are still to come.
    flying: usize,
}

impl Line<'_> {
    fn queue_jobs(&mut self, jobs: Vec<Job>) {
        self.unsent.extend(jobs.into_iter().map(Pending::new));
    }

    /// Runs until no job is left: on one connection while it works, on newly opened ones after it
    /// broke. `Err` when the component failed.
    async fn run(&mut self, conveyor: &mut ConveyorInstance) -> anyhow::Result<()> {
        let mut after_break = false;
        while !self.unsent.is_empty() {
            let stream = if after_break { self.pool.acquire_new(None).await } else { self.pool.acquire(None).await };
            let mut stream = match stream {
                Ok(stream) => stream,
                Err(error) => {
                    // The pool has tried to connect as often as it is configured to.
                    self.fail_unsent(&Error::from(error));
                    return Ok(());
                }
            };
            let ended = self.drive(conveyor, &mut stream).await;
            if !matches!(ended, Ok(Ended::Idle)) {
                stream.discard();
            } else {
                stream.release();
            }
            match ended? {
                Ended::Idle => {}
                Ended::Lost(error) => {
                    self.abandon(conveyor, &error).await?;
                    after_break = true;
                }
                Ended::SetUpLost(error) => {
                    self.retry_unsent(&error);
                    after_break = true;
                }
                Ended::Unusable { failed, before_any_request } => {
                    if before_any_request {
                        self.fail_unsent(&Error::from(failed));
                    }
                    after_break = false;
                }
            }
        }
        Ok(())
    }

    /// Sets a fresh connection up, then sends and reads until nothing is in flight, taking the
    /// jobs queued meanwhile.
    async fn drive(&mut self, conveyor: &mut ConveyorInstance, stream: &mut PooledStream) -> anyhow::Result<Ended> {
        let fresh = stream.is_fresh();
        let connection = stream.connection();
        if fresh && let Some(ended) = set_up(conveyor, connection).await? {
            return Ok(ended);
        }
        let mut closed = false;
        loop {
            if let Some(error) = self.send_unsent(conveyor, connection).await? {
                return Ok(Ended::Lost(error));
            }
            if self.in_flight.is_empty() {
                return Ok(Ended::Idle);
            }
            let room = WINDOW.saturating_sub(self.flying);
            if room == 0 {
                self.queue.step_aside(self.worker);
            }
            let (queue, worker) = (self.queue, self.worker);
            let queued = async move { queue.wait(worker, true).await };
            tokio::select! {
                biased;
                read = connection.read(READ_SIZE) => {
                    let data = match read {
                        Ok(data) => data,
                        Err(error) => return Ok(Ended::Lost(stream_failure(error))),
                    };
                    let (results, broken) = conveyor.receive(&data).await?;
                    self.deliver(results);
                    if let Some(failed) = broken {
                        return Ok(Ended::Unusable { failed, before_any_request: false });
                    }
                }
                open = queued, if room > 0 && !closed => match open {
                    true => {
                        let jobs = open_jobs(self.queue.take(self.worker, room));
                        self.queue_jobs(jobs);
                    }
                    false => closed = true,
                },
            }
        }
    }

    /// Sends the jobs waiting to go out, as many as the window has room for (at least one);
    /// `Some` error when the connection broke while sending.
    async fn send_unsent(&mut self, conveyor: &mut ConveyorInstance, connection: &mut crate::capabilities::streams::Connection) -> anyhow::Result<Option<CacheError>> {
        let first = self.in_flight.len();
        let before = self.flying;
        while let Some(next) = self.unsent.front()
            && (self.flying == 0 || self.flying + next.waiting() <= WINDOW)
        {
            let Some(pending) = self.unsent.pop_front() else { break };
            if pending.job.reply.is_closed() {
                continue;
            }
            if pending.waiting() == 0 {
                // A job of no requests (an empty pipeline) is answered without the server.
                pending.finish(no_result);
                continue;
            }
            self.flying += pending.waiting();
            self.in_flight.push_back(pending);
        }
        let count = self.flying - before;
        if count == 0 {
            return Ok(None);
        }
        let added = self.in_flight.range(first..);
        let ops = added.flat_map(|p| p.todo[p.answered..].iter().map(|&at| &p.job.ops[at as usize]));
        conveyor.pack(count, ops);
        let sent = conveyor.send().await?;
        self.deliver(sent.results);
        if sent.bytes.is_empty() {
            return Ok(None);
        }
        let written = match connection.write(&sent.bytes).await {
            Ok(()) => connection.drain().await,
            Err(error) => Err(error),
        };
        Ok(written.err().map(stream_failure))
    }

    /// Gives results to the jobs in flight, in order, and answers those that are complete.
    fn deliver(&mut self, results: Vec<Reply>) {
        for reply in results {
            let Some(front) = self.in_flight.front_mut() else { return };
            self.flying -= 1;
            if front.answer(reply)
                && let Some(done) = self.in_flight.pop_front()
            {
                done.finish(no_result);
            }
        }
    }

    /// After the connection was lost: the conveyor answers what was in flight, and the requests
    /// it may send again go out first on the next connection, while their jobs have retries left.
    async fn abandon(&mut self, conveyor: &mut ConveyorInstance, error: &CacheError) -> anyhow::Result<()> {
        let mut answers = conveyor.abandon(error).await?.into_iter();
        let mut again = Vec::new();
        for mut pending in std::mem::take(&mut self.in_flight) {
            let mut todo = SmallVec::new();
            for &at in &pending.todo[pending.answered..] {
                match answers.next() {
                    Some(Some(reply)) => pending.results[at as usize] = Some(reply),
                    Some(None) => todo.push(at),
                    None => pending.results[at as usize] = Some(Err(error.clone())),
                }
            }
            if todo.is_empty() {
                pending.finish(|| error.clone());
            } else {
                pending.todo = todo;
                pending.answered = 0;
                again.extend(self.retry_or_fail(pending, error));
            }
        }
        self.flying = 0;
        for pending in again.into_iter().rev() {
            self.unsent.push_front(pending);
        }
        Ok(())
    }

    /// After the connection broke while being set up: every job was to go out on it.
    fn retry_unsent(&mut self, error: &CacheError) {
        for pending in std::mem::take(&mut self.unsent) {
            if let Some(kept) = self.retry_or_fail(pending, error) {
                self.unsent.push_back(kept);
            }
        }
    }

    /// A job whose requests are to go out again after a break: counted, or, with no retries
    /// left, answered with `error` for those requests.
    fn retry_or_fail(&self, mut pending: Pending, error: &CacheError) -> Option<Pending> {
        if pending.retried < self.retries {
            pending.retried += 1;
            return Some(pending);
        }
        for &at in &pending.todo[pending.answered..] {
            pending.results[at as usize] = Some(Err(error.clone()));
        }
        pending.finish(|| error.clone());
        None
    }

    fn fail_unsent(&mut self, error: &Error) {
        self.unsent.drain(..).for_each(|pending| pending.fail(error));
    }

    fn fail_everything(&mut self, error: &Error) {
        self.in_flight.drain(..).chain(self.unsent.drain(..)).for_each(|pending| pending.fail(error));
    }
}

/// Sends a fresh connection's set-up and reads its replies; `Some` when the connection cannot be
/// used.
async fn set_up(conveyor: &mut ConveyorInstance, connection: &mut crate::capabilities::streams::Connection) -> anyhow::Result<Option<Ended>> {
    let bytes = conveyor.set_up().await?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let written = match connection.write(&bytes).await {
        Ok(()) => connection.drain().await,
        Err(error) => Err(error),
    };
    if let Err(error) = written {
        conveyor.abandon(&stream_failure(error.clone())).await?;
        return Ok(Some(Ended::SetUpLost(stream_failure(error))));
    }
    while conveyor.setting_up().await? > 0 {
        let data = match connection.read(READ_SIZE).await {
            Ok(data) => data,
            Err(error) => {
                let error = stream_failure(error);
                conveyor.abandon(&error).await?;
                // A set-up that timed out fails the requests, as any timeout does; one that broke
                // leaves them unsent, to go out on another connection.
                return Ok(Some(match error.kind {
                    CacheErrorKind::Timeout => Ended::Unusable { failed: error, before_any_request: true },
                    _ => Ended::SetUpLost(error),
                }));
            }
        };
        if let (_, Some(failed)) = conveyor.receive(&data).await? {
            return Ok(Some(Ended::Unusable { failed, before_any_request: true }));
        }
    }
    Ok(None)
}

/// What a stream's failure means to the requests on it (as the component's batch sees it).
fn stream_failure(error: StreamError) -> CacheError {
    let kind = match error.kind {
        StreamErrorKind::Timeout => CacheErrorKind::Timeout,
        StreamErrorKind::Exhausted => CacheErrorKind::Exhausted,
        StreamErrorKind::Unsupported => CacheErrorKind::Invalid,
        _ => CacheErrorKind::Connection,
    };
    CacheError { kind, message: error.message }
}

fn no_result() -> CacheError {
    CacheError { kind: CacheErrorKind::Protocol, message: "the client component gave no result for this request".into() }
}
