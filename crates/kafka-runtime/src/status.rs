//! [`ConsumerStatus`]: what health checks and metrics need to know about a running
//! consumer, readable from any thread at any time; [`RunSummary`]: what a run did.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A topic partition.
pub type TopicPartition = (String, i32);

#[derive(Debug, Default)]
struct Shared {
    assignment: BTreeSet<TopicPartition>,
    in_flight: BTreeMap<TopicPartition, usize>,
    held: BTreeMap<TopicPartition, usize>,
    lag: BTreeMap<TopicPartition, i64>,
    stored: BTreeMap<TopicPartition, i64>,
    last_poll: Option<Instant>,
    last_progress: Option<Instant>,
}

#[derive(Debug, Default)]
struct Inner {
    shared: Mutex<Shared>,
    joined_group: AtomicBool,
    brokers_down: AtomicBool,
    running: AtomicBool,
    handled: AtomicU64,
    skipped: AtomicU64,
    retries: AtomicU64,
    dead_lettered: AtomicU64,
    dead_letter_waiting: AtomicU64,
    rebalances: AtomicU64,
    drain_deadlines_exceeded: AtomicU64,
    commit_failures: AtomicU64,
    pauses: AtomicU64,
}

/// A live view of one consumer, cheap to clone (one shared state). Get it from
/// [`crate::KafkaRuntime::status`] before calling `run`.
#[derive(Debug, Clone, Default)]
pub struct ConsumerStatus {
    inner: Arc<Inner>,
}

