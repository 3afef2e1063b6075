//! The task that runs an engine's background work when the engine's next deadline comes.

use crate::capabilities::Clock;
use std::sync::Arc;
use tokio::sync::Notify;

/// Calls `tick` whenever the deadline `deadline` reports has come, and sleeps in between — for as
/// long as needed while there is none. `moved` wakes it when the deadline moves earlier. Ends when
/// `deadline` answers `None`: the engine is gone.
pub async fn run(
    clock: Clock,
    moved: Arc<Notify>,
    mut deadline: impl FnMut() -> Option<Option<u64>>,
    mut tick: impl FnMut(),
) {
    let mut earliest = 0;
    loop {
        let Some(next) = deadline() else { return };
        if let Some(at) = next
            && at.max(earliest) <= clock.monotonic_ns()
        {
            tick();
            // However the engine answers, the next tick is at least a millisecond away.
            earliest = clock.monotonic_ns() + 1_000_000;
            continue;
        }
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(clock.instant_at(at.max(earliest)))).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            _ = moved.notified() => {}
        }
    }
}
