//! Producing a scenario's records and where each landed.

use crate::workload;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use testkit::HarnessError;
use testkit::offsets::partition_ends;
use testkit::produce::{TestProducer, TestRecord};

/// Where each record landed, filled in by the producer task.
#[derive(Default)]
pub(super) struct Deliveries {
    /// Per record index: (partition, offset), once delivered.
    pub(super) at: Vec<Option<(i32, i64)>>,
    /// Records whose production failed, with why.
    pub(super) failed: Vec<(u64, String)>,
    pub(super) done: bool,
}

impl Deliveries {
    pub(super) fn ends(&self) -> BTreeMap<i32, i64> {
        partition_ends(self.at.iter().flatten().copied())
    }
    pub(super) fn delivered(&self) -> u64 {
        self.at.iter().flatten().count() as u64
    }
}

/// The producer of the scenario records (10 MB poison included).
pub(super) fn producer(bootstrap: &str) -> Result<TestProducer> {
    workload::lz4_producer(bootstrap)
        .with("linger.ms", "5")
        .with("message.timeout.ms", "300000")
        .with("message.max.bytes", "16000000")
        .with("queue.buffering.max.messages", "20000")
        .with("queue.buffering.max.kbytes", "262144")
        .queue_full_wait(Duration::from_millis(5))
        .build()
        .context("creating the chaos producer")
}

/// Produces `records` (index, key, value) and records their deliveries.
pub(super) async fn produce_records(
    producer: &TestProducer,
    topic: &str,
    records: Vec<(u64, String, Vec<u8>)>,
    deliveries: &Mutex<Deliveries>,
) -> Result<()> {
    let mut pending = Vec::with_capacity(records.len());
    for (i, key, value) in records {
        match producer
            .enqueue(topic, &TestRecord::keyed(key, value))
            .await
        {
            Ok(f) => pending.push((i, f)),
            Err(e) => lock(deliveries)?.failed.push((i, kafka_reason(e))),
        }
    }
    for (i, f) in pending {
        let result = f.await;
        let mut d = lock(deliveries)?;
        match result {
            Ok(Ok(delivery)) => {
                if let Some(slot) = d.at.get_mut(usize::try_from(i).unwrap_or(usize::MAX)) {
                    *slot = Some((delivery.partition, delivery.offset));
                }
            }
            Ok(Err((e, _))) => d.failed.push((i, e.to_string())),
            Err(_) => d.failed.push((i, "delivery report dropped".into())),
        }
    }
    Ok(())
}

/// Why a record could not be queued, as the Kafka client said it (the oracle's notes).
fn kafka_reason(e: HarnessError) -> String {
    match e {
        HarnessError::Kafka { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}

/// Locks one of the scenario's shared books.
pub(super) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    workload::lock(m, "a chaos")
}
