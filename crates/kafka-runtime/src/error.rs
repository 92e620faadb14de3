//! [`RuntimeError`]: why the runtime could not start or had to stop.

use rdkafka::error::KafkaError;

/// Why [`crate::KafkaRuntime`] could not start, or stopped. [`RuntimeError::restart_may_help`]
/// tells a supervisor whether restarting the process can succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The configuration is invalid. Restarting does not help: fix the configuration.
    #[error("invalid kafka consumer configuration: `{field}` {message}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// librdkafka refused to create the consumer (unknown or invalid property, bad TLS
    /// files…). Restarting does not help: fix the configuration.
    #[error(
        "cannot create the kafka consumer for brokers `{brokers}` (group `{group_id}`): {source}; check the brokers list and the librdkafka overrides"
    )]
    ClientCreation {
        /// `bootstrap.servers`.
        brokers: String,
        /// Consumer group.
        group_id: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },

    /// Subscribing to the topic failed. Restarting may help if the cause was transient.
    #[error(
        "cannot subscribe to topic `{topic}` on brokers `{brokers}`: {source}; check the topic name and the client's ACLs"
    )]
    Subscribe {
        /// Topic.
        topic: String,
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },

    /// A message kept failing with a retryable error after every attempt. Nothing from the
    /// failed offset on was committed, so a restart redelivers it (the previous service's crash-on-retry
    /// policy). Restarting helps once the dependency recovers; if the message itself is
    /// poison, add `topic:partition:offset` to the skip list.
    #[error(
        "message {topic}:{partition}:{offset} still failed after {attempts} attempts (last: {reason}); offsets were committed only up to it, restart to retry it, or add `{topic}:{partition}:{offset}` to `[dd.kafka.consumer] skip_messages` if it is poison"
    )]
    RetriesExhausted {
        /// Topic of the failed message.
        topic: String,
        /// Partition of the failed message.
        partition: i32,
        /// Offset of the failed message.
        offset: i64,
        /// Handler calls made.
        attempts: u32,
        /// The handler's last retry reason.
        reason: String,
    },

    /// A message to park could not be produced to the dead-letter topic within the retry
    /// budget. Its offset was not stored (the safe watermark before it is committed), so a
    /// restart redelivers it. Restarting helps once the topic is reachable.
    #[error(
        "cannot park message {source_topic}:{partition}:{offset} in the dead-letter topic `{topic}` after {attempts} attempts (last: {error}); its offset was not committed and it is redelivered after a restart; create the topic (e.g. `kafka-topics --create --topic {topic} --partitions <as many as {source_topic}> --replication-factor 3`), grant the reader WRITE on it, or set `[kafka] dead_letter = false`"
    )]
    DeadLetterUnavailable {
        /// The dead-letter topic.
        topic: String,
        /// Topic of the message to park.
        source_topic: String,
        /// Its partition.
        partition: i32,
        /// Its offset.
        offset: i64,
        /// Produce attempts made.
        attempts: u32,
        /// librdkafka's last error.
        error: String,
    },

    /// librdkafka refused to create the dead-letter producer (an invalid shared property).
    /// Restarting does not help: fix the configuration.
    #[error(
        "cannot create the dead-letter producer for topic `{topic}` on brokers `{brokers}`: {source}; check the brokers list and the [kafka.librdkafka] security properties (shared with the producer)"
    )]
    DeadLetterProducerCreation {
        /// `bootstrap.servers`.
        brokers: String,
        /// The dead-letter topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },

    /// The task consuming a partition ended abnormally (the handler panicked, or an
    /// internal invariant broke). Offsets were stored only up to finished messages; a
    /// restart redelivers the rest.
    #[error(
        "the consumer task of partition {topic}:{partition} failed: {detail}; restart the consumer (offsets after the last finished message are redelivered) and report a bug if it repeats"
    )]
    PartitionTaskFailed {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// What happened.
        detail: String,
    },

    /// The thread that polls librdkafka stopped unexpectedly.
    #[error(
        "the kafka polling thread for topic `{topic}` stopped unexpectedly: {detail}; restart the consumer"
    )]
    DriverFailed {
        /// Topic.
        topic: String,
        /// What happened.
        detail: String,
    },

    /// librdkafka reported a fatal client error (e.g. the group member was fenced by a
    /// newer instance with the same `group.instance.id`). Restarting usually helps.
    #[error(
        "fatal kafka client error on brokers `{brokers}`, topic `{topic}`: {source}; restart the consumer and check the brokers' logs"
    )]
    FatalKafka {
        /// `bootstrap.servers`.
        brokers: String,
        /// Topic.
        topic: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },
}

