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
            Self::InvalidConfig { .. } | Self::ClientCreation { .. }
        )
    }

    /// A short stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidConfig { .. } => "invalid_config",
            Self::ClientCreation { .. } => "client_creation",
            Self::Subscribe { .. } => "subscribe",
            Self::RetriesExhausted { .. } => "retries_exhausted",
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
    }

    #[test]
    fn a_refused_property_value_never_reaches_the_message() {
        const SECRET: &str = "s3cr3t-value-for-the-test";
        for (key, value) in [
            // Unsupported in this build (no OpenSSL): librdkafka appends the value.
            ("ssl.key.password", SECRET.to_owned()),
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
