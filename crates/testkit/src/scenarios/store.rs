//! Assertions on the sandbox's store and on a reader's logs.

use crate::reader::ReaderProcess;
use crate::sandbox::Sandbox;
use case_sandbox::Rpc;
use serde_json::Value;
use std::collections::BTreeMap;

/// Every case equals the expected one, field for field; the message lists the differences.
pub fn assert_cases_equal(actual: &[Value], expected: &[Value]) {
    let key = |c: &Value| (c["org_id"].as_u64(), c["id"].as_str().map(str::to_owned));
    let mut problems = Vec::new();
    let expected_by_key: BTreeMap<_, _> = expected.iter().map(|c| (key(c), c)).collect();
    let actual_by_key: BTreeMap<_, _> = actual.iter().map(|c| (key(c), c)).collect();
    for (k, want) in &expected_by_key {
        match actual_by_key.get(k) {
            None => problems.push(format!("case {k:?} is missing")),
            Some(got) if got != want => {
                let mut fields = Vec::new();
                for (field, w) in want.as_object().unwrap() {
                    let g = &got[field];
                    if g != w {
                        fields.push(format!("  {field}: expected {w}, got {g}"));
                    }
                }
                problems.push(format!("case {k:?} differs:\n{}", fields.join("\n")));
            }
            Some(_) => {}
        }
    }
    for k in actual_by_key.keys() {
        if !expected_by_key.contains_key(k) {
            problems.push(format!("unexpected case {k:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "the cases are not the expected ones:\n{}",
        problems.join("\n")
    );
}

/// No two timeline cells share an idempotency key, nor the same content on one case (a
/// duplicate a changed key would let through).
pub fn assert_no_duplicate_cells(cells: &[Value]) {
    let mut by_key: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut by_content: BTreeMap<String, usize> = BTreeMap::new();
    for c in cells {
        *by_key
            .entry((c["org_id"].to_string(), c["idempotency_key"].to_string()))
            .or_default() += 1;
        let content = format!(
            "{}|{}|{}|{}|{}",
            c["case_id"], c["body"], c["created_at"], c["author_id"], c["internal"]
        );
        *by_content.entry(content).or_default() += 1;
    }
    let dup_keys: Vec<_> = by_key.iter().filter(|(_, n)| **n > 1).collect();
    let dup_content: Vec<_> = by_content.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dup_keys.is_empty() && dup_content.is_empty(),
        "duplicate timeline cells: by key {dup_keys:?}, by content {dup_content:?}"
    );
}

/// The cells equal the expected ones, compared per case in creation order.
pub fn assert_cells_equal(actual: &[Value], expected: &[Value]) {
    let by_case = |cells: &[Value]| {
        let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for c in cells {
            m.entry(format!("{}/{}", c["org_id"], c["case_id"]))
                .or_default()
                .push(c.clone());
        }
        m
    };
    let (got, want) = (by_case(actual), by_case(expected));
    assert!(
        got == want,
        "timeline cells differ.\nexpected:\n{}\ngot:\n{}",
        serde_json::to_string_pretty(&want).unwrap(),
        serde_json::to_string_pretty(&got).unwrap()
    );
}

/// Nothing was written to the Case API: cases equal the seed, no cell, no write call.
pub fn assert_nothing_applied(sandbox: &Sandbox) {
    assert_cases_equal(&sandbox.cases_json(), &sandbox.seed_cases);
    assert!(sandbox.cells_json().is_empty(), "a dry run created cells");
    assert_eq!(
        sandbox.store.calls(Rpc::UpdateCase),
        0,
        "a dry run updated a case"
    );
    assert_eq!(
        sandbox.store.calls(Rpc::CreateTimelineCell),
        0,
        "a dry run created a cell"
    );
}

/// No captured log line contains any of `secrets` (comment bodies, titles): logs carry ids
/// and reasons, never user text.
pub fn assert_logs_free_of(reader: &ReaderProcess, secrets: &[String]) {
    for line in reader.lines() {
        for secret in secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a log line carries user text {secret:?}: {line}"
            );
        }
    }
}
