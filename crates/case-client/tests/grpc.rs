#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! case-client ↔ case-sandbox over real loopback gRPC (plaintext).

mod common;

use case_client::{CaseClient, CaseClientConfig, ConnectError, RetryPolicy, TlsConfig};
use case_proto::case_management::v1;
use case_proto::case_management::v1::cases_client::CasesClient;
use case_proto::case_sandbox::v1::{self as admin_pb, admin_client::AdminClient};
use case_sandbox::{FaultStatus, Rpc};
use common::*;
use std::time::Duration;
use thirdparty_core::testing::{assert_invalid_argument, item_ref, spawn_all, version_conflict};
use thirdparty_core::{
    CaseApi, CaseApiError, CaseId, CaseVersion, OrgId, ProjectId, ThirdPartyRef, UserQuery,
};
use tonic::Code;

type ErrorCheck = fn(&CaseApiError) -> bool;
type ConnectErrorCheck = fn(&ConnectError) -> bool;

#[tokio::test]
async fn stale_update_is_aborted_on_the_wire_and_a_version_conflict_in_the_client() {
    let (store, server, client) = start_with_case(5).await;

    // On the wire: ABORTED, with the current version in the message and the details.
    let mut raw = CasesClient::connect(server.url()).await.unwrap();
    let status = raw
        .update_case(v1::UpdateCaseRequest::from(&status_update(
            1, "c1", 4, "CLOSED",
        )))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert!(
        status.message().contains("current version 5"),
        "{}",
        status.message()
    );
    assert_eq!(
        case_proto::status::conflict_current_version(&status),
        Some(CaseVersion(5))
    );

    // Through the client: a version conflict naming both versions, not retried.
    store.reset_calls();
    let err = client
        .update_case(&status_update(1, "c1", 4, "CLOSED"))
        .await
        .unwrap_err();
    assert_eq!(err, version_conflict("c1", 4, 5));
    assert!(!err.is_retryable());
    assert_eq!(store.calls(Rpc::UpdateCase), 1, "ABORTED is not retried");

    // The current version applies, bumps the version and records the stamp.
    let after = client
        .update_case(&status_update(1, "c1", 5, "CLOSED"))
        .await
        .unwrap();
    assert_eq!(
        (after.version, after.status.as_str()),
        (CaseVersion(6), "CLOSED")
    );
    assert_eq!(store.case(OrgId(1), &CaseId::from("c1")), Some(after));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_ui_edit_makes_the_clients_update_stale() {
    let (_, server, client) = start_with_case(1).await;
    let read = get_c1(&client).await.unwrap().unwrap();

    // Edit through the Admin service, as an out-of-process test would.
    let mut admin = AdminClient::connect(server.url()).await.unwrap();
    let edited = admin
        .edit_case(admin_pb::EditCaseRequest {
            org_id: 1,
            case_id: "c1".into(),
            update: Some(v1::FieldUpdate {
                field: v1::CaseField::Priority as i32,
                value: Some("P1".into()),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .case
        .unwrap();
    assert_eq!(edited.version, 2);

    let err = client
        .update_case(&status_update(1, "c1", read.version.0, "CLOSED"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CaseApiError::VersionConflict {
                actual: Some(CaseVersion(2)),
                ..
            }
        ),
        "{err:?}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn same_idempotency_key_twice_makes_one_timeline_cell() {
    let (store, server, client) = start_with_case(1).await;

    let first = client
        .create_timeline_cell(&comment(1, "c1", "jira:10042"))
        .await
        .unwrap();
    let second = client
        .create_timeline_cell(&comment(1, "c1", "jira:10042"))
        .await
        .unwrap();
    assert!(first.created, "first call creates");
    assert!(!second.created, "second call finds the existing cell");
    assert_eq!(second.cell, first.cell);
    assert_eq!(
        first.cell.cell,
        comment(1, "c1", "jira:10042"),
        "the cell round-trips"
    );
    assert_eq!(
        store.timeline(OrgId(1), &CaseId::from("c1")).len(),
        1,
        "sandbox has one cell"
    );
    assert_eq!(store.calls(Rpc::CreateTimelineCell), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn two_unavailable_then_success_is_retried_and_succeeds() {
    let (store, server, client) = start_with_case(1).await;

    store
        .faults()
        .fail_next(Rpc::GetCase, 2, FaultStatus::Unavailable);
    let got = get_c1(&client).await.unwrap();
    assert_eq!(got.map(|c| c.id), Some(CaseId::from("c1")));
    assert_calls(&store, Rpc::GetCase, 3, "two failures, then the success");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn every_transient_code_is_retried_and_other_codes_are_not() {
    let (store, server, client) = start_with_case(1).await;

    for status in [
        FaultStatus::DeadlineExceeded,
        FaultStatus::ResourceExhausted,
    ] {
        store.reset_calls();
        store.faults().fail_next(Rpc::GetCase, 1, status);
        assert!(get_c1(&client).await.unwrap().is_some(), "{status}");
        assert_eq!(store.calls(Rpc::GetCase), 2, "{status} retried once");
    }
    let permanent: [(FaultStatus, ErrorCheck); 3] = [
        (FaultStatus::InvalidArgument, |e| {
            matches!(e, CaseApiError::InvalidArgument { rpc: "GetCase", .. })
        }),
        (FaultStatus::Internal, |e| {
            matches!(e, CaseApiError::Internal { rpc: "GetCase", .. })
        }),
        (FaultStatus::Aborted, |e| {
            matches!(e, CaseApiError::Internal { rpc: "GetCase", .. })
        }),
    ];
    for (status, expected) in permanent {
        store.reset_calls();
        store.faults().fail_next(Rpc::GetCase, 1, status);
        let err = get_c1(&client).await.unwrap_err();
        assert!(expected(&err), "{status} → {err:?}");
        assert_calls(
            &store,
            Rpc::GetCase,
            1,
            &format!("{status} not retried by the client"),
        );
    }

    // An injected ABORTED on UpdateCase is a conflict whose current version is unknown.
    store
        .faults()
        .fail_next(Rpc::UpdateCase, 1, FaultStatus::Aborted);
    let err = client
        .update_case(&status_update(1, "c1", 1, "X"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CaseApiError::VersionConflict { actual: None, .. }),
        "{err:?}"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn retries_stop_at_max_attempts_with_unavailable() {
    let (store, server, client) = start_empty().await;
    store
        .faults()
        .fail_next(Rpc::ListIntegrationOrgs, 10, FaultStatus::Unavailable);
    let err = client.list_integration_orgs("jira").await.unwrap_err();
    assert!(
        matches!(
            err,
            CaseApiError::Unavailable {
                rpc: "ListIntegrationOrgs",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(
        err.to_string().contains("gave up after 4 attempt(s)"),
        "{err}"
    );
    assert_eq!(
        store.calls(Rpc::ListIntegrationOrgs),
        u64::from(fast_retry().max_attempts)
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn retries_stop_when_the_elapsed_budget_is_spent() {
    let (store, server, _) = start_empty().await;
    // A budget of zero: whatever the jitter draws, no retry fits, whatever the attempts.
    let retry = RetryPolicy {
        max_attempts: 100,
        max_elapsed: Duration::ZERO,
        ..fast_retry()
    };
    let client = CaseClient::connect(config(&server.url()).with_retry(retry)).unwrap();
    store.faults().outage(Duration::from_secs(3600));
    let err = client.list_integration_orgs("jira").await.unwrap_err();
    assert!(matches!(err, CaseApiError::Unavailable { .. }), "{err:?}");
    assert_eq!(store.calls(Rpc::ListIntegrationOrgs), 1);
    store.faults().clear();
    assert!(
        client.list_integration_orgs("jira").await.is_ok(),
        "outage over"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_slow_server_hits_the_call_deadline() {
    let (store, server, _) = start_empty().await;
    let mut config = config(&server.url()).with_retry(RetryPolicy::no_retry());
    config.call_timeout = Duration::from_millis(50);
    let client = CaseClient::connect(config).unwrap();
    store.faults().set_latency(Duration::from_secs(30));
    let err = client.list_integration_orgs("jira").await.unwrap_err();
    assert!(matches!(err, CaseApiError::Unavailable { .. }), "{err:?}");
    assert!(err.to_string().contains("DeadlineExceeded"), "{err}");
    store.faults().clear();
    drop(client);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn settings_are_fetched_once_for_100_lookups_inside_the_ttl() {
    let store = demo_store();
    let (server, client) = start(store.clone()).await;
    let project = ProjectId::from("proj-support");

    let concurrent = spawn_all((0..50).map(|_| {
        let (client, project) = (client.clone(), project.clone());
        async move {
            client
                .get_project_settings(OrgId(1), &project, "jira")
                .await
        }
    }))
    .await;
    for _ in 0..50 {
        let s = client
            .get_project_settings(OrgId(1), &project, "jira")
            .await
            .unwrap();
        assert_eq!(s.as_ref().map(|s| s.integration.as_str()), Some("jira"));
    }
    let expected = store
        .settings()
        .into_iter()
        .find(|s| s.project_id == project && s.integration == "jira");
    for r in concurrent {
        assert_eq!(r.unwrap(), expected);
    }
    assert_calls(&store, Rpc::GetProjectSettings, 1, "100 lookups, one call");
    assert_eq!(client.settings_cache_stats().misses, 1);

    // "No settings" is cached too.
    for _ in 0..100 {
        let none = client
            .get_project_settings(OrgId(1), &ProjectId::from("unconfigured"), "jira")
            .await
            .unwrap();
        assert_eq!(none, None);
    }
    assert_eq!(store.calls(Rpc::GetProjectSettings), 2);

    // Invalidation forces a fresh call.
    client.invalidate_settings(OrgId(1), &project, "jira");
    client
        .get_project_settings(OrgId(1), &project, "jira")
        .await
        .unwrap();
    assert_eq!(store.calls(Rpc::GetProjectSettings), 3);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn settings_expire_after_the_ttl() {
    let store = demo_store();
    let (server, _) = start(store.clone()).await;
    let mut config = config(&server.url());
    config.settings_cache_ttl = Duration::ZERO;
    let client = CaseClient::connect(config).unwrap();
    for _ in 0..3 {
        client
            .get_project_settings(OrgId(1), &ProjectId::from("proj-support"), "jira")
            .await
            .unwrap();
    }
    assert_calls(
        &store,
        Rpc::GetProjectSettings,
        3,
        "a zero TTL caches nothing",
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn failed_settings_loads_are_not_cached() {
    let store = demo_store();
    let (server, _) = start(store.clone()).await;
    let client =
        CaseClient::connect(config(&server.url()).with_retry(RetryPolicy::no_retry())).unwrap();
    store
        .faults()
        .fail_next(Rpc::GetProjectSettings, 1, FaultStatus::Unavailable);
    let project = ProjectId::from("proj-support");
    assert!(
        client
            .get_project_settings(OrgId(1), &project, "jira")
            .await
            .is_err()
    );
    assert!(
        client
            .get_project_settings(OrgId(1), &project, "jira")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.calls(Rpc::GetProjectSettings), 2);
    server.shutdown().await.unwrap();
}

/// Every read of the demo seed answers over gRPC exactly as the in-memory Store does.
#[tokio::test]
async fn the_client_answers_like_the_store_for_the_demo_seed() {
    let store = demo_store();
    let (server, client) = start(store.clone()).await;
    let reference = |account: &str, item: &str| ThirdPartyRef {
        project_id: Some("10000".into()),
        ..item_ref(account, item)
    };
    for case in store.cases() {
        let got = client.get_case(case.org_id, &case.id).await.unwrap();
        assert_eq!(got.as_ref(), Some(&case), "GetCase {}", case.id);
        for link in &case.third_party_links {
            let found = client
                .find_case_by_third_party(
                    case.org_id,
                    &link.integration,
                    &reference(&link.account_id, &link.item_id),
                )
                .await
                .unwrap();
            assert_eq!(
                found.as_ref(),
                Some(&case),
                "FindCaseByThirdParty {}",
                link.item_id
            );
        }
    }
    let lookups = [
        (OrgId(1), "missing-case"),
        (OrgId(3), "3f2a9c4e-0001-4000-8000-000000000001"),
    ];
    for (org, id) in lookups {
        assert_eq!(client.get_case(org, &CaseId::from(id)).await.unwrap(), None);
    }
    assert_eq!(
        client
            .find_case_by_third_party(OrgId(1), "jira", &reference("jira-site-1", "99999"))
            .await
            .unwrap(),
        None
    );
    for settings in store.settings() {
        let got = client
            .get_project_settings(settings.org_id, &settings.project_id, &settings.integration)
            .await
            .unwrap();
        assert_eq!(got, Some(settings));
    }
    for (org, integration) in [
        (1, "jira"),
        (1, "servicenow"),
        (2, "jira"),
        (2, "servicenow"),
    ] {
        let over_grpc = client
            .list_integration_metadata(OrgId(org), integration)
            .await
            .unwrap();
        let in_memory = store
            .list_integration_metadata(OrgId(org), integration)
            .await
            .unwrap();
        assert_eq!(over_grpc, in_memory, "{org} {integration}");
    }
    for integration in ["jira", "servicenow", "github"] {
        assert_eq!(
            client.list_integration_orgs(integration).await.unwrap(),
            store.list_integration_orgs(integration).await.unwrap()
        );
    }
    let queries = [
        (Some("ada.lovelace"), None, None),
        (None, Some("grace.hopper@EXAMPLE.com"), None),
        (None, None, Some("Grace Hopper")),
        (Some("nobody"), Some("nobody@example.com"), Some("Nobody")),
    ];
    for (account, email, name) in queries {
        let query = UserQuery {
            integration: "jira".into(),
            account_id: account.map(str::to_owned),
            email: email.map(str::to_owned),
            display_name: name.map(str::to_owned),
        };
        assert_eq!(
            client.resolve_user(OrgId(1), &query).await.unwrap(),
            store.resolve_user(OrgId(1), &query).await.unwrap(),
            "{query:?}"
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_requests_are_invalid_argument_and_not_retried() {
    let (store, server, client) = start_empty().await;
    let err = client
        .update_case(&status_update(1, "nope", 1, "X"))
        .await
        .unwrap_err();
    assert_invalid_argument(&err, "UpdateCase");
    let err = client
        .create_timeline_cell(&comment(1, "nope", "k"))
        .await
        .unwrap_err();
    assert_invalid_argument(&err, "CreateTimelineCell");
    assert_eq!(
        store.calls(Rpc::UpdateCase) + store.calls(Rpc::CreateTimelineCell),
        2
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn admin_service_controls_faults_and_reads_counters_and_state() {
    let (store, server, client) = start_with_case(1).await;
    let mut admin = AdminClient::connect(server.url()).await.unwrap();

    admin
        .fail_next(admin_pb::FailNextRequest {
            rpc: admin_pb::Rpc::GetCase as i32,
            count: 2,
            status: admin_pb::FaultStatus::Unavailable as i32,
        })
        .await
        .unwrap();
    assert!(get_c1(&client).await.unwrap().is_some());
    client
        .create_timeline_cell(&comment(1, "c1", "k1"))
        .await
        .unwrap();

    let counts = admin
        .get_call_counts(admin_pb::GetCallCountsRequest {})
        .await
        .unwrap()
        .into_inner()
        .counts;
    assert_eq!(counts.len(), Rpc::ALL.len());
    let get_case = counts.iter().find(|c| c.method == "GetCase").unwrap();
    assert_eq!(get_case.calls, 3);

    let dump = admin
        .dump_state(admin_pb::DumpStateRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dump.cases.len(), 1);
    assert_eq!(dump.timeline_cells.len(), 1);

    admin
        .outage(admin_pb::OutageRequest {
            duration_ms: 3_600_000,
        })
        .await
        .unwrap();
    assert!(store.faults().outage_ends().is_some());
    admin
        .clear_faults(admin_pb::ClearFaultsRequest {})
        .await
        .unwrap();
    admin
        .reset_call_counts(admin_pb::ResetCallCountsRequest {})
        .await
        .unwrap();
    assert_eq!(store.calls(Rpc::GetCase), 0);
    admin
        .set_latency(admin_pb::SetLatencyRequest { latency_ms: 7 })
        .await
        .unwrap();
    assert_eq!(store.faults().latency(), Duration::from_millis(7));

    let seed = r#"{"users":[{"org_id":1,"user_id":"u-9","display_name":"Seeded"}]}"#;
    admin
        .load_seed(admin_pb::LoadSeedRequest {
            seed_json: seed.into(),
        })
        .await
        .unwrap();
    let query = UserQuery {
        display_name: Some("Seeded".into()),
        ..UserQuery::default()
    };
    assert!(
        client
            .resolve_user(OrgId(1), &query)
            .await
            .unwrap()
            .is_some()
    );
    let bad = admin
        .load_seed(admin_pb::LoadSeedRequest {
            seed_json: "{".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let bad = admin
        .fail_next(admin_pb::FailNextRequest {
            rpc: 0,
            count: 1,
            status: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_after_retries() {
    // Bind a port, then free it: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = CaseClient::connect(config(&format!("http://{addr}"))).unwrap();
    let err = client.list_integration_orgs("jira").await.unwrap_err();
    assert!(matches!(err, CaseApiError::Unavailable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("gave up after 4 attempt(s)"),
        "{err}"
    );
}

#[test]
fn invalid_configurations_are_refused_at_connect() {
    let cases: Vec<(CaseClientConfig, ConnectErrorCheck)> = vec![
        (CaseClientConfig::new("localhost:50051"), |e| {
            matches!(e, ConnectError::InvalidEndpoint { .. })
        }),
        (CaseClientConfig::new("ftp://localhost:50051"), |e| {
            matches!(e, ConnectError::InvalidEndpoint { .. })
        }),
        (CaseClientConfig::new("http://bad host:1"), |e| {
            matches!(e, ConnectError::InvalidEndpoint { .. })
        }),
        (CaseClientConfig::new("https://localhost:1"), |e| {
            matches!(e, ConnectError::TlsMismatch { .. })
        }),
        (
            CaseClientConfig::new("http://localhost:1").with_tls(TlsConfig::new("x")),
            |e| matches!(e, ConnectError::TlsMismatch { .. }),
        ),
        (
            CaseClientConfig::new("https://localhost:1").with_tls(TlsConfig::new("not a pem")),
            |e| matches!(e, ConnectError::Pem(_)),
        ),
        (
            CaseClientConfig::new("http://localhost:1").with_retry(RetryPolicy {
                max_attempts: 0,
                ..RetryPolicy::default()
            }),
            |e| matches!(e, ConnectError::InvalidSetting { .. }),
        ),
    ];
    for (config, expected) in cases {
        let endpoint = config.endpoint.clone();
        let err = CaseClient::connect(config).unwrap_err();
        assert!(expected(&err), "{endpoint}: {err:?}");
        assert!(!err.is_retryable());
    }
}
