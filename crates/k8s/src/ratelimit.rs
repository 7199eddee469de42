//! `--kubernetes-client-qps` / `--kubernetes-client-burst`: a token bucket in front of every
//! request of the Kubernetes client, as client-go's rate limiter: `burst` requests may go at
//! once, then `qps` per second; a request waits for its token (watches take one when they
//! start). Requests are served in order.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tower_layer::Layer;
use tower_service::Service;

/// A token bucket with an injected clock: pure and testable.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    /// Tokens available at `last`; negative when requests are waiting for future tokens.
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`. `burst` below 1 is taken as 1.
    pub fn new(qps: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            qps,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes a token at `now`; returns how long the caller must wait before using it.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.qps).min(self.burst);
        self.last = self.last.max(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.qps)
        }
    }
}

/// The tower layer for `kube::client::ClientBuilder::with_layer`.
#[derive(Debug, Clone)]
pub struct RateLimitLayer {
    bucket: Arc<Mutex<TokenBucket>>,
}

impl RateLimitLayer {
    /// `qps` must be positive.
    pub fn new(qps: f32, burst: u32) -> Self {
        let bucket = TokenBucket::new(f64::from(qps), burst, Instant::now());
        RateLimitLayer {
            bucket: Arc::new(Mutex::new(bucket)),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;
    fn layer(&self, inner: S) -> RateLimited<S> {
        RateLimited {
            inner,
            bucket: self.bucket.clone(),
            state: State::Idle,
        }
    }
}

enum State {
    /// No token taken for the next request.
    Idle,
    Waiting(Pin<Box<tokio::time::Sleep>>),
    /// A token is held for the next `call`.
    Ready,
}

/// A service whose `poll_ready` waits for a token.
pub struct RateLimited<S> {
    inner: S,
    bucket: Arc<Mutex<TokenBucket>>,
    state: State,
}

impl<S, R> Service<R> for RateLimited<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        if let State::Idle = self.state {
            let wait = match self.bucket.lock() {
                Ok(mut b) => b.reserve(Instant::now()),
                Err(_) => Duration::ZERO,
            };
            self.state = if wait.is_zero() {
                State::Ready
            } else {
                State::Waiting(Box::pin(tokio::time::sleep(wait)))
            };
        }
        if let State::Waiting(sleep) = &mut self.state {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.state = State::Ready;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> S::Future {
        self.state = State::Idle;
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn burst_goes_at_once_then_qps() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 3, t0);
        for _ in 0..3 {
            assert_eq!(b.reserve(t0), Duration::ZERO);
        }
        // The fourth waits one token (100 ms at 10 QPS), the fifth two.
        assert_eq!(b.reserve(t0), 100 * MS);
        assert_eq!(b.reserve(t0), 200 * MS);
    }

    #[test]
    fn tokens_refill_with_time_up_to_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 2, t0);
        b.reserve(t0);
        b.reserve(t0);
        assert_eq!(b.reserve(t0 + 100 * MS), Duration::ZERO, "one token back");
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), Duration::ZERO);
        assert_eq!(b.reserve(later), 100 * MS);
    }

    #[test]
    fn a_zero_burst_still_lets_one_request_through() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1.0, 0, t0);
        assert_eq!(b.reserve(t0), Duration::ZERO);
        assert_eq!(b.reserve(t0), Duration::from_secs(1));
    }
}
