//! The dead-letter topic on the mock cluster: what the handler answers `DeadLetter` for and
//! what the skip list names is parked with its original key and value plus the headers of
//! `kafka_runtime::dead_letter::headers`, and the source offsets are committed; a record over
//! the producer's size limit is parked truncated, saying so.

// Test helpers fail loudly: an unwrap here is an assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use kafka_runtime::dead_letter::{default_topic, headers};
use kafka_runtime::{DeadLetterConfig, MessageCoordinates, SkipList};
use std::time::Duration;
use testkit::broker::TestBroker;
use testkit::dead_letter::{ParkedRecord, by_source, parked_records};
use testkit::produce::TestRecord;
use testkit::runtime::RunningRuntime;

const PARTITIONS: i32 = 2;

/// Runs `handler` over `records` with the dead-letter topic on (and `skip`), until every
/// offset is committed; returns the parked records.
async fn run_parking(
    what: &str,
    records: &[TestRecord],
    skip: impl Fn(&str, &[testkit::produce::Delivered]) -> SkipList,
    max_message_bytes: Option<&str>,
) -> (
    MockTopic,
    Vec<testkit::produce::Delivered>,
    Vec<ParkedRecord>,
) {
    let (mock, delivered) = MockTopic::filled(what, PARTITIONS, records).await;
    let dead_letter_topic = default_topic(&mock.topic);
    mock.broker
        .create_topic(&dead_letter_topic, PARTITIONS)
        .unwrap();
    let mut config = mock.config().with_dead_letter(DeadLetterConfig::new(
        dead_letter_topic.clone(),
        "jira",
        "9.9.9-test",
    ));
    if let Some(bytes) = max_message_bytes {
        config = config.with_librdkafka_override("message.max.bytes", bytes);
    }
    let handler = parking_handler();
    let running = RunningRuntime::start(config, &handler, skip(&mock.topic, &delivered)).unwrap();
    let ends = testkit::offsets::commit_targets(&delivered);
    mock.wait_committed_up_to("every source offset committed", &ends)
        .await;
    let summary = running.stop().await.unwrap();
    let parked = parked_records(
        &mock.bootstrap,
        &dead_letter_topic,
        PARTITIONS,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(
        summary.status.messages_dead_lettered,
        parked.len() as u64,
        "the status counts what is in the topic"
    );
    (mock, delivered, parked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn undecodable_and_skip_listed_messages_are_parked_before_their_offsets_commit() {
    let mut records = records(200, 7);
    for i in [3usize, 77, 150] {
        records[i] = TestRecord::keyed(format!("key-{i}"), format!("poison-{i}"));
    }
    let skipped_index = 120;
    let (mock, delivered, parked) = run_parking(
        "dead-letter",
        &records,
        |topic, delivered| {
            let at = delivered[skipped_index];
            SkipList::from_coordinates([MessageCoordinates::new(topic, at.partition, at.offset)])
        },
        None,
    )
    .await;

    let by_source = by_source(&parked);
    assert_eq!(by_source.len(), 4, "3 poison + 1 skip-listed: {parked:#?}");
    assert!(by_source.values().all(|copies| copies.len() == 1));
    for i in [3usize, 77, 150, skipped_index] {
        let at = delivered[i];
        let copies = &by_source[&(mock.topic.clone(), at.partition, at.offset)];
        let copy = copies[0];
        assert_eq!(copy.key, records[i].key.clone().map(String::into_bytes));
        assert_eq!(copy.value, records[i].value);
        let (reason, kind) = if i == skipped_index {
            ("skip_listed", "operator")
        } else {
            ("decode_failed", "not_json")
        };
        assert_eq!(copy.reason().as_deref(), Some(reason), "#{i}");
        assert_eq!(copy.header(headers::ERROR_KIND).as_deref(), Some(kind));
        assert_eq!(copy.header(headers::FLAVOR).as_deref(), Some("jira"));
        assert_eq!(
            copy.header(headers::READER_VERSION).as_deref(),
            Some("9.9.9-test")
        );
        assert!(copy.header(headers::SOURCE_TIMESTAMP).is_some());
        assert!(!copy.truncated());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_over_the_size_limit_is_parked_truncated_with_its_original_size() {
    let big = format!("poison-{}", "x".repeat(300_000));
    let records = vec![
        TestRecord::keyed("key-a", "id-000000"),
        TestRecord::keyed("key-b", big.clone()),
    ];
    let (_mock, _delivered, parked) = run_parking(
        "dead-letter-big",
        &records,
        |_, _| SkipList::new(),
        Some("100000"),
    )
    .await;
    assert_eq!(parked.len(), 1, "{parked:#?}");
    let copy = &parked[0];
    assert!(copy.truncated());
    assert_eq!(
        copy.header(headers::ORIGINAL_SIZE).as_deref(),
        Some(big.len().to_string().as_str())
    );
    assert!(
        copy.value.len() < 100_000,
        "{} bytes kept",
        copy.value.len()
    );
    assert!(big.as_bytes().starts_with(&copy.value), "a prefix is kept");
}
