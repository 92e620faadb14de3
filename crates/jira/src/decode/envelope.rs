//! The Kafka record a Jira webhook travels in: [`envelope`] and [`record_key`].

use super::error;
use chrono::{DateTime, SecondsFormat, Utc};
use thirdparty_core::{DecodeError, DecodeErrorKind as Kind};

/// Wraps a raw Jira webhook body into the Kafka contract's envelope, keeping the body byte
/// for byte. Fails (`not_json`) when the body is not one JSON value, or (`invalid_value`)
/// when the account id is blank.
///
/// ```
/// let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z").unwrap().to_utc();
/// let value = jira::envelope(42, "site-1", at, br#"{"webhookEvent":"jira:issue_deleted"}"#).unwrap();
/// assert_eq!(
///     std::str::from_utf8(&value).unwrap(),
///     r#"{"orgId":42,"jiraAccountId":"site-1","receivedAt":"2026-03-01T10:00:00.000Z","webhook":{"webhookEvent":"jira:issue_deleted"}}"#
/// );
/// ```
pub fn envelope(
    org_id: u64,
    jira_account_id: &str,
    received_at: DateTime<Utc>,
    raw_webhook: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    if jira_account_id.trim().is_empty() {
        return Err(error(
            "jiraAccountId",
            Kind::INVALID_VALUE,
            "the Jira account (site) id is blank; pass the connected site's id",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(raw_webhook);
    <serde::de::IgnoredAny as serde::Deserialize>::deserialize(&mut de)
        .and_then(|_| de.end())
        .map_err(|e| {
            error(
                "webhook",
                Kind::NOT_JSON,
                format!("the webhook body is not one JSON value ({e}); pass the body exactly as Jira sent it"),
            )
        })?;
    let body = raw_webhook.trim_ascii();
    let account = serde_json::to_string(jira_account_id)
        .map_err(|e| error("jiraAccountId", Kind::INVALID_VALUE, e.to_string()))?;
    let received = received_at.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut out = Vec::with_capacity(body.len() + account.len() + 96);
    out.extend_from_slice(b"{\"orgId\":");
    out.extend_from_slice(org_id.to_string().as_bytes());
    out.extend_from_slice(b",\"jiraAccountId\":");
    out.extend_from_slice(account.as_bytes());
    out.extend_from_slice(b",\"receivedAt\":\"");
    out.extend_from_slice(received.as_bytes());
    out.extend_from_slice(b"\",\"webhook\":");
    out.extend_from_slice(body);
    out.push(b'}');
    Ok(out)
}

/// The Kafka record key for an issue: `"<orgId>:<issue id>"`, so one issue's events stay
/// in order within a partition.
///
/// ```
/// assert_eq!(jira::record_key(42, "10040"), "42:10040");
/// ```
pub fn record_key(org_id: u64, issue_id: &str) -> String {
    format!("{org_id}:{issue_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::tests::changelogs;

    #[test]
    fn envelope_round_trips_and_rejects_non_json() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let body = br#" {"webhookEvent":"comment_created","issue":{"id":"1"},"comment":{"id":"2","body":"hi"}}
"#;
        let value = envelope(7, "site-\"1\"", at, body).unwrap();
        let cls = changelogs(&value);
        assert_eq!(cls[0].third_party.account_id, "site-\"1\"");
        assert_eq!(
            envelope(7, "s", at, b"{oops").unwrap_err().kind(),
            "not_json"
        );
        assert_eq!(
            envelope(7, "s", at, b"{} {}").unwrap_err().kind(),
            "not_json"
        );
        assert_eq!(
            envelope(7, "", at, b"{}").unwrap_err().kind(),
            "invalid_value"
        );
    }
}
