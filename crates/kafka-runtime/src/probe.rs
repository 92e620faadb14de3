//! One-off broker access for operators: [`probe_topic`] (is the broker reachable, how many
//! partitions has the topic) and [`read_range`] (re-read a partition's offset range for a
//! replay). Neither joins the consumer group nor commits anything.

use crate::ConsumerConfig;
use crate::partition::payload_of;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use thirdparty_core::Payload;

/// Why a probe or a range read failed. Both are retryable once the broker is reachable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// librdkafka refused the client configuration.
    #[error(
        "cannot create a kafka client for brokers `{brokers}`: {source}; check kafka.brokers and the [kafka.librdkafka] overrides"
    )]
    Client {
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        #[source]
        source: Box<rdkafka::error::KafkaError>,
    },
    /// The broker did not answer or the topic is unknown.
    #[error(
        "cannot read metadata of topic `{topic}` from brokers `{brokers}`: {message}; check that the brokers are reachable and the topic exists"
    )]
    Metadata {
        /// Topic.
        topic: String,
        /// `bootstrap.servers`.
        brokers: String,
        /// What went wrong.
        message: String,
    },
    /// Reading the range failed or timed out before reaching its end.
    #[error("reading {topic}:{partition} offsets {from}..={to} failed: {message}")]
    Read {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// First offset asked for.
        from: i64,
        /// Last offset asked for.
        to: i64,
        /// What went wrong.
        message: String,
    },
}

/// What [`probe_topic`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicProbe {
    /// Brokers in the cluster metadata.
    pub brokers: usize,
    /// The topic's partitions.
    pub partitions: Vec<i32>,
}

/// The probe's librdkafka context: it keeps the distinct errors librdkafka reported for the
/// broker connections (a refused connection, a TLS handshake that failed verification, a SASL
/// authentication failure), which a metadata timeout alone would not say.
#[derive(Default)]
struct ProbeContext {
    errors: Mutex<Vec<String>>,
}

/// At most this many distinct connection errors are kept.
const MAX_CONNECTION_ERRORS: usize = 4;

impl ClientContext for ProbeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let reason = if reason.is_empty() {
            error.to_string()
        } else {
            reason.to_owned()
        };
        if let Ok(mut errors) = self.errors.lock()
            && errors.len() < MAX_CONNECTION_ERRORS
            && !errors.contains(&reason)
        {
            errors.push(reason);
        }
    }
}

impl ConsumerContext for ProbeContext {}

impl ProbeContext {
    /// `message`, followed by the connection errors and, for a TLS or SASL failure, the
    /// settings that fix it.
    fn explain(&self, message: String) -> String {
        let errors = self
            .errors
            .lock()
            .map(|errors| errors.clone())
            .unwrap_or_default();
        if errors.is_empty() {
            return message;
        }
        let all = errors.join("; ");
        let lower = all.to_ascii_lowercase();
        let fix = if lower.contains("certificate") || lower.contains("ssl") {
            "; check [kafka.librdkafka] security.protocol and ssl.ca.location (the CA that \
             signed the brokers' certificates; ssl.certificate.location and ssl.key.location \
             when the brokers require a client certificate)"
        } else if lower.contains("sasl") || lower.contains("authentication") {
            "; check [kafka.librdkafka] sasl.mechanisms, sasl.username and sasl.password"
        } else {
            ""
        };
        format!("{message} (broker connection errors: {all}){fix}")
    }
}

/// [`ProbeContext::explain`] after serving the client's queued events: librdkafka hands
/// connection errors to the context only from a poll.
fn explain(consumer: &BaseConsumer<ProbeContext>, message: String) -> String {
    for _ in 0..5 {
        if consumer.poll(Duration::from_millis(20)).is_none() {
            break;
        }
    }
    consumer.context().explain(message)
}

fn client(config: &ConsumerConfig) -> Result<BaseConsumer<ProbeContext>, ProbeError> {
    let mut client = ClientConfig::new();
    for (k, v) in config.librdkafka_properties() {
        client.set(k, v);
    }
    client
        .set("enable.auto.commit", "false")
        .set("statistics.interval.ms", "0");
    client
        .create_with_context(ProbeContext::default())
        .map_err(|source| ProbeError::Client {
            brokers: config.brokers.clone(),
            source: Box::new(crate::error::without_config_value(source)),
        })
}

/// Fetches the topic's metadata within `timeout` (blocking librdkafka work runs on the
/// blocking pool).
pub async fn probe_topic(
    config: &ConsumerConfig,
    timeout: Duration,
) -> Result<TopicProbe, ProbeError> {
    probe(config, config.topic.clone(), timeout, false).await
}

