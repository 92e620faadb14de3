//! Telemetry, one struct per event: [`TelemetryEvent::emit`] writes its structured log line and its
//! metric together, so the two never drift apart. Metric names are defined once below and
//! listed in [`METRIC_NAMES`]. Tags are bounded: topic, partition, and short error labels;
//! offsets appear in logs only.

use std::time::Duration;
use tracing::{debug, error, info, warn};

/// A listed message was not handed to the handler (counter; tags `topic`, `partition`).
pub const MESSAGE_SKIPPED: &str = "dd.case.kafka_consumer.message_skipped";
/// A handler asked for a retry and the message is retried in place (counter, one per retry
/// attempt; tags `topic`, `partition`).
pub const RETRIES: &str = "dd.case_third_party_reader.retries";
/// A message failed on every attempt: the runtime stops (counter; tags `topic`, `partition`).
pub const RETRIES_EXHAUSTED: &str = "dd.case_third_party_reader.retries_exhausted";
/// Messages between the committed offset and the end of the partition, from librdkafka
/// statistics (gauge; tags `topic`, `partition`).
pub const CONSUMER_LAG: &str = "dd.case.kafka_consumer.consumer_lag";
/// Messages being handled now (gauge; tags `topic`, `partition`).
pub const IN_FLIGHT: &str = "dd.case.kafka_consumer.in_flight";
/// Partitions assigned to this consumer (counter; tag `topic`).
pub const PARTITIONS_ASSIGNED: &str = "dd.case.kafka_consumer.partitions_assigned";
/// Partitions revoked from this consumer (counter; tag `topic`).
pub const PARTITIONS_REVOKED: &str = "dd.case.kafka_consumer.partitions_revoked";
/// An offset commit failed (counter; tag `error`).
pub const COMMIT_FAILED: &str = "dd.case.kafka_consumer.commit_failed";
/// Storing a partition's watermark failed (counter; tags `topic`, `partition`).
pub const OFFSET_STORE_FAILED: &str = "dd.case.kafka_consumer.offset_store_failed";
/// A drain deadline passed with work still in flight; it was abandoned and fenced
/// (counter; tags `topic`, `partition`).
pub const DRAIN_DEADLINE_EXCEEDED: &str = "dd.case.kafka_consumer.drain_deadline_exceeded";
/// librdkafka reported an error (counter; tag `error`).
pub const CLIENT_ERROR: &str = "dd.case.kafka_consumer.client_error";
/// A message was handled and acknowledged (counter; tags `topic`, `partition`).
pub const MESSAGES_HANDLED: &str = "dd.case.kafka_consumer.messages_handled";
/// A partition was paused because its queue was full (counter; tags `topic`, `partition`).
pub const PARTITION_PAUSED: &str = "dd.case.kafka_consumer.partition_paused";

/// Every metric name this crate emits.
pub const METRIC_NAMES: &[&str] = &[
    MESSAGE_SKIPPED,
    RETRIES,
    RETRIES_EXHAUSTED,
    CONSUMER_LAG,
    IN_FLIGHT,
    PARTITIONS_ASSIGNED,
    PARTITIONS_REVOKED,
    COMMIT_FAILED,
    OFFSET_STORE_FAILED,
    DRAIN_DEADLINE_EXCEEDED,
    CLIENT_ERROR,
    MESSAGES_HANDLED,
    PARTITION_PAUSED,
];

pub(crate) use thirdparty_core::TelemetryEvent;

/// Counts one occurrence of `name` for a partition (tags `topic`, `partition`).
fn count_in_partition(name: &'static str, topic: &str, partition: i32) {
    metrics::counter!(name, "topic" => topic.to_owned(), "partition" => partition.to_string())
        .increment(1);
}

/// Sets the gauge `name` of a partition (tags `topic`, `partition`).
fn gauge_of_partition(name: &'static str, topic: &str, partition: i32, value: f64) {
    metrics::gauge!(name, "topic" => topic.to_owned(), "partition" => partition.to_string())
        .set(value);
}

/// A skip-listed message was acknowledged without calling the handler.
#[derive(Debug)]
pub(crate) struct MessageSkipped<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// Offset.
    pub(crate) offset: i64,
}

impl TelemetryEvent for MessageSkipped<'_> {
    fn emit(&self) {
        warn!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            "message skipped by the operator skip list; acknowledged without handling"
        );
        count_in_partition(MESSAGE_SKIPPED, self.topic, self.partition);
    }
}

/// A handler asked for a retry; the message will be handled again after `backoff`.
#[derive(Debug)]
pub(crate) struct RetryScheduled<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// Offset.
    pub(crate) offset: i64,
    /// The attempt that failed (1-based).
    pub(crate) attempt: u32,
    /// Total attempts allowed.
    pub(crate) max_attempts: u32,
    /// The wait before the next attempt.
    pub(crate) backoff: Duration,
    /// The handler's reason.
    pub(crate) reason: &'a str,
}

