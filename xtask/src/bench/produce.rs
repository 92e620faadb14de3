//! Producing the bench events: as fast as the broker takes them (bulk) or one by one at a
//! paced rate, counting bytes and the end offset of every partition.

use super::Bench;
use super::events::{Template, filter_event};
use crate::workload;
use anyhow::{Context, Result, bail};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Default, Clone)]
/// What one production delivered.
pub(super) struct Produced {
    pub(super) count: u64,
    bytes: u64,
    pub(super) seconds: f64,
    /// Next offset per partition after the last delivered record (expected committed offset).
    pub(super) ends: BTreeMap<i32, i64>,
}

impl Produced {
    /// Mean record value size.
    pub(super) fn mean_bytes(&self) -> f64 {
        self.bytes as f64 / self.count.max(1) as f64
    }

    fn record(&mut self, partition: i32, offset: i64) {
        let end = self.ends.entry(partition).or_insert(0);
        *end = (*end).max(offset + 1);
    }

    pub(super) fn json(&self) -> Value {
        json!({
            "count": self.count,
            "mean_bytes": self.mean_bytes(),
            "seconds": self.seconds,
            "per_partition_end_offsets": self.ends,
        })
    }
}

/// The bench producer, lingering `linger_ms`.
pub(super) fn producer(bootstrap: &str, linger_ms: &str) -> Result<FutureProducer> {
    workload::producer(
        bootstrap,
        "bench",
        &[
            ("linger.ms", linger_ms),
            ("message.timeout.ms", "120000"),
            ("queue.buffering.max.messages", "200000"),
        ],
    )
}

/// Awaits the oldest delivery reports until at most `keep` are pending.
pub(super) async fn settle(
    pending: &mut VecDeque<DeliveryFuture>,
    keep: usize,
    out: &mut Produced,
) -> Result<()> {
    while pending.len() > keep {
        let Some(future) = pending.pop_front() else {
            break;
        };
        let delivery = future
            .await
            .map_err(|_| anyhow::anyhow!("the producer dropped a delivery report"))?
            .map_err(|(e, _)| anyhow::anyhow!("producing a bench event failed: {e}"))?;
        out.record(delivery.partition, delivery.offset);
    }
    Ok(())
}

/// Queues one record (settling half the pending reports while the queue is full).
pub(super) async fn send(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    value: &[u8],
    pending: &mut VecDeque<DeliveryFuture>,
    out: &mut Produced,
) -> Result<()> {
    let mut record = FutureRecord::<str, [u8]>::to(topic).key(key).payload(value);
    loop {
        match producer.send_result(record) {
            Ok(future) => {
                pending.push_back(future);
                out.count += 1;
                out.bytes += value.len() as u64;
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                let keep = pending.len() / 2;
                settle(pending, keep, out).await?;
                if pending.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Err((e, _)) => bail!("producing to {topic} failed: {e}"),
        }
    }
}

impl Bench<'_> {
    /// Creates this run's topic for `what`.
    pub(super) fn topic(&self, what: &str) -> Result<String> {
        let topic = format!("bench_{what}_{}", self.run_id);
        self.broker
            .create_topic(&topic, self.args.partitions)
            .with_context(|| format!("creating topic {topic}"))?;
        Ok(topic)
    }

    /// Produces `count` events from `event(i)` as fast as the broker takes them.
    pub(super) async fn produce_bulk(
        &self,
        topic: &str,
        count: u64,
        mut event: impl FnMut(u64) -> (String, Vec<u8>),
    ) -> Result<Produced> {
        let producer = producer(&self.bootstrap, "5")?;
        let started = Instant::now();
        let mut out = Produced::default();
        let mut pending = VecDeque::new();
        for i in 0..count {
            let (key, value) = event(i);
            send(&producer, topic, &key, &value, &mut pending, &mut out).await?;
            if pending.len() >= 100_000 {
                settle(&mut pending, 50_000, &mut out).await?;
            }
        }
        settle(&mut pending, 0, &mut out).await?;
        out.seconds = started.elapsed().as_secs_f64();
        Ok(out)
    }

    /// Creates the topic for `what` and fills it with `count` PreFilter-rejected events.
    pub(super) async fn produce_filter_events(
        &self,
        what: &str,
        count: u64,
        template: &Template,
    ) -> Result<(String, Produced)> {
        let topic = self.topic(what)?;
        let produced = self
            .produce_bulk(&topic, count, |i| filter_event(template, i, count))
            .await?;
        Ok((topic, produced))
    }
}
