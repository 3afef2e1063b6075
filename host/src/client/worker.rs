//! The workers behind the shared connections: each takes everything queued, runs it as one batch in
//! its own component instance, and answers each caller.

use super::job_queue::{Enlisted, Job, JobQueue};
use super::{Error, ErrorKind};
use crate::capabilities::streams::Pool;
use crate::runtime::{CacheOptions, ClientInstance, Runtime};
use std::sync::Arc;

/// Takes everything queued and runs it as one batch; ends when the client is closed. A worker
/// whose instance failed makes a fresh one for the next batch.
pub(super) async fn work(queue: Enlisted, runtime: Arc<Runtime>, pool: Pool, options: CacheOptions) {
    let worker = queue.worker();
    let mut instance: Option<ClientInstance> = None;
    let mut callers_last_batch = 0;
    loop {
        let Some(jobs) = next_jobs(&queue, worker, callers_last_batch > 1).await else { return };
        callers_last_batch = jobs.len();
        if instance.is_none() {
            match runtime.instantiate_client(pool.clone(), &options).await {
                Ok(fresh) => instance = Some(fresh),
                Err(error) => {
                    fail_all(jobs, &format!("the client component could not start: {error:#}"));
                    continue;
                }
            }
        }
        let Some(running) = instance.as_mut() else { continue };
        if run_jobs(running, jobs).await.is_err() {
            instance = None;
        }
    }
}

/// Everything queued, up to a batch; `None` once the client is closed and nothing is left.
/// `others_coming` when this worker's last batch answered several callers.
async fn next_jobs(queue: &JobQueue, worker: usize, others_coming: bool) -> Option<Vec<Job>> {
    loop {
        if !queue.wait(worker).await {
            return None;
        }
        if others_coming || queue.busy() {
            // Callers answered by this worker's last batch, or by the last batch any worker took,
            // are queueing their next requests right now: one yield lets them join this batch
            // instead of waiting a round trip for the next one. A lone caller has nobody to wait
            // for, and the yield would cost it a trip through the scheduler (on a multi-threaded
            // runtime, often a wake of another thread).
            tokio::task::yield_now().await;
        }
        let mut jobs = queue.take(worker);
        // A caller that stopped waiting (its response timeout passed) is not sent at all.
        jobs.retain(|job| !job.reply.is_closed());
        if !jobs.is_empty() {
            return Some(jobs);
        }
    }
}

/// Runs the jobs as one batch; `Err` when the instance failed and must be replaced.
async fn run_jobs(instance: &mut ClientInstance, jobs: Vec<Job>) -> Result<(), ()> {
    let mut ops = Vec::new();
    let mut callers = Vec::with_capacity(jobs.len());
    for job in jobs {
        callers.push((job.ops.len(), job.reply));
        ops.extend(job.ops);
    }
    match instance.batch(&ops).await {
        Ok(results) => {
            let mut results = results.into_iter();
            for (count, reply) in callers {
                let _ = reply.send(Ok(results.by_ref().take(count).collect()));
            }
            Ok(())
        }
        Err(error) => {
            tracing::error!("the client component failed: {error:#}");
            let message = format!("the client component failed: {error:#}");
            for (_, reply) in callers {
                let _ = reply.send(Err(Error::new(ErrorKind::Engine, message.clone())));
            }
            Err(())
        }
    }
}

fn fail_all(jobs: Vec<Job>, message: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(Error::new(ErrorKind::Engine, message)));
    }
}
