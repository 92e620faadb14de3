//! The prefilter's metadata cache: zero Case API calls once warm, one load per org per TTL,
//! concurrent misses coalesced, failures not cached.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use case_sandbox::{FaultStatus, Rpc, Store};
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::{
    Author, CaseApi, CaseLocator, Change, Changelog, FieldChange, FieldValue, FilteredReason,
    Filterer, IntegrationMetadata, OrgId, PreFiltered, ProjectId, SyncError, ThirdPartyRef,
};

const SITE: &str = "site-1";

fn store() -> Store {
    let store = Store::new();
    for (org, project) in [(1, "10000"), (2, "20000")] {
        store.add_metadata(IntegrationMetadata {
            org_id: OrgId(org),
            integration: "jira".into(),
            account_id: SITE.into(),
            project_id: Some(project.into()),
            item_type_id: None,
            case_project_id: ProjectId(format!("proj-{org}")),
            custom_fields: [(
                "customfield_10015".to_owned(),
                thirdparty_core::CaseField::DueDate,
            )]
            .into(),
            integration_users: vec!["bot-account".into()],
        });
    }
    store
}

/// [`store`] whose next `rpc` call fails as unavailable.
fn store_failing_once(rpc: Rpc) -> Store {
    let store = store();
    store.faults().fail_next(rpc, 1, FaultStatus::Unavailable);
    store
}

fn changelog(org: u64, project: &str, n: u64) -> Changelog {
    Changelog {
        org_id: OrgId(org),
        integration: jira::INTEGRATION,
        event_id: format!("jira:{n}:priority"),
        third_party: ThirdPartyRef {
            account_id: SITE.into(),
            project_id: Some(project.into()),
            item_type_id: Some("10001".into()),
            item_id: format!("{}", 10_000 + n % 50),
            item_key: None,
        },
        case_locator: CaseLocator::ThirdParty,
        event_time: chrono::DateTime::from_timestamp(1_772_445_600 + n as i64, 0).unwrap(),
        sequence: None,
        author: Author {
            id: Some("human".into()),
            display_name: None,
        },
        change: Change::Priority(FieldChange {
            from: Some(FieldValue::id("3")),
            to: Some(FieldValue::id("2")),
        }),
    }
}

fn filterer(store: &Store, ttl: Duration) -> jira::JiraFilterer {
    let api: Arc<dyn CaseApi> = Arc::new(store.clone());
    jira::JiraFilterer::new(
        api,
        &jira::JiraConfig {
            metadata_ttl: ttl,
            ..jira::JiraConfig::default()
        },
    )
}

#[tokio::test]
async fn ten_thousand_events_after_warmup_make_no_case_api_call() {
    let store = store();
    let f = filterer(&store, Duration::from_secs(300));
    assert_eq!(f.warm().await.unwrap(), 2, "both orgs loaded");
    assert_eq!(store.calls(Rpc::ListIntegrationOrgs), 1);
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 2);
    let before = store.call_counts();

    let mut kept = 0;
    for n in 0..10_000 {
        let org = 1 + n % 2;
        let project = if org == 1 { "10000" } else { "20000" };
        match f.prefilter(changelog(org, project, n)).await.unwrap() {
            PreFiltered::Keep(_) => kept += 1,
            PreFiltered::Skip(r) => panic!("event {n} skipped: {r}"),
        }
    }
    assert_eq!(kept, 10_000);
    assert_eq!(
        store.call_counts(),
        before,
        "no Case API call after the warm-up"
    );
    let stats = f.metadata_cache_stats();
    assert_eq!((stats.hits, stats.misses), (10_000, 0));
}

