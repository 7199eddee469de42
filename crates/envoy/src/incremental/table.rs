//! The memo table behind [`super::Translator`]: translation inputs and outputs by key, and the
//! translation of the misses of one run on every core.

use std::collections::{HashMap, HashSet};

/// A translation input, what it gave, and the translation that last used it.
pub(super) struct Memo<I, O> {
    input: I,
    output: O,
    used: u64,
}

/// Entries by key. Each translation marks the entries it uses, and its end drops the others
/// (entries of removed objects) and tells whether anything changed. Entries stay in place:
/// moving 10,000 of them from one map to another each translation cost more than the lookups.
pub(super) struct Table<I, O> {
    entries: HashMap<String, Memo<I, O>>,
    /// The current translation.
    generation: u64,
    misses: usize,
}

impl<I, O> Default for Table<I, O> {
    fn default() -> Self {
        Table {
            entries: HashMap::new(),
            generation: 0,
            misses: 0,
        }
    }
}

impl<I, O> Table<I, O> {
    /// Starts a translation of about `expected` entries (sized up front: growing a table of
    /// 10,000 entries rehashes it a dozen times).
    pub fn begin(&mut self, expected: usize) {
        self.entries
            .reserve(expected.saturating_sub(self.entries.len()));
        self.generation += 1;
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
        let generation = self.generation;
        let reuse = self
            .entries
            .get(key)
            .is_some_and(|m| m.used == generation || same(&m.input));
        if !reuse {
            self.misses += 1;
            let (input, output) = make();
            self.entries.insert(
                key.to_string(),
                Memo {
                    input,
                    output,
                    used: 0,
                },
            );
        }
        let memo = self.entries.get_mut(key).expect("just found or added");
        memo.used = generation;
        &memo.output
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
        let generation = self.generation;
        let mut todo: Vec<&T> = Vec::new();
        let mut pending: HashSet<&str> = HashSet::new();
        for item in items {
            let k = key(item);
            match self.entries.get_mut(k) {
                Some(m) if m.used == generation => {}
                Some(m) if !pending.contains(k) && same(&m.input, item) => m.used = generation,
                _ => {
                    if pending.insert(k) {
                        todo.push(item);
                    }
                }
            }
        }
        self.misses += todo.len();
        let made = contour_dag::parallel::map(&todo, |item| make(item));
        for (item, (input, output)) in todo.into_iter().zip(made) {
            let memo = Memo {
                input,
                output,
                used: generation,
            };
            self.entries.insert(key(item).to_string(), memo);
        }
    }

    /// Ends one translation: forgets what was not used; whether anything was added, changed or
    /// removed since the last one.
    pub fn end(&mut self) -> bool {
        let (generation, before) = (self.generation, self.entries.len());
        self.entries.retain(|_, m| m.used == generation);
        self.misses > 0 || self.entries.len() != before
    }

    pub fn output(&self, key: &str) -> Option<&O> {
        self.entries.get(key).map(|m| &m.output)
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
