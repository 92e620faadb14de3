//! Runs every scenario of `fixtures/jira/scenarios/` through the real `Pipeline` against a
//! `case_sandbox::Store` seeded from `fixtures/jira/seed.json`, and checks every outcome,
//! the resulting cases and timeline, and Case API call counts (format:
//! `fixtures/jira/README.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use case_sandbox::{FaultStatus, Rpc, Store};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thirdparty_core::testing::outcome_fields;
use thirdparty_core::{Case, CaseApi, FilteredReason, NewTimelineCell, Outcome, Payload};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/jira");

fn fixtures() -> PathBuf {
    PathBuf::from(FIXTURES)
}

fn test_config() -> jira::JiraConfig {
    jira::JiraConfig {
        integration_users: vec!["svc-case-sync".to_owned()],
        ..jira::JiraConfig::default()
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join("scenarios"))
        .expect("fixtures/jira/scenarios must exist")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() > 40,
        "expected the full scenario table, found {}",
        files.len()
    );
    files
}

fn seed_store() -> Store {
    Store::load_seed_file(&fixtures().join("seed.json")).expect("fixtures/jira/seed.json loads")
}

fn record_key(value: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(value).ok()?;
    let org = v.get("orgId")?.as_u64()?;
    let issue = v
        .pointer("/webhook/issue/id")
        .and_then(Value::as_str)
        .unwrap_or("");
    Some(jira::record_key(org, issue))
}

/// Compares an expected outcome with the actual one: every key of the expectation must
/// match; `event_id` is only compared when given; `overridden_conflict` defaults to false.
fn check_outcome(
    ctx: &str,
    expected: &Value,
    actual: &Map<String, Value>,
    failures: &mut Vec<String>,
) {
    let expected = expected.as_object().expect("an expectation is an object");
    for (k, v) in expected {
        if actual.get(k) != Some(v) {
            failures.push(format!(
                "{ctx}: `{k}` expected {v}, actual outcome {actual:?}"
            ));
        }
    }
    for k in ["type", "reason", "kind", "path"] {
        if !expected.contains_key(k) && actual.contains_key(k) {
            failures.push(format!(
                "{ctx}: actual outcome has `{k}` the expectation lacks: {actual:?}"
            ));
        }
    }
    if !expected.contains_key("overridden_conflict")
        && actual
            .get("overridden_conflict")
            .is_some_and(|v| v != &json!(false))
    {
        failures.push(format!("{ctx}: unexpected overridden conflict"));
    }
}

struct Seen {
    reasons: BTreeSet<&'static str>,
    types: BTreeSet<String>,
    payloads: BTreeSet<String>,
}