/// A copy of a [`ConsumerStatus`] at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusSnapshot {
    /// Whether `run` is between start and return.
    pub running: bool,
    /// Whether the consumer has joined its group (received its first assignment).
    pub joined_group: bool,
    /// Whether no broker connection was up at the latest librdkafka statistics (or
    /// librdkafka reported all brokers down since): readiness must be false then.
    pub brokers_down: bool,
    /// Partitions assigned now.
    pub assignment: BTreeSet<TopicPartition>,
    /// Messages being handled now, all partitions.
    pub in_flight: usize,
    /// Messages held now (in flight or waiting behind a busy key), all partitions.
    pub held: usize,
    /// Consumer lag per partition from the latest librdkafka statistics (absent when
    /// librdkafka did not know it yet).
    pub lag: BTreeMap<TopicPartition, i64>,
    /// Last stored watermark (next offset to read) per partition this consumer handled.
    pub stored_offsets: BTreeMap<TopicPartition, i64>,
    /// Time since librdkafka last delivered a message or statistics to the runtime
    /// (statistics arrive every `statistics_interval`, so an idle but healthy consumer
    /// stays below that interval).
    pub since_last_poll: Option<Duration>,
    /// Time since a message was last received or finished.
    pub since_last_progress: Option<Duration>,
    /// Messages handled and acknowledged (skip-listed ones excluded).
    pub messages_handled: u64,
    /// Skip-listed messages acknowledged without handling.
    pub messages_skipped: u64,
    /// Messages parked in the dead-letter topic (the broker acknowledged them).
    pub messages_dead_lettered: u64,
    /// Messages waiting now for the dead-letter topic to accept them (a produce failed and
    /// is retried): readiness must be false then, their partitions do not progress.
    pub dead_letter_waiting: u64,
    /// Retry attempts made.
    pub retries: u64,
    /// Rebalances seen (assign and revoke events).
    pub rebalances: u64,
    /// Drain deadlines that passed with work in flight.
    pub drain_deadlines_exceeded: u64,
    /// Offset commits that failed.
    pub commit_failures: u64,
    /// Times a partition was paused because its queue was full (backpressure).
    pub partition_pauses: u64,
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ConsumerStatus {
    /// A fresh status (nothing assigned, not running).
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every field.
    pub fn snapshot(&self) -> StatusSnapshot {
        let now = Instant::now();
        let s = lock(&self.inner.shared);
        StatusSnapshot {
            running: self.inner.running.load(Ordering::Relaxed),
            joined_group: self.inner.joined_group.load(Ordering::Relaxed),
            brokers_down: self.inner.brokers_down.load(Ordering::Relaxed),
            assignment: s.assignment.clone(),
            in_flight: s.in_flight.values().sum(),
            held: s.held.values().sum(),
            lag: s.lag.clone(),
            stored_offsets: s.stored.clone(),
            since_last_poll: s.last_poll.map(|t| now.saturating_duration_since(t)),
            since_last_progress: s.last_progress.map(|t| now.saturating_duration_since(t)),
            messages_handled: self.inner.handled.load(Ordering::Relaxed),
            messages_skipped: self.inner.skipped.load(Ordering::Relaxed),
            messages_dead_lettered: self.inner.dead_lettered.load(Ordering::Relaxed),
            dead_letter_waiting: self.inner.dead_letter_waiting.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
            rebalances: self.inner.rebalances.load(Ordering::Relaxed),
            drain_deadlines_exceeded: self.inner.drain_deadlines_exceeded.load(Ordering::Relaxed),
            commit_failures: self.inner.commit_failures.load(Ordering::Relaxed),
            partition_pauses: self.inner.pauses.load(Ordering::Relaxed),
        }
    }

    /// Whether no broker connection is up (see [`StatusSnapshot::brokers_down`]).
    pub fn brokers_down(&self) -> bool {
        self.inner.brokers_down.load(Ordering::Relaxed)
    }

    pub(crate) fn set_brokers_down(&self, down: bool) {
        self.inner.brokers_down.store(down, Ordering::Relaxed);
    }

    /// Partitions assigned now.
    pub fn assignment(&self) -> BTreeSet<TopicPartition> {
        lock(&self.inner.shared).assignment.clone()
    }

    /// Messages being handled now.
    pub fn in_flight(&self) -> usize {
        lock(&self.inner.shared).in_flight.values().sum()
    }

    /// Messages handled and acknowledged so far.
    pub fn messages_handled(&self) -> u64 {
        self.inner.handled.load(Ordering::Relaxed)
    }

    /// Skip-listed messages so far.
    pub fn messages_skipped(&self) -> u64 {
        self.inner.skipped.load(Ordering::Relaxed)
    }

    /// Messages parked in the dead-letter topic so far.
    pub fn messages_dead_lettered(&self) -> u64 {
        self.inner.dead_lettered.load(Ordering::Relaxed)
    }

    /// Whether a message is waiting for the dead-letter topic (see
    /// [`StatusSnapshot::dead_letter_waiting`]): the reader is not ready then.
    pub fn dead_letter_blocked(&self) -> bool {
        self.inner.dead_letter_waiting.load(Ordering::Relaxed) > 0
    }

    /// Whether the consumer has joined its group.
    pub fn joined_group(&self) -> bool {
        self.inner.joined_group.load(Ordering::Relaxed)
    }

    /// Whether `run` is active.
    pub fn is_running(&self) -> bool {
        self.inner.running.load(Ordering::Relaxed)
    }

    /// Whether the loop is stuck: messages are held but nothing was received or finished
    /// for longer than `threshold`. An idle consumer (nothing held) is not stalled.
    pub fn is_stalled(&self, threshold: Duration) -> bool {
        let s = lock(&self.inner.shared);
        let held: usize = s.held.values().sum();
        held > 0
            && s.last_progress
                .is_none_or(|t| Instant::now().saturating_duration_since(t) > threshold)
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.inner.running.store(running, Ordering::Relaxed);
    }

    pub(crate) fn set_joined(&self, joined: bool) {
        self.inner.joined_group.store(joined, Ordering::Relaxed);
    }

    pub(crate) fn add_assigned(&self, partitions: &[TopicPartition]) {
        self.inner.rebalances.fetch_add(1, Ordering::Relaxed);
        let mut s = lock(&self.inner.shared);
        s.assignment.extend(partitions.iter().cloned());
    }

    pub(crate) fn remove_assigned(&self, partitions: &[TopicPartition]) {
        self.inner.rebalances.fetch_add(1, Ordering::Relaxed);
        let mut s = lock(&self.inner.shared);
        for tp in partitions {
            s.assignment.remove(tp);
            s.in_flight.remove(tp);
            s.held.remove(tp);
            s.lag.remove(tp);
        }
    }

    pub(crate) fn clear_assignment(&self) {
        let mut s = lock(&self.inner.shared);
        s.assignment.clear();
        s.in_flight.clear();
        s.held.clear();
        s.lag.clear();
    }

    pub(crate) fn is_assigned(&self, tp: &TopicPartition) -> bool {
        lock(&self.inner.shared).assignment.contains(tp)
    }

    pub(crate) fn set_load(&self, tp: &TopicPartition, in_flight: usize, held: usize) {
        let mut s = lock(&self.inner.shared);
        s.in_flight.insert(tp.clone(), in_flight);
        s.held.insert(tp.clone(), held);
    }

    pub(crate) fn set_lag(&self, tp: TopicPartition, lag: i64) {
        lock(&self.inner.shared).lag.insert(tp, lag);
    }

    pub(crate) fn set_stored(&self, tp: &TopicPartition, offset: i64) {
        lock(&self.inner.shared).stored.insert(tp.clone(), offset);
    }

    pub(crate) fn mark_poll(&self) {
        lock(&self.inner.shared).last_poll = Some(Instant::now());
    }

    pub(crate) fn mark_progress(&self) {
        let now = Instant::now();
        let mut s = lock(&self.inner.shared);
        s.last_progress = Some(now);
        s.last_poll = Some(now);
    }

    pub(crate) fn count_handled(&self) {
        self.inner.handled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_skipped(&self) {
        self.inner.skipped.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_dead_lettered(&self) {
        self.inner.dead_lettered.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks one message as waiting for the dead-letter topic until the guard drops.
    pub(crate) fn dead_letter_wait(&self) -> DeadLetterWait {
        self.inner
            .dead_letter_waiting
            .fetch_add(1, Ordering::Relaxed);
        DeadLetterWait {
            status: self.clone(),
        }
    }

    pub(crate) fn count_retry(&self) {
        self.inner.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_drain_deadline(&self) {
        self.inner
            .drain_deadlines_exceeded
            .fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_pause(&self) {
        self.inner.pauses.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_commit_failure(&self) {
        self.inner.commit_failures.fetch_add(1, Ordering::Relaxed);
    }
}

/// A message waiting for the dead-letter topic; dropping it ends the wait.
pub(crate) struct DeadLetterWait {
    status: ConsumerStatus,
}

impl Drop for DeadLetterWait {
    fn drop(&mut self) {
        self.status
            .inner
            .dead_letter_waiting
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// What one [`crate::KafkaRuntime::run`] did, returned when it stops cleanly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The status at the end.
    pub status: StatusSnapshot,
    /// Whether the final commit and close finished within the close deadline (false when,
    /// e.g., the broker was unreachable; stored offsets may then not be committed).
    pub closed_cleanly: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reflects_updates() {
        let status = ConsumerStatus::new();
        let tp = ("t".to_owned(), 2);
        assert!(!status.is_stalled(Duration::ZERO), "idle is not stalled");
        status.add_assigned(std::slice::from_ref(&tp));
        status.set_load(&tp, 2, 5);
        status.set_lag(tp.clone(), 40);
        status.set_stored(&tp, 17);
        status.count_handled();
        status.count_skipped();
        status.count_retry();
        status.count_dead_lettered();
        let wait = status.dead_letter_wait();
        assert!(status.dead_letter_blocked());
        assert_eq!(status.snapshot().dead_letter_waiting, 1);
        drop(wait);
        assert!(!status.dead_letter_blocked());
        let s = status.clone().snapshot();
        assert_eq!(s.messages_dead_lettered, 1);
        assert_eq!(s.assignment.len(), 1);
        assert_eq!((s.in_flight, s.held), (2, 5));
        assert_eq!(s.lag[&tp], 40);
        assert_eq!(s.stored_offsets[&tp], 17);
        assert_eq!(
            (s.messages_handled, s.messages_skipped, s.retries),
            (1, 1, 1)
        );
        assert!(
            status.is_stalled(Duration::from_secs(3600)),
            "held work but no progress ever"
        );
        status.mark_progress();
        assert!(!status.is_stalled(Duration::from_secs(3600)));
        status.remove_assigned(std::slice::from_ref(&tp));
        let s = status.snapshot();
        assert!(s.assignment.is_empty() && s.lag.is_empty());
        assert_eq!(
            s.stored_offsets[&tp], 17,
            "stored offsets are kept for the summary"
        );
        assert_eq!(s.rebalances, 2);
    }
}