impl RuntimeError {
    /// Whether restarting the consumer process can succeed (configuration errors cannot).
    pub fn restart_may_help(&self) -> bool {
        !matches!(
            self,
            Self::InvalidConfig { .. }
                | Self::ClientCreation { .. }
                | Self::DeadLetterProducerCreation { .. }
        )
    }

    /// A short stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidConfig { .. } => "invalid_config",
            Self::ClientCreation { .. } => "client_creation",
            Self::Subscribe { .. } => "subscribe",
            Self::RetriesExhausted { .. } => "retries_exhausted",
            Self::DeadLetterUnavailable { .. } => "dead_letter_unavailable",
            Self::DeadLetterProducerCreation { .. } => "dead_letter_producer_creation",
            Self::PartitionTaskFailed { .. } => "partition_task_failed",
            Self::DriverFailed { .. } => "driver_failed",
            Self::FatalKafka { .. } => "fatal_kafka",
        }
    }
}

/// librdkafka's configuration errors carry the property's value (`ClientConfig(code,
/// description, key, value)`, and the description often quotes it too): the value may be a
/// credential (`sasl.password`, `ssl.key.password`), so it is replaced with `<redacted>`
/// before the error is stored in one of ours, which ends up in logs and on stderr. The key
/// and librdkafka's reason stay: they are what the operator needs to fix it.
pub(crate) fn without_config_value(error: KafkaError) -> KafkaError {
    match error {
        KafkaError::ClientConfig(code, description, key, value) => {
            let description = if value.is_empty() {
                description
            } else {
                description.replace(value.as_str(), "<redacted>")
            };
            KafkaError::ClientConfig(code, description, key, "<redacted>".to_owned())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_coordinates_and_the_fix() {
        let e = RuntimeError::RetriesExhausted {
            topic: "jira".into(),
            partition: 2,
            offset: 41,
            attempts: 6,
            reason: "Case API unavailable".into(),
        };
        let text = e.to_string();
        assert!(text.contains("jira:2:41"), "{text}");
        assert!(text.contains("skip_messages"), "{text}");
        assert!(e.restart_may_help());
        let c = RuntimeError::InvalidConfig {
            field: "topic",
            message: "is empty".into(),
        };
        assert!(!c.restart_may_help());
        assert_eq!(c.kind(), "invalid_config");
        let d = RuntimeError::DeadLetterUnavailable {
            topic: "jira.dead-letter".into(),
            source_topic: "jira".into(),
            partition: 1,
            offset: 7,
            attempts: 3,
            error: "Broker: Unknown topic or partition".into(),
        };
        let text = d.to_string();
        for part in [
            "jira:1:7",
            "`jira.dead-letter`",
            "--create",
            "dead_letter = false",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert!(d.restart_may_help());
    }

    #[test]
    fn a_refused_property_value_never_reaches_the_message() {
        const SECRET: &str = "s3cr3t-value-for-the-test";
        for (key, value) in [
            // Not one of the accepted values: librdkafka quotes it.
            ("security.protocol", format!("{SECRET}-not-a-protocol")),
            // Invalid value: librdkafka quotes it in its description.
            ("session.timeout.ms", format!("{SECRET}-not-a-number")),
        ] {
            let error = rdkafka::config::ClientConfig::new()
                .set("bootstrap.servers", "127.0.0.1:1")
                .set("group.id", "g")
                .set(key, &value)
                .create::<rdkafka::consumer::BaseConsumer>()
                .err()
                .expect("librdkafka refuses this property");
            assert!(
                error.to_string().contains(SECRET),
                "the premise: rdkafka's own message shows the value: {error}"
            );
            let shown = without_config_value(error).to_string();
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(shown.contains(key), "the key stays: {shown}");
        }
    }
}
