//! Runs every scenario of `fixtures/servicenow/events/` through the ServiceNow `Pipeline`
//! against a `case_sandbox::Store` seeded from `fixtures/servicenow/seed.json`, and asserts
//! the exact outcomes, the resulting cases and timeline cells, and the listed call counts.
//! The format is described in `fixtures/servicenow/README.md`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use case_sandbox::{FaultStatus, Rpc, Seed, Store};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use servicenow::{FILTER_REASONS, ServiceNowConfig, pipeline};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thirdparty_core::testing::outcome_fields;
use thirdparty_core::{FilteredReason, Outcome, Payload};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/servicenow");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    description: String,
    steps: Vec<Step>,
    #[serde(default)]
    expect_case: Option<ExpectCase>,
    #[serde(default)]
    expect_timeline: Vec<Value>,
    #[serde(default)]
    expect_calls: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    #[serde(default)]
    faults: Vec<Fault>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    payload_text: Option<String>,
    expect: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fault {
    rpc: String,
    times: u64,
    status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectCase {
    org_id: u64,
    id: String,
    changes: Map<String, Value>,
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = Path::new(DIR).join("events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 40,
        "expected the fixture set, found {} files",
        files.len()
    );
    files
}

fn seed() -> Seed {
    Seed::read_file(&Path::new(DIR).join("seed.json")).expect("fixtures/servicenow/seed.json")
}

fn payload_of(step: &Step, name: &str) -> Payload {
    match (&step.payload, &step.payload_text) {
        (Some(v), None) => {
            let mut p = Payload::from_value(serde_json::to_vec(v).unwrap());
            p.topic = "servicenow-incidents".into();
            if let (Some(org), Some(sys)) = (v.get("orgId"), v.get("sysId").and_then(Value::as_str))
            {
                p = p.with_key(format!("{org}:{sys}"));
            }
            p
        }
        (None, Some(t)) => Payload::from_value(t.clone().into_bytes()),
        _ => panic!("{name}: a step needs exactly one of payload / payload_text"),
    }
}

async fn run_scenario(path: &Path, seen: &mut BTreeSet<&'static str>) {
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let scenario: Scenario = serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{name}: not a valid scenario: {e}"));
    assert!(
        !scenario.description.is_empty(),
        "{name}: describe the scenario"
    );
    let seed = seed();
    let store = Store::from_seed(seed.clone());
    let (pipeline, _filterer) = pipeline(Arc::new(store.clone()), &ServiceNowConfig::default());

    for (i, step) in scenario.steps.iter().enumerate() {
        for f in &step.faults {
            let rpc =
                Rpc::from_name(&f.rpc).unwrap_or_else(|| panic!("{name}: unknown rpc {}", f.rpc));
            let status = FaultStatus::from_name(&f.status)
                .unwrap_or_else(|| panic!("{name}: unknown status {}", f.status));
            store.faults().fail_next(rpc, f.times, status);
        }
        let report = pipeline.run(&payload_of(step, &name)).await;
        let actual: Vec<Map<String, Value>> = report.outcomes.iter().map(outcome_fields).collect();
        assert_eq!(
            actual.len(),
            step.expect.len(),
            "{name} step {i}: outcome count; got {actual:#?}"
        );
        for (got, want) in actual.iter().zip(&step.expect) {
            let want = want
                .as_object()
                .unwrap_or_else(|| panic!("{name}: expect entries are objects"));
            // `event_id` is checked when the fixture names it; every other key always.
            let mut got = got.clone();
            if !want.contains_key("event_id") {
                got.remove("event_id");
            }
            assert_eq!(&got, want, "{name} step {i}");
        }
        for o in &report.outcomes {
            if let Outcome::Filtered(r) = o.outcome {
                seen.insert(r.as_str());
            }
            if let Outcome::DecodeFailed(e) = &o.outcome {
                assert!(
                    e.message.len() > 30 && !e.message.contains("Please retry"),
                    "{name}: decode errors explain themselves and never echo text: {e}"
                );
            }
        }
    }

    // Every case is the seed's, except the expected changes on the target case.
    for seeded in &seed.cases {
        let mut want = serde_json::to_value(seeded).unwrap();
        if let Some(ec) = &scenario.expect_case
            && ec.id == seeded.id.as_str()
            && ec.org_id == seeded.org_id.0
        {
            for (k, v) in &ec.changes {
                assert!(
                    want.get(k).is_some(),
                    "{name}: expect_case.changes.{k} is not a case field"
                );
                want[k] = v.clone();
            }
        }
        let got = serde_json::to_value(store.case(seeded.org_id, &seeded.id).unwrap()).unwrap();
        assert_eq!(got, want, "{name}: case {}", seeded.id);
    }
    if let Some(ec) = &scenario.expect_case {
        assert!(
            seed.cases.iter().any(|c| c.id.as_str() == ec.id),
            "{name}: expect_case names a case not in the seed"
        );
    }

    let cells: Vec<Value> = store
        .timeline_cells()
        .into_iter()
        .map(|c| {
            json!({
                "case_id": c.cell.case_id, "idempotency_key": c.cell.idempotency_key,
                "internal": c.cell.internal, "author_id": c.cell.author_id,
                "author_name": c.cell.author_name, "body": c.cell.body,
                "source": c.cell.source, "created_at": c.cell.created_at,
            })
        })
        .collect();
    assert_eq!(cells, scenario.expect_timeline, "{name}: timeline cells");

    for (rpc, want) in &scenario.expect_calls {
        let r = Rpc::from_name(rpc).unwrap_or_else(|| panic!("{name}: unknown rpc {rpc}"));
        assert_eq!(store.calls(r), *want, "{name}: {rpc} calls");
    }
}

#[tokio::test]
async fn every_fixture_gives_its_exact_outcomes_and_case() {
    let mut seen = BTreeSet::new();
    for path in scenario_files() {
        run_scenario(&path, &mut seen).await;
    }
    let producible: BTreeSet<&str> = FILTER_REASONS.iter().map(FilteredReason::as_str).collect();
    assert_eq!(
        seen, producible,
        "the fixtures cover exactly the reasons this integration can produce"
    );
}

#[test]
fn the_readme_lists_every_fixture() {
    let readme = std::fs::read_to_string(Path::new(DIR).join("README.md")).unwrap();
    for path in scenario_files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            readme.contains(&name),
            "fixtures/servicenow/README.md does not list {name}"
        );
    }
}
