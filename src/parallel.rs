//! Work spread over every core: an ordered parallel map on scoped threads.
//!
//! Scans are embarrassingly parallel per catalog and per input file; this is the whole
//! of toolreg's concurrency, so it stays a few lines of std instead of a thread-pool crate.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` over every item, on up to one thread per core, results in input order. Each
/// worker owns a `state` (a cache, say) made by `init`; items are handed out one at a
/// time, so one big item does not leave the other threads idle.
pub fn map<'a, T: Sync, S, R: Send>(
    items: &'a [T],
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &'a T) -> R + Sync,
) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if workers <= 1 {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut state = init();
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else { return done };
            done.push((index, f(&mut state, item)));
        }
    };
    let mut all: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
        // A worker that panicked re-raises here: a bug, never input (input errors are values).
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    all.sort_unstable_by_key(|(index, _)| *index);
    all.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_input_order_and_visits_each_item_once() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map(
            &items,
            || 0u32,
            |seen, x| {
                *seen += 1;
                x * 2
            },
        );
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert!(super::map(&[] as &[u8], || (), |(), x| *x).is_empty());
    }
}
