//! The GitHub pipeline against the case sandbox seeded with `fixtures/github/seed.json`,
//! fed with the vendored `@octokit/webhooks-examples` payloads (edited where a scenario
//! needs another action or value): what each event does to the case, and why a skipped one
//! was skipped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use case_sandbox::Store;
use github::GitHubConfig;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use thirdparty_core::{CaseId, OrgId, Outcome, Payload, Pipeline, UserId};

const ISSUE_CASE: &str = "7b3e9f10-0000-4000-8000-000000000201";
const PR_CASE: &str = "7b3e9f10-0000-4000-8000-000000000202";

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/github"
    ))
}

fn example(name: &str) -> Value {
    let path = fixtures().join("webhooks").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

struct Run {
    store: Arc<Store>,
    pipeline: Pipeline,
    deliveries: u32,
}

impl Run {
    fn new() -> Self {
        let store = Arc::new(Store::load_seed_file(&fixtures().join("seed.json")).unwrap());
        let (pipeline, _) = github::pipeline(store.clone(), &GitHubConfig::default());
        Self {
            store,
            pipeline,
            deliveries: 0,
        }
    }

    /// Sends `body` as `event` (a new delivery each time); one label per outcome:
    /// `processed`, `overridden` or the skip reason.
    async fn send(&mut self, event: &str, body: &Value) -> Vec<String> {
        self.deliveries += 1;
        let value = json!({"orgId": 1, "installationId": 5501, "receivedAt": "2026-03-02T10:00:00Z",
            "deliveryId": format!("delivery-{}", self.deliveries), "event": event, "webhook": body});
        let report = self
            .pipeline
            .run(&Payload::from_value(serde_json::to_vec(&value).unwrap()))
            .await;
        report
            .outcomes
            .iter()
            .map(|o| match &o.outcome {
                Outcome::Processed {
                    overridden_conflict: false,
                } => "processed".to_owned(),
                Outcome::Processed {
                    overridden_conflict: true,
                } => "overridden".to_owned(),
                Outcome::Filtered(r) => r.to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    /// Sends `body` as `event` and checks the outcomes.
    async fn expect(&mut self, event: &str, body: &Value, outcomes: &[&str]) {
        let got = self.send(event, body).await;
        assert_eq!(got, outcomes, "{event}.{}", body["action"]);
    }

    fn case(&self, id: &str) -> thirdparty_core::Case {
        self.store.case(OrgId(1), &CaseId::from(id)).unwrap()
    }
}

fn labeled(action: &str, label: &str) -> Value {
    let mut body = example(&format!("issues.{action}.1.json"));
    body["label"]["name"] = json!(label);
    body
}

#[tokio::test]
async fn labels_set_and_clear_the_priority_through_the_value_mapping() {
    let mut run = Run::new();
    assert_eq!(
        run.send("issues", &example("issues.labeled.1.json")).await,
        ["field_value_not_mapped"],
        "`bug` is no priority"
    );
    run.expect(
        "issues",
        &labeled("labeled", "priority/high"),
        &["processed"],
    )
    .await;
    assert_eq!(run.case(ISSUE_CASE).priority.as_deref(), Some("P2"));
    assert_eq!(
        run.send("issues", &labeled("unlabeled", "priority/low"))
            .await,
        ["no_change"],
        "not the case's priority"
    );
    let unlabeled = labeled("unlabeled", "priority/high");
    run.expect("issues", &unlabeled, &["processed"]).await;
    assert_eq!(run.case(ISSUE_CASE).priority, None);
}

#[tokio::test]
async fn close_and_reopen_map_the_state_reason_and_old_events_are_out_of_order() {
    let mut run = Run::new();
    let mut closed = example("issues.reopened.1.json");
    closed["action"] = json!("closed");
    closed["issue"]["state"] = json!("closed");
    closed["issue"]["state_reason"] = json!("not_planned");
    run.expect("issues", &closed, &["processed"]).await;
    let case = run.case(ISSUE_CASE);
    assert_eq!(case.status, "CLOSED");
    assert_eq!(case.version.0, 3);

    // A reopen stamped before the close (2021-10-11T16:40:00Z < …:56Z) arrives late.
    let mut late = example("issues.reopened.1.json");
    late["issue"]["updated_at"] = json!("2021-10-11T16:40:00Z");
    run.expect("issues", &late, &["out_of_order_event"]).await;
    run.expect("issues", &example("issues.reopened.1.json"), &["processed"])
        .await;
    assert_eq!(run.case(ISSUE_CASE).status, "OPEN");
}

#[tokio::test]
async fn title_and_body_edits_conflict_when_their_from_is_not_the_case_value() {
    let mut run = Run::new();
    let mut edit = example("issues.edited.1.json");
    assert_eq!(
        run.send("issues", &edit).await,
        ["empty_changelog"],
        "the example changes nothing"
    );
    edit["issue"]["title"] = json!("Spelling error in the README");
    edit["issue"]["body"] = json!("Fixed wording.");
    edit["changes"] = json!({"title": {"from": "Spelling error in the README file"},
                             "body": {"from": "Someone else's text"}});
    run.expect("issues", &edit, &["processed", "state_conflict"])
        .await;
    let case = run.case(ISSUE_CASE);
    assert_eq!(case.title.expose(), "Spelling error in the README");
    assert!(case.description.expose().starts_with("It looks like"));
}

#[tokio::test]
async fn a_comment_redelivered_makes_one_cell_and_echoes_are_skipped() {
    let mut run = Run::new();
    let comment = example("issue_comment.created.1.json");
    run.expect("issue_comment", &comment, &["processed"]).await;
    run.expect("issue_comment", &comment, &["duplicate_event"])
        .await;
    let cells = run.store.timeline(OrgId(1), &CaseId::from(ISSUE_CASE));
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].cell.idempotency_key, "github:comment:492700400");
    assert_eq!(cells[0].cell.author_id.as_deref(), Some("Codertocat"));

    let mut bot = comment.clone();
    bot["comment"]["id"] = json!(1);
    bot["sender"] = json!({"login": "case-management[bot]", "type": "Bot"});
    run.expect("issue_comment", &bot, &["break_synchronization_cycle"])
        .await;
    let mut marked = comment.clone();
    marked["comment"]["id"] = json!(2);
    marked["comment"]["body"] = json!("Done.\n<!-- synced from Case Management -->");
    run.expect("issue_comment", &marked, &["break_synchronization_cycle"])
        .await;
    let mut user_named_like_the_bot = comment;
    user_named_like_the_bot["comment"]["id"] = json!(3);
    user_named_like_the_bot["sender"] = json!({"login": "case-management", "type": "User"});
    run.expect("issue_comment", &user_named_like_the_bot, &["processed"])
        .await;
    assert_eq!(
        run.store
            .timeline(OrgId(1), &CaseId::from(ISSUE_CASE))
            .len(),
        2
    );
}

#[tokio::test]
async fn assignees_resolve_by_login() {
    let mut run = Run::new();
    run.expect("issues", &example("issues.assigned.1.json"), &["processed"])
        .await;
    assert_eq!(
        run.case(ISSUE_CASE).assignee,
        Some(UserId::from("8d6c2f1e-0000-4000-8000-0000000000c1"))
    );
    run.expect(
        "issues",
        &example("issues.unassigned.1.json"),
        &["processed"],
    )
    .await;
    assert_eq!(run.case(ISSUE_CASE).assignee, None);
    let mut stranger = example("issues.assigned.1.json");
    stranger["issue"]["assignees"] = json!([{"login": "nobody-we-know"}]);
    stranger["issue"]["updated_at"] = json!("2019-05-15T15:21:00Z");
    run.expect("issues", &stranger, &["assignee_resolution_failed"])
        .await;
}

#[tokio::test]
async fn a_milestone_due_date_is_routed_to_the_case_due_date() {
    let mut run = Run::new();
    run.expect(
        "issues",
        &example("issues.milestoned.1.json"),
        &["processed"],
    )
    .await;
    assert_eq!(
        run.case(PR_CASE).due_date.map(|d| d.to_string()).as_deref(),
        Some("2019-05-23")
    );
    let demilestoned = example("issues.demilestoned.1.json");
    run.expect("issues", &demilestoned, &["processed"]).await;
    assert_eq!(run.case(PR_CASE).due_date, None);
}

#[tokio::test]
async fn unknown_installations_repositories_and_issues_are_skipped() {
    let mut run = Run::new();
    let reopened = example("issues.reopened.1.json");
    let mut other_repo = reopened.clone();
    other_repo["repository"]["id"] = json!(1);
    run.expect("issues", &other_repo, &["no_matching_metadata"])
        .await;
    let mut unlinked = example("issues.reopened.1.json");
    unlinked["issue"]["node_id"] = json!("I_unlinked");
    run.expect("issues", &unlinked, &["no_corresponding_case"])
        .await;
    let mut push_only = example("issues.reopened.1.json");
    push_only["repository"]["id"] = json!(700003);
    push_only["issue"]["node_id"] = json!("I_kwDOpush0000003");
    run.expect("issues", &push_only, &["sync_direction_push_only"])
        .await;
    for event in ["ping.none.1.json", "push.none.1.json"] {
        let name = event.split('.').next().unwrap();
        run.expect(name, &example(event), &["unsupported_event_type"])
            .await;
    }
}
