//! The one test producer: records in, deliveries (partition, offset) out.

use crate::error::{HarnessError, kafka};
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use std::time::Duration;

/// One record to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    /// Record key (partitioning and ordering key).
    pub key: Option<String>,
    /// Record value.
    pub value: Vec<u8>,
    /// Explicit partition, else the key decides.
    pub partition: Option<i32>,
}

impl TestRecord {
    /// A keyed record.
    pub fn keyed(key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key: Some(key.into()),
            value: value.into(),
            partition: None,
        }
    }

    /// Sends the record to this partition.
    #[must_use]
    pub fn to_partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
}

/// Where a produced record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// How long [`TestProducer::enqueue`] waits before retrying while librdkafka's queue is
/// full, unless [`TestProducerBuilder::queue_full_wait`] says otherwise.
pub const QUEUE_FULL_WAIT: Duration = Duration::from_millis(10);

/// A producer with the settings tests and load generators need. The defaults are the
/// tests': `compression.type=none`, `linger.ms=5`, `message.timeout.ms=60000`, no
/// idempotence; [`TestProducerBuilder::with`] overrides or adds any librdkafka property.
pub struct TestProducer {
    producer: FutureProducer,
    queue_full_wait: Duration,
}

impl std::fmt::Debug for TestProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestProducer").finish_non_exhaustive()
    }
}

/// Builds a [`TestProducer`].
#[derive(Debug, Clone)]
pub struct TestProducerBuilder {
    config: ClientConfig,
    queue_full_wait: Duration,
}

impl TestProducerBuilder {
    /// Sets librdkafka property `key` to `value` (e.g. `compression.type`, `linger.ms`,
    /// `queue.buffering.max.messages`).
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.config.set(key, value);
        self
    }

    /// How long [`TestProducer::enqueue`] waits before retrying while librdkafka's queue is
    /// full (default [`QUEUE_FULL_WAIT`]).
    #[must_use]
    pub fn queue_full_wait(mut self, wait: Duration) -> Self {
        self.queue_full_wait = wait;
        self
    }

    /// Creates the producer.
    pub fn build(self) -> Result<TestProducer, HarnessError> {
        let producer = self
            .config
            .create()
            .map_err(kafka("creating the test producer"))?;
        Ok(TestProducer {
            producer,
            queue_full_wait: self.queue_full_wait,
        })
    }
}

impl TestProducer {
    /// A builder with the test defaults for `bootstrap`.
    pub fn builder(bootstrap: &str) -> TestProducerBuilder {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", bootstrap)
            .set("compression.type", "none")
            .set("linger.ms", "5")
            .set("message.timeout.ms", "60000")
            .set("enable.idempotence", "false");
        TestProducerBuilder {
            config,
            queue_full_wait: QUEUE_FULL_WAIT,
        }
    }

    /// Enqueues one record without waiting: `None` while librdkafka's queue is full (settle
    /// some deliveries, or wait, then try again); otherwise a future resolving to where it
    /// landed.
    pub fn try_enqueue(
        &self,
        topic: &str,
        record: &TestRecord,
    ) -> Result<Option<DeliveryFuture>, HarnessError> {
        let mut future_record = FutureRecord::<String, Vec<u8>>::to(topic).payload(&record.value);
        if let Some(k) = &record.key {
            future_record = future_record.key(k);
        }
        if let Some(p) = record.partition {
            future_record = future_record.partition(p);
        }
        match self.producer.send_result(future_record) {
            Ok(future) => Ok(Some(future)),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => Ok(None),
            Err((source, _)) => Err(HarnessError::Kafka {
                action: format!("producing to `{topic}`"),
                source,
            }),
        }
    }

    /// Enqueues one record, waiting (steps of [`TestProducerBuilder::queue_full_wait`])
    /// while librdkafka's queue is full; the returned future resolves to where it landed.
    pub async fn enqueue(
        &self,
        topic: &str,
        record: &TestRecord,
    ) -> Result<DeliveryFuture, HarnessError> {
        loop {
            if let Some(future) = self.try_enqueue(topic, record)? {
                return Ok(future);
            }
            tokio::time::sleep(self.queue_full_wait).await;
        }
    }

    /// Produces `records` in order: everything is enqueued first (librdkafka batches, and so
    /// compresses), then the deliveries are awaited. One producer keeps each partition in the
    /// given order.
    pub async fn send_all(
        &self,
        topic: &str,
        records: &[TestRecord],
    ) -> Result<Vec<Delivered>, HarnessError> {
        let mut pending = Vec::with_capacity(records.len());
        for r in records {
            pending.push(self.enqueue(topic, r).await?);
        }
        let mut delivered = Vec::with_capacity(pending.len());
        for future in pending {
            delivered.push(delivery(topic, future).await?);
        }
        Ok(delivered)
    }
}

/// Awaits one delivery report of a record sent to `topic`.
pub async fn delivery(topic: &str, future: DeliveryFuture) -> Result<Delivered, HarnessError> {
    let result = future.await.map_err(|_| HarnessError::Kafka {
        action: format!("producing to `{topic}`"),
        source: KafkaError::Canceled,
    })?;
    let d = result.map_err(|(source, _)| HarnessError::Kafka {
        action: format!("producing to `{topic}`"),
        source,
    })?;
    Ok(Delivered {
        partition: d.partition,
        offset: d.offset,
    })
}

/// Produces `records` in order with `compression` (`none`, `gzip`, `snappy`, `lz4`,
/// `zstd`) through a fresh [`TestProducer`].
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    records: &[TestRecord],
    compression: &str,
) -> Result<Vec<Delivered>, HarnessError> {
    TestProducer::builder(bootstrap)
        .with("compression.type", compression)
        .build()?
        .send_all(topic, records)
        .await
}
