//! [`Payload`]: one consumed record, with no Kafka types in it.

use bytes::Bytes;
use chrono::{DateTime, Utc};

/// One record handed to a [`crate::PayloadHandler`]: the bytes as produced plus where they
/// came from. Nothing in it names a Kafka client type, so a platform team can build one
/// from any source (a file, an HTTP body, another broker client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    /// The record key, if any (`"<orgId>:<item id>"` by contract for both integrations).
    pub key: Option<Bytes>,
    /// The record value: the enveloped webhook as produced.
    pub value: Bytes,
    /// Topic the record was read from.
    pub topic: String,
    /// Partition the record was read from.
    pub partition: i32,
    /// Offset of the record inside its partition.
    pub offset: i64,
    /// Broker (or producer) timestamp, when the record carries one.
    pub timestamp: Option<DateTime<Utc>>,
    /// Record headers in order; values are raw bytes.
    pub headers: Vec<(String, Bytes)>,
}

impl Payload {
    /// A payload with only a value, for tests, replays of files and embedding.
    ///
    /// ```
    /// let p = thirdparty_core::Payload::from_value(r#"{"orgId":1}"#);
    /// assert_eq!(p.offset, -1);
    /// assert_eq!(&p.value[..], br#"{"orgId":1}"#);
    /// ```
    pub fn from_value(value: impl Into<Bytes>) -> Self {
        Self {
            key: None,
            value: value.into(),
            topic: String::new(),
            partition: -1,
            offset: -1,
            timestamp: None,
            headers: Vec::new(),
        }
    }

    /// Sets the key (builder style).
    #[must_use]
    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The first header with this name, if present.
    pub fn header(&self, name: &str) -> Option<&Bytes> {
        self.headers
            .iter()
            .find_map(|(k, v)| (k == name).then_some(v))
    }

    /// The key as UTF-8 text, if it is present and valid UTF-8.
    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
    }
}
