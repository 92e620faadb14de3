//! [`Backoff`]: full-jitter exponential retry delays, as pure computation.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Exponential backoff with full jitter, bounded by attempts and (optionally) by elapsed time.
///
/// The wait after failed attempt `n` (1-based) is uniformly random in `[0, ceiling(n)]`,
/// where `ceiling(n) = min(max_delay, initial_delay × 2^(n−1))`, saturating. `Backoff` draws
/// no randomness and reads no clock: the caller passes a uniformly random `u64` (for example
/// `rand::random()`) and the time elapsed since the first attempt, so every delay is a pure
/// function of its inputs.
///
/// ```
/// use std::time::Duration;
/// use thirdparty_core::Backoff;
///
/// let backoff = Backoff::new(4, Duration::from_millis(100), Duration::from_millis(250))
///     .with_max_elapsed(Duration::from_secs(1));
/// assert_eq!(backoff.ceiling(1), Duration::from_millis(100));
/// assert_eq!(backoff.ceiling(2), Duration::from_millis(200));
/// assert_eq!(backoff.ceiling(3), Duration::from_millis(250));
/// // Full jitter: the random draw picks a point in [0, ceiling].
/// assert!(backoff.delay(2, 12345) <= Duration::from_millis(200));
/// // Retry after attempt 1 and 3, but not after the 4th (last) attempt…
/// assert!(backoff.next_delay(1, Duration::ZERO, 7).is_some());
/// assert!(backoff.next_delay(3, Duration::ZERO, 7).is_some());
/// assert_eq!(backoff.next_delay(4, Duration::ZERO, 7), None);
/// // …nor once the wait would reach the time budget.
/// assert_eq!(backoff.next_delay(1, Duration::from_secs(1), 7), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in total, the first included (1 = no retry).
    pub max_attempts: u32,
    /// Ceiling of the wait after the first failed attempt.
    pub initial_delay: Duration,
    /// Ceiling of every wait.
    pub max_delay: Duration,
    /// No retry starts when the time since the first attempt plus the wait would reach this;
    /// `None` bounds by attempts only.
    pub max_elapsed: Option<Duration>,
}

impl Backoff {
    /// A backoff bounded by attempts only.
    pub const fn new(max_attempts: u32, initial_delay: Duration, max_delay: Duration) -> Self {
        Self {
            max_attempts,
            initial_delay,
            max_delay,
            max_elapsed: None,
        }
    }

    /// The same backoff, also bounded by `max_elapsed` since the first attempt.
    pub const fn with_max_elapsed(self, max_elapsed: Duration) -> Self {
        Self {
            max_elapsed: Some(max_elapsed),
            ..self
        }
    }

    /// The upper bound of the wait after failed attempt `attempt` (1-based):
    /// `min(max_delay, initial_delay × 2^(attempt−1))`, saturating (never overflows).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1);
        let cap = self.max_delay.as_nanos();
        let scaled = 1u128
            .checked_shl(exponent)
            .and_then(|factor| self.initial_delay.as_nanos().checked_mul(factor));
        let nanos = match scaled {
            Some(n) => n.min(cap),
            None if self.initial_delay.is_zero() => 0,
            None => cap,
        };
        // `nanos` ≤ `max_delay`, so the seconds fit.
        let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
        let subsec = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
        Duration::new(secs, subsec)
    }

    /// The full-jitter wait after failed attempt `attempt`: `random` mapped uniformly onto
    /// `[0, ceiling(attempt)]` (nanosecond resolution).
    pub fn delay(&self, attempt: u32, random: u64) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        let span = u128::from(ceiling) + 1;
        let nanos = u128::from(random) % span;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(ceiling))
    }

    /// The wait before the next attempt after failed attempt `attempt`, or `None` when no
    /// retry is left: `attempt` reached `max_attempts`, or `elapsed` (since the first
    /// attempt) plus the wait reaches `max_elapsed`.
    pub fn next_delay(&self, attempt: u32, elapsed: Duration, random: u64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let wait = self.delay(attempt, random);
        match self.max_elapsed {
            Some(budget) if elapsed.saturating_add(wait) >= budget => None,
            _ => Some(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceilings_double_up_to_the_cap_without_overflow() {
        let b = Backoff::new(10, 100 * MS, 1000 * MS);
        let caps: Vec<u128> = (1..=6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(caps, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(0), 100 * MS, "attempt 0 is treated as the first");
        assert_eq!(b.ceiling(u32::MAX), 1000 * MS);
        let zero = Backoff::new(3, Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.ceiling(200), Duration::ZERO);
        assert_eq!(zero.delay(200, u64::MAX), Duration::ZERO);
    }

    #[test]
    fn jitter_spans_zero_to_the_ceiling() {
        let b = Backoff::new(10, 100 * MS, 1000 * MS);
        assert_eq!(b.delay(1, 0), Duration::ZERO);
        assert_eq!(
            b.delay(1, 100_000_000),
            100 * MS,
            "the ceiling itself is reachable"
        );
        assert_eq!(b.delay(1, 100_000_001), Duration::ZERO, "wraps uniformly");
        let draws: std::collections::BTreeSet<Duration> = (0..50u64)
            .map(|i| b.delay(5, i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        assert!(draws.len() > 40, "distinct draws give distinct delays");
    }

    #[test]
    fn attempts_and_elapsed_time_bound_the_retries() {
        let b = Backoff::new(3, 100 * MS, 100 * MS);
        assert_eq!(
            b.next_delay(2, Duration::from_secs(3600), 1),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(b.next_delay(3, Duration::ZERO, 1), None);
        let budget = b.with_max_elapsed(Duration::from_secs(1));
        assert_eq!(budget.next_delay(1, 900 * MS, 50_000_000), Some(50 * MS));
        assert_eq!(
            budget.next_delay(1, 950 * MS, 50_000_000),
            None,
            "wait reaches the budget"
        );
        assert_eq!(
            Backoff::new(1, MS, MS).next_delay(1, Duration::ZERO, 0),
            None,
            "1 = no retry"
        );
    }

    proptest! {
        #[test]
        fn delays_never_exceed_the_cap(
            initial_ms in 0u64..100_000,
            max_ms in 0u64..1_000_000,
            attempt in 0u32..200,
            random in any::<u64>(),
        ) {
            let b = Backoff::new(u32::MAX, Duration::from_millis(initial_ms), Duration::from_millis(max_ms));
            let delay = b.delay(attempt, random);
            prop_assert!(delay <= b.ceiling(attempt));
            prop_assert!(b.ceiling(attempt) <= b.max_delay);
            prop_assert!(b.ceiling(attempt) <= b.ceiling(attempt.saturating_add(1)), "ceilings never shrink");
            if let Some(wait) = b.next_delay(attempt, Duration::ZERO, random) {
                prop_assert_eq!(wait, delay);
            }
        }
    }
}
