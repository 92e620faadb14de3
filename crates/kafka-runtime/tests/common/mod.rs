//! Helpers shared by the scenario tests (mock cluster and Tansu).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code,
    missing_docs
)]

use kafka_runtime::{ConsumerConfig, RetryPolicy};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use testkit::broker::{MockBroker, TestBroker};
use testkit::offsets::{commit_targets, committed_offsets, high_watermarks, partition_ends};
use testkit::produce::{Delivered, TestRecord, produce};
use testkit::runtime::{HandledRecord, RecordingHandler, RunningRuntime};
use testkit::wait::{unique_name, wait_until, wait_until_async};

/// A consumer configuration for tests: earliest reset (topics are filled before the
/// consumer starts), a session timeout the mock handles well, fast commits and statistics.
pub fn test_config(bootstrap: &str, topic: &str, group: &str) -> ConsumerConfig {
    ConsumerConfig::new(bootstrap, topic)
        .with_group_id(group)
        .with_auto_offset_reset("earliest")
        .with_session_timeout(Duration::from_secs(6))
        .with_drain_timeout(Duration::from_secs(3))
        .with_shutdown_grace(Duration::from_secs(5))
        .with_close_timeout(Duration::from_secs(5))
        .with_auto_commit_interval(Duration::from_millis(200))
        .with_statistics_interval(Duration::from_secs(1))
        .with_max_in_flight(8)
        .with_partition_queue_capacity(64)
        .with_retry(fast_retry(5, Duration::from_millis(50)))
}

/// Retries 5 ms apart at first, backing off to `max_backoff`, `max_attempts` in all.
pub fn fast_retry(max_attempts: u32, max_backoff: Duration) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff,
    }
}

/// The value of `record` (an `id-<i>`).
pub fn value_of(record: &TestRecord) -> String {
    String::from_utf8(record.value.clone()).unwrap()
}

/// Uneven work: every 5th message takes 25 ms, the others 1 ms, so completions of
/// different keys overtake each other.
pub fn uneven_delay(p: &kafka_runtime::Payload) -> Duration {
    if p.offset % 5 == 0 {
        Duration::from_millis(25)
    } else {
        Duration::from_millis(1)
    }
}

/// `n` records over `keys` keys; value `id-<i>` and key `key-<i % keys>`.
pub fn records(n: usize, keys: usize) -> Vec<TestRecord> {
    (0..n)
        .map(|i| TestRecord::keyed(format!("key-{}", i % keys), format!("id-{i:06}")))
        .collect()
}

/// The sequence number in an `id-<i>` value.
pub fn seq(value: &str) -> usize {
    value
        .strip_prefix("id-")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected value {value}"))
}

/// The oracle: every expected id handled, none twice (when `allow_duplicates` is false),
/// and per key, the first handling of each message in production order.
pub fn check_handled(handled: &[HandledRecord], expected: &[TestRecord], allow_duplicates: bool) {
    let expected_ids: BTreeSet<String> = expected.iter().map(value_of).collect();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for h in handled {
        *seen.entry(h.value.as_str()).or_default() += 1;
    }
    let missing: Vec<_> = expected_ids
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .take(10)
        .collect();
    assert!(
        missing.is_empty(),
        "ids never handled (first 10): {missing:?}"
    );
    let unexpected: Vec<_> = seen
        .keys()
        .filter(|id| !expected_ids.contains(**id))
        .take(10)
        .collect();
    assert!(unexpected.is_empty(), "ids never produced: {unexpected:?}");
    if !allow_duplicates {
        let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).take(10).collect();
        assert!(dups.is_empty(), "ids handled twice (first 10): {dups:?}");
    }
    check_key_order(handled);
}

