//! A scoped, order-keeping parallel map for the CPU-bound parts of a build (the first build of
//! every root, the translation of every virtual host). The crates above use it too.

/// Below this many items one thread does the work: starting threads would cost more.
pub const PARALLEL_MIN: usize = 64;

/// `items.iter().map(f).collect()`, on up to one thread per core (at most 8), in order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(8);
    if threads < 2 || items.len() < PARALLEL_MIN {
        return items.iter().map(f).collect();
    }
    let per_thread = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per_thread)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(made) => made,
                // The work does not panic; should it, the panic is not swallowed.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<usize> = (0..1000).collect();
        let out = super::map(&items, |i| i * 2);
        assert_eq!(out, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn small_inputs_stay_on_the_calling_thread() {
        let here = std::thread::current().id();
        let items: Vec<usize> = (0..super::PARALLEL_MIN - 1).collect();
        let threads = super::map(&items, |_| std::thread::current().id());
        assert!(threads.iter().all(|t| *t == here));
    }
}
