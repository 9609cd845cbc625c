//! Work spread over every core: an ordered parallel map on scoped threads, and two jobs
//! side by side.
//!
//! Scans are embarrassingly parallel per catalog and per input file; this is the whole
//! of toolreg's concurrency, so it stays a few lines of std instead of a thread-pool crate.
//! A thread is not free (its stack, and the allocator's first pages for it, cost about
//! what scanning a few dozen tools does), so small work stays on the calling thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// How many threads may run at once: the cores this process may use, read once (the
/// standard library reads cgroup files at every call).
fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` over every item, results in input order, on up to one thread per core and at
/// most one thread per `per_worker` items (1 when each item is a large job, more when
/// items are small). The calling thread is one of the workers. Each worker owns a
/// `state` (a cache, say) made by `init`; items are handed out one at a time, so one
/// big item does not leave the other threads idle.
pub fn map<'a, T: Sync, S, R: Send>(
    items: &'a [T],
    per_worker: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &'a T) -> R + Sync,
) -> Vec<R> {
    let workers = cores().min(items.len() / per_worker.max(1));
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
        let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        // A worker that panicked re-raises here: a bug, never input (input errors are values).
        for handle in handles {
            all.extend(handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    all.sort_unstable_by_key(|(index, _)| *index);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Runs `a` and `b`, on two threads when `worth_a_thread` (and a second core exists),
/// else one after the other on the calling thread.
pub fn join<A: Send, B>(worth_a_thread: bool, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    if !worth_a_thread || cores() < 2 {
        let a = a();
        return (a, b());
    }
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        (a.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), b)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_input_order_and_visits_each_item_once() {
        let items: Vec<u32> = (0..1000).collect();
        for per_worker in [1, 16, 5000] {
            let out = super::map(
                &items,
                per_worker,
                || 0u32,
                |seen, x| {
                    *seen += 1;
                    x * 2
                },
            );
            assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
        assert!(super::map(&[] as &[u8], 1, || (), |(), x| *x).is_empty());
    }

    #[test]
    fn join_returns_both_results_either_way() {
        for threaded in [false, true] {
            assert_eq!(super::join(threaded, || 1, || "two"), (1, "two"));
        }
    }
}
