//! Broker outages, shutdown edge cases and backpressure on the mock cluster: every broker
//! down then up, shutdown with stuck work, shutdown with the broker unreachable, a full
//! partition paused with memory bounded.

mod common;

use common::*;
use kafka_runtime::SkipList;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use testkit::produce::TestRecord;
use testkit::runtime::{RecordingHandler, RunningRuntime};
use testkit::wait::wait_until;

/// Scenario 8: every broker goes down, then comes back: the runtime does not crash and
/// progress resumes with fresh messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s8_broker_down_then_up() {
    let before = records(500, 17);
    let (mock, _) = MockTopic::filled("outage", 2, &before).await;
    let handler = RecordingHandler::acking("a");
    let running = RunningRuntime::start(mock.config(), &handler, SkipList::new()).unwrap();
    handler
        .wait_distinct(500, "the first 500", Duration::from_secs(60))
        .await
        .unwrap();

    mock.broker.all_brokers_down().unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        !running.is_finished(),
        "the runtime must survive the outage"
    );
    mock.broker.all_brokers_up().unwrap();

    let after: Vec<TestRecord> = (500..1000)
        .map(|i| TestRecord::keyed(format!("key-{}", i % 17), format!("id-{i:06}")))
        .collect();
    mock.produce(&after).await;
    handler
        .wait_distinct(
            1000,
            "fresh messages after the outage",
            Duration::from_secs(90),
        )
        .await
        .unwrap();
    let summary = running.stop().await.unwrap();
    assert!(summary.closed_cleanly);
    let mut all = before;
    all.extend(after);
    // A rejoin after the outage may redeliver what was not committed yet.
    check_handled(&handler.handled(), &all, true);
    mock.assert_committed_at_high_watermarks().await;
    let _ = BTreeMap::<i32, i64>::new();
}

/// Shutdown with a message whose handler never returns: the grace period passes, the work
/// is abandoned and fenced, `run` still returns, nothing past the stuck message is committed,
/// and the next consumer gets it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_abandons_stuck_work_after_the_grace_period() {
    let records = records(100, 4);
    let (mock, delivered) = MockTopic::filled("stuck", 1, &records).await;
    let stuck = 40;
    let stuck_at = delivered[stuck];
    let handler = RecordingHandler::acking("first").with_delay_by(move |p| {
        if p.offset == stuck_at.offset {
            Duration::from_secs(3600)
        } else {
            Duration::ZERO
        }
    });
    let config = mock
        .config()
        .with_shutdown_grace(Duration::from_secs(1))
        .with_close_timeout(Duration::from_secs(3));
    let running = RunningRuntime::start(config.clone(), &handler, SkipList::new()).unwrap();
    let stuck_key = records[stuck].key.clone();
    let flowing = records
        .iter()
        .enumerate()
        .filter(|(i, r)| *i < stuck || r.key != stuck_key)
        .count()
        - 1;
    handler
        .wait_distinct(
            flowing,
            "all but the stuck key handled",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let summary = tokio::time::timeout(Duration::from_secs(60), running.stop())
        .await
        .expect("run must return after the grace period")
        .unwrap();
    assert!(
        summary.status.drain_deadlines_exceeded >= 1,
        "{:?}",
        summary.status
    );
    let committed = mock.committed().await;
    assert_eq!(committed[&0], Some(stuck_at.offset));

    let second = RecordingHandler::acking("second");
    let running = RunningRuntime::start(config, &second, SkipList::new()).unwrap();
    let missing = ids_not_in(&records, &handler.handled());
    wait_until(Duration::from_secs(60), "the rest handled", || {
        covers(&second.handled(), &missing)
    })
    .await
    .unwrap();
    running.stop().await.unwrap();
    let again = second.handled();
    assert_eq!(again.iter().map(|h| h.offset).min(), Some(stuck_at.offset));
    // Abandoned work is redelivered: messages after the stuck one that the first run had
    // finished are handled again (at least once), nothing before it is.
    let first_run = handler.handled();
    assert!(first_run.iter().all(|h| h.offset != stuck_at.offset));
    assert!(again.iter().all(|h| h.offset >= stuck_at.offset));
    check_handled_across(first_run, again, &records);
}

/// Shutdown while every broker is unreachable: `run` still returns (within its deadlines,
/// bounded generously here), without a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_returns_while_the_broker_is_unreachable() {
    let records = records(200, 5);
    let (mock, _) = MockTopic::filled("unreachable", 2, &records).await;
    let handler = RecordingHandler::acking("a");
    let config = mock
        .config()
        .with_shutdown_grace(Duration::from_secs(1))
        .with_close_timeout(Duration::from_secs(2));
    let running = RunningRuntime::start(config, &handler, SkipList::new()).unwrap();
    handler
        .wait_all(&records, Duration::from_secs(60))
        .await
        .unwrap();
    mock.broker.all_brokers_down().unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), running.stop())
        .await
        .expect("run must return even when the broker is unreachable");
    let summary = result.unwrap();
    assert_eq!(summary.status.messages_handled, records.len() as u64);
    mock.broker.all_brokers_up().unwrap();
}

/// Backpressure: one key stuck behind a slow message fills the partition's queue; the
/// partition is paused and the runtime never holds more than the capacity, whatever the
/// backlog. Once the message goes through, everything flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_partition_is_paused_and_memory_stays_bounded() {
    let mock = MockTopic::start("backpressure", 1);
    let records: Vec<TestRecord> = (0..2_000)
        .map(|i| TestRecord::keyed("one-key", format!("id-{i:06}")))
        .collect();
    mock.produce(&records).await;
    let released = Arc::new(AtomicBool::new(false));
    let handler = {
        let released = released.clone();
        RecordingHandler::retrying_while("a", "slow dependency", move |p| {
            p.offset == 0 && !released.load(Ordering::SeqCst)
        })
    };
    let capacity = 8;
    let config = mock
        .config()
        .with_max_in_flight(2)
        .with_partition_queue_capacity(capacity)
        .with_retry(fast_retry(1_000_000, Duration::from_millis(10)));
    let running = RunningRuntime::start(config, &handler, SkipList::new()).unwrap();
    wait_until(Duration::from_secs(60), "the partition queue full", || {
        running.status().snapshot().held == capacity
    })
    .await
    .unwrap();
    for _ in 0..20 {
        let s = running.status().snapshot();
        assert!(s.held <= capacity, "held {} > capacity {capacity}", s.held);
        assert_eq!(
            handler.distinct_count(),
            0,
            "one key: nothing passes the stuck message"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(running.status().snapshot().partition_pauses >= 1);

    released.store(true, Ordering::SeqCst);
    let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    wait_until(Duration::from_secs(60), "the backlog handled", || {
        let held = running.status().snapshot().held;
        peak.fetch_max(held, Ordering::SeqCst);
        handler.distinct_count() >= records.len()
    })
    .await
    .unwrap();
    assert!(peak.load(Ordering::SeqCst) <= capacity);
    running.stop().await.unwrap();
    check_handled(&handler.handled(), &records, false);
}