/// Fetches the metadata of `config`'s dead-letter topic within `timeout` and checks that
/// every partition has a leader (a produce needs one). `Ok(None)` without a dead-letter
/// topic; a missing topic is [`ProbeError::Metadata`]. The probe never creates the topic.
pub async fn probe_dead_letter_topic(
    config: &ConsumerConfig,
    timeout: Duration,
) -> Result<Option<TopicProbe>, ProbeError> {
    let Some(dead_letter) = &config.dead_letter else {
        return Ok(None);
    };
    probe(config, dead_letter.topic.clone(), timeout, true)
        .await
        .map(Some)
}

async fn probe(
    config: &ConsumerConfig,
    topic_name: String,
    timeout: Duration,
    require_leaders: bool,
) -> Result<TopicProbe, ProbeError> {
    let config = config.clone();
    let brokers = config.brokers.clone();
    let metadata_error = move |topic: &str, message: String| ProbeError::Metadata {
        topic: topic.to_owned(),
        brokers: brokers.clone(),
        message,
    };
    let joined = tokio::task::spawn_blocking(move || {
        let consumer = client(&config)?;
        let metadata = consumer
            .fetch_metadata(Some(&topic_name), timeout)
            .map_err(|e| metadata_error(&topic_name, explain(&consumer, e.to_string())))?;
        let topic = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic_name)
            .ok_or_else(|| {
                metadata_error(&topic_name, "the topic is not in the metadata".into())
            })?;
        if let Some(err) = topic.error() {
            return Err(metadata_error(&topic_name, format!("{err:?}")));
        }
        if require_leaders {
            if topic.partitions().is_empty() {
                return Err(metadata_error(
                    &topic_name,
                    "the topic has no partitions".into(),
                ));
            }
            let leaderless: Vec<i32> = topic
                .partitions()
                .iter()
                .filter(|p| p.leader() < 0 || p.error().is_some())
                .map(|p| p.id())
                .collect();
            if !leaderless.is_empty() {
                return Err(metadata_error(
                    &topic_name,
                    format!("partition(s) {leaderless:?} have no leader"),
                ));
            }
        }
        Ok(TopicProbe {
            brokers: metadata.brokers().len(),
            partitions: topic.partitions().iter().map(|p| p.id()).collect(),
        })
    })
    .await;
    joined.unwrap_or_else(|e| {
        Err(ProbeError::Metadata {
            topic: String::new(),
            brokers: String::new(),
            message: format!("the probe task failed: {e}"),
        })
    })
}

/// Reads offsets `from..=to` of one partition of `config.topic`: fewer when the partition
/// ends earlier (it stops at the partition's end, found by reading, not from the high
/// watermark, which some brokers report wrongly), giving up after `timeout`. Nothing is
/// committed.
pub async fn read_range(
    config: &ConsumerConfig,
    partition: i32,
    from: i64,
    to: i64,
    timeout: Duration,
) -> Result<Vec<Payload>, ProbeError> {
    let mut config = config.clone();
    config
        .librdkafka_overrides
        .insert("enable.partition.eof".into(), "true".into());
    let read_error = move |topic: &str, message: String| ProbeError::Read {
        topic: topic.to_owned(),
        partition,
        from,
        to,
        message,
    };
    let joined = tokio::task::spawn_blocking(move || {
        if from < 0 || to < from {
            return Err(read_error(
                &config.topic,
                "the range is empty or negative".into(),
            ));
        }
        let consumer = client(&config)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&config.topic, partition, Offset::Offset(from))
            .map_err(|e| read_error(&config.topic, e.to_string()))?;
        consumer
            .assign(&tpl)
            .map_err(|e| read_error(&config.topic, e.to_string()))?;
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return Err(read_error(
                    &config.topic,
                    explain(
                        &consumer,
                        format!(
                            "timed out after {timeout:?} with {} message(s) read",
                            out.len()
                        ),
                    ),
                ));
            };
            match consumer.poll(left.min(Duration::from_millis(200))) {
                Some(Ok(m)) if m.offset() > to => return Ok(out),
                Some(Ok(m)) => {
                    let last = m.offset() >= to;
                    out.push(payload_of(&m));
                    if last {
                        return Ok(out);
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => return Ok(out),
                Some(Err(e)) => return Err(read_error(&config.topic, e.to_string())),
                None => {}
            }
        }
    })
    .await;
    joined.unwrap_or_else(|e| {
        Err(ProbeError::Read {
            topic: String::new(),
            partition,
            from,
            to,
            message: format!("the read task failed: {e}"),
        })
    })
}