impl TelemetryEvent for RetryScheduled<'_> {
    fn emit(&self) {
        warn!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            attempt = self.attempt,
            max_attempts = self.max_attempts,
            backoff_ms = u64::try_from(self.backoff.as_millis()).unwrap_or(u64::MAX),
            reason = self.reason,
            "handler asked for a retry; retrying the message in place"
        );
        count_in_partition(RETRIES, self.topic, self.partition);
    }
}

/// A message failed on its last attempt; the runtime stops with a fatal error.
#[derive(Debug)]
pub(crate) struct RetriesExhausted<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// Offset.
    pub(crate) offset: i64,
    /// Attempts made.
    pub(crate) attempts: u32,
    /// The handler's last reason.
    pub(crate) reason: &'a str,
}

impl TelemetryEvent for RetriesExhausted<'_> {
    fn emit(&self) {
        error!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            attempts = self.attempts,
            reason = self.reason,
            "retries exhausted; stopping the consumer without committing this message (crash-on-retry)"
        );
        count_in_partition(RETRIES_EXHAUSTED, self.topic, self.partition);
    }
}

/// Consumer lag of one partition, from librdkafka statistics.
#[derive(Debug)]
pub(crate) struct ConsumerLag<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// Lag in messages.
    pub(crate) lag: i64,
}

impl TelemetryEvent for ConsumerLag<'_> {
    fn emit(&self) {
        debug!(
            topic = self.topic,
            partition = self.partition,
            lag = self.lag,
            "consumer lag"
        );
        #[allow(clippy::cast_precision_loss)]
        let lag = self.lag as f64;
        gauge_of_partition(CONSUMER_LAG, self.topic, self.partition, lag);
    }
}

/// Messages in flight in one partition changed.
#[derive(Debug)]
pub(crate) struct InFlight<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// Messages being handled now.
    pub(crate) count: usize,
}

impl TelemetryEvent for InFlight<'_> {
    fn emit(&self) {
        #[allow(clippy::cast_precision_loss)]
        let count = self.count as f64;
        gauge_of_partition(IN_FLIGHT, self.topic, self.partition, count);
    }
}

/// Partitions were assigned to this consumer.
#[derive(Debug)]
pub(crate) struct PartitionsAssigned<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// The partitions added.
    pub(crate) partitions: &'a [i32],
}

impl TelemetryEvent for PartitionsAssigned<'_> {
    fn emit(&self) {
        info!(
            topic = self.topic,
            partitions = ?self.partitions,
            "partitions assigned"
        );
        metrics::counter!(PARTITIONS_ASSIGNED, "topic" => self.topic.to_owned())
            .increment(self.partitions.len() as u64);
    }
}

/// Partitions were revoked from this consumer.
#[derive(Debug)]
pub(crate) struct PartitionsRevoked<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// The partitions removed.
    pub(crate) partitions: &'a [i32],
}

impl TelemetryEvent for PartitionsRevoked<'_> {
    fn emit(&self) {
        info!(
            topic = self.topic,
            partitions = ?self.partitions,
            "partitions revoked; draining in-flight work"
        );
        metrics::counter!(PARTITIONS_REVOKED, "topic" => self.topic.to_owned())
            .increment(self.partitions.len() as u64);
    }
}

/// An offset commit failed.
#[derive(Debug)]
pub(crate) struct CommitFailed<'a> {
    /// `auto` (periodic), `revoke`, or `shutdown`.
    pub(crate) trigger: &'static str,
    /// Short error label (librdkafka error code name).
    pub(crate) error_code: &'a str,
    /// The full error.
    pub(crate) error: &'a str,
}

impl TelemetryEvent for CommitFailed<'_> {
    fn emit(&self) {
        warn!(
            trigger = self.trigger,
            error_code = self.error_code,
            error = self.error,
            "offset commit failed; the offsets stay stored and are committed again later"
        );
        metrics::counter!(COMMIT_FAILED, "error" => self.error_code.to_owned()).increment(1);
    }
}

/// Storing a watermark failed.
#[derive(Debug)]
pub(crate) struct OffsetStoreFailed<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// The watermark (next offset to read).
    pub(crate) offset: i64,
    /// The error.
    pub(crate) error: &'a str,
}

impl TelemetryEvent for OffsetStoreFailed<'_> {
    fn emit(&self) {
        warn!(
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            error = self.error,
            "storing the partition's offset failed; it is stored again on the next completion"
        );
        count_in_partition(OFFSET_STORE_FAILED, self.topic, self.partition);
    }
}

/// A drain deadline passed with work in flight.
#[derive(Debug)]
pub(crate) struct DrainDeadlineExceeded<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// `revoke` or `shutdown`.
    pub(crate) trigger: &'static str,
    /// The deadline.
    pub(crate) deadline: Duration,
}

