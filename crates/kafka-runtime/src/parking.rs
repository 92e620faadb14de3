//! [`Parker`]: the runtime's dead-letter producer. It writes a message acknowledged without
//! being applied to the dead-letter topic in the [`crate::dead_letter`] format and returns
//! only once the broker acknowledged it (`acks=all`, idempotent), retrying with the
//! runtime's [`RetryPolicy`] backoff while the message's partition waits.

use crate::context::error_code;
use crate::dead_letter::headers;
use crate::events::{DeadLetterProduceFailed, MessageDeadLettered, TelemetryEvent};
use crate::status::ConsumerStatus;
use crate::{ConsumerConfig, RetryPolicy, RuntimeError};
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use std::time::Duration;
use thirdparty_core::{DeadLetterReason, Payload};

/// librdkafka's default `message.max.bytes`.
const DEFAULT_MESSAGE_MAX_BYTES: usize = 1_000_000;

/// Room kept in a record for the record framing besides key, value and headers.
const RECORD_OVERHEAD: usize = 512;

/// The error kind of a skip-listed message.
pub(crate) const OPERATOR_ERROR_KIND: &str = "operator";

/// Why a message is parked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParkReason<'a> {
    /// The reason.
    pub(crate) reason: DeadLetterReason,
    /// The error's stable kind.
    pub(crate) error_kind: &'a str,
    /// The error text (headers only, never logged).
    pub(crate) error: &'a str,
}

/// The dead-letter producer of one run.
pub(crate) struct Parker {
    producer: FutureProducer,
    topic: String,
    flavor: String,
    reader_version: String,
    produce_timeout: Duration,
    max_record_bytes: usize,
    retry: RetryPolicy,
    status: ConsumerStatus,
}

impl std::fmt::Debug for Parker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parker")
            .field("topic", &self.topic)
            .field("max_record_bytes", &self.max_record_bytes)
            .finish_non_exhaustive()
    }
}

