//! The dead-letter topic and replays against a real Kafka-compatible broker (Tansu),
//! switched on by the cargo feature `real-broker`. Once on, a test that cannot start Tansu
//! fails and says why (set `TANSU_BIN`; `cargo xtask test` installs it).
//!
//! - An undecodable record, a permanent error and a skip-listed record each end in the
//!   dead-letter topic with their headers, and every source offset is committed.
//! - With the dead-letter topic missing, the runtime parks nothing, commits nothing past the
//!   record and fails after its retry budget; once the topic exists, a restart parks the
//!   record exactly once.
//! - A time-range replay reads exactly the records between `since` and `until` (the
//!   broker's offsets-for-times); a dead-letter replay with `commit` continues where the
//!   previous run stopped.
//!
//! Tansu's high watermark is not reliable: committed offsets are compared with the offsets
//! the producer got back.
#![cfg(feature = "real-broker")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use kafka_runtime::dead_letter::{ParkedMessage, default_topic, headers};
use kafka_runtime::{
    ConsumerConfig, DeadLetterConfig, Disposition, MessageCoordinates, ReplayGroup, ReplayStart,
    RuntimeError, SkipList, TopicReplay,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use testkit::broker::{TansuBroker, TestBroker};
use testkit::dead_letter::{ParkedRecord, by_source, parked_records};
use testkit::offsets::{commit_targets, committed_offsets};
use testkit::produce::{Delivered, TestRecord, produce};
use testkit::runtime::{RecordingHandler, RunningRuntime};
use thirdparty_core::DeadLetterReason;

const PARTITIONS: i32 = 2;

fn tansu() -> TansuBroker {
    TansuBroker::start().unwrap_or_else(|e| panic!("the real-broker tests need Tansu: {e}"))
}

struct Topic {
    bootstrap: String,
    topic: String,
    group: String,
}

impl Topic {
    fn new(broker: &TansuBroker, what: &str, with_dead_letter_topic: bool) -> Self {
        let (bootstrap, topic, group) = fresh_topic(broker, what, PARTITIONS);
        if with_dead_letter_topic {
            broker
                .create_topic(&default_topic(&topic), PARTITIONS)
                .unwrap();
        }
        Self {
            bootstrap,
            topic,
            group,
        }
    }

    fn config(&self) -> ConsumerConfig {
        test_config(&self.bootstrap, &self.topic, &self.group).with_dead_letter(
            DeadLetterConfig::new(default_topic(&self.topic), "jira", "9.9.9-test"),
        )
    }

    async fn produce(&self, records: &[TestRecord]) -> Vec<Delivered> {
        produce(&self.bootstrap, &self.topic, records, "none")
            .await
            .unwrap()
    }

    async fn committed(&self) -> BTreeMap<i32, Option<i64>> {
        committed_offsets(&self.bootstrap, &self.group, &self.topic, PARTITIONS)
            .await
            .unwrap()
    }

    async fn wait_committed(&self, ends: &BTreeMap<i32, i64>) {
        let what = "every source offset committed";
        wait_committed_to(
            &self.bootstrap,
            &self.group,
            &self.topic,
            PARTITIONS,
            ends,
            what,
        )
        .await;
    }

    async fn parked(&self) -> Vec<ParkedRecord> {
        parked_records(
            &self.bootstrap,
            &default_topic(&self.topic),
            PARTITIONS,
            Duration::from_secs(30),
        )
        .await
        .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_undecodable_invalid_and_skip_listed_records_are_parked_and_committed() {
    let broker = tansu();
    let t = Topic::new(&broker, "dead-letter", true);
    let mut records = records(60, 5);
    records[7] = TestRecord::keyed("key-7", "poison-7");
    records[21] = TestRecord::keyed("key-21", "invalid-21");
    let skipped = 40;
    let delivered = t.produce(&records).await;
    let at = delivered[skipped];
    let skip =
        SkipList::from_coordinates([MessageCoordinates::new(&t.topic, at.partition, at.offset)]);
    let handler = parking_handler();
    let running = RunningRuntime::start(t.config(), &handler, skip).unwrap();
    t.wait_committed(&commit_targets(&delivered)).await;
    let summary = running.stop().await.unwrap();

    let parked = t.parked().await;
    assert_eq!(summary.status.messages_dead_lettered, parked.len() as u64);
    let by_source = by_source(&parked);
    assert_eq!(by_source.len(), 3, "{parked:#?}");
    for (i, reason, kind) in [
        (7, "decode_failed", "not_json"),
        (21, "permanent_error", "invalid_argument"),
        (skipped, "skip_listed", "operator"),
    ] {
        let d = delivered[i];
        let copies = &by_source[&(t.topic.clone(), d.partition, d.offset)];
        assert_eq!(copies.len(), 1, "#{i} parked once");
        let copy = copies[0];
        assert_eq!(
            copy.key,
            records[i].key.clone().map(String::into_bytes),
            "#{i}"
        );
        assert_eq!(copy.value, records[i].value, "#{i}");
        assert_eq!(copy.reason().as_deref(), Some(reason), "#{i}");
        assert_eq!(
            copy.header(headers::ERROR_KIND).as_deref(),
            Some(kind),
            "#{i}"
        );
        assert!(copy.header(headers::ERROR).is_some_and(|e| !e.is_empty()));
        assert_eq!(copy.header(headers::FLAVOR).as_deref(), Some("jira"));
        assert_eq!(
            copy.header(headers::READER_VERSION).as_deref(),
            Some("9.9.9-test")
        );
        assert!(copy.header(headers::SOURCE_TIMESTAMP).is_some(), "#{i}");
        assert!(!copy.truncated());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_a_missing_dead_letter_topic_stops_the_runtime_uncommitted_then_a_restart_parks_once()
{
    let broker = tansu();
    let t = Topic::new(&broker, "dead-letter-missing", false);
    let mut records = records(30, 3);
    let poison = 12;
    records[poison] = TestRecord::keyed("key-12", "poison-12");
    let delivered = t.produce(&records).await;
    let p = delivered[poison];
    // Produce attempts of 1 s, 3 attempts 50 ms apart: the budget is spent in seconds.
    let mut config = t
        .config()
        .with_retry(fast_retry(3, Duration::from_millis(50)));
    if let Some(dl) = config.dead_letter.as_mut() {
        dl.produce_timeout = Duration::from_secs(1);
    }
    let handler = parking_handler();
    let first = RunningRuntime::start(config.clone(), &handler, SkipList::new()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(90), first.join())
        .await
        .expect("the runtime gives up within its budget");
    assert!(
        matches!(result, Err(RuntimeError::DeadLetterUnavailable { .. })),
        "{result:?}"
    );
    let committed = t.committed().await;
    assert!(
        committed[&p.partition].is_none_or(|c| c <= p.offset),
        "nothing committed past the record it could not park: {committed:?}, record at {p:?}"
    );

    broker
        .create_topic(&default_topic(&t.topic), PARTITIONS)
        .unwrap();
    let second = RunningRuntime::start(config, &handler, SkipList::new()).unwrap();
    t.wait_committed(&commit_targets(&delivered)).await;
    second.stop().await.unwrap();
    let parked = t.parked().await;
    let copies = by_source(&parked);
    assert_eq!(copies.len(), 1, "{parked:#?}");
    assert_eq!(
        copies[&(t.topic.clone(), p.partition, p.offset)].len(),
        1,
        "parked exactly once: the first run never got a broker acknowledgement"
    );
}

/// Values of the records a replay hands over, until its end.
async fn drain(replay: &mut TopicReplay, mark: impl Fn(usize) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(r) = replay.next().await {
        let r = r.unwrap();
        if mark(out.len()) {
            replay.processed(&r);
        }
        out.push(String::from_utf8(r.value.to_vec()).unwrap());
    }
    out
}

fn group(name: &str, commit: bool) -> ReplayGroup {
    ReplayGroup {
        group_id: name.to_owned(),
        commit,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_a_time_range_replay_reads_exactly_the_records_between_since_and_until() {
    let broker = tansu();
    let t = Topic::new(&broker, "replay-since", false);
    let batch = |name: &str| -> Vec<TestRecord> {
        (0..10)
            .map(|i| TestRecord::keyed(format!("key-{}", i % 3), format!("{name}-{i}")))
            .collect()
    };
    let gap = Duration::from_millis(1500);
    t.produce(&batch("before")).await;
    tokio::time::sleep(gap).await;
    let since = chrono::Utc::now();
    t.produce(&batch("inside")).await;
    tokio::time::sleep(gap).await;
    let until = chrono::Utc::now();
    t.produce(&batch("after")).await;

    let config = t.config();
    let mut replay = TopicReplay::open(
        &config,
        ReplayStart::TimeRange {
            since,
            until: Some(until),
        },
        group("replay-since", false),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let got: BTreeSet<String> = drain(&mut replay, |_| true).await.into_iter().collect();
    replay.finish().await.unwrap();
    let want: BTreeSet<String> = (0..10).map(|i| format!("inside-{i}")).collect();
    assert_eq!(got, want);

    let mut open_ended = TopicReplay::open(
        &config,
        ReplayStart::TimeRange { since, until: None },
        group("replay-since", false),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let got = drain(&mut open_ended, |_| true).await;
    open_ended.finish().await.unwrap();
    assert_eq!(got.len(), 20, "inside and after: {got:?}");
    assert!(got.iter().all(|v| !v.starts_with("before")), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_a_dead_letter_replay_with_commit_continues_where_the_last_run_stopped() {
    let broker = tansu();
    let t = Topic::new(&broker, "replay-dead-letter", true);
    let parked_topic = default_topic(&t.topic);
    let records: Vec<TestRecord> = (0..12)
        .map(|i| TestRecord::keyed(format!("key-{}", i % 4), format!("parked-{i}")))
        .collect();
    produce(&t.bootstrap, &parked_topic, &records, "none")
        .await
        .unwrap();
    let config = t.config();
    let start = ReplayStart::Group {
        topic: parked_topic.clone(),
    };
    let live = TopicReplay::open(
        &config,
        start.clone(),
        group(&t.group, true),
        Duration::from_secs(30),
    )
    .await;
    assert!(live.is_err(), "the live group is refused");

    // The first run handles 5 records, then stops (as after a transient Case API failure).
    let mut first = TopicReplay::open(
        &config,
        start.clone(),
        group("dlq-replay", true),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let mut handled = Vec::new();
    while let Some(r) = first.next().await {
        let r = r.unwrap();
        if handled.len() == 5 {
            break;
        }
        first.processed(&r);
        handled.push(String::from_utf8(r.value.to_vec()).unwrap());
    }
    let report = first.finish().await.unwrap();
    assert_eq!(
        report.committed.values().sum::<i64>(),
        5,
        "the next offsets committed cover the 5 handled records: {report:?}"
    );

    let mut second = TopicReplay::open(
        &config,
        start,
        group("dlq-replay", true),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let rest = drain(&mut second, |_| true).await;
    second.finish().await.unwrap();
    let handled: BTreeSet<String> = handled.into_iter().collect();
    let rest_set: BTreeSet<String> = rest.iter().cloned().collect();
    assert!(
        handled.is_disjoint(&rest_set),
        "nothing handled twice: {handled:?} / {rest:?}"
    );
    let all: BTreeSet<String> = handled.union(&rest_set).cloned().collect();
    assert_eq!(all.len(), 12, "every parked record once: {all:?}");
}

/// Decodes `v1:*` only; `v2:*` (a format a newer decoder knows) does not decode.
fn decoder_v1(value: &[u8]) -> Disposition {
    if value.starts_with(b"v1:") {
        Disposition::Ack
    } else {
        Disposition::DeadLetter {
            reason: DeadLetterReason::DecodeFailed,
            error_kind: "unknown_format".into(),
            error: "this decoder reads format v1 only".into(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_records_a_newer_decoder_reads_are_rerun_from_the_dead_letter_topic_once() {
    let broker = tansu();
    let t = Topic::new(&broker, "newer-decoder", true);
    let records: Vec<TestRecord> = (0..20)
        .map(|i| {
            let format = if i % 4 == 0 { "v2" } else { "v1" };
            TestRecord::keyed(format!("key-{}", i % 3), format!("{format}:{i}"))
        })
        .collect();
    let delivered = t.produce(&records).await;
    let v1 = RecordingHandler::scripted("v1", |p, _| decoder_v1(&p.value));
    let running = RunningRuntime::start(t.config(), &v1, SkipList::new()).unwrap();
    t.wait_committed(&commit_targets(&delivered)).await;
    running.stop().await.unwrap();

    // The newer decoder reads both formats: every parked record now applies.
    let start = ReplayStart::Group {
        topic: default_topic(&t.topic),
    };
    let mut replay = TopicReplay::open(
        &t.config(),
        start.clone(),
        group("newer-decoder-replay", true),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let mut rerun = BTreeSet::new();
    while let Some(record) = replay.next().await {
        let record = record.unwrap();
        let parked = ParkedMessage::from_record(record.clone());
        assert_eq!(parked.reason, Some(DeadLetterReason::DecodeFailed));
        assert_eq!(parked.error_kind.as_deref(), Some("unknown_format"));
        assert!(
            parked
                .original
                .headers
                .iter()
                .all(|(k, _)| !headers::ALL.contains(&k.as_str())),
            "the original message has no dead-letter headers"
        );
        let v2_accepts = parked.original.value.starts_with(b"v2:");
        assert!(v2_accepts, "{parked:?}");
        rerun.insert((
            parked.original.topic.clone(),
            parked.original.partition,
            parked.original.offset,
            String::from_utf8(parked.original.value.to_vec()).unwrap(),
        ));
        replay.processed(&record);
    }
    replay.finish().await.unwrap();
    let expected: BTreeSet<_> = records
        .iter()
        .zip(&delivered)
        .filter(|(r, _)| r.value.starts_with(b"v2:"))
        .map(|(r, d)| (t.topic.clone(), d.partition, d.offset, value_of(r)))
        .collect();
    assert_eq!(
        rerun, expected,
        "each parked record once, at its source coordinates"
    );

    // Committed: a second run finds nothing left.
    let mut again = TopicReplay::open(
        &t.config(),
        start,
        group("newer-decoder-replay", true),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let left = drain(&mut again, |_| true).await;
    again.finish().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}
