//! The real pipeline as the runtime's handler on the mock cluster: a poison message is
//! acknowledged, counted once as a decode failure, and committed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use async_trait::async_trait;
use common::*;
use kafka_runtime::{KafkaRuntime, SkipList};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use testkit::produce::TestRecord;
use testkit::runtime::RunningRuntime;
use testkit::wait::wait_until;
use thirdparty_core::*;

/// The real pipeline as handler, with a decoder that fails on anything but JSON, to show
/// the runtime drives `Pipeline` and that decode failures are acknowledged.
struct JsonOnly;
impl Decoder for JsonOnly {
    fn integration(&self) -> Integration {
        Integration::new("test")
    }
    fn decode(&self, payload: &Payload) -> Result<Vec<Decoded>, DecodeError> {
        serde_json::from_slice::<serde_json::Value>(&payload.value).map_err(|e| {
            DecodeError::new(
                self.integration(),
                DecodeErrorKind::NOT_JSON,
                "$",
                e.to_string(),
            )
        })?;
        Ok(vec![Decoded::Skipped(SkippedEvent {
            org_id: None,
            changelog_type: None,
            event_time: None,
            reason: FilteredReason::UnsupportedEventType,
        })])
    }
}
struct Unused;
#[async_trait]
impl Filterer for Unused {
    async fn prefilter(&self, c: Changelog) -> Result<PreFiltered, SyncError> {
        Ok(PreFiltered::Keep(c))
    }
    async fn filter(
        &self,
        _: &Changelog,
        _: &Case,
        _: &ProjectSettings,
    ) -> Result<FilterVerdict, SyncError> {
        Ok(FilterVerdict::Apply)
    }
}
#[async_trait]
impl Processor for Unused {
    async fn process(
        &self,
        _: &Changelog,
        _: &Case,
        _: &ProjectSettings,
    ) -> Result<Processed, SyncError> {
        Ok(Processed::Applied)
    }
}
#[derive(Default)]
struct OutcomeLog(Mutex<Vec<(i32, i64, &'static str)>>);
impl Telemetry for OutcomeLog {
    fn record(&self, _: Integration, payload: &Payload, outcome: &ChangelogOutcome) {
        self.0
            .lock()
            .unwrap()
            .push((payload.partition, payload.offset, outcome.outcome.label()));
    }
}

/// Scenario 4: a poison message (not JSON) placed last in its partition is acknowledged and
/// counted by the pipeline, and committed == high watermark.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s4_poison_message_last_in_partition_is_acked_and_committed() {
    let mock = MockTopic::start("poison", 2);
    let mut batch: Vec<TestRecord> = (0..100)
        .map(|i| {
            TestRecord::keyed(format!("k{}", i % 5), format!(r#"{{"id":{i}}}"#)).to_partition(i % 2)
        })
        .collect();
    batch.push(TestRecord::keyed("k0", "\u{1}not json at all").to_partition(1));
    let delivered = mock.produce(&batch).await;
    let poison_at = *delivered.last().unwrap();

    let outcomes = Arc::new(OutcomeLog::default());
    let pipeline = Pipeline::new(
        Arc::new(JsonOnly),
        Arc::new(Unused),
        Arc::new(Unused),
        // Never called: the decoder skips every payload that decodes.
        Arc::new(case_sandbox::Store::new()),
    )
    .with_telemetry(outcomes.clone());
    let running = RunningRuntime::spawn(
        KafkaRuntime::new(mock.config(), Arc::new(pipeline), SkipList::new()).unwrap(),
    );
    wait_until(
        Duration::from_secs(60),
        "every payload through the pipeline",
        || outcomes.0.lock().unwrap().len() >= batch.len(),
    )
    .await
    .unwrap();
    let high = mock.high_watermarks().await;
    assert_eq!(
        high[&poison_at.partition],
        poison_at.offset + 1,
        "poison is last"
    );
    mock.wait_committed_up_to("commit up to the high watermark", &high)
        .await;
    let summary = running.stop().await.unwrap();
    assert_eq!(summary.status.messages_handled, batch.len() as u64);
    let log = outcomes.0.lock().unwrap().clone();
    let decode_failed: Vec<_> = log.iter().filter(|o| o.2 == "decode_failed").collect();
    assert_eq!(
        decode_failed,
        vec![&(poison_at.partition, poison_at.offset, "decode_failed")],
        "the poison message is counted once"
    );
    let committed = mock.committed().await;
    for (p, h) in high {
        assert_eq!(committed[&p], Some(h), "partition {p}");
    }
}
