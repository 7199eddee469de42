//! The incremental translator's memo table: what each keyed translation was given and gave.

use std::collections::HashMap;

/// A translation input and what it gave.
struct Memo<I, O> {
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
    pub(super) fn begin(&mut self) {
        let capacity = self.current.len();
        self.stale = std::mem::replace(&mut self.current, HashMap::with_capacity(capacity));
        self.misses = 0;
    }

    /// The output for `key`: the remembered one when `same` says the input did not change,
    /// otherwise `make`'s. The first use of a key in one translation wins.
    pub(super) fn get(
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

    /// Ends one translation: forgets what was not used; whether anything was added, changed or
    /// removed since the last one.
    pub(super) fn end(&mut self) -> bool {
        let dirty = self.misses > 0 || !self.stale.is_empty();
        self.stale.clear();
        dirty
    }

    pub(super) fn output(&self, key: &str) -> Option<&O> {
        self.current.get(key).map(|m| &m.output)
    }
}