/// Waits until `handler` has handled every one of `records` (within `limit`), stops
/// `running`, and checks the oracle with no duplicate allowed; returns what was handled.
pub async fn finish_exactly_once(
    running: RunningRuntime,
    handler: &RecordingHandler,
    records: &[TestRecord],
    limit: Duration,
) -> Vec<HandledRecord> {
    handler.wait_all(records, limit).await.unwrap();
    running.stop().await.unwrap();
    let handled = handler.handled();
    check_handled(&handled, records, false);
    handled
}

/// The ids of `records` that `handled` does not contain.
pub fn ids_not_in(records: &[TestRecord], handled: &[HandledRecord]) -> BTreeSet<String> {
    let seen: BTreeSet<&str> = handled.iter().map(|h| h.value.as_str()).collect();
    records
        .iter()
        .map(value_of)
        .filter(|v| !seen.contains(v.as_str()))
        .collect()
}

/// Whether `handled` contains every id of `ids`.
pub fn covers(handled: &[HandledRecord], ids: &BTreeSet<String>) -> bool {
    let seen: BTreeSet<&str> = handled.iter().map(|h| h.value.as_str()).collect();
    ids.iter().all(|id| seen.contains(id.as_str()))
}

/// Per key, the first handling of each message follows production order.
pub fn check_key_order(handled: &[HandledRecord]) {
    let mut first_seen: BTreeSet<&str> = BTreeSet::new();
    let mut last_per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for h in handled {
        if !first_seen.insert(h.value.as_str()) {
            continue; // a redelivery
        }
        let key = h.key.as_deref().unwrap_or("");
        let s = seq(&h.value);
        if let Some(prev) = last_per_key.insert(key, s) {
            assert!(
                prev < s,
                "key {key}: id-{s:06} was handled after id-{prev:06}"
            );
        }
    }
}

/// Per partition, one past the highest offset handled.
pub fn handled_ends(handled: &[HandledRecord]) -> BTreeMap<i32, i64> {
    partition_ends(handled.iter().map(|h| (h.partition, h.offset)))
}

/// A mock cluster with one fresh topic (`<what>-…`) and a fresh group name.
pub struct MockTopic {
    /// The cluster.
    pub broker: MockBroker,
    /// Its `bootstrap.servers`.
    pub bootstrap: String,
    /// The topic, created with the requested partitions.
    pub topic: String,
    /// A group name no other test uses.
    pub group: String,
    /// The topic's partitions.
    pub partitions: i32,
}

/// Creates `<what>-…` with `partitions` partitions on `broker`: (its bootstrap servers, the
/// topic, a group name no other test uses).
pub fn fresh_topic(
    broker: &impl TestBroker,
    what: &str,
    partitions: i32,
) -> (String, String, String) {
    let topic = unique_name(what);
    broker.create_topic(&topic, partitions).unwrap();
    (broker.bootstrap_servers(), topic, unique_name("group"))
}

/// The union of two runs' handled records holds every id of `expected` (redeliveries
/// allowed: the second run gets again what the first did not commit).
pub fn check_handled_across(
    first: Vec<HandledRecord>,
    second: Vec<HandledRecord>,
    expected: &[TestRecord],
) {
    let mut union = first;
    union.extend(second);
    check_handled(&union, expected, true);
}

impl MockTopic {
    /// Starts a mock cluster and creates `<what>-…` with `partitions` partitions.
    pub fn start(what: &str, partitions: i32) -> Self {
        let broker = MockBroker::start().unwrap();
        let (bootstrap, topic, group) = fresh_topic(&broker, what, partitions);
        Self {
            broker,
            bootstrap,
            topic,
            group,
            partitions,
        }
    }

    /// A new mock cluster with `<what>-…` (`partitions` partitions) filled with `records`,
    /// and where each record landed.
    pub async fn filled(
        what: &str,
        partitions: i32,
        records: &[TestRecord],
    ) -> (Self, Vec<Delivered>) {
        let mock = Self::start(what, partitions);
        let delivered = mock.produce(records).await;
        (mock, delivered)
    }

