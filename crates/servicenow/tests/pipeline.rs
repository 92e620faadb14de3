//! The ServiceNow pipeline with a concurrent writer: a Case Management edit lands between
//! the pipeline's read of the case and its update.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use case_sandbox::{Rpc, Store};
use serde_json::json;
use servicenow::{ServiceNowConfig, pipeline};
use std::sync::Arc;
use thirdparty_core::testing::EditBeforeFirstUpdate;
use thirdparty_core::*;

const CASE: &str = "5e1f0c0a-9b1e-4c0a-8d2e-000000000001";

fn closing_event() -> Payload {
    support::payload(json!({"state": "7", "sysModCount": "4", "correlationId": CASE}))
}

async fn run_with_concurrent_edit(edit: FieldUpdate) -> (Outcome, Case, Store) {
    let store = support::seed_store();
    let writer = store.clone();
    let api = Arc::new(EditBeforeFirstUpdate::new(
        store.clone(),
        Box::new(move |u: &CaseUpdate| {
            writer.edit_case(u.org_id, &u.case_id, edit).unwrap();
        }),
    ));
    let (pipeline, _) = pipeline(api, &ServiceNowConfig::default());
    let report = pipeline.run(&closing_event()).await;
    assert_eq!(report.outcomes.len(), 1);
    let case = store.case(OrgId(1001), &CaseId::from(CASE)).unwrap();
    (report.outcomes[0].outcome.clone(), case, store)
}

#[tokio::test]
async fn an_unrelated_concurrent_edit_is_kept_and_the_state_applied_after_a_re_read() {
    let (outcome, case, store) =
        run_with_concurrent_edit(FieldUpdate::Priority(Some("P1".into()))).await;
    assert_eq!(
        outcome,
        Outcome::Processed {
            overridden_conflict: false
        }
    );
    assert_eq!(
        case.priority.as_deref(),
        Some("P1"),
        "the other writer's edit"
    );
    assert_eq!(case.status, "CLOSED");
    assert_eq!(case.version, CaseVersion(5), "3 + the edit + our update");
    assert_eq!(store.calls(Rpc::UpdateCase), 2);
    assert_eq!(store.calls(Rpc::GetCase), 2, "looked up, then re-read once");
}

#[tokio::test]
async fn a_concurrent_edit_to_the_same_value_ends_as_no_change() {
    let (outcome, case, store) =
        run_with_concurrent_edit(FieldUpdate::Status("CLOSED".into())).await;
    assert_eq!(outcome, Outcome::Filtered(FilteredReason::NoChange));
    assert_eq!(case.status, "CLOSED");
    assert_eq!(case.version, CaseVersion(4), "only the other writer's edit");
    assert_eq!(store.calls(Rpc::UpdateCase), 1);
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let store = support::seed_store();
    let (pipeline, _) = pipeline(Arc::new(store.clone()), &ServiceNowConfig::default());
    let report = pipeline.dry_run(true).run(&closing_event()).await;
    assert_eq!(
        report.outcomes[0].outcome,
        Outcome::WouldApply {
            overridden_conflict: false
        }
    );
    assert_eq!(store.calls(Rpc::UpdateCase), 0);
    let case = store.case(OrgId(1001), &CaseId::from(CASE)).unwrap();
    assert_eq!(
        (case.status.as_str(), case.version),
        ("OPEN", CaseVersion(3))
    );
}

#[tokio::test]
async fn the_pipeline_is_a_payload_handler() {
    let store = support::seed_store();
    let (pipeline, _) = pipeline(Arc::new(store.clone()), &ServiceNowConfig::default());
    assert_eq!(pipeline.integration(), servicenow::INTEGRATION);
    assert_eq!(pipeline.handle(&closing_event()).await, Disposition::Ack);
    store
        .faults()
        .fail_next(Rpc::GetCase, 1, case_sandbox::FaultStatus::Unavailable);
    let mut redelivered = closing_event();
    redelivered.offset = 42;
    assert!(matches!(
        pipeline.handle(&redelivered).await,
        Disposition::Retry { .. }
    ));
}
