//! The prefilter's instance cache against `case_sandbox::Store` call counters: no Case API
//! call per event once an instance is cached, one metadata call per organisation, coalesced
//! loads, the TTL, failed loads not cached, and warming.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use case_sandbox::{FaultStatus, Rpc, Store};
use serde_json::{Value, json};
use servicenow::{ServiceNowConfig, ServiceNowDecoder, ServiceNowFilterer};
use std::sync::Arc;
use std::time::Duration;
use support::seed_store as store;
use thirdparty_core::testing::changelogs_only;
use thirdparty_core::{Changelog, Decoder, FilteredReason, Filterer, Payload, PreFiltered};

fn filterer(store: &Store) -> Arc<ServiceNowFilterer> {
    Arc::new(ServiceNowFilterer::new(
        Arc::new(store.clone()),
        &ServiceNowConfig::default(),
    ))
}

/// The changelogs of one envelope.
fn changelogs(org: u64, instance: &str, seq: u64, data: Value) -> Vec<Changelog> {
    let mut data = data;
    data["sysModCount"] = json!(seq.to_string());
    let v = support::envelope(
        org,
        instance,
        &format!("{:032x}", 0xfeed_0000_u64 + seq),
        data,
    );
    changelogs_only(
        ServiceNowDecoder::new()
            .decode(&Payload::from_value(serde_json::to_vec(&v).unwrap()))
            .unwrap(),
    )
}

fn one(org: u64, instance: &str) -> Changelog {
    changelogs(org, instance, 1, json!({"state": "2"})).remove(0)
}

fn total_calls(store: &Store) -> u64 {
    store.call_counts().values().sum()
}

async fn reason(f: &ServiceNowFilterer, c: Changelog) -> Option<FilteredReason> {
    match f.prefilter(c).await.unwrap() {
        PreFiltered::Keep(_) => None,
        PreFiltered::Skip(r) => Some(r),
    }
}

#[tokio::test(start_paused = true)]
async fn no_case_api_call_for_10_000_events_after_the_first_refresh() {
    let store = store();
    let f = filterer(&store);
    assert_eq!(reason(&f, one(1001, "acme")).await, None);
    assert_eq!(
        store.calls(Rpc::ListIntegrationMetadata),
        1,
        "the first refresh"
    );
    store.reset_calls();

    let mut kept = 0;
    for i in 0..10_000u64 {
        let data = match i % 3 {
            0 => json!({"state": "7"}),
            1 => json!({"comment": "customer reply"}),
            _ => json!({"workNote": "note", "state": "2"}),
        };
        for c in changelogs(1001, "acme", i, data) {
            assert_eq!(reason(&f, c).await, None);
            kept += 1;
        }
    }
    assert!(kept >= 10_000);
    assert_eq!(
        total_calls(&store),
        0,
        "no Case API call at all: {:?}",
        store.call_counts()
    );
    let stats = f.instance_cache_stats();
    assert_eq!((stats.misses, stats.load_errors), (1, 0));
    assert_eq!(stats.hits, kept);
}

#[tokio::test(start_paused = true)]
async fn warming_fills_every_configured_instance() {
    let store = store();
    let f = filterer(&store);
    // Organisations 1001 (acme, acme-dev) and 1002 (initech).
    assert_eq!(f.warm().await.unwrap(), 2, "organisations loaded");
    assert_eq!(store.calls(Rpc::ListIntegrationOrgs), 1);
    assert_eq!(
        store.calls(Rpc::ListIntegrationMetadata),
        2,
        "one per organisation"
    );
    store.reset_calls();
    for i in 0..10_000u64 {
        let (org, instance) = match i % 3 {
            0 => (1001, "acme"),
            1 => (1001, "acme-dev"),
            _ => (1002, "initech"),
        };
        for c in changelogs(org, instance, i, json!({"state": "7"})) {
            assert_eq!(reason(&f, c).await, None);
        }
    }
    assert_eq!(total_calls(&store), 0, "{:?}", store.call_counts());
}

