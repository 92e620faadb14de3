//! Telemetry, one struct per event: [`TelemetryEvent::emit`] writes its structured log line and its
//! metric together, so the two never drift apart. Metric names are defined once below and
//! listed in [`METRIC_NAMES`]. Tags are bounded: topic, partition, and short error labels;
//! offsets appear in logs only.

use std::time::Duration;
use thirdparty_core::Payload;
use tracing::{debug, error, info, warn};

/// A listed message was not handed to the handler (counter; tags `topic`, `partition`).
pub const MESSAGE_SKIPPED: &str = "dd.case.kafka_consumer.message_skipped";
/// A handler asked for a retry and the message is retried in place (counter, one per retry
/// attempt; tags `topic`, `partition`).
pub const RETRY_ATTEMPTS: &str = "dd.case_third_party_reader.retry_attempts";
/// A message failed on every attempt: the runtime stops and the reader exits non-zero, to be
/// restarted (counter; tags `topic`, `partition`). The previous service's meaning of the
/// name: "pod crashed due to retryable error".
pub const RETRIES: &str = "dd.case_third_party_reader.retries";
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
/// A message acknowledged without being applied was parked in the dead-letter topic
/// (counter; tag `reason`: a [`thirdparty_core::DeadLetterReason`] label; the flavor comes
/// from the reader's global tags).
pub const DEAD_LETTERED: &str = "dd.case.kafka_consumer.dead_lettered";
/// Producing a message to the dead-letter topic failed; it is retried with backoff while its
/// partition waits (counter; tag `error`).
pub const DEAD_LETTER_PRODUCE_FAILED: &str = "dd.case.kafka_consumer.dead_letter_produce_failed";

/// Every metric name this crate emits.
pub const METRIC_NAMES: &[&str] = &[
    MESSAGE_SKIPPED,
    RETRY_ATTEMPTS,
    RETRIES,
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
    DEAD_LETTERED,
    DEAD_LETTER_PRODUCE_FAILED,
];

pub(crate) use thirdparty_core::TelemetryEvent;

/// Counts one occurrence of `name` for a partition (tags `topic`, `partition`).
fn count_in_partition(name: &'static str, topic: &str, partition: i32) {
    metrics::counter!(name, "topic" => topic.to_owned(), "partition" => partition.to_string())
        .increment(1);
}

/// Logs that a topic's `partitions` were assigned or revoked (`message`), and counts them
/// under `name` (tag `topic`).
fn partitions_changed(name: &'static str, topic: &str, partitions: &[i32], message: &str) {
    info!(topic, partitions = ?partitions, "{message}");
    metrics::counter!(name, "topic" => topic.to_owned()).increment(partitions.len() as u64);
}

/// Counts one occurrence of `name` for an error label (tag `error`).
fn count_error(name: &'static str, error_code: &str) {
    metrics::counter!(name, "error" => error_code.to_owned()).increment(1);
}

/// Sets the gauge `name` of a partition (tags `topic`, `partition`).
fn gauge_of_partition(name: &'static str, topic: &str, partition: i32, value: f64) {
    metrics::gauge!(name, "topic" => topic.to_owned(), "partition" => partition.to_string())
        .set(value);
}

/// Milliseconds of `d`, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `value` as a gauge reading.
#[allow(clippy::cast_precision_loss)]
fn gauge_value<T: TryInto<i64>>(value: T) -> f64 {
    value.try_into().unwrap_or(i64::MAX) as f64
}

