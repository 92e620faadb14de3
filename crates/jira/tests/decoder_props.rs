//! Property tests: the decoder and the markup converter never panic, whatever they get.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use serde_json::{Value, json};
use thirdparty_core::{Decoded, Decoder, Payload};

/// Jira words the decoder looks for, as string values.
const WORDS: &[&str] = &[
    "jira:issue_updated",
    "comment_created",
    "issue_commented",
    "summary",
    "priority",
    "assignee",
    "customfield_10015",
    "http://x/rest/api/2/issue/1/comment/2",
    "2019-01-07T16:55:51.184-0330",
    "*b* {code}x",
];

/// Jira field names, as object keys.
const KEYS: &[&str] = &[
    "webhookEvent",
    "issue",
    "changelog",
    "items",
    "comment",
    "id",
    "fields",
    "fieldId",
    "field",
    "from",
    "to",
    "toString",
    "fromString",
    "body",
    "self",
    "timestamp",
    "user",
    "accountId",
    "project",
    "issuetype",
    "jsdPublic",
    "visibility",
    "issue_event_type_name",
    "fieldtype",
];

fn json_value() -> impl Strategy<Value = Value> {
    thirdparty_core::testing::json_values(WORDS, KEYS)
}

fn decode(bytes: Vec<u8>) {
    let decoder = jira::JiraDecoder::new();
    match decoder.decode(&Payload::from_value(bytes)) {
        Ok(items) => {
            for item in items {
                if let Decoded::Changelog(c) = item {
                    assert!(c.event_id.starts_with("jira:"));
                    assert!(!c.third_party.item_id.is_empty());
                }
            }
        }
        Err(e) => {
            assert!(!e.path.is_empty());
            assert_ne!(e.kind(), "invalid", "every error has a kind: {e}");
            assert!(
                jira::DECODE_ERROR_KINDS.contains(&e.kind),
                "a kind of the closed set: {e}"
            );
        }
    }
}

fn envelope_with(webhook: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "orgId": 1, "jiraAccountId": "site", "receivedAt": "2026-03-01T10:00:00Z", "webhook": webhook,
    }))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode(bytes);
    }

    #[test]
    fn arbitrary_json_as_the_whole_value_never_panics(v in json_value()) {
        decode(serde_json::to_vec(&v).unwrap());
    }

    #[test]
    fn arbitrary_json_as_the_webhook_never_panics(v in json_value()) {
        decode(envelope_with(v));
    }

    #[test]
    fn arbitrary_json_inside_a_jira_webhook_never_panics(
        event in prop_oneof![Just("jira:issue_updated"), Just("comment_created")],
        issue in json_value(), changelog in json_value(), comment in json_value(), user in json_value(),
        items in prop::collection::vec(json_value(), 0..4),
    ) {
        let mut webhook = json!({"webhookEvent": event, "issue": issue, "changelog": changelog, "comment": comment, "user": user});
        decode(envelope_with(webhook.clone()));
        webhook["changelog"] = json!({"id": "1", "items": items});
        decode(envelope_with(webhook));
    }

    #[test]
    fn arbitrary_envelope_fields_never_panic(org in json_value(), account in json_value(), received in json_value()) {
        decode(serde_json::to_vec(&json!({"orgId": org, "jiraAccountId": account, "receivedAt": received, "webhook": {}})).unwrap());
    }

    #[test]
    fn markup_conversion_never_panics(s in ".{0,300}", markup in prop::collection::vec(
        prop_oneof![Just("*"), Just("_"), Just("-"), Just("{{"), Just("}}"), Just("["), Just("]"), Just("|"),
                    Just("{code}"), Just("{code:java}"), Just("{quote}"), Just("{noformat}"), Just("!"),
                    Just("\r\n"), Just("\n"), Just("h2. "), Just("# "), Just("** "), Just("||"), Just("\\"),
                    Just("~"), Just("^"), Just("{color:red}"), Just("[~accountid:"), Just("http://a.b/_c_")], 0..40)) {
        let mixed: String = markup.iter().zip(s.chars().chain(std::iter::repeat('x'))).flat_map(|(m, c)| m.chars().chain(std::iter::once(c))).collect();
        let out = jira::wiki_to_markdown(&mixed);
        prop_assert!(!out.contains('\r'));
        let _ = jira::wiki_to_markdown(&s);
    }
}
