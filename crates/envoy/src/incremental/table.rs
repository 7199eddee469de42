//! The memo table behind [`super::Translator`]: translation inputs and outputs by key, and the
//! translation of the misses of one run on every core.

use foldhash::{HashMap, HashMapExt};

/// A translation input, what it gave, and the translation that last used it (the key is the
/// index's).
struct Slot<I, O> {
    input: I,
    output: O,
    used: u64,
}

/// Entries by key. Each translation marks the entries it uses, and its end drops the others
/// (entries of removed objects) and tells whether anything changed. Entries stay in place:
/// moving 10,000 of them from one map to another each translation cost more than the lookups.
///
/// [`Self::get_many`] first tries, for each item, the entry of the item at the same position
/// last time: with 10,000 hosts of which one changed, that spares hashing and comparing 9,999
/// keys.
pub(super) struct Table<I, O> {
    slots: Vec<Option<Slot<I, O>>>,
    free: Vec<usize>,
    index: HashMap<String, usize>,
    /// The slot of each item of the last [`Self::get_many`], in order.
    last: Vec<usize>,
    /// The current translation.
    generation: u64,
    misses: usize,
}

impl<I, O> Default for Table<I, O> {
    fn default() -> Self {
        Table {
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            last: Vec::new(),
            generation: 0,
            misses: 0,
        }
    }
}

impl<I, O> Table<I, O> {
    /// Starts a translation of about `expected` entries (sized up front: growing a table of
    /// 10,000 entries rehashes it a dozen times).
    pub fn begin(&mut self, expected: usize) {
        self.index
            .reserve(expected.saturating_sub(self.index.len()));
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
        let found = self.index.get(key).copied();
        let reuse = found.filter(|at| {
            let slot = self.slots[*at].as_ref().expect("indexed");
            slot.used == generation || same(&slot.input)
        });
        let at = match reuse {
            Some(at) => at,
            None => {
                self.misses += 1;
                self.put(key, make())
            }
        };
        let slot = self.slots[at].as_mut().expect("indexed");
        slot.used = generation;
        &slot.output
    }

