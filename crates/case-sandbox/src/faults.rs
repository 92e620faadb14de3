//! Fault injection: added latency, "fail the next N calls of an RPC", outage windows.

use crate::Rpc;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

named_enum! {
    /// The status an injected fault fails a call with. In memory it maps to the matching
    /// [`thirdparty_core::CaseApiError`]; over gRPC to the status code of the same name.
    pub enum FaultStatus {
        /// `UNAVAILABLE` → [`thirdparty_core::CaseApiError::Unavailable`].
        Unavailable => "UNAVAILABLE",
        /// `DEADLINE_EXCEEDED` → [`thirdparty_core::CaseApiError::Unavailable`].
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        /// `RESOURCE_EXHAUSTED` → [`thirdparty_core::CaseApiError::Unavailable`].
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        /// `INTERNAL` → [`thirdparty_core::CaseApiError::Internal`].
        Internal => "INTERNAL",
        /// `ABORTED` → [`thirdparty_core::CaseApiError::VersionConflict`] on `UpdateCase` (with
        /// `actual: None`), [`thirdparty_core::CaseApiError::Internal`] elsewhere.
        Aborted => "ABORTED",
        /// `INVALID_ARGUMENT` → [`thirdparty_core::CaseApiError::InvalidArgument`].
        InvalidArgument => "INVALID_ARGUMENT",
    }
    all: "Every status, in declaration order.",
    as_str: "The gRPC code name (`UNAVAILABLE`, …).",
    from_name: "The status with this gRPC code name, if any.",
}

/// An injected failure of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InjectedFault {
    pub(crate) status: FaultStatus,
    /// Whether it comes from an outage window (rather than `fail_next`).
    pub(crate) outage: bool,
}

#[derive(Default)]
struct FaultState {
    latency: Duration,
    /// Per RPC, a queue of (status, remaining calls) consumed front first.
    fail_next: BTreeMap<Rpc, VecDeque<(FaultStatus, u64)>>,
    outage_until: Option<Instant>,
}