#[tokio::test]
async fn without_warmup_one_load_per_org_then_none() {
    let store = store();
    let f = filterer(&store, Duration::from_secs(300));
    for n in 0..10_000 {
        let out = f.prefilter(changelog(1, "10000", n)).await.unwrap();
        assert!(matches!(out, PreFiltered::Keep(_)));
    }
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 1);
    // An unconfigured project is decided from the same cached list.
    let out = f.prefilter(changelog(1, "10009", 1)).await.unwrap();
    assert_eq!(out, PreFiltered::Skip(FilteredReason::NoMatchingMetadata));
    let total: u64 = store.call_counts().values().sum();
    assert_eq!(
        total,
        1,
        "only the one metadata load: {:?}",
        store.call_counts()
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_misses_share_one_load_and_the_ttl_expires() {
    let store = store();
    store.faults().set_latency(Duration::from_millis(50));
    let f = Arc::new(filterer(&store, Duration::from_secs(300)));
    let mut tasks = Vec::new();
    for n in 0..64 {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            f.prefilter(changelog(1, "10000", n)).await
        }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap().unwrap(), PreFiltered::Keep(_)));
    }
    assert_eq!(
        store.calls(Rpc::ListIntegrationMetadata),
        1,
        "64 concurrent misses, one load"
    );

    tokio::time::advance(Duration::from_secs(299)).await;
    f.prefilter(changelog(1, "10000", 1)).await.unwrap();
    assert_eq!(
        store.calls(Rpc::ListIntegrationMetadata),
        1,
        "fresh before the TTL"
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    f.prefilter(changelog(1, "10000", 1)).await.unwrap();
    assert_eq!(
        store.calls(Rpc::ListIntegrationMetadata),
        2,
        "reloaded after the TTL"
    );
}

#[tokio::test]
async fn a_failed_load_is_retryable_and_not_cached() {
    let store = store_failing_once(Rpc::ListIntegrationMetadata);
    let f = filterer(&store, Duration::from_secs(300));
    let err = f.prefilter(changelog(1, "10000", 1)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(matches!(err, SyncError::CaseApi(_)));
    assert!(matches!(
        f.prefilter(changelog(1, "10000", 1)).await.unwrap(),
        PreFiltered::Keep(_)
    ));
    assert_eq!(store.calls(Rpc::ListIntegrationMetadata), 2);
    assert_eq!(f.metadata_cache_stats().load_errors, 1);
}

#[tokio::test]
async fn warm_reports_a_failing_org_listing() {
    let store = store_failing_once(Rpc::ListIntegrationOrgs);
    let f = filterer(&store, Duration::from_secs(300));
    assert!(f.warm().await.unwrap_err().is_retryable());
    assert_eq!(f.warm().await.unwrap(), 2);
}

#[tokio::test]
async fn metadata_users_markers_and_routing() {
    let store = store();
    let f = filterer(&store, Duration::from_secs(300));

    let mut own = changelog(1, "10000", 1);
    own.author.id = Some("BOT-ACCOUNT".into());
    assert_eq!(
        f.prefilter(own).await.unwrap(),
        PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle),
        "metadata integration users match case-insensitively"
    );

    let mut custom = changelog(1, "10000", 2);
    custom.change = Change::Unsupported {
        field_id: "customfield_10015".into(),
        change: FieldChange {
            from: None,
            to: Some(FieldValue::id("2026-05-15")),
        },
    };
    match f.prefilter(custom).await.unwrap() {
        PreFiltered::Keep(c) => assert_eq!(c.changelog_type().as_tag(), "update_due_date"),
        other => panic!("{other:?}"),
    }

    for (field, reason) in [
        (
            "customfield_10099",
            FilteredReason::CustomFieldNotConfigured,
        ),
        (
            "custom:start date",
            FilteredReason::CustomFieldNotConfigured,
        ),
        ("labels", FilteredReason::UnsupportedChangelogType),
    ] {
        let mut c = changelog(1, "10000", 3);
        c.change = Change::Unsupported {
            field_id: field.into(),
            change: FieldChange::default(),
        };
        assert_eq!(
            f.prefilter(c).await.unwrap(),
            PreFiltered::Skip(reason),
            "{field}"
        );
    }

    // A comment without its issue (no project, no issue type) matches the account's scopes.
    let mut comment = changelog(2, "20000", 4);
    comment.third_party.project_id = None;
    comment.third_party.item_type_id = None;
    comment.change = Change::Comment(thirdparty_core::Comment {
        id: "1".into(),
        body: "hello (synced from Case Management) bye".into(),
        internal: false,
    });
    assert_eq!(
        f.prefilter(comment.clone()).await.unwrap(),
        PreFiltered::Skip(FilteredReason::BreakSynchronizationCycle),
        "the default sync marker"
    );
    comment.change = Change::Comment(thirdparty_core::Comment {
        id: "1".into(),
        body: "hello".into(),
        internal: false,
    });
    assert!(matches!(
        f.prefilter(comment.clone()).await.unwrap(),
        PreFiltered::Keep(_)
    ));
    comment.third_party.account_id = "other-site".into();
    assert_eq!(
        f.prefilter(comment).await.unwrap(),
        PreFiltered::Skip(FilteredReason::NoMatchingMetadata)
    );
}
