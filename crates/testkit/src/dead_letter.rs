//! The dead-letter topic as tests see it: every parked record of a topic, read to its end,
//! with the headers of [`kafka_runtime::dead_letter::headers`] parsed by
//! [`ParkedMessage::from_record`].

use crate::error::{HarnessError, joined, kafka};
use kafka_runtime::Payload;
use kafka_runtime::dead_letter::ParkedMessage;
use rdkafka::ClientConfig;
use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::topic_partition_list::TopicPartitionList;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// One record of a dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedRecord {
    /// Where it is in the dead-letter topic: (partition, offset).
    pub at: (i32, i64),
    /// Its key (the original message's).
    pub key: Option<Vec<u8>>,
    /// Its value (the original's, or its first bytes when truncated).
    pub value: Vec<u8>,
    /// Every header, in order: the original ones, then the dead-letter ones.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl ParkedRecord {
    /// The text of the first header named `name`, if any (lossy UTF-8).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// The record read as `replay --from-dead-letter` reads it: the original message and
    /// why it was parked (the one parser, [`ParkedMessage::from_record`]).
    pub fn parked(&self) -> ParkedMessage {
        let mut record = Payload::from_value(self.value.clone());
        record.key = self.key.clone().map(Into::into);
        (record.partition, record.offset) = self.at;
        record.headers = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        ParkedMessage::from_record(record)
    }

    /// The `reason` header (`decode_failed`, `permanent_error`, `skip_listed`).
    pub fn reason(&self) -> Option<String> {
        self.parked().reason.map(|r| r.as_str().to_owned())
    }

    /// The source coordinates from the headers: (topic, partition, offset).
    pub fn source(&self) -> Option<(String, i32, i64)> {
        let original = self.parked().original;
        (!original.topic.is_empty() && original.partition >= 0 && original.offset >= 0).then_some((
            original.topic,
            original.partition,
            original.offset,
        ))
    }

    /// Whether the value was truncated to fit the broker's record size limit.
    pub fn truncated(&self) -> bool {
        self.parked().truncated
    }
}

/// Every record of partitions `0..partitions` of `topic`, from the beginning to the end of
/// each partition (its end found by reading: Tansu's high watermark is unreliable), or a
/// [`HarnessError::Timeout`] after `timeout`. Nothing is committed.
pub async fn parked_records(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<Vec<ParkedRecord>, HarnessError> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || read_to_end(&bootstrap, &topic, partitions, timeout))
        .await
        .map_err(joined("reading the dead-letter topic"))?
}

fn read_to_end(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<Vec<ParkedRecord>, HarnessError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "testkit-dead-letter-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(kafka("creating the dead-letter reader"))?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(kafka(format!("assigning {topic}/{p}")))?;
    }
    consumer
        .assign(&tpl)
        .map_err(kafka(format!("assigning {topic}")))?;
    let started = Instant::now();
    let mut at_end = BTreeSet::new();
    let mut out = Vec::new();
    while at_end.len() < usize::try_from(partitions).unwrap_or(0) {
        if started.elapsed() > timeout {
            return Err(HarnessError::Timeout {
                what: format!(
                    "the end of every partition of {topic} ({} of {partitions} reached, {} records read)",
                    at_end.len(),
                    out.len()
                ),
                waited: timeout,
            });
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                at_end.remove(&m.partition());
                out.push(ParkedRecord {
                    at: (m.partition(), m.offset()),
                    key: m.key().map(<[u8]>::to_vec),
                    value: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    headers: m
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => return Err(kafka(format!("reading {topic}"))(e)),
            None => {}
        }
    }
    Ok(out)
}

/// The parked copies per source coordinate (topic, partition, offset): more than one is an
/// at-least-once duplicate (a reader killed between the dead-letter ack and its commit).
pub fn by_source(records: &[ParkedRecord]) -> BTreeMap<(String, i32, i64), Vec<&ParkedRecord>> {
    let mut out: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for r in records {
        if let Some(source) = r.source() {
            out.entry(source).or_default().push(r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_runtime::dead_letter::headers;

    fn parked(headers: &[(&str, &str)]) -> ParkedRecord {
        ParkedRecord {
            at: (0, 0),
            key: None,
            value: Vec::new(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    #[test]
    fn headers_are_parsed_and_copies_grouped_by_source() {
        let a = parked(&[
            ("traceparent", "x"),
            (headers::REASON, "decode_failed"),
            (headers::SOURCE_TOPIC, "t"),
            (headers::SOURCE_PARTITION, "2"),
            (headers::SOURCE_OFFSET, "41"),
            (headers::TRUNCATED, "true"),
        ]);
        assert_eq!(a.reason().as_deref(), Some("decode_failed"));
        assert_eq!(a.source(), Some(("t".to_owned(), 2, 41)));
        assert!(a.truncated());
        let b = parked(&[(headers::SOURCE_OFFSET, "not a number")]);
        assert_eq!(b.source(), None);
        assert!(!b.truncated());
        let records = [a.clone(), a, b];
        let grouped = by_source(&records);
        assert_eq!(grouped.len(), 1);
        assert_eq!(grouped[&("t".to_owned(), 2, 41)].len(), 2);
    }
}
