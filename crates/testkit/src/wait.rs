//! Waiting for something to become true, with a deadline and no fixed sleeps.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::bail;

/// How often [`poll_until`] asks again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Calls `f` every [`POLL_INTERVAL`] until it returns `Some`, and returns that
/// value. `f` is always called at least once, even with a zero timeout.
///
/// # Errors
/// When `timeout` passes first; the message names `what` and the time waited.
pub async fn poll_until<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        if let Some(value) = f().await {
            return Ok(value);
        }
        let now = Instant::now();
        if now >= deadline {
            bail!(
                "timed out waiting for {what}: gave up after {:?} ({attempts} attempts)",
                now - start
            );
        }
        tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_first_some() {
        let mut n = 0;
        let got = poll_until(Duration::from_secs(5), "n to reach 3", || {
            n += 1;
            let v = n;
            async move { (v >= 3).then_some(v) }
        })
        .await
        .unwrap();
        assert_eq!(got, 3);
    }

    #[tokio::test]
    async fn timeout_error_names_what_and_duration() {
        let err = poll_until(Duration::from_millis(50), "the moon", || async {
            None::<()>
        })
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains("the moon"), "{err}");
        assert!(err.contains("gave up after"), "{err}");
    }
}