impl TelemetryEvent for DrainDeadlineExceeded<'_> {
    fn emit(&self) {
        warn!(
            topic = self.topic,
            partition = self.partition,
            trigger = self.trigger,
            deadline_ms = u64::try_from(self.deadline.as_millis()).unwrap_or(u64::MAX),
            "drain deadline passed; abandoning in-flight work (it will be redelivered) and fencing the partition"
        );
        count_in_partition(DRAIN_DEADLINE_EXCEEDED, self.topic, self.partition);
    }
}

/// librdkafka reported an error.
#[derive(Debug)]
pub(crate) struct ClientError<'a> {
    /// Short error label (librdkafka error code name).
    pub(crate) error_code: &'a str,
    /// The full error.
    pub(crate) error: &'a str,
    /// Whether librdkafka flags it fatal.
    pub(crate) fatal: bool,
}

impl TelemetryEvent for ClientError<'_> {
    fn emit(&self) {
        if self.fatal {
            error!(
                error_code = self.error_code,
                error = self.error,
                "fatal kafka client error"
            );
        } else {
            warn!(
                error_code = self.error_code,
                error = self.error,
                "kafka client error (librdkafka retries on its own)"
            );
        }
        metrics::counter!(CLIENT_ERROR, "error" => self.error_code.to_owned()).increment(1);
    }
}

/// A message was handled and acknowledged.
#[derive(Debug)]
pub(crate) struct MessageHandled<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
}

impl TelemetryEvent for MessageHandled<'_> {
    fn emit(&self) {
        count_in_partition(MESSAGES_HANDLED, self.topic, self.partition);
    }
}

/// A partition was paused because its queue was full.
#[derive(Debug)]
pub(crate) struct PartitionPaused<'a> {
    /// Topic.
    pub(crate) topic: &'a str,
    /// Partition.
    pub(crate) partition: i32,
    /// Messages held.
    pub(crate) held: usize,
}

impl TelemetryEvent for PartitionPaused<'_> {
    fn emit(&self) {
        debug!(
            topic = self.topic,
            partition = self.partition,
            held = self.held,
            "partition queue full; pausing fetches"
        );
        count_in_partition(PARTITION_PAUSED, self.topic, self.partition);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use std::collections::BTreeSet;

    fn emit_all() {
        let d = Duration::from_millis(5);
        MessageSkipped {
            topic: "t",
            partition: 1,
            offset: 9,
        }
        .emit();
        RetryScheduled {
            topic: "t",
            partition: 1,
            offset: 9,
            attempt: 1,
            max_attempts: 3,
            backoff: d,
            reason: "unavailable",
        }
        .emit();
        RetriesExhausted {
            topic: "t",
            partition: 1,
            offset: 9,
            attempts: 3,
            reason: "unavailable",
        }
        .emit();
        ConsumerLag {
            topic: "t",
            partition: 1,
            lag: 12,
        }
        .emit();
        InFlight {
            topic: "t",
            partition: 1,
            count: 3,
        }
        .emit();
        PartitionsAssigned {
            topic: "t",
            partitions: &[0, 1],
        }
        .emit();
        PartitionsRevoked {
            topic: "t",
            partitions: &[1],
        }
        .emit();
        CommitFailed {
            trigger: "auto",
            error_code: "RequestTimedOut",
            error: "timed out",
        }
        .emit();
        OffsetStoreFailed {
            topic: "t",
            partition: 1,
            offset: 10,
            error: "state",
        }
        .emit();
        DrainDeadlineExceeded {
            topic: "t",
            partition: 1,
            trigger: "revoke",
            deadline: d,
        }
        .emit();
        ClientError {
            error_code: "AllBrokersDown",
            error: "down",
            fatal: false,
        }
        .emit();
        MessageHandled {
            topic: "t",
            partition: 1,
        }
        .emit();
        PartitionPaused {
            topic: "t",
            partition: 1,
            held: 5,
        }
        .emit();
    }

    #[test]
    fn every_event_emits_a_listed_metric_with_bounded_tags() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, emit_all);
        let snapshot = snapshotter.snapshot().into_vec();
        let emitted: BTreeSet<&str> = snapshot.iter().map(|(k, ..)| k.key().name()).collect();
        let listed: BTreeSet<&str> = METRIC_NAMES.iter().copied().collect();
        assert_eq!(
            emitted, listed,
            "METRIC_NAMES must list exactly what is emitted"
        );
        for (key, _, _, value) in &snapshot {
            for label in key.key().labels() {
                assert!(
                    ["topic", "partition", "error"].contains(&label.key()),
                    "unbounded tag {} on {}",
                    label.key(),
                    key.key().name()
                );
            }
            if key.key().name() == CONSUMER_LAG {
                assert_eq!(value, &DebugValue::Gauge(12.0.into()));
            }
            if key.key().name() == PARTITIONS_ASSIGNED {
                assert_eq!(value, &DebugValue::Counter(2));
            }
        }
    }
}