thirdparty_core::telemetry_events! {
    /// A skip-listed message was acknowledged without calling the handler.
    #[derive(Debug)]
    pub(crate) struct MessageSkipped<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// The message: its key, timestamp, size and header names are logged (never its
        /// value, nor header values).
        payload: &'a Payload,
    }
    |e| {
        let key = e.payload.key.as_deref().map(String::from_utf8_lossy);
        let timestamp = e.payload.timestamp.map(|t| t.to_rfc3339());
        let header_names: Vec<&str> = e.payload.headers.iter().map(|(k, _)| k.as_str()).collect();
        warn!(topic = e.topic, partition = e.partition, offset = e.offset,
            key = key.as_deref(), timestamp = timestamp.as_deref(),
            value_bytes = e.payload.value.len(), header_names = ?header_names,
            "message skipped by the operator skip list; acknowledged without handling");
        count_in_partition(MESSAGE_SKIPPED, e.topic, e.partition);
    }

    /// A handler asked for a retry; the message will be handled again after `backoff`.
    #[derive(Debug)]
    pub(crate) struct RetryScheduled<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Total attempts allowed.
        max_attempts: u32,
        /// The wait before the next attempt.
        backoff: Duration,
        /// The handler's reason.
        reason: &'a str,
    }
    |e| {
        warn!(topic = e.topic, partition = e.partition, offset = e.offset, attempt = e.attempt,
            max_attempts = e.max_attempts, backoff_ms = millis(e.backoff), reason = e.reason,
            "handler asked for a retry; retrying the message in place");
        count_in_partition(RETRY_ATTEMPTS, e.topic, e.partition);
    }

    /// A message failed on its last attempt; the runtime stops with a fatal error.
    #[derive(Debug)]
    pub(crate) struct RetriesExhausted<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// Attempts made.
        attempts: u32,
        /// The handler's last reason.
        reason: &'a str,
    }
    |e| {
        error!(topic = e.topic, partition = e.partition, offset = e.offset, attempts = e.attempts,
            reason = e.reason,
            "retries exhausted; stopping the consumer without committing this message (crash-on-retry)");
        count_in_partition(RETRIES, e.topic, e.partition);
    }

    /// Consumer lag of one partition, from librdkafka statistics.
    #[derive(Debug)]
    pub(crate) struct ConsumerLag<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// Lag in messages.
        lag: i64,
    }
    |e| {
        debug!(topic = e.topic, partition = e.partition, lag = e.lag, "consumer lag");
        gauge_of_partition(CONSUMER_LAG, e.topic, e.partition, gauge_value(e.lag));
    }

    /// Messages in flight in one partition changed.
    #[derive(Debug)]
    pub(crate) struct InFlight<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// Messages being handled now.
        count: usize,
    }
    |e| { gauge_of_partition(IN_FLIGHT, e.topic, e.partition, gauge_value(e.count)); }

    /// Partitions were assigned to this consumer.
    #[derive(Debug)]
    pub(crate) struct PartitionsAssigned<'a> {
        /// Topic.
        topic: &'a str,
        /// The partitions added.
        partitions: &'a [i32],
    }
    |e| { partitions_changed(PARTITIONS_ASSIGNED, e.topic, e.partitions, "partitions assigned"); }

    /// Partitions were revoked from this consumer.
    #[derive(Debug)]
    pub(crate) struct PartitionsRevoked<'a> {
        /// Topic.
        topic: &'a str,
        /// The partitions removed.
        partitions: &'a [i32],
    }
    |e| {
        partitions_changed(PARTITIONS_REVOKED, e.topic, e.partitions,
            "partitions revoked; draining in-flight work");
    }

    /// An offset commit failed.
    #[derive(Debug)]
    pub(crate) struct CommitFailed<'a> {
        /// `auto` (periodic), `revoke`, or `shutdown`.
        trigger: &'static str,
        /// Short error label (librdkafka error code name).
        error_code: &'a str,
        /// The full error.
        error: &'a str,
    }
    |e| {
        warn!(trigger = e.trigger, error_code = e.error_code, error = e.error,
            "offset commit failed; the offsets stay stored and are committed again later");
        count_error(COMMIT_FAILED, e.error_code);
    }

    /// Storing a watermark failed.
    #[derive(Debug)]
    pub(crate) struct OffsetStoreFailed<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// The watermark (next offset to read).
        offset: i64,
        /// The error.
        error: &'a str,
    }
    |e| {
        warn!(topic = e.topic, partition = e.partition, offset = e.offset, error = e.error,
            "storing the partition's offset failed; it is stored again on the next completion");
        count_in_partition(OFFSET_STORE_FAILED, e.topic, e.partition);
    }

    /// A drain deadline passed with work in flight.
    #[derive(Debug)]
    pub(crate) struct DrainDeadlineExceeded<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// `revoke` or `shutdown`.
        trigger: &'static str,
        /// The deadline.
        deadline: Duration,
    }
    |e| {
        warn!(topic = e.topic, partition = e.partition, trigger = e.trigger,
            deadline_ms = millis(e.deadline),
            "drain deadline passed; abandoning in-flight work (it will be redelivered) and fencing the partition");
        count_in_partition(DRAIN_DEADLINE_EXCEEDED, e.topic, e.partition);
    }

    /// librdkafka reported an error.
    #[derive(Debug)]
    pub(crate) struct ClientError<'a> {
        /// Short error label (librdkafka error code name).
        error_code: &'a str,
        /// The full error.
        error: &'a str,
        /// Whether librdkafka flags it fatal.
        fatal: bool,
    }
    |e| {
        if e.fatal {
            error!(error_code = e.error_code, error = e.error, "fatal kafka client error");
        } else {
            warn!(error_code = e.error_code, error = e.error,
                "kafka client error (librdkafka retries on its own)");
        }
        count_error(CLIENT_ERROR, e.error_code);
    }

    /// A message was handled and acknowledged.
    #[derive(Debug)]
    pub(crate) struct MessageHandled<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
    }
    |e| { count_in_partition(MESSAGES_HANDLED, e.topic, e.partition); }

    /// A partition was paused because its queue was full.
    #[derive(Debug)]
    pub(crate) struct PartitionPaused<'a> {
        /// Topic.
        topic: &'a str,
        /// Partition.
        partition: i32,
        /// Messages held.
        held: usize,
    }
    |e| {
        debug!(topic = e.topic, partition = e.partition, held = e.held,
            "partition queue full; pausing fetches");
        count_in_partition(PARTITION_PAUSED, e.topic, e.partition);
    }

    /// A message was parked in the dead-letter topic (the broker acknowledged it); its
    /// offset may now be committed. The error text stays in the parked record's headers.
    #[derive(Debug)]
    pub(crate) struct MessageDeadLettered<'a> {
        /// Source topic.
        topic: &'a str,
        /// Source partition.
        partition: i32,
        /// Source offset.
        offset: i64,
        /// The dead-letter topic.
        dead_letter_topic: &'a str,
        /// Why it was parked (a `DeadLetterReason` label).
        reason: &'static str,
        /// The error's stable kind.
        error_kind: &'a str,
        /// Whether the value was cut to fit the record size limit.
        truncated: bool,
    }
    |e| {
        warn!(topic = e.topic, partition = e.partition, offset = e.offset,
            dead_letter_topic = e.dead_letter_topic, reason = e.reason,
            error_kind = e.error_kind, truncated = e.truncated,
            "message not applied; parked in the dead-letter topic");
        metrics::counter!(DEAD_LETTERED, "reason" => e.reason).increment(1);
    }

    /// Producing a message to the dead-letter topic failed; its partition waits and the
    /// produce is tried again after `backoff` (`None`: no attempt left).
    #[derive(Debug)]
    pub(crate) struct DeadLetterProduceFailed<'a> {
        /// Source topic.
        topic: &'a str,
        /// Source partition.
        partition: i32,
        /// Source offset.
        offset: i64,
        /// The dead-letter topic.
        dead_letter_topic: &'a str,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// The wait before the next attempt, if any.
        backoff: Option<Duration>,
        /// librdkafka's error code name.
        error_code: &'a str,
        /// librdkafka's error.
        error: &'a str,
    }
    |e| {
        warn!(topic = e.topic, partition = e.partition, offset = e.offset,
            dead_letter_topic = e.dead_letter_topic, attempt = e.attempt,
            backoff_ms = e.backoff.map(millis), error_code = e.error_code, error = e.error,
            "producing to the dead-letter topic failed; the partition waits and retries");
        count_error(DEAD_LETTER_PRODUCE_FAILED, e.error_code);
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
            payload: &Payload::from_value("v"),
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
        MessageDeadLettered {
            topic: "t",
            partition: 1,
            offset: 9,
            dead_letter_topic: "t.dead-letter",
            reason: "decode_failed",
            error_kind: "not_json",
            truncated: false,
        }
        .emit();
        DeadLetterProduceFailed {
            topic: "t",
            partition: 1,
            offset: 9,
            dead_letter_topic: "t.dead-letter",
            attempt: 1,
            backoff: Some(d),
            error_code: "UnknownTopicOrPartition",
            error: "unknown topic",
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
                    ["topic", "partition", "error", "reason"].contains(&label.key()),
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
