//! Producing the bench events: as fast as the broker takes them (bulk) or one by one at a
//! paced rate, counting bytes and the end offset of every partition.

use super::Bench;
use super::events::{Template, filter_event};
use crate::workload;
use anyhow::{Context, Result};
use rdkafka::producer::DeliveryFuture;
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};
use testkit::offsets::extend_partition_ends;
use testkit::produce::{TestProducer, TestRecord, delivery};

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

    pub(super) fn json(&self) -> Value {
        json!({
            "count": self.count,
            "mean_bytes": self.mean_bytes(),
            "seconds": self.seconds,
            "per_partition_end_offsets": self.ends,
        })
    }
}

/// One bench producer to one topic: records queued as fast as librdkafka takes them,
/// delivery reports settled on demand (half of them whenever the queue is full, so the
/// producer never idles on a timer while reports wait).
pub(super) struct Sender<'t> {
    producer: TestProducer,
    topic: &'t str,
    pending: VecDeque<DeliveryFuture>,
    /// What was queued and delivered so far.
    pub(super) out: Produced,
}

impl<'t> Sender<'t> {
    /// A producer to `topic`, lingering `linger_ms`.
    pub(super) fn new(bootstrap: &str, linger_ms: &str, topic: &'t str) -> Result<Self> {
        let producer = workload::lz4_producer(bootstrap)
            .with("linger.ms", linger_ms)
            .with("message.timeout.ms", "120000")
            .with("queue.buffering.max.messages", "200000")
            .build()
            .context("creating the bench producer")?;
        Ok(Self {
            producer,
            topic,
            pending: VecDeque::new(),
            out: Produced::default(),
        })
    }

    /// Reports not settled yet.
    pub(super) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Queues one record (settling half the pending reports while the queue is full).
    pub(super) async fn send(&mut self, (key, value): (String, Vec<u8>)) -> Result<()> {
        let bytes = value.len() as u64;
        let record = TestRecord::keyed(key, value);
        loop {
            if let Some(future) = self.producer.try_enqueue(self.topic, &record)? {
                self.pending.push_back(future);
                self.out.count += 1;
                self.out.bytes += bytes;
                return Ok(());
            }
            self.settle(self.pending.len() / 2).await?;
            if self.pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// Awaits the oldest delivery reports until at most `keep` are pending.
    pub(super) async fn settle(&mut self, keep: usize) -> Result<()> {
        while self.pending.len() > keep {
            let Some(future) = self.pending.pop_front() else {
                break;
            };
            let landed = delivery(self.topic, future)
                .await
                .context("producing a bench event")?;
            extend_partition_ends(&mut self.out.ends, [(landed.partition, landed.offset)]);
        }
        Ok(())
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
        let mut sender = Sender::new(&self.bootstrap, "5", topic)?;
        let started = Instant::now();
        for i in 0..count {
            sender.send(event(i)).await?;
            if sender.pending() >= 100_000 {
                sender.settle(50_000).await?;
            }
        }
        sender.settle(0).await?;
        sender.out.seconds = started.elapsed().as_secs_f64();
        Ok(sender.out)
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
