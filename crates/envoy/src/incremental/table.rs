//! The memo table behind [`super::Translator`]: translation inputs and outputs by key, and the
//! translation of the misses of one run on every core.

use std::collections::{HashMap, HashSet};

/// A translation input and what it gave.
pub(super) struct Memo<I, O> {
    input: I,
    output: O,
}

/// Entries by key. Each translation moves the entries it still uses from `stale` to `current`,
/// so entries of removed objects are dropped, and tells whether anything changed.
pub(super) struct Table<I, O> {
    current: HashMap<String, Memo<I, O>>,
    stale: HashMap<String, Memo<I, O>>,
    misses: usize,
}

impl<I, O> Default for Table<I, O> {
    fn default() -> Self {
        Table {
            current: HashMap::new(),
            stale: HashMap::new(),
            misses: 0,
        }
    }
}

impl<I, O> Table<I, O> {
    /// Starts a translation of about `expected` entries (sized up front: growing a table of
    /// 10,000 entries rehashes it a dozen times).
    pub fn begin(&mut self, expected: usize) {
        let capacity = self.current.len().max(expected);
        self.stale = std::mem::replace(&mut self.current, HashMap::with_capacity(capacity));
        self.misses = 0;
    }

    /// The output for `key`: the remembered one when `same` says the input did not change,
    /// otherwise `make`'s. The first use of a key in one translation wins.
    pub fn get(
        &mut self,
        key: &str,
        same: impl FnOnce(&I) -> bool,
        make: impl FnOnce() -> (I, O),
    ) -> &O {
        if !self.current.contains_key(key) {
            let (key, memo) = match self.stale.remove_entry(key) {
                Some((k, m)) if same(&m.input) => (k, m),
                _ => {
                    self.misses += 1;
                    let (input, output) = make();
                    (key.to_string(), Memo { input, output })
                }
            };
            self.current.insert(key, memo);
        }
        &self.current[key].output
    }

    /// [`Self::get`] for each item in order, except that the outputs of the misses are made
    /// on up to one thread per core.
    pub fn get_many<T: Sync>(
        &mut self,
        items: &[T],
        key: impl Fn(&T) -> &str,
        same: impl Fn(&I, &T) -> bool,
        make: impl Fn(&T) -> (I, O) + Sync,
    ) where
        I: Send,
        O: Send,
    {
        let mut todo: Vec<&T> = Vec::new();
        let mut pending: HashSet<&str> = HashSet::new();
        for item in items {
            let k = key(item);
            if self.current.contains_key(k) || pending.contains(k) {
                continue;
            }
            match self.stale.remove_entry(k) {
                Some((k, memo)) if same(&memo.input, item) => _ = self.current.insert(k, memo),
                _ => {
                    pending.insert(k);
                    todo.push(item);
                }
            }
        }
        self.misses += todo.len();
        let made = contour_dag::parallel::map(&todo, |item| make(item));
        for (item, (input, output)) in todo.into_iter().zip(made) {
            self.current
                .insert(key(item).to_string(), Memo { input, output });
        }
    }

    /// Ends one translation: forgets what was not used; whether anything was added, changed or
    /// removed since the last one.
    pub fn end(&mut self) -> bool {
        let dirty = self.misses > 0 || !self.stale.is_empty();
        self.stale.clear();
        dirty
    }

    pub fn output(&self, key: &str) -> Option<&O> {
        self.current.get(key).map(|m| &m.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_many_reuses_same_inputs_and_makes_the_others_once() {
        let mut t: Table<u32, String> = Table::default();
        let items: Vec<(String, u32)> = (0..100).map(|i| (format!("k{}", i % 90), i)).collect();
        t.begin(0);
        t.get_many(
            &items,
            |(k, _)| k,
            |p, (_, v)| p == v,
            |(_, v)| (*v, v.to_string()),
        );
        assert!(t.end());
        // The first use of a key wins.
        assert_eq!(t.output("k5").map(String::as_str), Some("5"));
        t.begin(0);
        let again: Vec<(String, u32)> = (0..90).map(|i| (format!("k{i}"), i)).collect();
        t.get_many(
            &again,
            |(k, _)| k,
            |p, (_, v)| p == v,
            |(_, v)| (*v, v.to_string()),
        );
        assert!(!t.end(), "nothing changed");
    }
}
