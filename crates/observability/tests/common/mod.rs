//! A tiny self-contained integration for the tests: a decoder for a made-up JSON shape, a
//! filterer and processor steered by a `scenario` per change, and an in-memory Case API.
//!
//! Payload: `{"org": 42, "key": "PROJ-7", "hours_ago": 1, "text": "…",
//!            "changes": [{"scenario": "apply", "kind": "status"}, …]}`.
//! `text` goes into every free-text place (values, comment body, author name, case title and
//! description) and into error messages, so tests can check it never reaches a log line.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use async_trait::async_trait;
use chrono::{Duration, Utc};
use serde_json::{Value, json};
use std::sync::Arc;
use thirdparty_core::*;

/// A Jira-like integration declaring its own telemetry as the Jira crate does: the item key
/// as `jira_issue_key`, the account and project latency tags.
pub const JIRA: Integration = Integration::new("jira").with_telemetry(&JIRA_TELEMETRY);
static JIRA_TELEMETRY: IntegrationTelemetry = IntegrationTelemetry::new()
    .with_item_key_field(item_key_field!(jira_issue_key))
    .with_account_tag("jira_account_id")
    .with_project_tag("jira_project_id");
pub const ORG: u64 = 42;

pub struct TestDecoder;

impl Decoder for TestDecoder {
    fn integration(&self) -> Integration {
        JIRA
    }

    fn decode(&self, payload: &Payload) -> Result<Vec<Decoded>, DecodeError> {
        let v: Value = serde_json::from_slice(&payload.value)
            .map_err(|e| DecodeError::new(JIRA, DecodeErrorKind::NOT_JSON, "$", e.to_string()))?;
        // A wrong type quotes the value in serde's message: the message must never be logged.
        let org: u64 = serde_json::from_value(v["org"].clone()).map_err(|e| {
            DecodeError::new(
                JIRA,
                DecodeErrorKind::new("invalid_org"),
                "$.org",
                e.to_string(),
            )
        })?;
        let text = v["text"].as_str().unwrap_or_default().to_owned();
        let hours_ago = v["hours_ago"].as_i64().unwrap_or(0);
        let key = v["key"].as_str().map(str::to_owned);
        let changes = v["changes"].as_array().cloned().unwrap_or_default();
        let mut out = Vec::new();
        for (i, c) in changes.iter().enumerate() {
            let scenario = c["scenario"].as_str().unwrap_or("apply");
            let kind = c["kind"].as_str().unwrap_or("status");
            let change = match kind {
                "comment" => Change::Comment(Comment {
                    id: format!("c{i}"),
                    body: Text::new(text.clone()),
                    internal: false,
                }),
                "description" => Change::Description(FieldChange {
                    from: Some(FieldValue::text(text.clone())),
                    to: Some(FieldValue::text(text.clone())),
                }),
                "skip" => {
                    out.push(Decoded::Skipped(SkippedEvent {
                        org_id: Some(OrgId(org)),
                        changelog_type: None,
                        event_time: None,
                        reason: FilteredReason::EmptyChangelog,
                    }));
                    continue;
                }
                _ => Change::Status(FieldChange {
                    from: Some(FieldValue::text(text.clone())),
                    to: Some(FieldValue {
                        id: Some("3".into()),
                        text: Some(Text::new(text.clone())),
                    }),
                }),
            };
            out.push(Decoded::Changelog(Changelog {
                org_id: OrgId(org),
                integration: JIRA,
                event_id: format!("test:{scenario}:{i}"),
                third_party: ThirdPartyRef {
                    account_id: "site-1".into(),
                    project_id: Some("10000".into()),
                    item_type_id: None,
                    item_id: "10007".into(),
                    item_key: key.clone(),
                },
                case_locator: CaseLocator::ThirdParty,
                event_time: Utc::now() - Duration::hours(hours_ago),
                sequence: None,
                author: Author {
                    id: Some("acc-1".into()),
                    display_name: Some(text.clone()),
                },
                change,
            }));
        }
        Ok(out)
    }
}

fn scenario(c: &Changelog) -> &str {
    c.event_id.split(':').nth(1).unwrap_or("apply")
}