    /// Owned copies of (bootstrap, topic, group).
    pub fn names(&self) -> (String, String, String) {
        (
            self.bootstrap.clone(),
            self.topic.clone(),
            self.group.clone(),
        )
    }

    /// [`test_config`] for this topic and group.
    pub fn config(&self) -> ConsumerConfig {
        test_config(&self.bootstrap, &self.topic, &self.group)
    }

    /// Produces `records` uncompressed.
    pub async fn produce(&self, records: &[TestRecord]) -> Vec<Delivered> {
        produce(&self.bootstrap, &self.topic, records, "none")
            .await
            .unwrap()
    }

    /// The group's committed offsets now.
    pub async fn committed(&self) -> BTreeMap<i32, Option<i64>> {
        committed_offsets(&self.bootstrap, &self.group, &self.topic, self.partitions)
            .await
            .unwrap()
    }

    /// The high watermarks now.
    pub async fn high_watermarks(&self) -> BTreeMap<i32, i64> {
        high_watermarks(&self.bootstrap, &self.topic, self.partitions)
            .await
            .unwrap()
    }

    /// Every partition's committed offset equals its high watermark now.
    pub async fn assert_committed_at_high_watermarks(&self) {
        let committed = self.committed().await;
        for (p, h) in self.high_watermarks().await {
            assert_eq!(committed[&p], Some(h), "partition {p}");
        }
    }

    /// Waits until every partition's committed offset equals `high` (the watermarks read
    /// when everything was produced).
    pub async fn wait_committed_up_to(&self, what: &str, high: &BTreeMap<i32, i64>) {
        let (bootstrap, topic, group) = self.names();
        wait_committed_to(&bootstrap, &group, &topic, self.partitions, high, what).await;
    }
}

/// Waits (60 s at most) until `group` has committed exactly `ends` on `topic`'s partitions.
pub async fn wait_committed_to(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
    ends: &BTreeMap<i32, i64>,
    what: &str,
) {
    wait_until_async(Duration::from_secs(60), what, || async {
        let c = committed_offsets(bootstrap, group, topic, partitions)
            .await
            .unwrap();
        ends.iter().all(|(p, end)| c[p] == Some(*end))
    })
    .await
    .unwrap();
}

use kafka_runtime::{KafkaRuntime, SkipList};
use std::sync::Arc;

/// How to check committed offsets on this broker.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Watermarks {
    /// The broker's high watermark is right (mock cluster): committed == high watermark.
    Trusted,
    /// The broker's watermark is wrong (Tansu): committed == one past the highest offset
    /// actually consumed.
    Untrusted,
}

async fn check_committed_at_end(
    broker: &impl TestBroker,
    group: &str,
    topic: &str,
    partitions: i32,
    handled: &[HandledRecord],
    watermarks: Watermarks,
) {
    let bootstrap = broker.bootstrap_servers();
    let committed = committed_offsets(&bootstrap, group, topic, partitions)
        .await
        .unwrap();
    let consumed: BTreeMap<i32, Option<i64>> = handled_ends(handled)
        .into_iter()
        .map(|(p, e)| (p, Some(e)))
        .collect();
    let committed_nonempty: BTreeMap<i32, Option<i64>> = committed
        .iter()
        .filter(|(_, c)| c.is_some())
        .map(|(p, c)| (*p, *c))
        .collect();
    assert_eq!(
        committed_nonempty, consumed,
        "committed offsets must be one past the last consumed offset of each partition"
    );
    if watermarks == Watermarks::Trusted {
        let high = high_watermarks(&bootstrap, topic, partitions)
            .await
            .unwrap();
        let expected: BTreeMap<i32, Option<i64>> =
            high.iter().map(|(p, h)| (*p, Some(*h))).collect();
        assert_eq!(
            committed, expected,
            "committed must equal the high watermarks"
        );
    }
}

