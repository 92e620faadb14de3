//! Delivery on librdkafka's in-process mock cluster (plain `cargo test`): the happy path,
//! every compression codec, a consumer joining and leaving mid-stream, shutdown then
//! restart. The oracle: no produced id missing, none handled twice, per-key order kept,
//! committed offsets at the end of what was consumed.

mod common;

use common::*;
use kafka_runtime::{KafkaRuntime, SkipList};
use std::sync::Arc;
use std::time::Duration;
use testkit::broker::MockBroker;
use testkit::produce::{TestRecord, produce};
use testkit::runtime::{RecordingHandler, RunningRuntime};

/// Scenario 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s1_happy_path_10k_messages_over_3_partitions() {
    let broker = MockBroker::start().unwrap();
    scenario_happy_path(&broker, 10_000, Watermarks::Trusted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compressed_batches_of_every_codec_are_consumed() {
    let mock = MockTopic::start("codecs", 2);
    let bootstrap = &mock.bootstrap;
    let topic = &mock.topic;
    let mut all = Vec::new();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        // Repetitive values so every codec really compresses.
        let batch: Vec<TestRecord> = (0..300)
            .map(|i| {
                TestRecord::keyed(
                    format!("{codec}-{}", i % 7),
                    format!("id-{codec}-{i:04}-{}", "x".repeat(200)),
                )
            })
            .collect();
        produce(bootstrap, topic, &batch, codec).await.unwrap();
        all.extend(batch);
    }
    let handler = RecordingHandler::acking("a");
    let runtime =
        KafkaRuntime::new(mock.config(), Arc::new(handler.clone()), SkipList::new()).unwrap();
    let running = RunningRuntime::spawn(runtime);
    handler
        .wait_all(&all, Duration::from_secs(60))
        .await
        .unwrap();
    running.stop().await.unwrap();
    let mut handled: Vec<String> = handler.handled().into_iter().map(|h| h.value).collect();
    let mut expected: Vec<String> = all
        .iter()
        .map(|r| String::from_utf8(r.value.clone()).unwrap())
        .collect();
    handled.sort();
    expected.sort();
    assert_eq!(handled, expected);
}

/// Scenario 6.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s6_second_consumer_joins_mid_stream_then_leaves() {
    let broker = MockBroker::start().unwrap();
    scenario_join_then_leave(&broker, Watermarks::Trusted).await;
}

/// Scenario 7.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s7_shutdown_mid_stream_then_restart() {
    let broker = MockBroker::start().unwrap();
    scenario_shutdown_and_restart(&broker, Watermarks::Trusted).await;
}
