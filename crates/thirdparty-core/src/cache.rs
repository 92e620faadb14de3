//! [`ExpiringCache`]: a bounded TTL cache with coalesced loads, for the prefilter's
//! configuration caches (Jira metadata, ServiceNow instances) and the settings cache.

use quick_cache::sync::{Cache, EntryAction, EntryResult};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Hit, miss and load counts of an [`ExpiringCache`] since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from a fresh entry (or from a load another caller was running).
    pub hits: u64,
    /// Lookups that had to start a load (absent or expired entry).
    pub misses: u64,
    /// Loads that failed (nothing was cached; the next lookup loads again).
    pub load_errors: u64,
}

#[derive(Clone)]
struct Entry<V> {
    value: V,
    loaded_at: Instant,
}

/// A bounded (LRU-like, `quick_cache`) map whose entries expire `ttl` after they were
/// loaded. Concurrent lookups of a missing or expired key share one load: with `n` callers
/// and one key, the loader runs once.
///
/// Time is tokio's clock, so tests can pause and advance it.
///
/// ```
/// # tokio_test_block_on(async {
/// use thirdparty_core::ExpiringCache;
/// use std::time::Duration;
/// let cache: ExpiringCache<u64, String> = ExpiringCache::new(1_000, Duration::from_secs(300));
/// let v = cache.get_or_load(7, || async { Ok::<_, std::convert::Infallible>("seven".to_owned()) }).await;
/// assert_eq!(v.as_deref(), Ok("seven"));
/// assert_eq!(cache.stats().misses, 1);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_time().build().map(|rt| rt.block_on(f)).unwrap_or_else(|_| std::process::abort())
/// # }
/// ```
pub struct ExpiringCache<K, V> {
    inner: Cache<K, Entry<V>>,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
    load_errors: AtomicU64,
}

impl<K, V> ExpiringCache<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    /// A cache holding at most about `capacity` entries, each fresh for `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            inner: Cache::new(capacity.max(1)),
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            load_errors: AtomicU64::new(0),
        }
    }

    /// The time-to-live of entries.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The fresh value for `key`, loading it with `load` when absent or expired. When the
    /// load fails, nothing is cached and the error is returned; callers waiting on the same
    /// key then run their own load.
    pub async fn get_or_load<F, Fut, E>(&self, key: K, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let ttl = self.ttl;
        let entry = self
            .inner
            .entry_async(&key, |_, e| {
                if e.loaded_at.elapsed() < ttl {
                    EntryAction::Retain(e.value.clone())
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await;
        let guard = match entry {
            EntryResult::Retained(v) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(v);
            }
            EntryResult::Vacant(g) | EntryResult::Replaced(g, _) => g,
            // `entry_async` never times out; treat it as absent to stay total.
            EntryResult::Removed(..) | EntryResult::Timeout => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                return self.load_counted(load).await;
            }
        };
        self.misses.fetch_add(1, Ordering::Relaxed);
        let value = self.load_counted(load).await?;
        let _ = guard.insert(Entry {
            value: value.clone(),
            loaded_at: Instant::now(),
        });
        Ok(value)
    }

    async fn load_counted<F, Fut, E>(&self, load: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let result = load().await;
        if result.is_err() {
            self.load_errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Stores a freshly loaded value (cache warming).
    pub fn insert(&self, key: K, value: V) {
        self.inner.insert(
            key,
            Entry {
                value,
                loaded_at: Instant::now(),
            },
        );
    }

    /// Forgets `key`.
    pub fn invalidate(&self, key: &K) {
        self.inner.remove(key);
    }

    /// Hit, miss and load-error counts.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            load_errors: self.load_errors.load(Ordering::Relaxed),
        }
    }

    /// Number of cached entries (fresh or expired).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_load_and_entries_expire() {
        let cache = Arc::new(ExpiringCache::<u64, u64>::new(
            100,
            Duration::from_secs(300),
        ));
        let loads = Arc::new(AtomicUsize::new(0));
        let answers = crate::testing::spawn_all((0..50).map(|_| {
            let (cache, loads) = (cache.clone(), loads.clone());
            async move {
                cache
                    .get_or_load(1, || async move {
                        loads.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        Ok::<_, ()>(42)
                    })
                    .await
            }
        }))
        .await;
        assert_eq!(answers, vec![Ok(42); 50]);
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "50 concurrent misses, one load"
        );

        tokio::time::advance(Duration::from_secs(299)).await;
        let v = cache.get_or_load(1, || async { Ok::<_, ()>(7) }).await;
        assert_eq!(v, Ok(42), "still fresh before the TTL");

        tokio::time::advance(Duration::from_secs(2)).await;
        let v = cache.get_or_load(1, || async { Ok::<_, ()>(7) }).await;
        assert_eq!(v, Ok(7), "reloaded after the TTL");
        assert_eq!(cache.stats().misses, 2);
    }

    #[tokio::test]
    async fn failed_loads_are_not_cached() {
        let cache = ExpiringCache::<u64, u64>::new(10, Duration::from_secs(60));
        let r = cache
            .get_or_load(1, || async { Err::<u64, _>("down") })
            .await;
        assert_eq!(r, Err("down"));
        let r = cache.get_or_load(1, || async { Ok::<_, &str>(3) }).await;
        assert_eq!(r, Ok(3));
        assert_eq!(cache.stats().load_errors, 1);
    }
}