/// Scenario 1: `n` messages over 3 partitions, all handled once, per-key order kept,
/// committed at the end.
pub async fn scenario_happy_path(broker: &impl TestBroker, n: usize, watermarks: Watermarks) {
    let (bootstrap, topic, group) = fresh_topic(broker, "happy", 3);
    let records = records(n, 97);
    let delivered = produce(&bootstrap, &topic, &records, "none").await.unwrap();
    assert_eq!(delivered.len(), n);

    let handler = RecordingHandler::acking("a");
    let runtime = KafkaRuntime::new(
        test_config(&bootstrap, &topic, &group),
        Arc::new(handler.clone()),
        SkipList::new(),
    )
    .unwrap();
    let running = RunningRuntime::spawn(runtime);
    handler
        .wait_distinct(n, "every message handled", Duration::from_secs(120))
        .await
        .unwrap();
    let status = running.status().snapshot();
    assert!(status.joined_group);
    assert_eq!(status.assignment.len(), 3, "{status:?}");
    assert!(status.since_last_poll.is_some());
    if watermarks == Watermarks::Trusted {
        // Consumer lag comes from librdkafka statistics (every second here).
        wait_until(
            Duration::from_secs(30),
            "lag 0 reported for 3 partitions",
            || {
                let lag = running.status().snapshot().lag;
                lag.len() == 3 && lag.values().all(|l| *l == 0)
            },
        )
        .await
        .unwrap();
    }
    let summary = running.stop().await.unwrap();
    assert!(summary.closed_cleanly);
    assert_eq!(summary.status.messages_handled, n as u64);

    let handled = handler.handled();
    check_handled(&handled, &records, false);
    assert_eq!(handled_ends(&handled), commit_targets(&delivered));
    check_committed_at_end(broker, &group, &topic, 3, &handled, watermarks).await;
}

/// Produces `records` in chunks over time, in the background.
fn produce_over_time(
    bootstrap: String,
    topic: String,
    records: Vec<TestRecord>,
    chunk: usize,
    every: Duration,
) -> tokio::task::JoinHandle<Vec<Delivered>> {
    tokio::spawn(async move {
        let mut delivered = Vec::new();
        for part in records.chunks(chunk) {
            delivered.extend(produce(&bootstrap, &topic, part, "lz4").await.unwrap());
            tokio::time::sleep(every).await;
        }
        delivered
    })
}

/// Scenario 6: a second consumer joins mid-stream (cooperative-sticky moves some
/// partitions to it), then leaves (they move back): nothing lost, nothing handled twice,
/// per-key order kept across the moves.
pub async fn scenario_join_then_leave(broker: &impl TestBroker, watermarks: Watermarks) {
    let (bootstrap, topic, group) = fresh_topic(broker, "rebalance", 4);
    let records = records(3_000, 61);
    let producer = produce_over_time(
        bootstrap.clone(),
        topic.clone(),
        records.clone(),
        100,
        Duration::from_millis(300),
    );
    let config = || {
        test_config(&bootstrap, &topic, &group)
            .with_max_in_flight(4)
            .with_partition_queue_capacity(32)
    };
    let handler_a = RecordingHandler::acking("a").with_delay_by(uneven_delay);
    let handler_b = handler_a.relabeled("b");
    let a = RunningRuntime::start(config(), &handler_a, SkipList::new()).unwrap();
    handler_a
        .wait_distinct(300, "consumer a handling", Duration::from_secs(60))
        .await
        .unwrap();
    let b = RunningRuntime::start(config(), &handler_b, SkipList::new()).unwrap();
    let count_by = |label: &str| {
        handler_a
            .handled()
            .iter()
            .filter(|h| h.consumer == label)
            .count()
    };
    wait_until(
        Duration::from_secs(60),
        "consumer b took partitions and handled 200",
        || count_by("b") >= 200,
    )
    .await
    .unwrap();
    let a_assignment = a.status().assignment();
    let b_assignment = b.status().assignment();
    assert!(
        !a_assignment.is_empty() && !b_assignment.is_empty(),
        "a {a_assignment:?}, b {b_assignment:?}"
    );
    assert!(
        a_assignment.is_disjoint(&b_assignment),
        "a {a_assignment:?}, b {b_assignment:?}"
    );
    let b_summary = b.stop().await.unwrap();
    assert!(b_summary.closed_cleanly);
    wait_until(
        Duration::from_secs(60),
        "a owns every partition again",
        || a.status().assignment().len() == 4,
    )
    .await
    .unwrap();
    let delivered = producer.await.unwrap();
    assert_eq!(delivered.len(), records.len());
    handler_a
        .wait_all(&records, Duration::from_secs(90))
        .await
        .unwrap();
    let a_summary = a.stop().await.unwrap();
    assert!(a_summary.status.rebalances >= 3, "{:?}", a_summary.status);

    let handled = handler_a.handled();
    // At-least-once: a drain that ran past its deadline (or a failed commit) hands finished
    // but uncommitted messages to the next owner, which handles them again. Only then are
    // duplicates allowed; without such an event a duplicate is a fencing bug.
    let overrun = a_summary.status.drain_deadlines_exceeded
        + b_summary.status.drain_deadlines_exceeded
        + a_summary.status.commit_failures
        + b_summary.status.commit_failures;
    check_handled(&handled, &records, overrun > 0);
    assert!(count_by("b") >= 200);
    check_committed_at_end(broker, &group, &topic, 4, &handled, watermarks).await;
}