fn text_of(c: &Changelog) -> String {
    match &c.change {
        Change::Comment(comment) => comment.body.expose().to_owned(),
        Change::Status(fc) | Change::Description(fc) => fc
            .to
            .as_ref()
            .and_then(|v| v.text.as_ref())
            .map(|t| t.expose().to_owned())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

pub struct TestFilterer;

#[async_trait]
impl Filterer for TestFilterer {
    async fn prefilter(&self, changelog: Changelog) -> Result<PreFiltered, SyncError> {
        Ok(match scenario(&changelog) {
            "unconfigured" => PreFiltered::Skip(FilteredReason::NoMatchingMetadata),
            _ => PreFiltered::Keep(changelog),
        })
    }

    async fn filter(
        &self,
        changelog: &Changelog,
        _case: &Case,
        _settings: &ProjectSettings,
    ) -> Result<FilterVerdict, SyncError> {
        Ok(match scenario(changelog) {
            "conflict" => FilterVerdict::Skip(FilteredReason::StateConflict),
            "out_of_order" => FilterVerdict::Skip(FilteredReason::OutOfOrderEvent),
            "echo" => FilterVerdict::Skip(FilteredReason::BreakSynchronizationCycle),
            "override" => FilterVerdict::ApplyOverridingConflict,
            _ => FilterVerdict::Apply,
        })
    }
}

pub struct TestProcessor {
    pub api: Arc<dyn CaseApi>,
}

#[async_trait]
impl Processor for TestProcessor {
    async fn process(
        &self,
        changelog: &Changelog,
        case: &Case,
        _settings: &ProjectSettings,
    ) -> Result<Processed, SyncError> {
        let text = text_of(changelog);
        match scenario(changelog) {
            "permanent" => return Err(SyncError::Invalid(format!("cannot apply {text}"))),
            "rejected" => {
                return Err(SyncError::CaseApi(CaseApiError::InvalidArgument {
                    rpc: "UpdateCase",
                    message: format!("title too long: {text}"),
                }));
            }
            "retry" => {
                return Err(SyncError::CaseApi(CaseApiError::Unavailable {
                    rpc: "UpdateCase",
                    message: format!("upstream said {text}"),
                }));
            }
            _ => {}
        }
        match &changelog.change {
            Change::Comment(comment) => {
                self.api
                    .create_timeline_cell(&NewTimelineCell {
                        org_id: case.org_id,
                        case_id: case.id.clone(),
                        idempotency_key: format!("jira:{}", comment.id),
                        author_id: changelog.author.id.clone(),
                        author_name: changelog.author.display_name.clone(),
                        body: comment.body.clone(),
                        internal: comment.internal,
                        source: "jira".into(),
                        created_at: changelog.event_time,
                    })
                    .await?;
            }
            Change::Description(_) => {
                self.api
                    .update_case(&update(case, FieldUpdate::Description(Text::new(text))))
                    .await?;
            }
            _ => {
                self.api
                    .update_case(&update(case, FieldUpdate::Status("OPEN".into())))
                    .await?;
            }
        }
        Ok(Processed::Applied)
    }
}

fn update(case: &Case, field: FieldUpdate) -> CaseUpdate {
    CaseUpdate {
        org_id: case.org_id,
        case_id: case.id.clone(),
        expected_version: case.version,
        update: field,
        stamp: FieldStamp {
            event_time: Utc::now(),
            sequence: None,
        },
        source: "jira".into(),
    }
}

/// A sandbox Case API with one case in org 42, linked to Jira item 10007 of site-1, whose
/// title and description hold `text`, and Jira enabled for its project.
pub fn sandbox_api(text: &str) -> case_sandbox::Store {
    let store = case_sandbox::Store::new();
    store.insert_case(Case {
        title: Text::new(text),
        description: Text::new(text),
        priority: None,
        third_party_links: vec![ThirdPartyLink {
            integration: JIRA.as_str().into(),
            account_id: "site-1".into(),
            item_id: "10007".into(),
            item_key: None,
        }],
        ..testing::sample_case(ORG, "case-1", 1)
    });
    store.put_settings(ProjectSettings::enabled(
        OrgId(ORG),
        ProjectId::from("proj-1"),
        JIRA.as_str(),
    ));
    store
}

/// The test pipeline; its processor writes through a [`observability::TracedCaseApi`].
pub fn pipeline(text: &str) -> Pipeline {
    let api = Arc::new(sandbox_api(text));
    let traced: Arc<dyn CaseApi> = Arc::new(observability::TracedCaseApi::new(api.clone()));
    Pipeline::new(
        Arc::new(TestDecoder),
        Arc::new(TestFilterer),
        Arc::new(TestProcessor { api: traced }),
        api,
    )
}

/// A payload as if read from Kafka.
pub fn payload(value: impl Into<bytes::Bytes>) -> Payload {
    Payload {
        key: Some(bytes::Bytes::from_static(b"42:10007")),
        value: value.into(),
        topic: "jira-events".into(),
        partition: 3,
        offset: 100,
        timestamp: None,
        headers: Vec::new(),
    }
}

/// A payload with one change per `(scenario, kind)`.
pub fn changes(text: &str, hours_ago: i64, list: &[(&str, &str)]) -> Payload {
    let changes: Vec<Value> = list
        .iter()
        .map(|(s, k)| json!({"scenario": s, "kind": k}))
        .collect();
    payload(
        json!({"org": ORG, "key": "PROJ-7", "hours_ago": hours_ago, "text": text, "changes": changes})
            .to_string(),
    )
}
