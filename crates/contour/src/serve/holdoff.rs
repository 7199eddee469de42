//! When to rebuild: upstream's debounce, as a pure state machine.
//!
//! Every relevant event re-arms a 100 ms timer, so a burst builds once, 100 ms after its last
//! event. If more than 500 ms have passed since the last build, the delay is zero: a change after
//! a quiet period is built at once, and a continuous stream of events still builds at least every
//! 500 ms. Nothing is built before the initial load is complete.

use std::time::{Duration, Instant};

pub const HOLDOFF_DELAY: Duration = Duration::from_millis(100);
pub const HOLDOFF_MAX_DELAY: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub struct Holdoff {
    delay: Duration,
    max_delay: Duration,
    last_build: Instant,
    deadline: Option<Instant>,
    synced: bool,
}

impl Holdoff {
    pub fn new(now: Instant) -> Self {
        Holdoff {
            delay: HOLDOFF_DELAY,
            max_delay: HOLDOFF_MAX_DELAY,
            last_build: now,
            deadline: None,
            synced: false,
        }
    }

    /// A change that needs a rebuild arrived.
    pub fn on_change(&mut self, now: Instant) {
        let delay = if now.duration_since(self.last_build) > self.max_delay {
            Duration::ZERO
        } else {
            self.delay
        };
        self.deadline = Some(now + delay);
    }

    /// The initial load is complete: build now.
    pub fn on_synced(&mut self, now: Instant) {
        self.synced = true;
        self.deadline = Some(now);
    }

    /// When the next build is due, if one is pending and the initial load is complete.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.synced)
    }

    /// A build ran.
    pub fn built(&mut self, now: Instant) {
        self.last_build = now;
        self.deadline = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn nothing_before_sync() {
        let t0 = Instant::now();
        let mut h = Holdoff::new(t0);
        h.on_change(t0 + MS);
        assert_eq!(h.deadline(), None);
        h.on_synced(t0 + 2 * MS);
        assert_eq!(h.deadline(), Some(t0 + 2 * MS));
    }

    #[test]
    fn burst_builds_100ms_after_last_event() {
        let t0 = Instant::now();
        let mut h = Holdoff::new(t0);
        h.on_synced(t0);
        h.built(t0);
        h.on_change(t0 + 10 * MS);
        h.on_change(t0 + 50 * MS);
        assert_eq!(h.deadline(), Some(t0 + 150 * MS));
    }

    #[test]
    fn quiet_period_builds_at_once() {
        let t0 = Instant::now();
        let mut h = Holdoff::new(t0);
        h.on_synced(t0);
        h.built(t0);
        h.on_change(t0 + 600 * MS);
        assert_eq!(h.deadline(), Some(t0 + 600 * MS));
    }

    #[test]
    fn continuous_events_forced_after_500ms() {
        let t0 = Instant::now();
        let mut h = Holdoff::new(t0);
        h.on_synced(t0);
        h.built(t0);
        let mut t = t0;
        // An event every 50 ms keeps re-arming the timer until 500 ms have passed.
        for _ in 0..10 {
            t += 50 * MS;
            h.on_change(t);
        }
        assert_eq!(h.deadline(), Some(t + 100 * MS));
        t += 50 * MS;
        h.on_change(t);
        assert_eq!(h.deadline(), Some(t));
    }
}