async fn run_scenario(path: &Path, seed: &[Case], seen: &mut Seen, failures: &mut Vec<String>) {
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let scenario: Value = serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
    assert!(
        scenario["description"]
            .as_str()
            .is_some_and(|d| d.len() > 10),
        "{name}: needs a description"
    );
    let store = seed_store();
    let api: Arc<dyn CaseApi> = Arc::new(store.clone());
    let (pipeline, _filterer) = jira::pipeline(api, &test_config());

    let steps = scenario["steps"].as_array().expect("steps");
    assert!(!steps.is_empty(), "{name}: no steps");
    for (i, step) in steps.iter().enumerate() {
        let ctx = format!("{name} step {i}");
        for fault in step["faults"].as_array().into_iter().flatten() {
            let rpc = Rpc::from_name(fault["rpc"].as_str().unwrap()).expect("known rpc");
            let status =
                FaultStatus::from_name(fault["status"].as_str().unwrap()).expect("known status");
            store
                .faults()
                .fail_next(rpc, fault["times"].as_u64().unwrap(), status);
        }
        let file = step["payload"].as_str().expect("payload file name");
        seen.payloads.insert(file.to_owned());
        let value = std::fs::read(fixtures().join("payloads").join(file))
            .unwrap_or_else(|e| panic!("{ctx}: payload {file}: {e}"));
        let mut payload = Payload::from_value(value.clone());
        if let Some(key) = record_key(&value) {
            payload = payload.with_key(key);
        }
        let report = pipeline.run(&payload).await;
        let expected = step["expect"].as_array().expect("expect");
        let actual: Vec<_> = report.outcomes.iter().map(outcome_fields).collect();
        if actual.len() != expected.len() {
            failures.push(format!(
                "{ctx}: {} outcomes expected, actual {actual:?}",
                expected.len()
            ));
        }
        for (j, (e, a)) in expected.iter().zip(&actual).enumerate() {
            check_outcome(&format!("{ctx} outcome {j}"), e, a, failures);
        }
        for o in &report.outcomes {
            if let Outcome::Filtered(r) = o.outcome {
                seen.reasons.insert(r.as_str());
            }
            if let (Some(t), Outcome::Processed { .. }) = (&o.changelog_type, &o.outcome) {
                seen.types.insert(t.as_tag().into_owned());
            }
            if let (Some(t), Outcome::Filtered(_)) = (&o.changelog_type, &o.outcome)
                && t.bounded_tag() == "unsupported"
            {
                seen.types.insert("unsupported".into());
            }
        }
    }

    // Every case equals the seed, except the listed changes of `expect_case`.
    let expect_case = &scenario["expect_case"];
    for seeded in seed {
        let mut want = serde_json::to_value(seeded).unwrap();
        if expect_case["id"] == json!(seeded.id.as_str())
            && expect_case["org_id"] == json!(seeded.org_id.0)
        {
            for (k, v) in expect_case["changes"].as_object().expect("changes") {
                assert!(want.get(k).is_some(), "{name}: unknown case field `{k}`");
                want[k] = v.clone();
            }
        }
        // Through `Case` so that date-times compare as values, not strings.
        let want: Case =
            serde_json::from_value(want).unwrap_or_else(|e| panic!("{name}: expect_case: {e}"));
        let got = store
            .case(seeded.org_id, &seeded.id)
            .expect("seeded case still there");
        let (got, want) = (
            serde_json::to_value(&got).unwrap(),
            serde_json::to_value(&want).unwrap(),
        );
        if got != want {
            failures.push(format!(
                "{name}: case {}:\n  actual   {got}\n  expected {want}",
                seeded.id
            ));
        }
    }
    if !expect_case.is_null() {
        assert!(
            seed.iter()
                .any(|c| expect_case["id"] == json!(c.id.as_str())),
            "{name}: expect_case names no seeded case"
        );
    }

    let cells: Vec<Value> = store
        .timeline_cells()
        .into_iter()
        .map(|c| serde_json::to_value(c.cell).unwrap())
        .collect();
    let want_cells: Vec<Value> = scenario["expect_timeline"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let c: NewTimelineCell = serde_json::from_value(c)
                .unwrap_or_else(|e| panic!("{name}: expect_timeline: {e}"));
            serde_json::to_value(c).unwrap()
        })
        .collect();
    if cells != want_cells {
        failures.push(format!(
            "{name}: timeline:\n  actual   {cells:?}\n  expected {want_cells:?}"
        ));
    }

    for (rpc, n) in scenario["expect_calls"].as_object().into_iter().flatten() {
        let r = Rpc::from_name(rpc).unwrap_or_else(|| panic!("{name}: unknown rpc {rpc}"));
        if store.calls(r) != n.as_u64().unwrap() {
            failures.push(format!(
                "{name}: {rpc} called {} times, expected {n}",
                store.calls(r)
            ));
        }
    }
}

#[tokio::test]
async fn every_scenario_has_its_exact_outcomes_and_resulting_cases() {
    let seed: Vec<Case> = seed_store().cases();
    let mut seen = Seen {
        reasons: BTreeSet::new(),
        types: BTreeSet::new(),
        payloads: BTreeSet::new(),
    };
    let mut failures = Vec::new();
    for path in scenario_files() {
        run_scenario(&path, &seed, &mut seen, &mut failures).await;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let produced: BTreeSet<&str> = jira::FILTER_REASONS
        .iter()
        .map(FilteredReason::as_str)
        .collect();
    assert_eq!(
        seen.reasons, produced,
        "the scenarios cover exactly the reasons this flavor produces"
    );

    let types: BTreeSet<String> = [
        "update_title",
        "update_description",
        "update_priority",
        "update_status",
        "update_assignee",
        "update_due_date",
        "create_comment",
        "unsupported",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(seen.types, types, "every changelog type is shown");

    let mut files = BTreeSet::new();
    for e in std::fs::read_dir(fixtures().join("payloads")).unwrap() {
        files.insert(e.unwrap().file_name().to_string_lossy().to_string());
    }
    assert_eq!(
        seen.payloads, files,
        "every payload file is used by a scenario"
    );
}

#[test]
fn the_readme_lists_every_scenario_and_payload() {
    let readme =
        std::fs::read_to_string(fixtures().join("README.md")).expect("fixtures/jira/README.md");
    for path in scenario_files() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            readme.contains(&format!("`{name}`")),
            "README does not list scenario {name}"
        );
    }
}

#[test]
fn payload_files_are_jira_sized_enveloped_webhooks() {
    let mut sizes = BTreeMap::new();
    for e in std::fs::read_dir(fixtures().join("payloads")).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        sizes.insert(name.clone(), bytes.len());
        if name.starts_with("malformed_") {
            continue;
        }
        let v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        for k in ["orgId", "jiraAccountId", "receivedAt", "webhook"] {
            assert!(v.get(k).is_some(), "{name}: envelope lacks {k}");
        }
        assert!(
            v["webhook"]["webhookEvent"].is_string(),
            "{name}: no webhookEvent"
        );
        assert!(
            (1_000..=8_000).contains(&bytes.len()),
            "{name}: {} bytes",
            bytes.len()
        );
    }
    assert!(sizes.len() >= 50, "{sizes:?}");
}
