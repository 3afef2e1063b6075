//! What spreading cachet over several cores would cost per request (docs/SCALING.md): a request
//! handed from the thread that read it to the thread whose engine owns its key, and the reply
//! handed back, each thread running its own single-threaded tokio runtime as `cachet serve` does.

use anyhow::{Context, Result};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// One message to the owning thread: the requests of one turn of a connection's loop.
type Message = (Vec<Vec<u8>>, oneshot::Sender<Vec<Vec<u8>>>);

/// Nanoseconds per request for a round trip to another thread, with `batch` requests per message.
#[derive(Clone, Copy, Debug)]
pub struct Hop {
    pub batch: usize,
    pub ns_per_request: f64,
}

pub fn measure(batch: usize, requests: usize) -> Result<Hop> {
    let (to_owner, mut inbox) = mpsc::channel::<Message>(64);
    let owner = std::thread::spawn(move || -> Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().context("the owner's runtime")?;
        runtime.block_on(async move {
            while let Some((requests, reply)) = inbox.recv().await {
                let _ = reply.send(requests);
            }
        });
        Ok(())
    });
    let runtime = tokio::runtime::Builder::new_current_thread().build().context("the reader's runtime")?;
    let messages = requests.div_ceil(batch);
    let started = Instant::now();
    runtime.block_on(async {
        for _ in 0..messages {
            let requests = vec![b"*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n".to_vec(); batch];
            let (reply, answer) = oneshot::channel();
            to_owner.send((requests, reply)).await.context("the owner thread ended")?;
            std::hint::black_box(answer.await.context("the owner dropped a reply")?);
        }
        anyhow::Ok(())
    })?;
    let elapsed = started.elapsed();
    drop(to_owner);
    owner.join().map_err(|_| anyhow::anyhow!("the owner thread panicked"))??;
    Ok(Hop { batch, ns_per_request: elapsed.as_nanos() as f64 / (messages * batch) as f64 })
}
