//! [`Rare`]: a part of a value that almost every value leaves at its default, kept out of line.
//!
//! A DAG route carries its policies (timeouts, retries, header changes, rate limits...), and at
//! 10,000 HTTPProxies almost none of the ~36,000 routes sets any: inline they were more than half
//! of every route's size. `Rare<T>` is one pointer, null while the part is the default; it reads
//! as a `&T` (the shared default when unset) and allocates on the first write.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A type whose default value can be shared by every unset [`Rare`].
pub trait SharedDefault: Default + PartialEq + 'static {
    fn shared_default() -> &'static Self;
}

/// Implements [`SharedDefault`] with one lazily built default per type.
macro_rules! shared_default {
    ($($t:ty),*) => {$(
        impl $crate::rare::SharedDefault for $t {
            fn shared_default() -> &'static Self {
                static DEFAULT: std::sync::LazyLock<$t> = std::sync::LazyLock::new(<$t>::default);
                &DEFAULT
            }
        }
    )*};
}
pub(crate) use shared_default;

/// `T`, boxed only when it differs from its default.
pub struct Rare<T: SharedDefault>(Option<Box<T>>);

impl<T: SharedDefault> Rare<T> {
    /// Whether the part was never set (a set part equal to the default still counts as set).
    #[cfg(test)]
    fn is_unset(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: SharedDefault> Default for Rare<T> {
    fn default() -> Self {
        Rare(None)
    }
}

impl<T: SharedDefault> From<T> for Rare<T> {
    fn from(value: T) -> Self {
        if value == T::default() {
            Rare(None)
        } else {
            Rare(Some(Box::new(value)))
        }
    }
}

impl<T: SharedDefault> Deref for Rare<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(part) => part,
            None => T::shared_default(),
        }
    }
}

impl<T: SharedDefault> DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: SharedDefault + Clone> Clone for Rare<T> {
    fn clone(&self) -> Self {
        Rare(self.0.clone())
    }
}

impl<T: SharedDefault> PartialEq for Rare<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: SharedDefault + Eq> Eq for Rare<T> {}

impl<T: SharedDefault + fmt::Debug> fmt::Debug for Rare<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    struct Part {
        name: String,
    }
    shared_default!(Part);

    #[test]
    fn a_default_part_takes_no_allocation_and_reads_as_the_default() {
        let part: Rare<Part> = Part::default().into();
        assert!(part.is_unset());
        assert_eq!(part.name, "");
        assert_eq!(
            std::mem::size_of::<Rare<Part>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn a_set_part_is_kept_and_compares_by_value() {
        let set: Rare<Part> = Part { name: "x".into() }.into();
        assert!(!set.is_unset());
        assert_eq!(set.name, "x");
        let mut written = Rare::<Part>::default();
        written.name.push('x');
        assert_eq!(written, set);
        written.name.clear();
        assert_eq!(
            written,
            Rare::default(),
            "compared by value, not by being set"
        );
    }
}