#[tokio::test(start_paused = true)]
async fn one_metadata_call_answers_for_every_instance_of_the_organisation() {
    let store = store();
    let f = filterer(&store);
    assert_eq!(reason(&f, one(1001, "acme")).await, None);
    assert_eq!(reason(&f, one(1001, "acme-dev")).await, None);
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 1);
    // Another organisation is its own call.
    assert_eq!(reason(&f, one(1002, "initech")).await, None);
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 2);
    // An instance of 1001 configured only in 1002 is not configured for 1001.
    assert_eq!(
        reason(&f, one(1001, "initech")).await,
        Some(FilteredReason::InstanceNotConfigured)
    );
}

#[tokio::test(start_paused = true)]
async fn unconfigured_instances_are_cached_for_the_ttl_too() {
    let store = store();
    let config = ServiceNowConfig {
        instance_ttl: Duration::from_secs(300),
        ..ServiceNowConfig::default()
    };
    let f = ServiceNowFilterer::new(Arc::new(store.clone()), &config);
    for _ in 0..100 {
        assert_eq!(
            reason(&f, one(1001, "globex")).await,
            Some(FilteredReason::InstanceNotConfigured)
        );
    }
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 1);

    // Configured meanwhile: picked up once the entry expires, not before.
    store.add_metadata(thirdparty_core::IntegrationMetadata {
        org_id: thirdparty_core::OrgId(1001),
        integration: "servicenow".into(),
        account_id: "globex".into(),
        project_id: None,
        item_type_id: None,
        case_project_id: "proj-sn".into(),
        custom_fields: Default::default(),
        integration_users: vec![],
    });
    tokio::time::advance(Duration::from_secs(299)).await;
    assert_eq!(
        reason(&f, one(1001, "globex")).await,
        Some(FilteredReason::InstanceNotConfigured)
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(reason(&f, one(1001, "globex")).await, None);
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 2);
}

#[tokio::test(start_paused = true)]
async fn concurrent_misses_share_one_call() {
    let store = store();
    store.faults().set_latency(Duration::from_millis(20));
    let f = filterer(&store);
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let f = f.clone();
            tokio::spawn(async move { reason(&f, one(1001, "acme")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), None);
    }
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_load_is_retryable_and_not_cached() {
    let store = store();
    let f = filterer(&store);
    store
        .faults()
        .fail_next(Rpc::ListIntegrationMetadata, 1, FaultStatus::Unavailable);
    let err = f.prefilter(one(1001, "acme")).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(reason(&f, one(1001, "acme")).await, None);
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 2);
    assert_eq!(f.instance_cache_stats().load_errors, 1);
}

#[tokio::test(start_paused = true)]
async fn echoes_are_skipped_without_any_call() {
    let store = store();
    let f = filterer(&store);
    let mut c = one(1001, "acme");
    c.author.id = Some("  DATADOG ".into());
    assert_eq!(
        reason(&f, c).await,
        Some(FilteredReason::BreakSynchronizationCycle)
    );
    let custom = ServiceNowFilterer::new(
        Arc::new(store.clone()),
        &ServiceNowConfig {
            integration_user: "svc_case_sync".into(),
            sync_marker: "Mirrored from Cortex XSOAR".into(),
            ..ServiceNowConfig::default()
        },
    );
    let mut c = one(1001, "acme");
    c.author.id = Some("SVC_case_sync".into());
    assert_eq!(
        reason(&custom, c).await,
        Some(FilteredReason::BreakSynchronizationCycle)
    );
    let comment = changelogs(
        1001,
        "acme",
        3,
        json!({"comment": "This is a comment\n\n Mirrored from Cortex XSOAR"}),
    )
    .remove(0);
    assert_eq!(
        reason(&custom, comment.clone()).await,
        Some(FilteredReason::BreakSynchronizationCycle)
    );
    assert_eq!(total_calls(&store), 0);
    // The default marker is not XSOAR's: the same comment passes the default filterer.
    assert_eq!(reason(&f, comment).await, None);
}
