//! Waiting for conditions and naming things uniquely.

use crate::error::HarnessError;
use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `condition` every 20 ms until it holds, or fails after `limit` naming `what`.
pub async fn wait_until(
    limit: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> Result<(), HarnessError> {
    poll_until(limit, what, Duration::from_millis(20), || {
        std::future::ready(condition())
    })
    .await
}

/// Polls an async `condition` every 100 ms until it holds, or fails after `limit`.
pub async fn wait_until_async<F, Fut>(
    limit: Duration,
    what: &str,
    condition: F,
) -> Result<(), HarnessError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(limit, what, Duration::from_millis(100), condition).await
}

/// Polls `condition` every `every` until it holds, or fails after `limit` naming `what`.
async fn poll_until<F, Fut>(
    limit: Duration,
    what: &str,
    every: Duration,
    mut condition: F,
) -> Result<(), HarnessError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        if started.elapsed() > limit {
            return Err(HarnessError::Timeout {
                what: what.to_owned(),
                waited: limit,
            });
        }
        tokio::time::sleep(every).await;
    }
    Ok(())
}

/// A unique name for a topic or group in one test process.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