/// Scenario 7: shutdown mid-stream, then a new consumer of the same group: the union of
/// both runs is every id, none handled twice (in-flight work was finished and committed).
pub async fn scenario_shutdown_and_restart(broker: &impl TestBroker, watermarks: Watermarks) {
    let (bootstrap, topic, group) = fresh_topic(broker, "restart", 3);
    let records = records(3_000, 53);
    produce(&bootstrap, &topic, &records, "zstd").await.unwrap();
    let config = test_config(&bootstrap, &topic, &group).with_max_in_flight(4);

    let first = RecordingHandler::acking("first").with_delay_by(uneven_delay);
    let run = RunningRuntime::start(config.clone(), &first, SkipList::new()).unwrap();
    first
        .wait_distinct(1_000, "a third handled", Duration::from_secs(60))
        .await
        .unwrap();
    let in_flight_at_stop = run.status().in_flight();
    let summary = run.stop().await.unwrap();
    assert!(summary.closed_cleanly);
    let handled_first = first.handled_count();
    assert!(
        handled_first < records.len(),
        "stopped mid-stream ({handled_first} handled, {in_flight_at_stop} in flight at stop)"
    );

    let second = first.relabeled("second");
    let run = RunningRuntime::start(config, &second, SkipList::new()).unwrap();
    let handled = finish_exactly_once(run, &second, &records, Duration::from_secs(90)).await;
    check_committed_at_end(broker, &group, &topic, 3, &handled, watermarks).await;
}

/// Parks `poison-*` as undecodable and `invalid-*` as a permanent error; acks the rest.
pub fn parking_handler() -> RecordingHandler {
    RecordingHandler::scripted("dlq", |p, _| {
        if p.value.starts_with(b"poison") {
            kafka_runtime::Disposition::DeadLetter {
                reason: thirdparty_core::DeadLetterReason::DecodeFailed,
                error_kind: "not_json".into(),
                error: "expected a JSON object at $".into(),
            }
        } else if p.value.starts_with(b"invalid") {
            kafka_runtime::Disposition::DeadLetter {
                reason: thirdparty_core::DeadLetterReason::PermanentError,
                error_kind: "invalid_argument".into(),
                error: "the Case API answered INVALID_ARGUMENT: priority P9 is unknown".into(),
            }
        } else {
            kafka_runtime::Disposition::Ack
        }
    })
}
