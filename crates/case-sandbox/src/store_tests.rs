//! Unit tests of every [`Store`] semantic: locking, idempotency, lookups, resolve order,
//! counters and faults.

use super::*;
use chrono::{DateTime, TimeZone, Utc};
use std::time::Duration;
use thirdparty_core::testing::{
    assert_invalid_argument, item_ref, sample_case, sample_cell as cell, spawn_all,
    version_conflict,
};
use thirdparty_core::{CaseVersion, FieldStamp, Text, ThirdPartyLink};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).single().unwrap()
}

/// A store holding case `c1` of org 1 at `version`.
fn store_with_c1(version: u64) -> Store {
    let store = Store::new();
    store.insert_case(sample_case(1, "c1", version));
    store
}

fn linked(org: u64, id: &str, integration: &str, account: &str, item: &str) -> Case {
    let mut c = sample_case(org, id, 1);
    c.third_party_links.push(ThirdPartyLink {
        integration: integration.into(),
        account_id: account.into(),
        item_id: item.into(),
        item_key: None,
    });
    c
}

fn update(org: u64, id: &str, expected: u64, update: FieldUpdate) -> CaseUpdate {
    CaseUpdate {
        org_id: OrgId(org),
        case_id: CaseId::from(id),
        expected_version: CaseVersion(expected),
        update,
        stamp: FieldStamp {
            event_time: t(60),
            sequence: Some(9),
        },
        source: "jira".into(),
    }
}

fn user(org: u64, id: &str, name: &str, email: Option<&str>, accounts: &[&str]) -> SandboxUser {
    SandboxUser {
        org_id: OrgId(org),
        user_id: UserId::from(id),
        display_name: name.into(),
        email: email.map(str::to_owned),
        account_ids: accounts.iter().map(|a| (*a).to_owned()).collect(),
    }
}

fn metadata(org: u64, integration: &str, account: &str) -> IntegrationMetadata {
    IntegrationMetadata {
        org_id: OrgId(org),
        integration: integration.into(),
        account_id: account.into(),
        project_id: None,
        item_type_id: None,
        case_project_id: ProjectId::from("proj-1"),
        custom_fields: BTreeMap::new(),
        integration_users: vec![],
    }
}

#[tokio::test]
async fn update_with_current_version_writes_field_stamp_and_bumps_version() {
    let store = store_with_c1(3);
    let u = update(1, "c1", 3, FieldUpdate::Status("CLOSED".into()));
    let after = store.update_case(&u).await.unwrap();
    assert_eq!(after.version, CaseVersion(4));
    assert_eq!(after.status, "CLOSED");
    assert_eq!(
        after.field_stamps.get(&thirdparty_core::CaseField::Status),
        Some(&u.stamp)
    );
    assert_eq!(store.case(OrgId(1), &CaseId::from("c1")), Some(after));
}

#[tokio::test]
async fn every_field_update_is_written() {
    let store = store_with_c1(1);
    let date = chrono::NaiveDate::from_ymd_opt(2025, 1, 31).unwrap();
    let updates = [
        FieldUpdate::Title(Text::new("new title")),
        FieldUpdate::Description(Text::new("new description")),
        FieldUpdate::Priority(None),
        FieldUpdate::Status("IN_PROGRESS".into()),
        FieldUpdate::Assignee(Some(UserId::from("u-1"))),
        FieldUpdate::DueDate(Some(date)),
    ];
    for (i, fu) in updates.iter().enumerate() {
        let version = 1 + i as u64;
        let after = store
            .update_case(&update(1, "c1", version, fu.clone()))
            .await
            .unwrap();
        assert!(fu.is_applied_on(&after), "{fu:?} applied");
        assert_eq!(after.version, CaseVersion(version + 1));
        assert!(after.field_stamps.contains_key(&fu.field()));
    }
}

#[tokio::test]
async fn stale_version_is_a_conflict_naming_the_current_version_and_changes_nothing() {
    let store = store_with_c1(5);
    let err = store
        .update_case(&update(1, "c1", 4, FieldUpdate::Status("CLOSED".into())))
        .await
        .unwrap_err();
    assert_eq!(err, version_conflict("c1", 4, 5));
    assert_eq!(
        store.case(OrgId(1), &CaseId::from("c1")),
        Some(sample_case(1, "c1", 5))
    );
}