/// The fault-injection switches of a [`crate::Store`]. Thread-safe; change them while the
/// store (or the gRPC server over it) is serving.
///
/// ```
/// use case_sandbox::{FaultStatus, Rpc, Store};
/// use std::time::Duration;
/// let store = Store::new();
/// store.faults().set_latency(Duration::from_millis(5));
/// store.faults().fail_next(Rpc::GetCase, 2, FaultStatus::Unavailable);
/// assert_eq!(store.faults().pending(Rpc::GetCase), 2);
/// store.faults().clear();
/// assert_eq!(store.faults().pending(Rpc::GetCase), 0);
/// ```
#[derive(Default)]
pub struct Faults {
    state: Mutex<FaultState>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Faults")
            .field("latency", &s.latency)
            .field("fail_next", &s.fail_next)
            .field("outage_until", &s.outage_until)
            .finish()
    }
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `latency` to every call from now on (`Duration::ZERO` turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// The latency added to every call.
    pub fn latency(&self) -> Duration {
        self.lock().latency
    }

    /// Fails the next `n` calls of `rpc` with `status`. Calling it again queues more
    /// failures behind the ones still pending (so `fail_next(r, 2, UNAVAILABLE)` then
    /// `fail_next(r, 1, INTERNAL)` fails three calls in that order).
    pub fn fail_next(&self, rpc: Rpc, n: u64, status: FaultStatus) {
        if n == 0 {
            return;
        }
        self.lock()
            .fail_next
            .entry(rpc)
            .or_default()
            .push_back((status, n));
    }

    /// How many calls of `rpc` are still set to fail by [`Faults::fail_next`].
    pub fn pending(&self, rpc: Rpc) -> u64 {
        self.lock()
            .fail_next
            .get(&rpc)
            .map(|q| q.iter().map(|(_, n)| n).sum())
            .unwrap_or(0)
    }

    /// Every RPC fails `UNAVAILABLE` for `duration` from now.
    pub fn outage(&self, duration: Duration) {
        let now = Instant::now();
        // A duration too large to represent means "for good": cap it at about a century.
        let until = now
            .checked_add(duration)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
            .unwrap_or(now);
        self.outage_until(until);
    }

    /// Every RPC fails `UNAVAILABLE` until `until`.
    pub fn outage_until(&self, until: Instant) {
        self.lock().outage_until = Some(until);
    }

    /// When the current outage ends, if one is set and not over.
    pub fn outage_ends(&self) -> Option<Instant> {
        self.lock()
            .outage_until
            .filter(|until| *until > Instant::now())
    }

    /// Removes every fault: latency, pending failures and the outage window.
    pub fn clear(&self) {
        *self.lock() = FaultState::default();
    }

    /// The fault for one call of `rpc` (consuming one pending failure), if any.
    pub(crate) fn take(&self, rpc: Rpc) -> Option<InjectedFault> {
        let mut s = self.lock();
        if let Some(until) = s.outage_until {
            if Instant::now() < until {
                return Some(InjectedFault {
                    status: FaultStatus::Unavailable,
                    outage: true,
                });
            }
            s.outage_until = None;
        }
        let queue = s.fail_next.get_mut(&rpc)?;
        let front = queue.front_mut()?;
        let status = front.0;
        front.1 = front.1.saturating_sub(1);
        if front.1 == 0 {
            queue.pop_front();
        }
        if queue.is_empty() {
            s.fail_next.remove(&rpc);
        }
        Some(InjectedFault {
            status,
            outage: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_queues_in_order_and_is_per_rpc() {
        let f = Faults::default();
        f.fail_next(Rpc::GetCase, 2, FaultStatus::Unavailable);
        f.fail_next(Rpc::GetCase, 1, FaultStatus::Internal);
        f.fail_next(Rpc::GetCase, 0, FaultStatus::Aborted);
        assert_eq!(f.pending(Rpc::GetCase), 3);
        assert_eq!(f.take(Rpc::UpdateCase), None, "other RPCs unaffected");
        let seen: Vec<_> = (0..4)
            .map(|_| f.take(Rpc::GetCase).map(|x| x.status))
            .collect();
        assert_eq!(
            seen,
            vec![
                Some(FaultStatus::Unavailable),
                Some(FaultStatus::Unavailable),
                Some(FaultStatus::Internal),
                None
            ]
        );
    }

    #[test]
    fn outage_fails_everything_until_it_ends() {
        let f = Faults::default();
        f.outage(Duration::from_secs(3600));
        for rpc in Rpc::ALL {
            let fault = f.take(rpc).unwrap();
            assert_eq!(fault.status, FaultStatus::Unavailable);
            assert!(fault.outage);
        }
        assert!(f.outage_ends().is_some());
        f.outage_until(Instant::now());
        assert_eq!(f.take(Rpc::GetCase), None, "window over");
        assert!(f.outage_ends().is_none());
    }

    #[test]
    fn outage_takes_precedence_and_keeps_pending_failures() {
        let f = Faults::default();
        f.fail_next(Rpc::GetCase, 1, FaultStatus::Internal);
        f.outage(Duration::from_secs(3600));
        assert!(f.take(Rpc::GetCase).unwrap().outage);
        assert_eq!(f.pending(Rpc::GetCase), 1);
        f.clear();
        assert_eq!(f.pending(Rpc::GetCase), 0);
        assert_eq!(f.take(Rpc::GetCase), None);
        assert_eq!(f.latency(), Duration::ZERO);
    }

    #[test]
    fn huge_outage_does_not_overflow() {
        let f = Faults::default();
        f.outage(Duration::MAX);
        assert!(f.take(Rpc::ResolveUser).is_some());
    }

    #[test]
    fn status_names_round_trip() {
        for s in FaultStatus::ALL {
            assert_eq!(FaultStatus::from_name(s.as_str()), Some(s));
        }
        assert_eq!(FaultStatus::from_name("OK"), None);
    }
}
