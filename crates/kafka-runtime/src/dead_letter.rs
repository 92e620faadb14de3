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