#[tokio::test]
async fn concurrent_updates_from_one_version_let_exactly_one_win() {
    let store = store_with_c1(1);
    let updates = spawn_all((0..16).map(|i| {
        let store = store.clone();
        async move {
            store
                .update_case(&update(1, "c1", 1, FieldUpdate::Status(format!("S{i}"))))
                .await
        }
    }))
    .await;
    let mut wins = 0;
    let mut conflicts = 0;
    for result in updates {
        match result {
            Ok(_) => wins += 1,
            Err(CaseApiError::VersionConflict { actual, .. }) => {
                assert_eq!(actual, Some(CaseVersion(2)));
                conflicts += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((wins, conflicts), (1, 15));
    assert_eq!(
        store.case(OrgId(1), &CaseId::from("c1")).unwrap().version,
        CaseVersion(2)
    );
}

#[tokio::test]
async fn edit_case_is_a_concurrent_writer_that_makes_the_next_update_stale() {
    let store = store_with_c1(1);
    let edited = store
        .edit_case(
            OrgId(1),
            &CaseId::from("c1"),
            FieldUpdate::Priority(Some("P1".into())),
        )
        .unwrap();
    assert_eq!(edited.version, CaseVersion(2));
    assert_eq!(edited.priority.as_deref(), Some("P1"));
    assert!(
        edited.field_stamps.is_empty(),
        "UI edits are not third-party stamps"
    );
    assert_eq!(
        store.calls(Rpc::UpdateCase),
        0,
        "edit_case is not a counted call"
    );
    let err = store
        .update_case(&update(
            1,
            "c1",
            1,
            FieldUpdate::Priority(Some("P2".into())),
        ))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        CaseApiError::VersionConflict {
            actual: Some(CaseVersion(2)),
            ..
        }
    ));
    assert_eq!(
        store.edit_case(
            OrgId(1),
            &CaseId::from("nope"),
            FieldUpdate::Status("X".into())
        ),
        None
    );
}

#[tokio::test]
async fn updating_an_unknown_case_or_another_orgs_case_is_invalid_argument() {
    let store = store_with_c1(1);
    for (org, id) in [(1, "missing"), (2, "c1")] {
        let err = store
            .update_case(&update(org, id, 1, FieldUpdate::Status("CLOSED".into())))
            .await
            .unwrap_err();
        assert_invalid_argument(&err, "UpdateCase");
    }
}

#[tokio::test]
async fn same_idempotency_key_twice_returns_the_existing_cell() {
    let store = store_with_c1(1);
    let first = store
        .create_timeline_cell(&cell(1, "c1", "jira:100", "hello"))
        .await
        .unwrap();
    assert!(first.created);
    let second = store
        .create_timeline_cell(&cell(1, "c1", "jira:100", "hello, edited"))
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(second.cell, first.cell, "the existing cell, unchanged");
    assert_eq!(store.timeline(OrgId(1), &CaseId::from("c1")).len(), 1);

    let other = store
        .create_timeline_cell(&cell(1, "c1", "jira:101", "second"))
        .await
        .unwrap();
    assert!(other.created);
    assert_ne!(other.cell.id, first.cell.id);
    let timeline = store.timeline(OrgId(1), &CaseId::from("c1"));
    assert_eq!(
        timeline
            .iter()
            .map(|c| c.cell.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        ["jira:100", "jira:101"]
    );
    assert_eq!(store.timeline_cells().len(), 2);
}

#[tokio::test]
async fn idempotency_keys_are_scoped_by_org() {
    let store = Store::new();
    store.insert_case(sample_case(1, "c1", 1));
    store.insert_case(sample_case(2, "c1", 1));
    assert!(
        store
            .create_timeline_cell(&cell(1, "c1", "k", "a"))
            .await
            .unwrap()
            .created
    );
    assert!(
        store
            .create_timeline_cell(&cell(2, "c1", "k", "a"))
            .await
            .unwrap()
            .created
    );
    assert_eq!(store.timeline(OrgId(1), &CaseId::from("c1")).len(), 1);
    assert_eq!(store.timeline(OrgId(2), &CaseId::from("c1")).len(), 1);
}

#[tokio::test]
async fn concurrent_creates_with_one_key_create_one_cell() {
    let store = store_with_c1(1);
    let creates = spawn_all((0..16).map(|_| {
        let store = store.clone();
        async move { store.create_timeline_cell(&cell(1, "c1", "k", "x")).await }
    }))
    .await;
    let created = creates
        .into_iter()
        .filter(|c| c.as_ref().unwrap().created)
        .count();
    assert_eq!(created, 1);
    assert_eq!(store.timeline_cells().len(), 1);
}

#[tokio::test]
async fn timeline_cell_for_unknown_case_or_without_key_is_invalid_argument() {
    let store = store_with_c1(1);
    let err = store
        .create_timeline_cell(&cell(1, "nope", "k", "x"))
        .await
        .unwrap_err();
    assert_invalid_argument(&err, "CreateTimelineCell");
    let err = store
        .create_timeline_cell(&cell(1, "c1", "", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, CaseApiError::InvalidArgument { .. }));
    assert!(store.timeline_cells().is_empty());
}

#[tokio::test]
async fn find_by_third_party_matches_integration_account_and_item_within_the_org() {
    let store = Store::new();
    store.insert_case(linked(1, "jira-case", "jira", "site-1", "10001"));
    store.insert_case(linked(1, "snow-case", "servicenow", "site-1", "10001"));
    store.insert_case(linked(2, "other-org", "jira", "site-1", "10002"));
    let found = |org, integration: &'static str, account: &'static str, item: &'static str| {
        let store = store.clone();
        async move {
            store
                .find_case_by_third_party(OrgId(org), integration, &item_ref(account, item))
                .await
                .unwrap()
                .map(|c| c.id.0)
        }
    };
    assert_eq!(
        found(1, "jira", "site-1", "10001").await.as_deref(),
        Some("jira-case")
    );
    assert_eq!(
        found(1, "servicenow", "site-1", "10001").await.as_deref(),
        Some("snow-case")
    );
    assert_eq!(
        found(1, "jira", "site-2", "10001").await,
        None,
        "account must match"
    );
    assert_eq!(
        found(1, "jira", "site-1", "10009").await,
        None,
        "item must match"
    );
    assert_eq!(
        found(1, "jira", "site-1", "10002").await,
        None,
        "other org's case"
    );
    assert_eq!(
        found(2, "jira", "site-1", "10002").await.as_deref(),
        Some("other-org")
    );
    assert_eq!(store.calls(Rpc::FindCaseByThirdParty), 6);
}

#[tokio::test]
async fn get_case_is_scoped_by_org() {
    let store = store_with_c1(1);
    for (org, holds_c1) in [(1, true), (2, false)] {
        let got = store
            .get_case(OrgId(org), &CaseId::from("c1"))
            .await
            .unwrap();
        assert_eq!(got.is_some(), holds_c1, "org {org}");
    }
}

#[tokio::test]
async fn settings_are_keyed_by_org_project_and_integration() {
    let store = Store::new();
    let mut jira = ProjectSettings::enabled(OrgId(1), ProjectId::from("p"), "jira");
    jira.integration_users.push("bot".into());
    store.put_settings(jira.clone());
    store.put_settings(ProjectSettings::enabled(
        OrgId(1),
        ProjectId::from("p"),
        "servicenow",
    ));
    let jira_settings_of = async |org: u64, project: &str| {
        store
            .get_project_settings(OrgId(org), &ProjectId::from(project), "jira")
            .await
            .unwrap()
    };
    assert_eq!(jira_settings_of(1, "p").await, Some(jira.clone()));
    assert_eq!(jira_settings_of(2, "p").await, None);
    assert_eq!(jira_settings_of(1, "q").await, None);
    // put_settings replaces.
    let mut replaced = jira;
    replaced.project_sync_enabled = false;
    store.put_settings(replaced.clone());
    assert_eq!(jira_settings_of(1, "p").await, Some(replaced));
    assert_eq!(store.settings().len(), 2);
}

#[tokio::test]
async fn metadata_and_orgs_are_listed_per_integration() {
    let store = Store::new();
    store.add_metadata(metadata(2, "jira", "site-2"));
    store.add_metadata(metadata(1, "jira", "site-1"));
    store.add_metadata(metadata(1, "jira", "site-1b"));
    store.add_metadata(metadata(3, "servicenow", "acme"));
    let rows = store
        .list_integration_metadata(OrgId(1), "jira")
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .map(|m| m.account_id.as_str())
            .collect::<Vec<_>>(),
        ["site-1", "site-1b"]
    );
    assert!(
        store
            .list_integration_metadata(OrgId(3), "jira")
            .await
            .unwrap()
            .is_empty()
    );
    let orgs_per_integration: [(&str, &[OrgId]); 3] = [
        ("jira", &[OrgId(1), OrgId(2)]),
        ("servicenow", &[OrgId(3)]),
        ("github", &[]),
    ];
    for (integration, orgs) in orgs_per_integration {
        assert_eq!(
            store.list_integration_orgs(integration).await.unwrap(),
            orgs,
            "{integration}"
        );
    }
}

