//! The scripted sequences of `fixtures/<flavor>/e2e/sequence.json` and the counts a run is
//! checked against.

use crate::fixtures::fixtures_dir;
use crate::prometheus::{Metrics, filtered_name, prometheus_name};
use observability::names;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The counts an end-to-end run is checked against, read from the reader's `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// `changelog_processed` of the flavor.
    pub processed: u64,
    /// `decoding_failed` of the flavor.
    pub decode_failed: u64,
    /// The filtered count of the flavor (its `flavor` label) by `reason`.
    pub filtered: BTreeMap<String, u64>,
}

impl Counts {
    /// Reads the counts of `flavor` from rendered Prometheus text. The names are the
    /// DogStatsD names with dots as underscores: `dd_case_third_party_reader_jira_filtered` (every
    /// flavor's filtered count, told apart by its `flavor` label).
    pub fn from_metrics(text: &str, flavor: &str) -> Self {
        let metrics = Metrics::parse(text).unwrap_or_else(|e| panic!("{e}"));
        let whole = |v: f64| v.round() as u64;
        let filtered_name = filtered_name(flavor);
        let mut filtered = BTreeMap::new();
        for s in metrics.samples().iter().filter(|s| s.name == filtered_name) {
            assert_eq!(
                s.labels.get("flavor").map(String::as_str),
                Some(flavor),
                "a filtered sample without the flavor tag: {s:?}"
            );
            let reason = s
                .labels
                .get("reason")
                .unwrap_or_else(|| panic!("a filtered sample without a reason: {s:?}"));
            *filtered.entry(reason.clone()).or_insert(0) += whole(s.value);
        }
        Self {
            processed: whole(metrics.sum(
                &prometheus_name(names::CHANGELOG_PROCESSED),
                &[("flavor", flavor)],
            )),
            decode_failed: whole(metrics.sum(
                &prometheus_name(names::DECODING_FAILED),
                &[("flavor", flavor)],
            )),
            filtered,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scripted sequences (fixtures/<flavor>/e2e/sequence.json).
// ---------------------------------------------------------------------------------------

/// A scripted sequence: records to produce and what the Case API must look like after.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    /// What it shows.
    pub description: String,
    /// The sandbox seed, relative to `fixtures/`.
    pub seed: String,
    /// Where `payload` files live, relative to `fixtures/`.
    #[serde(default)]
    pub payload_dir: Option<String>,
    /// Extra reader config keys (given as `--set` flags).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// The records, produced in this order.
    pub records: Vec<SequenceRecord>,
    /// Cases that differ from the seed, with the fields that differ.
    pub expect_cases: Vec<ExpectCase>,
    /// Every timeline cell, exactly (order within a case is creation order).
    pub expect_timeline: Vec<Value>,
    /// The reader's counters after the run.
    pub expect_counts: Counts,
}

/// One record of a sequence: the key and exactly one of `payload`, `value`, `value_text`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceRecord {
    /// Record key.
    pub key: String,
    /// Why it is there and what should become of it (for people).
    pub why: String,
    /// A file of `payload_dir` sent byte for byte.
    #[serde(default)]
    pub payload: Option<String>,
    /// A JSON value sent compact.
    #[serde(default)]
    pub value: Option<Value>,
    /// Bytes that are not JSON.
    #[serde(default)]
    pub value_text: Option<String>,
}

/// A case after the run: the seed's case with `changes` applied over it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectCase {
    /// Organisation.
    pub org_id: u64,
    /// Case id.
    pub id: String,
    /// Top-level fields replaced (`field_stamps` is replaced whole).
    pub changes: Map<String, Value>,
}

impl Sequence {
    /// Loads `fixtures/<flavor>/e2e/sequence.json` (the flavor's e2e folder,
    /// [`e2e_dir`](crate::fixtures::e2e_dir)).
    pub fn load(flavor: &str) -> Self {
        let path = crate::fixtures::e2e_dir(flavor).join("sequence.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a valid sequence: {e}", path.display()))
    }

    /// The seed file.
    pub fn seed_path(&self) -> PathBuf {
        fixtures_dir().join(&self.seed)
    }

    /// The record values, in order, with their keys.
    pub fn record_values(&self) -> Vec<(String, Vec<u8>)> {
        self.records
            .iter()
            .map(|r| {
                let value = match (&r.payload, &r.value, &r.value_text) {
                    (Some(file), None, None) => {
                        let dir = self
                            .payload_dir
                            .as_ref()
                            .unwrap_or_else(|| panic!("`payload` {file} needs `payload_dir`"));
                        let path = fixtures_dir().join(dir).join(file);
                        std::fs::read(&path)
                            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
                    }
                    (None, Some(v), None) => serde_json::to_vec(v).unwrap(),
                    (None, None, Some(t)) => t.as_bytes().to_vec(),
                    _ => panic!(
                        "record {:?} needs exactly one of payload, value, value_text",
                        r.why
                    ),
                };
                (r.key.clone(), value)
            })
            .collect()
    }

    /// Every case as it must be after the run: the seed, with `expect_cases` applied.
    pub fn expected_cases(&self, seed_cases: &[Value]) -> Vec<Value> {
        expected_cases(seed_cases, &self.expect_cases)
    }
}

/// The seed's cases with `changes` applied over the named ones.
pub fn expected_cases(seed_cases: &[Value], changes: &[ExpectCase]) -> Vec<Value> {
    let mut cases = seed_cases.to_vec();
    for change in changes {
        let case = cases
            .iter_mut()
            .find(|c| c["org_id"] == change.org_id && c["id"] == change.id.as_str())
            .unwrap_or_else(|| {
                panic!(
                    "expected case {}/{} is not in the seed",
                    change.org_id, change.id
                )
            });
        let object = case.as_object_mut().unwrap();
        for (field, value) in &change.changes {
            assert!(
                object.contains_key(field),
                "case field `{field}` does not exist (expected changes of {})",
                change.id
            );
            object.insert(field.clone(), value.clone());
        }
    }
    cases
}
