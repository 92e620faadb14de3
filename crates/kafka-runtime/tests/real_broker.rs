//! Scenarios 1, 6 and 7 against a real Kafka-compatible broker (Tansu), switched on by the
//! cargo feature `real-broker`. Once on, a test that cannot find or start Tansu fails and
//! says why (set `TANSU_BIN`; `cargo xtask test` installs it).
//!
//! Tansu's high watermark is not reliable, so committed offsets are compared with the
//! offsets actually consumed, never with the watermark or the lag.
#![cfg(feature = "real-broker")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use testkit::broker::TansuBroker;

fn tansu() -> TansuBroker {
    TansuBroker::start().unwrap_or_else(|e| panic!("the real-broker tests need Tansu: {e}"))
}

/// Scenario 1 (10.1) on Tansu.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_s1_happy_path_10k_messages_over_3_partitions() {
    let broker = tansu();
    scenario_happy_path(&broker, 10_000, Watermarks::Untrusted).await;
}

/// Scenario 6 (10.6) on Tansu.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_s6_second_consumer_joins_mid_stream_then_leaves() {
    let broker = tansu();
    scenario_join_then_leave(&broker, Watermarks::Untrusted).await;
}

/// Scenario 7 (10.7) on Tansu.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tansu_s7_shutdown_mid_stream_then_restart() {
    let broker = tansu();
    scenario_shutdown_and_restart(&broker, Watermarks::Untrusted).await;
}