    /// [`Self::get`] for each item in order, except that the outputs of the misses are made
    /// on up to one thread per core. `same` must hold only for inputs of the item's key.
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
        let mut order: Vec<usize> = Vec::with_capacity(items.len());
        // Misses: their positions in `order`, and the distinct items to make.
        let mut missed: Vec<(usize, usize)> = Vec::new();
        let mut todo: Vec<&T> = Vec::new();
        let mut pending: HashMap<&str, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let input = |at: &usize| &self.slots[*at].as_ref().expect("in use").input;
            // The slot at the same position holds another key unless its input is the same.
            let at = self.last.get(i).copied().filter(|at| same(input(at), item));
            let at = at.or_else(|| {
                let k = key(item);
                let at = self
                    .index
                    .get(k)
                    .copied()
                    .filter(|_| !pending.contains_key(k));
                at.filter(|at| {
                    let slot = self.slots[*at].as_ref().expect("in use");
                    slot.used == generation || same(&slot.input, item)
                })
            });
            match at {
                Some(at) => {
                    self.slots[at].as_mut().expect("in use").used = generation;
                    order.push(at);
                }
                None => {
                    let next = todo.len();
                    let made = *pending.entry(key(item)).or_insert(next);
                    if made == next {
                        todo.push(item);
                    }
                    missed.push((order.len(), made));
                    order.push(usize::MAX);
                }
            }
        }
        self.misses += todo.len();
        let made = contour_dag::parallel::map(&todo, |item| make(item));
        let at: Vec<usize> = todo
            .into_iter()
            .zip(made)
            .map(|(item, made)| self.put(key(item), made))
            .collect();
        for (position, made) in missed {
            order[position] = at[made];
        }
        self.last = order;
    }

    /// Stores `made` under `key` for this translation; its slot.
    fn put(&mut self, key: &str, (input, output): (I, O)) -> usize {
        let slot = Slot {
            input,
            output,
            used: self.generation,
        };
        if let Some(&at) = self.index.get(key) {
            self.slots[at] = Some(slot);
            return at;
        }
        let at = match self.free.pop() {
            Some(at) => {
                self.slots[at] = Some(slot);
                at
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.index.insert(key.to_string(), at);
        at
    }

    /// Ends one translation: forgets what was not used; whether anything was added, changed or
    /// removed since the last one.
    pub fn end(&mut self) -> bool {
        let generation = self.generation;
        let slots = &mut self.slots;
        let mut gone = Vec::new();
        self.index.retain(|_, at| {
            let used = slots[*at].as_ref().is_some_and(|s| s.used == generation);
            if !used {
                slots[*at] = None;
                gone.push(*at);
            }
            used
        });
        // In slot order, whatever order the index was walked in.
        gone.sort_unstable();
        let removed = !gone.is_empty();
        self.free.extend(gone);
        self.trim();
        self.misses > 0 || removed
    }

    /// Gives back the room the slots grew into beyond an eighth more than they hold (a table of
    /// 10,000 entries grew to 16,384 slots).
    fn trim(&mut self) {
        let (len, cap) = (self.slots.len(), self.slots.capacity());
        if cap > len + len / 4 {
            self.slots.shrink_to(len + len / 8);
        }
    }

    pub fn output(&self, key: &str) -> Option<&O> {
        let at = self.index.get(key)?;
        self.slots[*at].as_ref().map(|s| &s.output)
    }

    /// The outputs of the items of the last [`Self::get_many`], in order, with the slot of
    /// each (for [`Self::output_at_mut`]).
    pub fn outputs_at(&self) -> impl Iterator<Item = (usize, &O)> {
        self.last
            .iter()
            .filter_map(|at| self.slots[*at].as_ref().map(|s| (*at, &s.output)))
    }

    /// [`Self::output`] with its slot.
    pub fn output_at(&self, key: &str) -> Option<(usize, &O)> {
        let at = *self.index.get(key)?;
        self.slots[at].as_ref().map(|s| (at, &s.output))
    }

    /// The output in slot `at` (from [`Self::outputs_at`] or [`Self::output_at`]).
    pub fn output_in(&self, at: usize) -> Option<&O> {
        self.slots.get(at)?.as_ref().map(|s| &s.output)
    }

    /// [`Self::output_in`], mutably.
    pub fn output_at_mut(&mut self, at: usize) -> Option<&mut O> {
        self.slots.get_mut(at)?.as_mut().map(|s| &mut s.output)
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

    /// One run of `get_many` over `(key, value)` items; whether anything changed, and the
    /// outputs in order.
    fn run(t: &mut Table<(String, u32), String>, items: &[(&str, u32)]) -> (bool, Vec<String>) {
        t.begin(items.len());
        t.get_many(
            items,
            |(k, _)| k,
            |(pk, pv), (k, v)| pk == k && pv == v,
            |(k, v)| ((k.to_string(), *v), format!("{k}={v}")),
        );
        (t.end(), t.outputs_at().map(|(_, o)| o.clone()).collect())
    }

    #[test]
    fn get_many_follows_inserted_removed_and_repeated_items() {
        let mut t = Table::default();
        let first = [("a", 1), ("b", 2), ("c", 3), ("d", 4)];
        assert_eq!(run(&mut t, &first).1, ["a=1", "b=2", "c=3", "d=4"]);
        assert!(!run(&mut t, &first).0, "nothing changed");
        // Shifted positions, a changed value, a repeated key (the first use wins), a removal.
        let second = [("0", 0), ("a", 1), ("b", 5), ("d", 4), ("b", 2), ("a", 9)];
        let (dirty, out) = run(&mut t, &second);
        assert!(dirty);
        assert_eq!(out, ["0=0", "a=1", "b=5", "d=4", "b=5", "a=1"]);
        assert_eq!(t.output("c"), None);
        assert_eq!(run(&mut t, &[("b", 5), ("b", 5)]).1, ["b=5", "b=5"]);
        let (dirty, out) = run(&mut t, &[("b", 5), ("a", 1)]);
        assert!(dirty, "a is new again");
        assert_eq!(out, ["b=5", "a=1"]);
    }
}
