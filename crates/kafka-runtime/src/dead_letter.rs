//! The dead-letter topic's record format: where a message acknowledged without being
//! applied is parked, and the headers that say why. One definition for the runtime that
//! writes these records and for every reader of them (`replay --from-dead-letter`, the chaos
//! oracle).
//!
//! A parked record keeps the original key, value and headers; the runtime adds the headers
//! of [`headers`] (UTF-8 text values).

/// Suffix of the default dead-letter topic: `<source topic>.dead-letter`.
pub const DEFAULT_TOPIC_SUFFIX: &str = ".dead-letter";

/// The default dead-letter topic of `source_topic`.
///
/// ```
/// assert_eq!(
///     kafka_runtime::dead_letter::default_topic("collaboration_integrations_jira"),
///     "collaboration_integrations_jira.dead-letter"
/// );
/// ```
pub fn default_topic(source_topic: &str) -> String {
    format!("{source_topic}{DEFAULT_TOPIC_SUFFIX}")
}

/// Names of the headers a parked record carries besides its original ones.
pub mod headers {
    /// Why it was parked: a [`thirdparty_core::DeadLetterReason`] label
    /// (`decode_failed`, `permanent_error`, `skip_listed`).
    pub const REASON: &str = "dead-letter-reason";
    /// A stable snake_case kind of the error (`not_json`, `invalid_argument`, `operator`).
    pub const ERROR_KIND: &str = "dead-letter-error-kind";
    /// The error text.
    pub const ERROR: &str = "dead-letter-error";
    /// The topic the message was read from.
    pub const SOURCE_TOPIC: &str = "dead-letter-source-topic";
    /// Its partition (decimal).
    pub const SOURCE_PARTITION: &str = "dead-letter-source-partition";
    /// Its offset (decimal).
    pub const SOURCE_OFFSET: &str = "dead-letter-source-offset";
    /// Its timestamp, milliseconds since the Unix epoch (decimal); absent when it had none.
    pub const SOURCE_TIMESTAMP: &str = "dead-letter-source-timestamp";
    /// The reader flavor that parked it (`jira`, `servicenow`, …).
    pub const FLAVOR: &str = "dead-letter-flavor";
    /// The version of the reader that parked it.
    pub const READER_VERSION: &str = "dead-letter-reader-version";
    /// `true` when the value was cut to fit the broker's record size limit.
    pub const TRUNCATED: &str = "dead-letter-truncated";
    /// The original value's size in bytes (decimal), present when truncated.
    pub const ORIGINAL_SIZE: &str = "dead-letter-original-size";

    /// Every header above.
    pub const ALL: [&str; 11] = [
        REASON,
        ERROR_KIND,
        ERROR,
        SOURCE_TOPIC,
        SOURCE_PARTITION,
        SOURCE_OFFSET,
        SOURCE_TIMESTAMP,
        FLAVOR,
        READER_VERSION,
        TRUNCATED,
        ORIGINAL_SIZE,
    ];
}

/// A record read back from a dead-letter topic: the original message (key, value, its own
/// headers, and its source coordinates from the dead-letter headers) and why it was parked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedMessage {
    /// Where the copy is in the dead-letter topic: (partition, offset).
    pub at: (i32, i64),
    /// The [`headers::REASON`] label, parsed (`None` when absent or unknown).
    pub reason: Option<thirdparty_core::DeadLetterReason>,
    /// The [`headers::ERROR_KIND`] text.
    pub error_kind: Option<String>,
    /// The [`headers::ERROR`] text.
    pub error: Option<String>,
    /// Whether the value was cut to fit the broker's record size limit; such a copy cannot
    /// be replayed as it is.
    pub truncated: bool,
    /// The original value's size when truncated.
    pub original_size: Option<u64>,
    /// The original message: key, value and headers without the dead-letter ones; topic,
    /// partition, offset and timestamp from the source headers (empty, -1, -1 and `None`
    /// when absent).
    pub original: thirdparty_core::Payload,
}

impl ParkedMessage {
    /// Splits a record of the dead-letter topic into the original message and the parking
    /// details.
    ///
    /// ```
    /// use kafka_runtime::dead_letter::{ParkedMessage, headers};
    /// use thirdparty_core::{DeadLetterReason, Payload};
    /// let mut record = Payload::from_value("{not json");
    /// record.partition = 0;
    /// record.offset = 7;
    /// for (k, v) in [
    ///     ("traceparent", "00-abc"),
    ///     (headers::REASON, "decode_failed"),
    ///     (headers::SOURCE_TOPIC, "jira"),
    ///     (headers::SOURCE_PARTITION, "2"),
    ///     (headers::SOURCE_OFFSET, "41"),
    /// ] {
    ///     record.headers.push((k.into(), v.as_bytes().to_vec().into()));
    /// }
    /// let parked = ParkedMessage::from_record(record);
    /// assert_eq!(parked.at, (0, 7));
    /// assert_eq!(parked.reason, Some(DeadLetterReason::DecodeFailed));
    /// assert_eq!((parked.original.topic.as_str(), parked.original.partition, parked.original.offset), ("jira", 2, 41));
    /// assert_eq!(parked.original.headers.len(), 1, "only the message's own headers stay");
    /// ```
    pub fn from_record(record: thirdparty_core::Payload) -> Self {
        let text = |name: &str| {
            record
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        let number = |name: &str| text(name).and_then(|t| t.trim().parse::<i64>().ok());
        let reason = text(headers::REASON)
            .as_deref()
            .and_then(thirdparty_core::DeadLetterReason::parse);
        let error_kind = text(headers::ERROR_KIND);
        let error = text(headers::ERROR);
        let truncated = text(headers::TRUNCATED).as_deref() == Some("true");
        let original_size = number(headers::ORIGINAL_SIZE).and_then(|n| u64::try_from(n).ok());
        let original = thirdparty_core::Payload {
            key: record.key.clone(),
            value: record.value.clone(),
            topic: text(headers::SOURCE_TOPIC).unwrap_or_default(),
            partition: number(headers::SOURCE_PARTITION)
                .and_then(|n| i32::try_from(n).ok())
                .unwrap_or(-1),
            offset: number(headers::SOURCE_OFFSET).unwrap_or(-1),
            timestamp: number(headers::SOURCE_TIMESTAMP)
                .and_then(chrono::DateTime::from_timestamp_millis),
            headers: record
                .headers
                .iter()
                .filter(|(k, _)| !headers::ALL.contains(&k.as_str()))
                .cloned()
                .collect(),
        };
        Self {
            at: (record.partition, record.offset),
            reason,
            error_kind,
            error,
            truncated,
            original_size,
            original,
        }
    }
}
