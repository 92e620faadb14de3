//! Shared helpers of the loopback tests: start a sandbox server, build a client.

#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use case_client::{CaseClient, CaseClientConfig, RetryPolicy};
use case_sandbox::{Rpc, ServerHandle, Store};
use chrono::{TimeZone, Utc};
use std::path::Path;
use std::time::Duration;
pub use thirdparty_core::testing::sample_case;
use thirdparty_core::{
    Case, CaseApi, CaseApiError, CaseId, CaseUpdate, CaseVersion, FieldStamp, FieldUpdate,
    NewTimelineCell, OrgId,
};

pub const DEMO_SEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/cases/demo.json"
);

/// The demo seed; fails loudly when the fixture is missing.
pub fn demo_store() -> Store {
    Store::load_seed_file(Path::new(DEMO_SEED))
        .unwrap_or_else(|e| panic!("the demo seed must load: {e}"))
}

/// Retries that are quick enough for tests but still exponential with jitter.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(40),
        max_elapsed: Duration::from_secs(20),
    }
}

pub fn config(url: &str) -> CaseClientConfig {
    let mut config = CaseClientConfig::new(url).with_retry(fast_retry());
    config.call_timeout = Duration::from_secs(10);
    config
}

/// A plaintext sandbox on a free loopback port with `store`, and a client for it.
pub async fn start(store: Store) -> (ServerHandle, CaseClient) {
    let server = case_sandbox::serve("127.0.0.1:0".parse().unwrap(), store)
        .await
        .unwrap_or_else(|e| panic!("the sandbox must start on loopback: {e}"));
    let client = CaseClient::connect(config(&server.url())).unwrap();
    (server, client)
}

/// A plaintext sandbox over an empty store, the store, and a client for it.
pub async fn start_empty() -> (Store, ServerHandle, CaseClient) {
    let store = Store::new();
    let (server, client) = start(store.clone()).await;
    (store, server, client)
}

/// A plaintext sandbox over a store holding case `c1` of org 1 at `version`, the store, and
/// a client for it.
pub async fn start_with_case(version: u64) -> (Store, ServerHandle, CaseClient) {
    let store = Store::new();
    store.insert_case(sample_case(1, "c1", version));
    let (server, client) = start(store.clone()).await;
    (store, server, client)
}

/// A store holding case `c1` of org 1 at version 1.
pub fn store_with_case() -> Store {
    let store = Store::new();
    store.insert_case(sample_case(1, "c1", 1));
    store
}

/// Asserts that `expected` calls of `rpc` reached the sandbox; `why` says what the count shows.
#[track_caller]
pub fn assert_calls(store: &Store, rpc: Rpc, expected: u64, why: &str) {
    assert_eq!(store.calls(rpc), expected, "{why}");
}

/// Reads case `c1` of org 1 (the case of [`store_with_case`]).
pub async fn get_c1(client: &CaseClient) -> Result<Option<Case>, CaseApiError> {
    client.get_case(OrgId(1), &CaseId::from("c1")).await
}

pub fn status_update(org: u64, id: &str, expected: u64, status: &str) -> CaseUpdate {
    CaseUpdate {
        org_id: OrgId(org),
        case_id: CaseId::from(id),
        expected_version: CaseVersion(expected),
        update: FieldUpdate::Status(status.into()),
        stamp: FieldStamp {
            event_time: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
            sequence: Some(1),
        },
        source: "jira".into(),
    }
}

pub fn comment(org: u64, case_id: &str, key: &str) -> NewTimelineCell {
    thirdparty_core::testing::sample_cell(org, case_id, key, "Looks fixed on our side.")
}