#[tokio::test]
async fn resolve_user_tries_account_then_email_then_display_name_within_the_org() {
    let store = Store::new();
    store.add_user(user(1, "by-name", "Ada Lovelace", None, &[]));
    store.add_user(user(
        1,
        "by-email",
        "Someone Else",
        Some("Ada@Example.com"),
        &[],
    ));
    store.add_user(user(1, "by-account", "Third", None, &["acc-ada"]));
    store.add_user(user(
        2,
        "other-org",
        "Ada Lovelace",
        Some("ada@example.com"),
        &["acc-ada"],
    ));
    let q = |account: Option<&str>, email: Option<&str>, name: Option<&str>| UserQuery {
        integration: "jira".into(),
        account_id: account.map(str::to_owned),
        email: email.map(str::to_owned),
        display_name: name.map(str::to_owned),
    };
    let resolve = |query: UserQuery| {
        let store = store.clone();
        async move {
            store
                .resolve_user(OrgId(1), &query)
                .await
                .unwrap()
                .map(|u| u.0)
        }
    };
    let all = q(
        Some("acc-ada"),
        Some("ada@example.com"),
        Some("Ada Lovelace"),
    );
    assert_eq!(
        resolve(all).await.as_deref(),
        Some("by-account"),
        "account id first"
    );
    let no_account = q(
        Some("acc-unknown"),
        Some("ADA@EXAMPLE.COM"),
        Some("Ada Lovelace"),
    );
    assert_eq!(
        resolve(no_account).await.as_deref(),
        Some("by-email"),
        "then email, any case"
    );
    let name_only = q(None, Some("nobody@example.com"), Some("Ada Lovelace"));
    assert_eq!(
        resolve(name_only).await.as_deref(),
        Some("by-name"),
        "then display name"
    );
    assert_eq!(
        resolve(q(None, None, Some("ada lovelace"))).await,
        None,
        "names match exactly"
    );
    assert_eq!(resolve(q(None, None, None)).await, None);
    assert_eq!(
        store
            .resolve_user(OrgId(3), &q(Some("acc-ada"), None, None))
            .await
            .unwrap(),
        None,
        "users of other orgs are invisible"
    );
}

