//! Per-object revisions and the record of what a piece of a build read, for the incremental
//! build ([`crate::incremental`]): a contribution whose recorded reads all still have the
//! revision they had is reused as it is.
//!
//! Every cache change that can alter an object as the build sees it gives the object a new
//! revision (absent objects have revision 0). Reads are recorded on the building thread only
//! while a recording is active, so the from-scratch build pays one thread-local check per read.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::LazyLock;

use foldhash::HashMap;

use crate::object::Kind;

/// One thing a build read from the cache: an object (`Service`, `Secret`, `HTTPProxy`, present or
/// not) or every TLSCertificateDelegation of a namespace.
///
/// Held as a 128-bit keyed digest of what it names rather than the names: every memo keeps a
/// few of them per host and the revisions one per object, and noting a read allocates nothing.
/// The two SipHash keys are random per process, so names cannot be chosen to collide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Read(u128);

/// The keys of the digests, drawn once per process.
static KEYS: LazyLock<[RandomState; 2]> =
    LazyLock::new(|| [RandomState::new(), RandomState::new()]);

impl Read {
    /// The object `kind ns/name`.
    pub fn object(kind: Kind, ns: &str, name: &str) -> Read {
        Read::digest(&(0u8, kind, ns, name))
    }

    /// Every TLSCertificateDelegation of namespace `ns`.
    pub fn delegations(ns: &str) -> Read {
        Read::digest(&(1u8, ns))
    }

    fn digest(value: &impl Hash) -> Read {
        let [a, b] = &*KEYS;
        Read(u128::from(a.hash_one(value)) << 64 | u128::from(b.hash_one(value)))
    }
}

/// Revisions of objects and of the delegations of each namespace, keyed by the read that sees
/// them.
#[derive(Debug, Default, Clone)]
pub struct Revisions {
    next: u64,
    revs: HashMap<Read, u64>,
}

impl Revisions {
    fn bump(&mut self, read: Read) {
        let rev = self.fresh();
        self.revs.insert(read, rev);
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Records that object `kind ns/name` changed (`present`: whether it now exists).
    pub fn changed(&mut self, kind: Kind, ns: &str, name: &str, present: bool) {
        let read = Read::object(kind, ns, name);
        if present {
            self.bump(read);
        } else {
            // Absent is revision 0: absent → present → absent reads as unchanged, rightly.
            self.revs.remove(&read);
        }
        if kind == Kind::TLSCertificateDelegation {
            self.bump(Read::delegations(ns));
        }
    }

    /// The current revision of what `read` names.
    pub fn of(&self, read: &Read) -> u64 {
        self.revs.get(read).copied().unwrap_or(0)
    }
}

thread_local! {
    static RECORDING: RefCell<Option<Vec<Read>>> = const { RefCell::new(None) };
}

/// Notes a read when a recording is active on this thread.
pub(crate) fn note(read: impl FnOnce() -> Read) {
    RECORDING.with(|r| {
        if let Some(log) = r.borrow_mut().as_mut() {
            log.push(read());
        }
    });
}

/// Runs `f` and returns what it read from the cache (sorted, without duplicates) besides its
/// result. Recordings do not nest.
pub fn recording<T>(f: impl FnOnce() -> T) -> (T, Vec<Read>) {
    let previous = RECORDING.with(|r| r.borrow_mut().replace(Vec::new()));
    let out = f();
    let mut reads = RECORDING
        .with(|r| std::mem::replace(&mut *r.borrow_mut(), previous))
        .unwrap_or_default();
    reads.sort();
    reads.dedup();
    (out, reads)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str) -> Read {
        Read::object(Kind::Service, "ns", name)
    }

    #[test]
    fn revisions_change_with_the_object_and_absence_is_zero() {
        let mut r = Revisions::default();
        assert_eq!(r.of(&svc("a")), 0);
        r.changed(Kind::Service, "ns", "a", true);
        let first = r.of(&svc("a"));
        assert_ne!(first, 0);
        r.changed(Kind::Service, "ns", "a", true);
        assert_ne!(r.of(&svc("a")), first);
        r.changed(Kind::Service, "ns", "a", false);
        assert_eq!(r.of(&svc("a")), 0);
        let d = Read::delegations("ns");
        assert_eq!(r.of(&d), 0);
        r.changed(Kind::TLSCertificateDelegation, "ns", "d", false);
        assert_ne!(r.of(&d), 0, "a removed delegation changes its namespace");
    }

    #[test]
    fn reads_of_different_things_differ() {
        let reads = [
            Read::object(Kind::Service, "ns", "ab"),
            Read::object(Kind::Service, "nsa", "b"),
            Read::object(Kind::Secret, "ns", "ab"),
            Read::delegations("ns"),
            Read::delegations("nsab"),
        ];
        for (i, a) in reads.iter().enumerate() {
            for b in &reads[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(reads[0], Read::object(Kind::Service, "ns", "ab"));
    }

    #[test]
    fn recording_collects_reads_only_inside() {
        note(|| svc("outside"));
        let ((), reads) = recording(|| {
            note(|| svc("b"));
            note(|| svc("a"));
            note(|| svc("b"));
        });
        let mut want = vec![svc("a"), svc("b")];
        want.sort();
        assert_eq!(reads, want);
        let ((), none) = recording(|| ());
        assert!(none.is_empty());
    }
}
