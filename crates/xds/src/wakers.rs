//! How a stream learns that the snapshot changed, or that the server is closing its streams.
//!
//! Each of Envoy's ~14,000 streams waits for the same two things. With a `watch` receiver per
//! stream, the waiting had to be a future (`changed()`, `wait_for()`), stored between polls in
//! a boxed future of its own: more than the stream's whole protocol state. Here a stream
//! registers its task's waker once, in a slot, and compares a generation number when woken; the
//! store bumps the generation after each published snapshot and wakes every registered stream.
//!
//! Ordering: a stream registers *before* it reads the generation (and the closed flag), and the
//! store publishes the generation *before* it wakes (under the slots' lock), so a change is
//! either seen by that read or followed by a wake-up of the registered waker.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::Waker;

/// The registered streams' wakers and the snapshot generation.
#[derive(Default)]
pub(crate) struct StreamWakers {
    generation: AtomicU64,
    slots: Mutex<slab::Slab<Waker>>,
}

/// A stream's registration; `NONE` until it first waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(usize);

impl Slot {
    pub(crate) const NONE: Slot = Slot(usize::MAX);
}

impl StreamWakers {
    /// The number of snapshots published so far.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Registers `waker` in `slot` (replacing a different one), so that the next
    /// [`Self::wake_all`] wakes it. Stays registered until [`Self::unregister`].
    pub(crate) fn register(&self, slot: &mut Slot, waker: &Waker) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        match slots.get_mut(slot.0) {
            Some(w) if w.will_wake(waker) => {}
            Some(w) => w.clone_from(waker),
            None => *slot = Slot(slots.insert(waker.clone())),
        }
    }

    pub(crate) fn unregister(&self, slot: Slot) {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots.contains(slot.0) {
            slots.remove(slot.0);
        }
    }

    /// Counts a published snapshot, then wakes every registered stream.
    pub(crate) fn published(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.wake_all();
    }

    /// Wakes every registered stream. The wakers are cloned out of the lock so that woken
    /// streams registering again do not wait for the whole round.
    pub(crate) fn wake_all(&self) {
        let wakers: Vec<Waker> = {
            let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.iter().map(|(_, w)| w.clone()).collect()
        };
        for w in wakers {
            w.wake();
        }
    }

    #[cfg(test)]
    pub(crate) fn registered(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Arc::clone(&count), Waker::from(Arc::clone(&count)))
    }

    #[test]
    fn a_registered_stream_is_woken_by_every_publication_until_unregistered() {
        let wakers = StreamWakers::default();
        let (count, waker) = counting();
        let mut slot = Slot::NONE;
        wakers.register(&mut slot, &waker);
        wakers.register(&mut slot, &waker);
        assert_eq!(wakers.registered(), 1, "registering again keeps one slot");
        let before = wakers.generation();
        wakers.published();
        wakers.published();
        assert_eq!(wakers.generation(), before + 2);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        wakers.unregister(slot);
        wakers.published();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert_eq!(wakers.registered(), 0);
    }

    #[test]
    fn a_new_waker_replaces_the_old_one_in_its_slot() {
        let wakers = StreamWakers::default();
        let (old, old_waker) = counting();
        let (new, new_waker) = counting();
        let mut slot = Slot::NONE;
        wakers.register(&mut slot, &old_waker);
        wakers.register(&mut slot, &new_waker);
        wakers.wake_all();
        assert_eq!(old.0.load(Ordering::SeqCst), 0);
        assert_eq!(new.0.load(Ordering::SeqCst), 1);
        assert_eq!(wakers.registered(), 1);
    }
}
