//! `cachet:engine/streams`: pooled connections lent to the component. Handles live in the store's
//! resource table; a stream the component drops without releasing it is closed, never reused.
//!
//! The pools, their connections and where those go are this capability's own: the client makes
//! pools and lends them, the component uses them.

pub mod connection;
mod endpoint;
mod pool;
mod tls;

pub use connection::{Connection, StreamError, StreamErrorKind};
pub use endpoint::{Endpoint, InProcessLink, InProcessServer};
pub use pool::{Pool, PoolOptions, PoolStats, PooledStream};

use super::bindings::cachet::engine::streams as wit;
use std::time::Duration;
use wasmtime::component::Resource;

type Answer<T, E = wit::StreamError> = wasmtime::Result<Result<T, E>>;

impl wit::Host for super::HostState {}

impl super::HostState {
    /// Puts a stream taken from a pool in the table, for the component to use.
    fn lend(&mut self, taken: Result<PooledStream, wit::StreamError>) -> Answer<Resource<PooledStream>> {
        match taken {
            Ok(stream) => Ok(Ok(self.table.push(stream)?)),
            Err(error) => Ok(Err(error)),
        }
    }
}

/// A component's override of the pool's wait for a free stream.
fn wait(timeout_ms: Option<u32>) -> Option<Duration> {
    timeout_ms.map(|ms| Duration::from_millis(u64::from(ms)))
}

impl wit::HostPool for super::HostState {
    async fn acquire(&mut self, pool: Resource<Pool>, timeout_ms: Option<u32>) -> Answer<Resource<PooledStream>> {
        let pool = self.table.get(&pool)?.clone();
        let taken = pool.acquire(wait(timeout_ms)).await;
        self.lend(taken)
    }

    async fn acquire_new(&mut self, pool: Resource<Pool>, timeout_ms: Option<u32>) -> Answer<Resource<PooledStream>> {
        let pool = self.table.get(&pool)?.clone();
        let taken = pool.acquire_new(wait(timeout_ms)).await;
        self.lend(taken)
    }

    fn release(&mut self, _pool: Resource<Pool>, stream: Resource<PooledStream>) -> wasmtime::Result<()> {
        self.table.delete(stream)?.release();
        Ok(())
    }

    fn discard(&mut self, _pool: Resource<Pool>, stream: Resource<PooledStream>) -> wasmtime::Result<()> {
        self.table.delete(stream)?.discard();
        Ok(())
    }

    fn endpoint(&mut self, pool: Resource<Pool>) -> wasmtime::Result<String> {
        Ok(self.table.get(&pool)?.endpoint().to_string())
    }

    fn drop(&mut self, pool: Resource<Pool>) -> wasmtime::Result<()> {
        self.table.delete(pool)?;
        Ok(())
    }
}

impl wit::HostStream for super::HostState {
    async fn read(&mut self, stream: Resource<PooledStream>, max: u32) -> Answer<Vec<u8>> {
        let connection = self.table.get_mut(&stream)?.connection();
        Ok(connection.read(max.max(1) as usize).await)
    }

    async fn read_exact(&mut self, stream: Resource<PooledStream>, n: u32) -> Answer<Vec<u8>> {
        let connection = self.table.get_mut(&stream)?.connection();
        Ok(connection.read_exact(n as usize).await)
    }

    async fn read_until(&mut self, stream: Resource<PooledStream>, separator: Vec<u8>, limit: u32) -> Answer<Vec<u8>> {
        let connection = self.table.get_mut(&stream)?.connection();
        Ok(connection.read_until(&separator, limit as usize).await)
    }

    async fn write(&mut self, stream: Resource<PooledStream>, data: Vec<u8>) -> Answer<()> {
        let connection = self.table.get_mut(&stream)?.connection();
        Ok(connection.write(&data).await)
    }

    async fn drain(&mut self, stream: Resource<PooledStream>) -> Answer<()> {
        let connection = self.table.get_mut(&stream)?.connection();
        Ok(connection.drain().await)
    }

    async fn exchange(&mut self, stream: Resource<PooledStream>, data: Vec<u8>, max: u32) -> Answer<Vec<u8>, wit::ExchangeError> {
        let connection = self.table.get_mut(&stream)?.connection();
        Ok(connection.exchange(&data, max.max(1) as usize).await)
    }

    fn fresh(&mut self, stream: Resource<PooledStream>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&stream)?.is_fresh())
    }

    fn close(&mut self, stream: Resource<PooledStream>) -> wasmtime::Result<()> {
        // The handle stays valid until dropped; closing makes every later read fail.
        self.table.get_mut(&stream)?.connection().close();
        Ok(())
    }

    fn drop(&mut self, stream: Resource<PooledStream>) -> wasmtime::Result<()> {
        self.table.delete(stream)?.discard();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
