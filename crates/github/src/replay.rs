//! [`envelope`] and [`record_key`]: the Kafka record around a raw GitHub webhook body, for
//! producers and replays.

use crate::decode::{decode_bytes, fail};
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use thirdparty_core::{DecodeError, DecodeErrorKind as Kind};

/// The record key: `<orgId>:<issue node id>`, so one issue's events stay in one partition.
///
/// ```
/// assert_eq!(github::record_key(1, "I_kwDOA"), "1:I_kwDOA");
/// ```
pub fn record_key(org_id: u64, issue_node_id: &str) -> String {
    format!("{org_id}:{issue_node_id}")
}

/// The `X-GitHub-Event` a body belongs to when the caller does not know it: a body with a
/// `comment` and an `issue` is `issue_comment`, one with an `issue` is `issues`, one with a
/// `zen` is `ping`.
fn guess_event(body: &serde_json::Map<String, Value>) -> Option<&'static str> {
    if body.contains_key("issue") {
        Some(if body.contains_key("comment") {
            "issue_comment"
        } else {
            "issues"
        })
    } else if body.contains_key("zen") {
        Some("ping")
    } else {
        None
    }
}

/// Builds the record value (the Kafka contract) for organisation `org_id` and GitHub App
/// installation `installation_id` around `raw`, one webhook body as GitHub sent it.
/// `event` is its `X-GitHub-Event` (guessed from the body when `None`: `issue_comment`,
/// `issues` or `ping`); the `deliveryId` is `replay-` and the first 16 hex digits of the
/// body's SHA-256 (the same body replays with the same event ids), `receivedAt` is now.
///
/// The result is checked with the decoder, so anything returned decodes; otherwise the
/// [`DecodeError`] says what is missing (`not_json`, `wrong_type`, `missing_field` for an
/// event that cannot be guessed: pass it). The same input fails the same way.
///
/// ```
/// let body = br#"{"action": "reopened", "sender": {"login": "octocat", "type": "User"},
///     "repository": {"id": 42, "full_name": "acme/app"},
///     "issue": {"node_id": "I_1", "number": 7, "state": "open", "updated_at": "2026-03-02T10:00:00Z"}}"#;
/// let value = github::envelope(1, 5501, None, body).unwrap();
/// let v: serde_json::Value = serde_json::from_slice(&value).unwrap();
/// assert_eq!((v["event"].as_str(), v["installationId"].as_u64()), (Some("issues"), Some(5501)));
/// ```
pub fn envelope(
    org_id: u64,
    installation_id: u64,
    event: Option<&str>,
    raw: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    let body: Value = serde_json::from_slice(raw).map_err(|e| {
        fail(
            "$",
            Kind::NOT_JSON,
            format!("{e}; expected one GitHub webhook body"),
        )
    })?;
    let Value::Object(object) = &body else {
        return Err(fail(
            "$",
            Kind::WRONG_TYPE,
            "expected one GitHub webhook body (a JSON object)",
        ));
    };
    let event = match event.or_else(|| guess_event(object)) {
        Some(e) => e.to_owned(),
        None => {
            return Err(fail(
                "event",
                Kind::MISSING_FIELD,
                "the body's X-GitHub-Event cannot be guessed; pass it (--github-event)",
            ));
        }
    };
    let digest = hex::encode(Sha256::digest(raw));
    let delivery = format!("replay-{}", digest.get(..16).unwrap_or(&digest));
    let value = json!({
        "orgId": org_id,
        "installationId": installation_id,
        "receivedAt": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "deliveryId": delivery,
        "event": event,
        "webhook": body,
    });
    let bytes = serde_json::to_vec(&value)
        .map_err(|e| fail("$", Kind::INVALID_VALUE, format!("cannot serialise: {e}")))?;
    decode_bytes(&bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_without_a_known_event_need_one() {
        let e = envelope(1, 2, None, br#"{"ref": "main"}"#).unwrap_err();
        assert_eq!((e.path.as_str(), e.kind()), ("event", "missing_field"));
        let push = envelope(1, 2, Some("push"), br#"{"ref": "main"}"#).unwrap();
        let v: Value = serde_json::from_slice(&push).unwrap();
        assert_eq!(v["event"], "push");
        assert_eq!(envelope(1, 2, None, b"[").unwrap_err().kind(), "not_json");
        assert_eq!(
            envelope(1, 2, None, b"[]").unwrap_err().kind(),
            "wrong_type"
        );
    }

    #[test]
    fn the_same_body_gets_the_same_delivery_id() {
        let body = br#"{"zen": "Keep it logically awesome.", "hook_id": 1}"#;
        let a: Value = serde_json::from_slice(&envelope(1, 2, None, body).unwrap()).unwrap();
        let b: Value = serde_json::from_slice(&envelope(1, 2, None, body).unwrap()).unwrap();
        assert_eq!(a["deliveryId"], b["deliveryId"]);
        assert_eq!(a["event"], "ping");
    }
}