impl Parker {
    /// The producer of `config`'s dead-letter topic; `None` without one.
    pub(crate) fn create(
        config: &ConsumerConfig,
        status: &ConsumerStatus,
    ) -> Result<Option<Self>, RuntimeError> {
        let (Some(dead_letter), Some(props)) = (
            config.dead_letter.as_ref(),
            config.dead_letter_producer_properties(),
        ) else {
            return Ok(None);
        };
        let mut client = ClientConfig::new();
        for (k, v) in &props {
            client.set(k, v);
        }
        // The topic is the operator's to create (with its partitions and retention): a
        // missing one is an error, not a silently created default topic.
        client.set("allow.auto.create.topics", "false");
        let producer: FutureProducer =
            client
                .create()
                .map_err(|source| RuntimeError::DeadLetterProducerCreation {
                    brokers: config.brokers.clone(),
                    topic: dead_letter.topic.clone(),
                    source: Box::new(crate::error::without_config_value(source)),
                })?;
        let max_record_bytes = props
            .get("message.max.bytes")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_MESSAGE_MAX_BYTES);
        Ok(Some(Self {
            producer,
            topic: dead_letter.topic.clone(),
            flavor: dead_letter.flavor.clone(),
            reader_version: dead_letter.reader_version.clone(),
            produce_timeout: dead_letter.produce_timeout,
            max_record_bytes,
            retry: config.retry,
            status: status.clone(),
        }))
    }

    /// Parks `payload` and returns once the broker acknowledged it. A failed produce is
    /// retried with the retry policy's backoff (readiness is false meanwhile); after the
    /// last attempt the error is [`RuntimeError::DeadLetterUnavailable`]. A record too
    /// large for the limit is parked with its value truncated, never dropped.
    pub(crate) async fn park(
        &self,
        payload: &Payload,
        why: ParkReason<'_>,
    ) -> Result<(), RuntimeError> {
        let backoff = self.retry.backoff();
        let mut value_limit = self.value_limit(payload, why);
        let mut attempt: u32 = 0;
        let mut waiting = None;
        loop {
            attempt = attempt.saturating_add(1);
            let truncated = payload.value.len() > value_limit;
            let value = payload.value.get(..value_limit).unwrap_or(&payload.value);
            let mut record = FutureRecord::to(&self.topic)
                .payload(value)
                .headers(self.headers(payload, why, truncated));
            if let Some(key) = &payload.key {
                record = record.key(key.as_ref());
            }
            let error = match self
                .producer
                .send(record, Timeout::After(self.produce_timeout))
                .await
            {
                Ok(_) => {
                    self.status.count_dead_lettered();
                    MessageDeadLettered {
                        topic: &payload.topic,
                        partition: payload.partition,
                        offset: payload.offset,
                        dead_letter_topic: &self.topic,
                        reason: why.reason.as_str(),
                        error_kind: why.error_kind,
                        truncated,
                    }
                    .emit();
                    return Ok(());
                }
                Err((error, _)) => error,
            };
            let too_large = is_too_large(&error);
            if too_large && value_limit > 0 {
                // The broker's limit is below ours: halve what is kept of the value.
                value_limit = value.len() / 2;
            }
            let wait = backoff.next_delay(attempt, Duration::ZERO, rand::random());
            DeadLetterProduceFailed {
                topic: &payload.topic,
                partition: payload.partition,
                offset: payload.offset,
                dead_letter_topic: &self.topic,
                attempt,
                backoff: wait,
                error_code: &error_code(&error),
                error: &error.to_string(),
            }
            .emit();
            let Some(wait) = wait else {
                return Err(RuntimeError::DeadLetterUnavailable {
                    topic: self.topic.clone(),
                    source_topic: payload.topic.clone(),
                    partition: payload.partition,
                    offset: payload.offset,
                    attempts: attempt,
                    error: error.to_string(),
                });
            };
            if waiting.is_none() {
                waiting = Some(self.status.dead_letter_wait());
            }
            if !too_large {
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// The most value bytes a record of `payload` may keep: the record limit minus key,
    /// headers and framing (headers counted as if truncated).
    fn value_limit(&self, payload: &Payload, why: ParkReason<'_>) -> usize {
        let key = payload.key.as_ref().map_or(0, |k| k.len());
        let headers: usize = self
            .header_values(payload, why, true)
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        self.max_record_bytes
            .saturating_sub(key + headers + RECORD_OVERHEAD)
    }

    /// The original headers (without earlier dead-letter headers: a message parked again
    /// carries only the latest reason) followed by ours.
    fn header_values<'p>(
        &self,
        payload: &'p Payload,
        why: ParkReason<'p>,
        truncated: bool,
    ) -> Vec<(&'p str, Vec<u8>)>
    where
        Self: 'p,
    {
        let mut out: Vec<(&str, Vec<u8>)> = payload
            .headers
            .iter()
            .filter(|(k, _)| !headers::ALL.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.to_vec()))
            .collect();
        let text = |s: &str| s.as_bytes().to_vec();
        out.push((headers::REASON, text(why.reason.as_str())));
        out.push((headers::ERROR_KIND, text(why.error_kind)));
        out.push((headers::ERROR, text(why.error)));
        out.push((headers::SOURCE_TOPIC, text(&payload.topic)));
        out.push((
            headers::SOURCE_PARTITION,
            text(&payload.partition.to_string()),
        ));
        out.push((headers::SOURCE_OFFSET, text(&payload.offset.to_string())));
        if let Some(ts) = payload.timestamp {
            out.push((
                headers::SOURCE_TIMESTAMP,
                text(&ts.timestamp_millis().to_string()),
            ));
        }
        out.push((headers::FLAVOR, text(&self.flavor)));
        out.push((headers::READER_VERSION, text(&self.reader_version)));
        if truncated {
            out.push((headers::TRUNCATED, text("true")));
            out.push((
                headers::ORIGINAL_SIZE,
                text(&payload.value.len().to_string()),
            ));
        }
        out
    }

    fn headers(&self, payload: &Payload, why: ParkReason<'_>, truncated: bool) -> OwnedHeaders {
        self.header_values(payload, why, truncated)
            .into_iter()
            .fold(OwnedHeaders::new(), |hs, (key, value)| {
                hs.insert(Header {
                    key,
                    value: Some(value.as_slice()),
                })
            })
    }
}

/// Whether the producer or the broker refused the record for its size.
fn is_too_large(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::MessageBatchTooLarge
        )
    )
}
