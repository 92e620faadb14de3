#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The sandbox's gRPC server: statuses on the wire for faults and errors, and lifecycle.

use case_proto::case_management::v1;
use case_proto::case_management::v1::cases_client::CasesClient;
use case_proto::case_management::v1::settings_client::SettingsClient;
use case_sandbox::{FaultStatus, Rpc, ServerHandle, Store};
use std::path::Path;
use tonic::Code;
use tonic::transport::Channel;

const DEMO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/cases/demo.json"
);

/// The sandbox over the demo seed on a free loopback port, its store, and a `Cases` client.
async fn serve_demo() -> (Store, ServerHandle, CasesClient<Channel>) {
    let store = Store::load_seed_file(Path::new(DEMO)).unwrap();
    let server = case_sandbox::serve("127.0.0.1:0".parse().unwrap(), store.clone())
        .await
        .unwrap();
    let cases = CasesClient::connect(server.url()).await.unwrap();
    (store, server, cases)
}

fn get(org: u64, id: &str) -> v1::GetCaseRequest {
    v1::GetCaseRequest {
        org_id: org,
        case_id: id.into(),
    }
}

#[tokio::test]
async fn injected_faults_are_the_matching_grpc_codes() {
    let (store, server, mut cases) = serve_demo().await;
    let expected = [
        (FaultStatus::Unavailable, Code::Unavailable),
        (FaultStatus::DeadlineExceeded, Code::DeadlineExceeded),
        (FaultStatus::ResourceExhausted, Code::ResourceExhausted),
        (FaultStatus::Internal, Code::Internal),
        (FaultStatus::Aborted, Code::Aborted),
        (FaultStatus::InvalidArgument, Code::InvalidArgument),
    ];
    for (fault, code) in expected {
        store.faults().fail_next(Rpc::GetCase, 1, fault);
        let status = cases.get_case(get(1, "x")).await.unwrap_err();
        assert_eq!(status.code(), code, "{fault}");
    }
    store.faults().outage(std::time::Duration::from_secs(3600));
    let mut settings = SettingsClient::connect(server.url()).await.unwrap();
    let status = settings
        .list_integration_orgs(v1::ListIntegrationOrgsRequest {
            integration: "jira".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("outage"));
    store.faults().clear();
    assert_eq!(store.calls(Rpc::GetCase), 6);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn absent_things_are_unset_fields_and_bad_requests_are_invalid_argument() {
    let (_, server, mut cases) = serve_demo().await;
    let none = cases
        .get_case(get(1, "missing"))
        .await
        .unwrap()
        .into_inner();
    assert!(none.case.is_none(), "absent case: OK with `case` unset");

    let without_update = v1::UpdateCaseRequest {
        org_id: 1,
        case_id: "3f2a9c4e-0001-4000-8000-000000000001".into(),
        expected_version: 1,
        update: None,
        stamp: None,
        source: "jira".into(),
    };
    let status_without_value = v1::UpdateCaseRequest {
        update: Some(v1::FieldUpdate {
            field: v1::CaseField::Status as i32,
            value: None,
        }),
        stamp: Some(v1::FieldStamp {
            event_time: Some(prost_types::Timestamp::default()),
            sequence: None,
        }),
        ..without_update.clone()
    };
    let malformed = [without_update, status_without_value];
    for request in malformed {
        let status = cases.update_case(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
    }
    let status = cases
        .create_timeline_cell(v1::CreateTimelineCellRequest { cell: None })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn serve_listener_uses_the_given_socket_and_shutdown_closes_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = case_sandbox::serve_listener(listener, Store::new(), None)
        .await
        .unwrap();
    assert_eq!(server.local_addr(), addr);
    assert_eq!(server.url(), format!("http://{addr}"));
    let mut cases = CasesClient::connect(server.url()).await.unwrap();
    assert!(cases.get_case(get(1, "x")).await.is_ok());
    drop(cases);
    server.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn a_busy_port_is_a_bind_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = case_sandbox::serve(taken.local_addr().unwrap(), Store::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, case_sandbox::ServeError::Bind { .. }),
        "{err}"
    );
    assert!(err.is_retryable());
}