#[tokio::test]
async fn every_call_is_counted_including_failures_and_reset_clears() {
    let store = Store::new();
    store
        .faults()
        .fail_next(Rpc::GetCase, 1, FaultStatus::Internal);
    let _ = store.get_case(OrgId(1), &CaseId::from("x")).await;
    let _ = store.get_case(OrgId(1), &CaseId::from("x")).await;
    let _ = store
        .update_case(&update(1, "x", 1, FieldUpdate::Status("S".into())))
        .await;
    let _ = store.create_timeline_cell(&cell(1, "x", "k", "b")).await;
    let _ = store
        .find_case_by_third_party(OrgId(1), "jira", &item_ref("a", "i"))
        .await;
    let _ = store
        .get_project_settings(OrgId(1), &ProjectId::from("p"), "jira")
        .await;
    let _ = store.list_integration_metadata(OrgId(1), "jira").await;
    let _ = store.list_integration_orgs("jira").await;
    let _ = store.resolve_user(OrgId(1), &UserQuery::default()).await;
    let counts = store.call_counts();
    assert_eq!(counts.len(), Rpc::ALL.len());
    assert_eq!(counts.get(&Rpc::GetCase), Some(&2));
    for rpc in Rpc::ALL.into_iter().filter(|r| *r != Rpc::GetCase) {
        assert_eq!(store.calls(rpc), 1, "{rpc}");
    }
    store.reset_calls();
    assert!(store.call_counts().values().all(|n| *n == 0));
}

