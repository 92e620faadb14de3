#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The bearer token between case-client and a case-sandbox that requires one: none, a wrong
//! one, the right one, and a token file rotated in place (server and client), over real
//! loopback gRPC.

mod common;

use case_client::{AuthToken, CaseClient};
use common::*;
use thirdparty_core::{CaseApi, CaseApiError, OrgId, ProjectId};

async fn settings_call(client: &CaseClient) -> Result<(), CaseApiError> {
    client.invalidate_settings(OrgId(1), &ProjectId::from("proj-support"), "jira");
    client
        .get_project_settings(OrgId(1), &ProjectId::from("proj-support"), "jira")
        .await
        .map(|_| ())
}

fn denied_message(result: Result<(), CaseApiError>) -> String {
    match result {
        Err(CaseApiError::PermissionDenied { message, .. }) => message,
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
}

#[tokio::test]
async fn calls_carry_the_token_and_a_refusal_names_its_fix() {
    let store = demo_store();
    store.require_token(Some("token-one".into()));
    let server = case_sandbox::serve("127.0.0.1:0".parse().unwrap(), store.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");

    let none = CaseClient::connect(config(&server.url())).unwrap();
    let message = denied_message(settings_call(&none).await);
    assert!(
        message.contains("requires a token") && message.contains("case_api.auth_token_file"),
        "{message}"
    );

    std::fs::write(&file, "not-the-token\n").unwrap();
    let client =
        CaseClient::connect(config(&server.url()).with_auth_token(AuthToken::File(file.clone())))
            .unwrap();
    let message = denied_message(settings_call(&client).await);
    assert!(
        message.contains(&format!("refused the token from {}", file.display())),
        "{message}"
    );
    assert!(
        !message.contains("not-the-token"),
        "the token is never shown: {message}"
    );

    // Fixed in place: the next call reads the file again.
    std::fs::write(&file, "token-one\n").unwrap();
    settings_call(&client).await.unwrap();

    // Rotation: the server moves to a new token, then the secret file follows.
    store.require_token(Some("token-two".into()));
    denied_message(settings_call(&client).await);
    let next = dir.path().join("token.next");
    std::fs::write(&next, "token-two").unwrap();
    std::fs::rename(&next, &file).unwrap();
    settings_call(&client).await.unwrap();

    let inline = CaseClient::connect(
        config(&server.url()).with_auth_token(AuthToken::Inline("token-two".into())),
    )
    .unwrap();
    settings_call(&inline).await.unwrap();
    assert!(!format!("{inline:?}").contains("token-two"));
    server.shutdown().await.unwrap();
}
