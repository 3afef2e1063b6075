//! A pipeline: requests collected, then sent in order on one connection in one round trip.

use super::{Client, Error, Request, ToArg, Ttl, Value};

/// See [`Client::pipeline`].
pub struct Pipeline<'a> {
    client: &'a Client,
    requests: Vec<Request>,
}

impl<'a> Pipeline<'a> {
    pub(super) fn new(client: &'a Client) -> Self {
        Pipeline { client, requests: Vec::new() }
    }

    pub fn get(mut self, key: impl AsRef<[u8]>) -> Self {
        self.requests.push(Request::get(key));
        self
    }

    pub fn set(mut self, key: impl AsRef<[u8]>, value: impl ToArg, ttl: impl Into<Ttl>) -> Self {
        self.requests.push(Request::set(key, value, ttl));
        self
    }

    pub fn incr(mut self, key: impl AsRef<[u8]>, by: i64) -> Self {
        self.requests.push(Request::incr(key, by));
        self
    }

    pub fn remove<K: AsRef<[u8]>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.requests.push(Request::remove(keys));
        self
    }

    pub fn call<A: AsRef<[u8]>>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.requests.push(Request::call(args));
        self
    }

    pub fn len(&self) -> usize {
        self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Sends the requests; each has its own result, in the order they were added.
    pub async fn run(self) -> Vec<Result<Value, Error>> {
        self.client.batch(self.requests).await
    }

    /// Sends the requests as one transaction (MULTI/EXEC on a dedicated connection): all run, with
    /// nothing in between, or none. EXEC's replies, in order.
    pub async fn atomic(self) -> Result<Vec<Value>, Error> {
        let mut requests = Some(self.requests);
        self.client
            .transaction(std::iter::empty::<&[u8]>(), async |tx| {
                for request in requests.take().unwrap_or_default() {
                    tx.queue_request(request);
                }
                Ok(())
            })
            .await
    }
}
