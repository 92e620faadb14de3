//! Decode errors of the Jira decoder: the closed set of kinds, and serde failures mapped to
//! a path and a kind without echoing payload text.

use crate::INTEGRATION;
use serde_path_to_error::Segment;
use thirdparty_core::{DecodeError, DecodeErrorKind as Kind};

/// The webhook body is JSON but not a Jira webhook (no `webhookEvent`).
pub const NOT_JIRA: Kind = Kind::new("not_jira");

/// Every kind a Jira [`DecodeError`] can have: the `kind` tag values of
/// `dd.case.kafka_consumer.decode_error` for this flavor.
pub const DECODE_ERROR_KINDS: [Kind; 5] = Kind::common_and(NOT_JIRA);

/// A decode error of `kind` at `path`.
pub(crate) fn error(path: &str, kind: Kind, message: impl AsRef<str>) -> DecodeError {
    DecodeError::new(INTEGRATION, kind, path, message.as_ref())
}

/// Maps a serde error to a [`DecodeError`] with a path and a kind. Values quoted by serde
/// (`invalid type: string "…"`) are dropped from the message: they may be customer text.
pub(super) fn serde_error(e: &serde_path_to_error::Error<serde_json::Error>) -> DecodeError {
    let mut path = String::new();
    for segment in e.path() {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Segment::Unknown => path.push_str(if path.is_empty() { "?" } else { ".?" }),
        }
    }
    let inner = e.inner();
    let message = redact_serde_message(&inner.to_string());
    use serde_json::error::Category;
    let (kind, hint) = match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => (
            Kind::NOT_JSON,
            "the record value must be one UTF-8 JSON object (the envelope)",
        ),
        Category::Data => {
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
            {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(field);
                (
                    Kind::MISSING_FIELD,
                    "the producer must send this field (see the Kafka contract in the jira crate README)",
                )
            } else if message.starts_with("invalid type") {
                (
                    Kind::WRONG_TYPE,
                    "the field has another JSON type than the contract says",
                )
            } else {
                (
                    Kind::INVALID_VALUE,
                    "the field's value is outside what the contract allows",
                )
            }
        }
    };
    if path.is_empty() {
        path.push('$');
    }
    error(&path, kind, format!("{message}; {hint}"))
}

fn redact_serde_message(message: &str) -> String {
    for marker in ["string \"", "map key \""] {
        if let (Some(start), Some(end)) = (message.find(marker), message.rfind("\", expected"))
            && end >= start + marker.len()
        {
            let head = message.get(..start + marker.len() - 2).unwrap_or("");
            let tail = message.get(end + 1..).unwrap_or("");
            return format!("{head} <redacted>{tail}");
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use crate::decode::tests::{decode, enveloped, issue};
    use serde_json::json;

    fn err_of(value: &[u8]) -> (String, String) {
        let e = decode(value).unwrap_err();
        (e.path.clone(), e.kind().to_owned())
    }

    #[test]
    fn errors_name_path_and_kind() {
        assert_eq!(err_of(b"not json"), ("$".into(), "not_json".into()));
        assert_eq!(err_of(b""), ("$".into(), "not_json".into()));
        assert_eq!(err_of(b"[1]"), ("$".into(), "wrong_type".into()));
        assert_eq!(
            err_of(br#"{"jiraAccountId":"s","receivedAt":"2026-03-01T10:00:00Z","webhook":{}}"#),
            ("orgId".into(), "missing_field".into())
        );
        assert_eq!(err_of(br#"{"orgId":"7","jiraAccountId":"s","receivedAt":"2026-03-01T10:00:00Z","webhook":{}}"#), ("orgId".into(), "wrong_type".into()));
        assert_eq!(
            err_of(br#"{"orgId":7,"jiraAccountId":"s","receivedAt":"yesterday","webhook":{}}"#),
            ("receivedAt".into(), "invalid_value".into())
        );
        assert_eq!(err_of(br#"{"orgId":7,"jiraAccountId":" ","receivedAt":"2026-03-01T10:00:00Z","webhook":{}}"#), ("jiraAccountId".into(), "invalid_value".into()));
        assert_eq!(
            err_of(&enveloped(json!({"accountId": "x", "username": "y"}))),
            ("webhook.webhookEvent".into(), "not_jira".into())
        );
        assert_eq!(
            err_of(&enveloped(json!("text"))),
            ("webhook".into(), "wrong_type".into())
        );
        assert_eq!(
            err_of(&enveloped(
                json!({"webhookEvent": "jira:issue_updated", "issue": issue(), "changelog": {"items": [{"field": "a"}, {"fieldId": ["x"]}]}})
            )),
            (
                "webhook.changelog.items[1].fieldId".into(),
                "wrong_type".into()
            )
        );
        assert_eq!(
            err_of(&enveloped(
                json!({"webhookEvent": "jira:issue_updated", "issue": issue(), "changelog": {"items": [{"fromString": "a"}]}})
            )),
            (
                "webhook.changelog.items[0].fieldId".into(),
                "missing_field".into()
            )
        );
        assert_eq!(
            err_of(&enveloped(json!({"webhookEvent": "jira:issue_updated"}))),
            ("webhook.issue".into(), "missing_field".into())
        );
        assert_eq!(
            err_of(&enveloped(
                json!({"webhookEvent": "comment_created", "comment": {"id": "1", "body": "x"}})
            )),
            ("webhook.issue.id".into(), "missing_field".into())
        );
        assert_eq!(
            err_of(&enveloped(
                json!({"webhookEvent": "comment_created", "issue": issue(), "comment": {"body": "x"}})
            )),
            ("webhook.comment.id".into(), "missing_field".into())
        );
        assert_eq!(
            err_of(&enveloped(
                json!({"webhookEvent": "comment_created", "issue": issue()})
            )),
            ("webhook.comment".into(), "missing_field".into())
        );
        assert_eq!(
            err_of(&enveloped(
                json!({"webhookEvent": "jira:issue_updated", "timestamp": "soon"})
            )),
            ("webhook.timestamp".into(), "wrong_type".into())
        );
        let mut trailing = enveloped(json!({"webhookEvent": "x"}));
        trailing.extend_from_slice(b" {}");
        assert_eq!(err_of(&trailing), ("$".into(), "not_json".into()));
    }

    #[test]
    fn error_messages_do_not_echo_string_values() {
        let e = decode(br#"{"orgId":"customer secret text","jiraAccountId":"s"}"#).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert_eq!(e.kind(), "wrong_type", "{e}");
        assert!(
            e.message
                .starts_with("invalid type: string <redacted>, expected u64"),
            "{e}"
        );
    }
}
