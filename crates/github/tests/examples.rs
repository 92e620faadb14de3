//! Every vendored payload of `@octokit/webhooks-examples` (`fixtures/github/webhooks/`,
//! named `<X-GitHub-Event>.<action>.<n>.json`) decodes to exactly the outcome of the table
//! below: its changelogs (type and `to` value), or one skip reason, or one decode error
//! (kind and path). A file missing from the table, or a table row without its file, fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use github::GitHubDecoder;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use thirdparty_core::{Change, Decoded, Decoder, FieldValue, Payload};

/// File → outcome: `type=to` per changelog (`|`-separated), `skip:<reason>` or
/// `error:<kind>@<path>`.
const EXPECTED: &[(&str, &str)] = &[
    ("installation.created.1.json", "skip:unsupported_event_type"),
    ("issue_comment.created.1.json", "create_comment=492700400"),
    ("issue_comment.created.2.json", "create_comment=492700400"),
    ("issue_comment.created.3.json", "create_comment=492700400"),
    ("issue_comment.created.4.json", "create_comment=492700400"),
    ("issue_comment.created.5.json", "create_comment=492700400"),
    (
        "issue_comment.deleted.1.json",
        "skip:unsupported_event_type",
    ),
    (
        "issue_comment.deleted.2.json",
        "skip:unsupported_event_type",
    ),
    ("issue_comment.edited.1.json", "skip:unsupported_event_type"),
    ("issue_comment.edited.2.json", "skip:unsupported_event_type"),
    ("issues.assigned.1.json", "update_assignee=Codertocat"),
    ("issues.assigned.2.json", "update_assignee=Codertocat"),
    ("issues.assigned.3.json", "update_assignee=Codertocat"),
    ("issues.deleted.1.json", "skip:unsupported_event_type"),
    ("issues.demilestoned.1.json", "unsupported_milestone=-"),
    ("issues.demilestoned.2.json", "unsupported_milestone=-"),
    ("issues.edited.1.json", "skip:empty_changelog"),
    ("issues.edited.2.json", "skip:empty_changelog"),
    ("issues.edited.3.json", "skip:empty_changelog"),
    ("issues.labeled.1.json", "update_priority=bug"),
    ("issues.labeled.2.json", "update_priority=bug"),
    ("issues.locked.1.json", "skip:unsupported_event_type"),
    ("issues.locked.2.json", "skip:unsupported_event_type"),
    (
        "issues.milestoned.1.json",
        "unsupported_milestone=2019-05-23",
    ),
    (
        "issues.milestoned.2.json",
        "unsupported_milestone=2019-05-23",
    ),
    ("issues.opened.1.json", "skip:unsupported_event_type"),
    ("issues.opened.2.json", "skip:unsupported_event_type"),
    ("issues.opened.3.json", "skip:unsupported_event_type"),
    ("issues.opened.4.json", "skip:unsupported_event_type"),
    ("issues.pinned.1.json", "skip:unsupported_event_type"),
    ("issues.reopened.1.json", "update_status=open"),
    ("issues.transferred.1.json", "skip:unsupported_event_type"),
    ("issues.unassigned.1.json", "update_assignee=-"),
    ("issues.unassigned.2.json", "update_assignee=-"),
    ("issues.unlabeled.1.json", "update_priority=-bug"),
    ("issues.unlabeled.2.json", "update_priority=-bug"),
    ("issues.unlocked.1.json", "skip:unsupported_event_type"),
    ("issues.unlocked.2.json", "skip:unsupported_event_type"),
    ("issues.unpinned.1.json", "skip:unsupported_event_type"),
    ("label.created.1.json", "skip:unsupported_event_type"),
    ("milestone.created.1.json", "skip:unsupported_event_type"),
    ("ping.none.1.json", "skip:unsupported_event_type"),
    ("pull_request.closed.1.json", "skip:unsupported_event_type"),
    ("pull_request.opened.1.json", "skip:unsupported_event_type"),
    ("push.none.1.json", "skip:unsupported_event_type"),
    ("star.created.1.json", "skip:unsupported_event_type"),
];

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/github/webhooks"
    ))
}

fn value_of(v: Option<&FieldValue>) -> String {
    v.and_then(FieldValue::id_or_text)
        .map(|s| s.chars().take(24).collect())
        .unwrap_or_else(|| "-".to_owned())
}

/// What `body`, sent as event `event`, decodes to.
fn outcome(event: &str, body: Value) -> String {
    let value = json!({"orgId": 1, "installationId": 5501, "receivedAt": "2026-03-02T10:00:00Z",
        "deliveryId": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "event": event, "webhook": body});
    let decoded =
        GitHubDecoder::new().decode(&Payload::from_value(serde_json::to_vec(&value).unwrap()));
    match decoded {
        Err(e) => format!("error:{}@{}", e.kind(), e.path),
        Ok(items) => items
            .iter()
            .map(|d| match d {
                Decoded::Skipped(s) => format!("skip:{}", s.reason),
                Decoded::Changelog(c) => {
                    let to = match &c.change {
                        Change::Comment(comment) => comment.id.clone(),
                        Change::Title(fc)
                        | Change::Description(fc)
                        | Change::Priority(fc)
                        | Change::Status(fc)
                        | Change::Assignee(fc)
                        | Change::DueDate(fc)
                        | Change::Unsupported { change: fc, .. } => {
                            if fc.to.is_none() && fc.from.is_some() {
                                format!("-{}", value_of(fc.from.as_ref()))
                            } else {
                                value_of(fc.to.as_ref())
                            }
                        }
                    };
                    format!("{}={to}", c.changelog_type())
                }
            })
            .collect::<Vec<_>>()
            .join("|"),
    }
}

#[test]
fn every_vendored_example_decodes_to_its_table_row() {
    let mut got = BTreeMap::new();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let event = name.split('.').next().unwrap().to_owned();
        let body: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        got.insert(name, outcome(&event, body));
    }
    let expected: BTreeMap<String, String> = EXPECTED
        .iter()
        .map(|(f, o)| ((*f).to_owned(), (*o).to_owned()))
        .collect();
    if got != expected {
        let rows: Vec<String> = got
            .iter()
            .map(|(f, o)| format!("    ({f:?}, {o:?}),"))
            .collect();
        panic!(
            "the examples decode to (table to compare):\n{}",
            rows.join("\n")
        );
    }
    assert!(got.len() >= 40, "{} examples", got.len());
}
