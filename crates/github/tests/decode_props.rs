//! Property tests of the decoder: arbitrary JSON as the `webhook` of every synced event and
//! action never panics, and gives changelogs or skips or one decode error with a path.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use github::{GitHubDecoder, SYNCED_ISSUE_ACTIONS};
use proptest::prelude::*;
use serde_json::json;
use thirdparty_core::testing::json_values;
use thirdparty_core::{Decoder, Payload};

const WORDS: &[&str] = &[
    "closed",
    "open",
    "not_planned",
    "Bot",
    "User",
    "2019-05-15T15:20:18Z",
    "priority/high",
];
const KEYS: &[&str] = &[
    "action",
    "issue",
    "sender",
    "repository",
    "login",
    "type",
    "id",
    "node_id",
    "number",
    "updated_at",
    "state",
    "state_reason",
    "assignees",
    "assignee",
    "label",
    "name",
    "milestone",
    "due_on",
    "changes",
    "title",
    "body",
    "from",
    "comment",
    "created_at",
];

proptest! {
    #[test]
    fn arbitrary_webhooks_of_synced_events_decode_or_fail_with_a_path(
        webhook in json_values(WORDS, KEYS),
        pick in 0..SYNCED_ISSUE_ACTIONS.len() + 1,
    ) {
        let (event, action) = match SYNCED_ISSUE_ACTIONS.get(pick) {
            Some((action, _)) => ("issues", *action),
            None => ("issue_comment", "created"),
        };
        let mut webhook = webhook;
        if let Some(w) = webhook.as_object_mut() {
            w.insert("action".into(), json!(action));
        }
        let value = json!({"orgId": 1, "installationId": 2, "receivedAt": "2026-03-02T10:00:00Z",
            "deliveryId": "d", "event": event, "webhook": webhook});
        let payload = Payload::from_value(serde_json::to_vec(&value).unwrap());
        match GitHubDecoder::new().decode(&payload) {
            Ok(decoded) => prop_assert!(!decoded.is_empty()),
            Err(e) => prop_assert!(!e.path.is_empty() && e.kind() != "invalid", "{e}"),
        }
    }
}
