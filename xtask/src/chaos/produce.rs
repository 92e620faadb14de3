//! Producing a scenario's records and where each landed.

use crate::workload;
use anyhow::Result;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

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
        let mut ends = BTreeMap::new();
        for (p, o) in self.at.iter().flatten() {
            let e = ends.entry(*p).or_insert(0);
            *e = (*e).max(o + 1);
        }
        ends
    }
    pub(super) fn delivered(&self) -> u64 {
        self.at.iter().flatten().count() as u64
    }
}

/// The producer of the scenario records (10 MB poison included).
pub(super) fn producer(bootstrap: &str) -> Result<FutureProducer> {
    workload::producer(
        bootstrap,
        "chaos",
        &[
            ("linger.ms", "5"),
            ("message.timeout.ms", "300000"),
            ("message.max.bytes", "16000000"),
            ("queue.buffering.max.messages", "20000"),
            ("queue.buffering.max.kbytes", "262144"),
        ],
    )
}
/// Produces `records` (index, key, value) and records their deliveries.
pub(super) async fn produce_records(
    producer: &FutureProducer,
    topic: &str,
    records: Vec<(u64, String, Vec<u8>)>,
    deliveries: &Mutex<Deliveries>,
) -> Result<()> {
    let mut pending = Vec::with_capacity(records.len());
    for (i, key, value) in records {
        let mut record = FutureRecord::<str, [u8]>::to(topic)
            .key(key.as_str())
            .payload(value.as_slice());
        loop {
            match producer.send_result(record) {
                Ok(f) => {
                    pending.push((i, f));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => {
                    lock(deliveries)?.failed.push((i, e.to_string()));
                    break;
                }
            }
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

/// Locks one of the scenario's shared books.
pub(super) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    workload::lock(m, "a chaos")
}
