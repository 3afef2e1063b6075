//! Single-flight: concurrent `get_or_set_with` calls for one key run the producer once; the others
//! wait for its result.

use super::{Error, ErrorKind};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

type Waiters = Vec<oneshot::Sender<Result<Bytes, Error>>>;

#[derive(Default)]
pub struct Flights {
    running: Mutex<HashMap<Vec<u8>, Waiters>>,
}

enum Role {
    Leader,
    Follower(oneshot::Receiver<Result<Bytes, Error>>),
}

impl Flights {
    /// Runs `work` unless a call for `key` is already running, in which case its result is shared.
    pub async fn run(&self, key: &[u8], work: impl Future<Output = Result<Bytes, Error>>) -> Result<Bytes, Error> {
        let role = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            match running.get_mut(key) {
                Some(waiters) => {
                    let (tx, rx) = oneshot::channel();
                    waiters.push(tx);
                    Role::Follower(rx)
                }
                None => {
                    running.insert(key.to_vec(), Vec::new());
                    Role::Leader
                }
            }
        };
        match role {
            Role::Follower(rx) => rx.await.unwrap_or_else(|_| {
                Err(Error::new(ErrorKind::Producer, "the call producing this value was cancelled; try again"))
            }),
            Role::Leader => {
                // If the leader is dropped mid-way, the guard wakes its followers with an error.
                let guard = Landing { flights: self, key };
                let result = work.await;
                guard.land(&result);
                result
            }
        }
    }
}

struct Landing<'a> {
    flights: &'a Flights,
    key: &'a [u8],
}

impl Landing<'_> {
    fn land(self, result: &Result<Bytes, Error>) {
        for waiter in self.take() {
            let _ = waiter.send(result.clone());
        }
        std::mem::forget(self);
    }

    fn take(&self) -> Waiters {
        let mut running = self.flights.running.lock().unwrap_or_else(|p| p.into_inner());
        running.remove(self.key).unwrap_or_default()
    }
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        // Dropping the senders makes each follower's receive fail: "cancelled".
        drop(self.take());
    }
}
