//! Pipeline behaviour that needs more than a fixture: a real concurrent edit between read
//! and write, a 600 KB webhook, replaying raw webhooks through `envelope`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use case_sandbox::{Rpc, Store};
use serde_json::{Value, json};
use std::sync::Arc;
use thirdparty_core::testing::EditBeforeFirstUpdate;
use thirdparty_core::{
    CaseApi, CaseId, CaseUpdate, FieldUpdate, FilteredReason, OrgId, Outcome, Payload,
    PayloadReport,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/jira");
const CASE_1: &str = "c0a8012e-7f3b-4d2a-9e1c-000000000101";

fn seed_store() -> Store {
    Store::load_seed_file(&std::path::PathBuf::from(FIXTURES).join("seed.json")).unwrap()
}

fn payload(name: &str) -> Payload {
    Payload::from_value(std::fs::read(format!("{FIXTURES}/payloads/{name}")).unwrap())
}

/// Applied, no conflict overridden.
const APPLIED: Outcome = Outcome::Processed {
    overridden_conflict: false,
};

/// Runs `payload` through the default Jira pipeline (dry when `dry_run`) over the API
/// `wrap` builds around a fresh seed store; returns the report and that store.
async fn run_seeded(
    payload: &Payload,
    dry_run: bool,
    wrap: impl FnOnce(&Store) -> Arc<dyn CaseApi>,
) -> (PayloadReport, Store) {
    let store = seed_store();
    let (pipeline, _) = jira::pipeline(wrap(&store), &jira::JiraConfig::default());
    let report = pipeline.dry_run(dry_run).run(payload).await;
    (report, store)
}

/// The store itself as the API.
fn plain(store: &Store) -> Arc<dyn CaseApi> {
    Arc::new(store.clone())
}

async fn run_with_concurrent_edit(edit: FieldUpdate) -> (Outcome, Store) {
    let (report, store) = run_seeded(&payload("update_priority.json"), false, |store| {
        let writer = store.clone();
        Arc::new(EditBeforeFirstUpdate::new(
            store.clone(),
            Box::new(move |u: &CaseUpdate| {
                writer.edit_case(u.org_id, &u.case_id, edit).unwrap();
            }),
        ))
    })
    .await;
    assert_eq!(report.outcomes.len(), 1);
    (report.outcomes[0].outcome.clone(), store)
}

#[tokio::test]
async fn a_concurrent_edit_of_the_same_field_becomes_a_state_conflict() {
    // Someone sets P1 in Case Management between our read (P3) and our write.
    let (outcome, store) = run_with_concurrent_edit(FieldUpdate::Priority(Some("P1".into()))).await;
    assert_eq!(outcome, Outcome::Filtered(FilteredReason::StateConflict));
    let case = store.case(OrgId(1), &CaseId(CASE_1.into())).unwrap();
    assert_eq!(case.priority.as_deref(), Some("P1"), "their edit is kept");
    assert_eq!(store.calls(Rpc::UpdateCase), 1);
    assert_eq!(store.calls(Rpc::GetCase), 1, "re-read once");
}

#[tokio::test]
async fn a_concurrent_edit_of_another_field_is_retried_and_applied() {
    let (outcome, store) =
        run_with_concurrent_edit(FieldUpdate::Status("IN_PROGRESS".into())).await;
    assert_eq!(outcome, APPLIED);
    let case = store.case(OrgId(1), &CaseId(CASE_1.into())).unwrap();
    assert_eq!(case.priority.as_deref(), Some("P2"));
    assert_eq!(case.status, "IN_PROGRESS");
    assert_eq!(case.version.0, 5, "seed 3, their edit 4, ours 5");
    assert_eq!(store.calls(Rpc::UpdateCase), 2);
}

#[tokio::test]
async fn a_600_kb_description_applies_as_markdown() {
    let mut value: Value = serde_json::from_slice(
        &std::fs::read(format!("{FIXTURES}/payloads/update_description.json")).unwrap(),
    )
    .unwrap();
    let section = "h2. Section ñ 日本語 😀\r\n* bullet with [link|https://example.com/ä?x=1]\r\n{code:rust}\r\nfn main() {}\r\n{code}\r\n";
    let big = section.repeat(600_000 / section.len() + 1);
    value["webhook"]["changelog"]["items"][0]["toString"] = json!(big);
    value["webhook"]["issue"]["fields"]["description"] = json!(big);
    let bytes = serde_json::to_vec(&value).unwrap();
    assert!(bytes.len() > 1_200_000, "{} bytes", bytes.len());

    let (report, store) = run_seeded(&Payload::from_value(bytes), false, plain).await;
    assert_eq!(report.outcomes[0].outcome, APPLIED);
    let case = store.case(OrgId(1), &CaseId(CASE_1.into())).unwrap();
    let description = case.description.expose();
    assert!(description.starts_with("## Section ñ 日本語 😀\n- bullet with [link](https://example.com/ä?x=1)\n```rust\nfn main() {}\n```\n## Section"), "{}", &description[..200]);
    assert!(!description.contains('\r'));
}

#[tokio::test]
async fn raw_webhooks_replay_through_envelope() {
    // The webhook body of a fixture, re-wrapped for another org: decodes identically.
    let value: Value = serde_json::from_slice(
        &std::fs::read(format!("{FIXTURES}/payloads/update_title.json")).unwrap(),
    )
    .unwrap();
    let raw = serde_json::to_vec(&value["webhook"]).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:01Z")
        .unwrap()
        .to_utc();
    let enveloped = jira::envelope(1, value["jiraAccountId"].as_str().unwrap(), at, &raw).unwrap();
    let (report, _) = run_seeded(&Payload::from_value(enveloped), false, plain).await;
    assert_eq!(report.outcomes[0].outcome, APPLIED);
    assert_eq!(
        report.outcomes[0].event_id.as_deref(),
        Some("jira:21001:summary")
    );
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let (report, store) = run_seeded(&payload("state_conflict_overridden.json"), true, plain).await;
    assert_eq!(
        report.outcomes[0].outcome,
        Outcome::WouldApply {
            overridden_conflict: true
        }
    );
    assert_eq!(store.calls(Rpc::UpdateCase), 0);
}