#[tokio::test]
async fn injected_faults_map_to_case_api_errors_then_calls_succeed() {
    let store = store_with_c1(1);
    let id = CaseId::from("c1");
    type ErrorCheck = fn(&CaseApiError) -> bool;
    let unavailable: ErrorCheck =
        |e| matches!(e, CaseApiError::Unavailable { rpc: "GetCase", .. }) && e.is_retryable();
    let expected: [(FaultStatus, ErrorCheck); 6] = [
        (FaultStatus::Unavailable, unavailable),
        (FaultStatus::DeadlineExceeded, unavailable),
        (FaultStatus::ResourceExhausted, unavailable),
        (FaultStatus::Internal, |e| {
            matches!(e, CaseApiError::Internal { .. })
        }),
        (FaultStatus::InvalidArgument, |e| {
            matches!(e, CaseApiError::InvalidArgument { .. })
        }),
        (FaultStatus::Aborted, |e| {
            matches!(e, CaseApiError::Internal { .. })
        }),
    ];
    for (status, check) in expected {
        store.faults().fail_next(Rpc::GetCase, 1, status);
        let err = store.get_case(OrgId(1), &id).await.unwrap_err();
        assert!(check(&err), "{status}: {err:?}");
    }
    store
        .faults()
        .fail_next(Rpc::UpdateCase, 1, FaultStatus::Aborted);
    let err = store
        .update_case(&update(1, "c1", 1, FieldUpdate::Status("X".into())))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CaseApiError::VersionConflict {
            case_id: id.clone(),
            expected: CaseVersion(1),
            actual: None
        }
    );
    assert_eq!(
        store.case(OrgId(1), &id).unwrap().version,
        CaseVersion(1),
        "faulted update not applied"
    );
    assert!(
        store.get_case(OrgId(1), &id).await.unwrap().is_some(),
        "faults consumed"
    );
}

#[tokio::test]
async fn fail_next_two_unavailable_then_success() {
    let store = store_with_c1(1);
    store
        .faults()
        .fail_next(Rpc::GetCase, 2, FaultStatus::Unavailable);
    let mut results = Vec::new();
    for _ in 0..3 {
        results.push(store.get_case(OrgId(1), &CaseId::from("c1")).await.is_ok());
    }
    assert_eq!(results, [false, false, true]);
    assert_eq!(store.calls(Rpc::GetCase), 3);
}

#[tokio::test]
async fn outage_fails_every_rpc_unavailable_until_cleared() {
    let store = store_with_c1(1);
    store.faults().outage(Duration::from_secs(3600));
    assert!(matches!(
        store.get_case(OrgId(1), &CaseId::from("c1")).await,
        Err(CaseApiError::Unavailable { .. })
    ));
    assert!(matches!(
        store.list_integration_orgs("jira").await,
        Err(CaseApiError::Unavailable { .. })
    ));
    assert!(matches!(
        store
            .update_case(&update(1, "c1", 1, FieldUpdate::Status("X".into())))
            .await,
        Err(CaseApiError::Unavailable {
            rpc: "UpdateCase",
            ..
        })
    ));
    store.faults().clear();
    assert!(
        store
            .get_case(OrgId(1), &CaseId::from("c1"))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(start_paused = true)]
async fn latency_is_added_to_every_call() {
    let store = Store::new();
    store.faults().set_latency(Duration::from_secs(5));
    let start = tokio::time::Instant::now();
    store.list_integration_orgs("jira").await.unwrap();
    // Paused clock: time only moves through the sandbox's sleep, so this is exact.
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    store.faults().set_latency(Duration::ZERO);
    let start = tokio::time::Instant::now();
    store.list_integration_orgs("jira").await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[test]
fn rpc_names_round_trip_and_display_the_grpc_method() {
    for rpc in Rpc::ALL {
        assert_eq!(Rpc::from_name(&rpc.to_string()), Some(rpc));
    }
    assert_eq!(Rpc::CreateTimelineCell.to_string(), "CreateTimelineCell");
    assert_eq!(Rpc::ResolveUser.service(), "Users");
    assert_eq!(Rpc::from_name("Nope"), None);
}

#[test]
fn from_seed_loads_everything_and_clones_share_state() {
    let store = Store::from_seed(Seed {
        cases: vec![sample_case(1, "c1", 1), sample_case(1, "c2", 1)],
        settings: vec![ProjectSettings::enabled(
            OrgId(1),
            ProjectId::from("p"),
            "jira",
        )],
        metadata: vec![metadata(1, "jira", "s")],
        users: vec![user(1, "u", "U", None, &[])],
    });
    let clone = store.clone();
    clone.insert_case(sample_case(1, "c3", 1));
    assert_eq!(store.cases().len(), 3);
    assert_eq!(store.settings().len(), 1);
    assert!(format!("{store:?}").contains("cases: 3"));
}
