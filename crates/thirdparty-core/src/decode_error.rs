//! [`DecodeError`] and its bounded [`DecodeErrorKind`].

use crate::Integration;
use std::fmt;

/// The longest kind tag, in bytes.
const MAX_KIND_LEN: usize = 32;

/// What class of problem made a payload undecodable: a short snake_case label from a closed
/// set, used as the `kind` metric tag and printed before the message.
///
/// Every decoder may use the four common kinds ([`DecodeErrorKind::COMMON`]); an integration
/// adds its own with [`DecodeErrorKind::new`] (e.g. `not_jira`) and lists its closed set in
/// one constant, so the tag values of one flavor are known up front.
///
/// ```
/// use thirdparty_core::DecodeErrorKind;
///
/// const NOT_ACME: DecodeErrorKind = DecodeErrorKind::new("not_acme");
/// const ACME_KINDS: [DecodeErrorKind; 5] = DecodeErrorKind::common_and(NOT_ACME);
/// assert_eq!(NOT_ACME.as_str(), "not_acme");
/// assert!(ACME_KINDS.contains(&DecodeErrorKind::MISSING_FIELD));
/// assert_eq!(DecodeErrorKind::NOT_JSON.as_str(), "not_json");
/// // A tag that is not snake_case cannot reach a metric: it becomes `invalid`.
/// assert_eq!(DecodeErrorKind::new("Not JSON").as_str(), "invalid");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DecodeErrorKind(&'static str);

impl DecodeErrorKind {
    /// The bytes are not (one) JSON value, or not UTF-8.
    pub const NOT_JSON: Self = Self("not_json");
    /// A value has another JSON type than the contract says.
    pub const WRONG_TYPE: Self = Self("wrong_type");
    /// A required field is absent.
    pub const MISSING_FIELD: Self = Self("missing_field");
    /// A value has the right type but is outside what the contract allows.
    pub const INVALID_VALUE: Self = Self("invalid_value");
    /// The label of a tag that is not snake_case (see [`DecodeErrorKind::new`]).
    pub const INVALID: Self = Self("invalid");
    /// The kinds every decoder may use.
    pub const COMMON: [Self; 4] = [
        Self::NOT_JSON,
        Self::WRONG_TYPE,
        Self::MISSING_FIELD,
        Self::INVALID_VALUE,
    ];

    /// The closed set of an integration with one kind of its own: [`DecodeErrorKind::COMMON`]
    /// and `own`.
    pub const fn common_and(own: Self) -> [Self; 5] {
        let [a, b, c, d] = Self::COMMON;
        [a, b, c, d, own]
    }

    /// An integration's own kind. `tag` must be snake_case (`a-z` and single inner `_`) and
    /// at most 32 bytes; any other tag becomes [`DecodeErrorKind::INVALID`], so a metric tag
    /// stays bounded whatever is passed.
    pub const fn new(tag: &'static str) -> Self {
        if is_snake_case(tag) {
            Self(tag)
        } else {
            Self::INVALID
        }
    }

    /// The snake_case tag.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

const fn is_snake_case(tag: &str) -> bool {
    let mut rest = tag.as_bytes();
    if rest.is_empty() || rest.len() > MAX_KIND_LEN {
        return false;
    }
    let mut previous_underscore = true; // no leading `_`
    while let [b, tail @ ..] = rest {
        match *b {
            b'a'..=b'z' => previous_underscore = false,
            b'_' if !previous_underscore => previous_underscore = true,
            _ => return false,
        }
        rest = tail;
    }
    !previous_underscore
}

impl fmt::Debug for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A payload that could not be decoded. Never retryable: the same bytes fail the same way;
/// the producer must send what the integration's Kafka contract says (the crate README).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {integration} payload at `{path}`: {kind}: {message}")]
pub struct DecodeError {
    /// Integration whose decoder failed.
    pub integration: &'static str,
    /// What class of problem it is (the metric tag).
    pub kind: DecodeErrorKind,
    /// JSON path (or other location) of the first problem, e.g. `webhook.changelog.items[2]`.
    pub path: String,
    /// What is wrong and what was expected there.
    pub message: String,
}

impl DecodeError {
    /// A decode error of `kind` at `path`.
    pub fn new(
        integration: Integration,
        kind: DecodeErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            integration: integration.as_str(),
            kind,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The kind's tag (`not_json`, `missing_field`, …), bounded for metrics.
    pub fn kind(&self) -> &'static str {
        self.kind.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_snake_case_tags_are_kept() {
        for tag in ["not_json", "a", "not_servicenow", "x_y_z"] {
            assert_eq!(DecodeErrorKind::new(tag).as_str(), tag);
        }
        for tag in [
            "",
            "_x",
            "x_",
            "a__b",
            "Not",
            "not json",
            "not-json",
            "abcdefghijklmnopqrstuvwxyzabcdefg",
        ] {
            assert_eq!(
                DecodeErrorKind::new(tag),
                DecodeErrorKind::INVALID,
                "{tag:?}"
            );
        }
    }

    #[test]
    fn display_keeps_the_kind_before_the_message() {
        let e = DecodeError::new(
            Integration::new("jira"),
            DecodeErrorKind::MISSING_FIELD,
            "webhook.issue",
            "a jira:issue_updated webhook must carry the issue",
        );
        assert_eq!(e.kind(), "missing_field");
        assert_eq!(
            e.to_string(),
            "cannot decode jira payload at `webhook.issue`: missing_field: a jira:issue_updated webhook must carry the issue"
        );
    }
}
