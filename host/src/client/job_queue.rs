//! The queue between a client's callers and its workers: callers push jobs, the workers behind the
//! shared connections take them in batches.

use super::{Error, Replies};
use crate::runtime::Op;
use smallvec::SmallVec;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::ops::Deref;
use std::sync::{Arc, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use tokio::sync::{Semaphore, oneshot};

/// One caller's requests: they travel together, in order, on one connection.
pub(super) struct Job {
    pub ops: Ops,
    pub reply: oneshot::Sender<Result<Replies, Error>>,
}

/// A job's requests; most jobs are one request, held inline.
pub(super) type Ops = SmallVec<[Op; 1]>;

/// The jobs waiting for a worker. Idle workers wait on a stack, so the one that finished last takes
/// the next job: a lone caller's requests keep to one worker (its component instance warm in the
/// caches, its connection the one the pool hands back), a batch wakes one task, and the
/// connections of workers left idle age out of the pool. One worker at a time is chosen to take
/// what is queued, and the jobs queued until it does make one batch: workers finishing meanwhile
/// wait their turn rather than each leave with a small batch, which costs more per request.
pub(super) struct JobQueue {
    state: std::sync::Mutex<QueueState>,
    /// A caller waits for room while this many jobs are queued.
    room: Semaphore,
}

struct QueueState {
    jobs: VecDeque<Job>,
    /// Idle workers (by number) and how to wake them, the most recently idle last.
    idle: Vec<(usize, Waker)>,
    /// The worker chosen to take the queued jobs, until it does.
    taker: Option<usize>,
    /// How many jobs the last batch taken had.
    last_batch: usize,
    /// Workers enlisted and not yet gone.
    workers: usize,
    closed: bool,
}

impl QueueState {
    /// The most recently idle worker, now the one to take the queued jobs: its waker.
    fn choose_taker(&mut self) -> Option<Waker> {
        let (worker, waker) = self.idle.pop()?;
        self.taker = Some(worker);
        Some(waker)
    }

    /// Takes `worker` off the idle list and, if it was chosen to take the queued jobs, unchooses it.
    fn withdraw(&mut self, worker: usize) {
        self.idle.retain(|(id, _)| *id != worker);
        if self.taker == Some(worker) {
            self.taker = None;
        }
    }

    /// Whom to wake while no worker is chosen: the worker idle last if jobs are left, or, once the
    /// queue is closed and empty, every idle worker, so that they end.
    fn hand_over(&mut self) -> Vec<Waker> {
        if self.taker.is_some() {
            Vec::new()
        } else if !self.jobs.is_empty() {
            self.choose_taker().into_iter().collect()
        } else if self.closed {
            std::mem::take(&mut self.idle).into_iter().map(|(_, waker)| waker).collect()
        } else {
            Vec::new()
        }
    }
}

impl JobQueue {
    pub fn new(capacity: usize) -> Self {
        let state = QueueState { jobs: VecDeque::new(), idle: Vec::new(), taker: None, last_batch: 0, workers: 0, closed: false };
        JobQueue { state: std::sync::Mutex::new(state), room: Semaphore::new(capacity) }
    }

    /// Queues a job for the next idle worker; gives it back once the queue is closed.
    pub async fn push(&self, job: Job) -> Result<(), Job> {
        match self.room.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return Err(job),
        }
        let idle = {
            let mut state = self.lock();
            if state.closed {
                return Err(job);
            }
            state.jobs.push_back(job);
            if state.taker.is_some() { None } else { state.choose_taker() }
        };
        if let Some(worker) = idle {
            worker.wake();
        }
        Ok(())
    }

    /// Stops taking jobs; the workers finish those queued, then end.
    pub fn close(&self) {
        self.room.close();
        let wake = {
            let mut state = self.lock();
            state.closed = true;
            state.hand_over()
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// Whether the last batch taken answered several callers.
    pub(super) fn busy(&self) -> bool {
        self.lock().last_batch > 1
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Waits until jobs are queued and this worker is the one to take them; `false` once the queue
    /// is closed and empty. A worker `busy` with requests in flight waits behind the idle ones:
    /// jobs go to it only when no idle worker is left, so the load spreads over connections before
    /// requests line up behind others on one.
    pub(super) async fn wait(&self, worker: usize, busy: bool) -> bool {
        poll_fn(|cx| {
            let mut state = self.lock();
            if !state.jobs.is_empty() && state.taker.is_none_or(|taker| taker == worker) {
                state.taker = Some(worker);
                return Poll::Ready(true);
            }
            if state.jobs.is_empty() && state.closed {
                return Poll::Ready(false);
            }
            let waker = cx.waker().clone();
            match state.idle.iter().position(|(id, _)| *id == worker) {
                Some(at) if busy => state.idle[at].1 = waker,
                Some(at) => {
                    state.idle.remove(at);
                    state.idle.push((worker, waker));
                }
                None if busy => state.idle.insert(0, (worker, waker)),
                None => state.idle.push((worker, waker)),
            }
            Poll::Pending
        })
        .await
    }

    /// Everything queued, up to `limit` requests (a job is never split, so one may go past it);
    /// the next idle worker is chosen for what is left.
    pub(super) fn take(&self, worker: usize, limit: usize) -> Vec<Job> {
        let mut jobs = Vec::new();
        let wake = {
            let mut state = self.lock();
            state.idle.retain(|(id, _)| *id != worker);
            let mut size = 0;
            while size < limit
                && let Some(job) = state.jobs.pop_front()
            {
                size += job.ops.len();
                jobs.push(job);
            }
            state.taker = None;
            state.last_batch = jobs.len();
            state.hand_over()
        };
        wake.into_iter().for_each(Waker::wake);
        self.room.add_permits(jobs.len());
        jobs
    }

    /// A worker that cannot take jobs for a while (its connection has as many requests in flight
    /// as it may) is no longer chosen; if it was, another idle worker is.
    pub(super) fn step_aside(&self, worker: usize) {
        let wake = {
            let mut state = self.lock();
            state.withdraw(worker);
            state.hand_over()
        };
        wake.into_iter().for_each(Waker::wake);
    }

    /// Counts a worker in until the returned place is dropped.
    pub(super) fn enlist(self: &Arc<Self>, worker: usize) -> Enlisted {
        self.lock().workers += 1;
        Enlisted { queue: self.clone(), worker }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A worker's place at the queue, dropped with the worker: when it ends, or when the runtime it ran
/// on shut down. With the last worker gone the queue closes and drops what is left, whose callers
/// then learn that the client is closed instead of waiting out their response timeout.
pub(super) struct Enlisted {
    queue: Arc<JobQueue>,
    worker: usize,
}

impl Enlisted {
    pub fn worker(&self) -> usize {
        self.worker
    }
}

impl Deref for Enlisted {
    type Target = JobQueue;

    fn deref(&self) -> &JobQueue {
        &self.queue
    }
}

impl Drop for Enlisted {
    fn drop(&mut self) {
        let (last, left, wake) = {
            let mut state = self.queue.lock();
            state.workers -= 1;
            state.withdraw(self.worker);
            let last = state.workers == 0;
            let left = if last { state.closed = true; std::mem::take(&mut state.jobs) } else { VecDeque::new() };
            (last, left, state.hand_over())
        };
        if last {
            self.queue.room.close();
        }
        wake.into_iter().for_each(Waker::wake);
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake};

    /// The most requests a worker takes at once in these tests.
    const MAX_BATCH: usize = 1024;

    /// Counts how often it was woken.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Polls `worker`'s wait once with a waker of its own: `Some(answer)` if it is over.
    fn poll_wait(queue: &JobQueue, worker: usize, wakes: &Arc<Wakes>) -> Option<bool> {
        let waker = Waker::from(wakes.clone());
        match pin!(queue.wait(worker, false)).poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(answer) => Some(answer),
            Poll::Pending => None,
        }
    }

    fn job(key: &str) -> Job {
        Job { ops: smallvec::smallvec![Op::Get(key.as_bytes().to_vec())], reply: oneshot::channel().0 }
    }

    fn push(queue: &JobQueue, key: &str) -> bool {
        let waker = Waker::noop();
        matches!(pin!(queue.push(job(key))).poll(&mut Context::from_waker(waker)), Poll::Ready(Ok(())))
    }

    fn keys(jobs: &[Job]) -> Vec<Op> {
        jobs.iter().flat_map(|job| job.ops.clone()).collect()
    }

    #[test]
    fn the_worker_idle_last_is_woken_and_the_jobs_queued_until_it_takes_them_make_one_batch() {
        let queue = JobQueue::new(16);
        let (first, last) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        assert_eq!(poll_wait(&queue, 0, &first), None);
        assert_eq!(poll_wait(&queue, 1, &last), None);
        assert!(push(&queue, "a"));
        assert!(push(&queue, "b"));
        assert_eq!((first.0.load(Ordering::SeqCst), last.0.load(Ordering::SeqCst)), (0, 1), "one wake, of the worker idle last");
        // The first worker, polled again (say it finished a batch of its own meanwhile), waits its turn.
        assert_eq!(poll_wait(&queue, 0, &first), None);
        assert_eq!(poll_wait(&queue, 1, &last), Some(true));
        assert_eq!(keys(&queue.take(1, MAX_BATCH)), vec![Op::Get(b"a".to_vec()), Op::Get(b"b".to_vec())]);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn what_one_batch_leaves_goes_to_the_next_idle_worker() {
        let queue = JobQueue::new(2 * MAX_BATCH);
        let (other, taker) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        for n in 0..MAX_BATCH + 1 {
            assert!(push(&queue, &n.to_string()));
        }
        assert_eq!(poll_wait(&queue, 1, &taker), Some(true));
        assert_eq!(poll_wait(&queue, 0, &other), None);
        assert_eq!(queue.take(1, MAX_BATCH).len(), MAX_BATCH);
        assert_eq!(other.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll_wait(&queue, 0, &other), Some(true));
        assert_eq!(keys(&queue.take(0, MAX_BATCH)), vec![Op::Get(MAX_BATCH.to_string().into_bytes())]);
    }

    #[test]
    fn a_closed_queue_refuses_jobs_and_its_workers_finish_what_is_queued_then_end() {
        let queue = JobQueue::new(16);
        let (taker, other) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        assert!(push(&queue, "queued before"));
        queue.close();
        assert!(queue.is_closed());
        assert!(!push(&queue, "after"));
        assert_eq!(poll_wait(&queue, 0, &taker), Some(true));
        assert_eq!(poll_wait(&queue, 1, &other), None, "waits its turn");
        assert_eq!(keys(&queue.take(0, MAX_BATCH)), vec![Op::Get(b"queued before".to_vec())]);
        assert_eq!(other.0.load(Ordering::SeqCst), 1, "woken to end");
        assert_eq!(poll_wait(&queue, 1, &other), Some(false));
        assert_eq!(poll_wait(&queue, 0, &taker), Some(false));
    }

    #[test]
    fn with_the_last_worker_gone_the_queue_closes_and_its_callers_hear_of_it() {
        let queue = Arc::new(JobQueue::new(16));
        let (first, second) = (queue.enlist(0), queue.enlist(1));
        let (reply, mut answer) = oneshot::channel();
        assert!(matches!(pin!(queue.push(Job { ops: Ops::new(), reply })).poll(&mut Context::from_waker(Waker::noop())), Poll::Ready(Ok(()))));
        let wakes = Arc::new(Wakes::default());
        assert_eq!(poll_wait(&queue, 0, &wakes), Some(true), "worker 0 is chosen to take the job");
        assert_eq!(poll_wait(&queue, 1, &wakes), None);
        drop(first);
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1, "the job passes to worker 1");
        assert!(!queue.is_closed());
        drop(second);
        assert!(queue.is_closed());
        assert!(!push(&queue, "after"));
        assert!(answer.try_recv().is_err_and(|e| e == oneshot::error::TryRecvError::Closed), "the caller learns its job was dropped");
    }

    #[test]
    fn a_full_queue_makes_callers_wait_until_a_worker_takes_jobs() {
        let queue = JobQueue::new(1);
        assert!(push(&queue, "a"));
        assert!(!push(&queue, "b"), "no room");
        assert_eq!(queue.take(0, MAX_BATCH).len(), 1);
        assert!(push(&queue, "b"));
    }

    #[test]
    fn a_worker_that_steps_aside_hands_the_jobs_to_another() {
        let queue = JobQueue::new(16);
        let (busy, other) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        assert_eq!(poll_wait(&queue, 0, &other), None);
        assert_eq!(poll_wait(&queue, 1, &busy), None);
        assert!(push(&queue, "a"));
        assert_eq!(busy.0.load(Ordering::SeqCst), 1, "the worker idle last is chosen");
        queue.step_aside(1);
        assert_eq!(other.0.load(Ordering::SeqCst), 1, "and, stepping aside, passes the job on");
        assert_eq!(poll_wait(&queue, 0, &other), Some(true));
        assert_eq!(keys(&queue.take(0, MAX_BATCH)), vec![Op::Get(b"a".to_vec())]);
    }

    #[test]
    fn a_busy_worker_is_chosen_only_when_no_idle_worker_is_left() {
        let queue = JobQueue::new(16);
        let (busy, idle) = (Arc::new(Wakes::default()), Arc::new(Wakes::default()));
        assert_eq!(poll_wait(&queue, 0, &idle), None);
        let waker = Waker::from(busy.clone());
        assert!(pin!(queue.wait(1, true)).poll(&mut Context::from_waker(&waker)).is_pending());
        assert!(push(&queue, "a"));
        assert_eq!((idle.0.load(Ordering::SeqCst), busy.0.load(Ordering::SeqCst)), (1, 0), "the idle worker first");
        assert_eq!(poll_wait(&queue, 0, &idle), Some(true));
        assert_eq!(queue.take(0, MAX_BATCH).len(), 1);
        assert!(push(&queue, "b"));
        assert_eq!(busy.0.load(Ordering::SeqCst), 1, "then the busy one, rather than nobody");
    }
}
