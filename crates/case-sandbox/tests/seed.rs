//! Seed loading: the demo fixture and the error cases of seed files and directories.

use case_sandbox::{SeedError, Store};
use std::path::Path;
use thirdparty_core::testing::item_ref;
use thirdparty_core::{CaseApi, CaseField, CaseId, OrgId, ProjectId, SyncDirection, UserQuery};

const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/cases");

#[tokio::test]
async fn demo_seed_has_both_orgs_and_both_integrations() {
    let store = Store::load_seed_file(&Path::new(CASES_DIR).join("demo.json")).unwrap();
    let orgs: std::collections::BTreeSet<_> = store.cases().iter().map(|c| c.org_id).collect();
    assert_eq!(orgs.into_iter().collect::<Vec<_>>(), [OrgId(1), OrgId(2)]);

    let jira = store
        .find_case_by_third_party(OrgId(1), "jira", &item_ref("jira-site-1", "10001"))
        .await
        .unwrap()
        .expect("PROJ-1 is linked");
    assert_eq!(
        jira.third_party_links[0].item_key.as_deref(),
        Some("PROJ-1")
    );

    let snow = store
        .find_case_by_third_party(
            OrgId(1),
            "servicenow",
            &item_ref("acme", "46d44a5dc0a8010e00f7a6c4ba5e5bd3"),
        )
        .await
        .unwrap()
        .expect("INC0010001 is linked");
    assert_eq!(snow.project_id, ProjectId::from("proj-it"));

    let settings = store
        .get_project_settings(OrgId(1), &ProjectId::from("proj-support"), "jira")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settings.map_value(CaseField::Priority, "1"), Some("P1"));
    assert_eq!(
        settings.map_value(CaseField::Status, "10001"),
        Some("CLOSED")
    );
    assert_eq!(
        settings.custom_fields.get("customfield_10015"),
        Some(&CaseField::DueDate)
    );

    let snow_settings = store
        .get_project_settings(OrgId(1), &ProjectId::from("proj-it"), "servicenow")
        .await
        .unwrap()
        .unwrap();
    for (code, status) in [
        ("1", "OPEN"),
        ("2", "IN_PROGRESS"),
        ("7", "CLOSED"),
        ("8", "CLOSED"),
    ] {
        assert_eq!(
            snow_settings.map_value(CaseField::Status, code),
            Some(status)
        );
    }
    assert_eq!(
        snow_settings.direction_for(CaseField::Title),
        SyncDirection::Disabled
    );

    assert_eq!(
        store.list_integration_orgs("jira").await.unwrap(),
        [OrgId(1), OrgId(2)]
    );
    assert_eq!(
        store.list_integration_orgs("servicenow").await.unwrap(),
        [OrgId(1)]
    );

    let ada = store
        .resolve_user(
            OrgId(1),
            &UserQuery {
                integration: "jira".into(),
                email: Some("ADA@example.com".into()),
                ..UserQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        ada.map(|u| u.0).as_deref(),
        Some("7b1d5e2a-0000-4000-8000-0000000000a1")
    );
    let case2 = store
        .case(
            OrgId(1),
            &CaseId::from("3f2a9c4e-0001-4000-8000-000000000002"),
        )
        .unwrap();
    assert!(case2.field_stamps.contains_key(&CaseField::Status));
}

#[test]
fn the_fixture_directory_loads_as_a_whole() {
    let dir = Store::load_seed_dir(Path::new(CASES_DIR)).unwrap();
    let file = Store::load_seed_file(&Path::new(CASES_DIR).join("demo.json")).unwrap();
    assert!(dir.cases().len() >= file.cases().len());
}

#[test]
fn a_directory_merges_files_and_refuses_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let case = |id: &str| {
        format!(
            r#"{{"id":"{id}","org_id":1,"version":1,"project_id":"p","title":"t","status":"OPEN","created_at":"2025-01-01T00:00:00Z"}}"#
        )
    };
    std::fs::write(
        tmp.path().join("a.json"),
        format!(r#"{{"cases":[{}]}}"#, case("c1")),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("b.json"),
        format!(r#"{{"cases":[{}]}}"#, case("c2")),
    )
    .unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "not a seed").unwrap();
    let store = Store::load_seed_dir(tmp.path()).unwrap();
    assert_eq!(store.cases().len(), 2);

    std::fs::write(
        tmp.path().join("c.json"),
        format!(r#"{{"cases":[{}]}}"#, case("c1")),
    )
    .unwrap();
    let err = Store::load_seed_dir(tmp.path()).unwrap_err();
    assert!(matches!(err, SeedError::Duplicate { .. }), "{err}");
    assert!(err.to_string().contains("c.json"), "{err}");
    assert!(!err.is_retryable());
}

#[test]
fn seed_errors_name_the_file_and_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Store::load_seed_dir(tmp.path()).unwrap_err();
    assert!(matches!(err, SeedError::NoSeedFiles { .. }), "{err}");

    let missing = tmp.path().join("missing.json");
    let err = Store::load_seed_file(&missing).unwrap_err();
    assert!(matches!(err, SeedError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.json"));

    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, r#"{"cases": [], "casse": []}"#).unwrap();
    let err = Store::load_seed_file(&bad).unwrap_err();
    assert!(matches!(err, SeedError::Parse { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("bad.json") && msg.contains("casse"), "{msg}");
}
