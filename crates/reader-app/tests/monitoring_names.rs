//! Every metric that the dashboards, monitors and Prometheus rules under `deploy/monitoring/`
//! name is one the code emits (`observability::METRIC_NAMES`, `kafka_runtime::METRIC_NAMES`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeSet;

const FLAVORS: &[&str] = &["jira", "servicenow"];

fn emitted() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for name in observability::METRIC_NAMES
        .iter()
        .chain(kafka_runtime::METRIC_NAMES)
    {
        if name.contains("{flavor}") {
            for flavor in FLAVORS {
                names.insert(name.replace("{flavor}", flavor));
            }
        } else {
            names.insert((*name).to_owned());
        }
    }
    names
}

fn listed(file: &str) -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/monitoring/").to_owned() + file;
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_monitored_metric_is_emitted() {
    let emitted = emitted();
    let used = listed("metrics-used.txt");
    assert!(
        used.len() >= 10,
        "metrics-used.txt lists too little: {used:?}"
    );
    let missing: Vec<&String> = used.iter().filter(|m| !emitted.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "deploy/monitoring names metrics the code does not emit: {missing:?}\nemitted: {emitted:?}"
    );
}

#[test]
fn the_monitoring_files_name_only_listed_metrics() {
    // Every `dd.`/`case.` metric name appearing in a dashboard, monitor or rule file is listed
    // in metrics-used.txt, so the first test covers them all.
    let used: BTreeSet<String> = listed("metrics-used.txt").into_iter().collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/monitoring");
    let mut unlisted = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() || path.extension().is_some_and(|e| e == "txt") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')) {
            let dotted =
                token.starts_with("dd.case") || token.starts_with("case.case_third_party_reader");
            let underscored =
                token.starts_with("dd_case") || token.starts_with("case_case_third_party_reader");
            if !(dotted || underscored) {
                continue;
            }
            let name = if underscored {
                // Prometheus form: map back through the listed names.
                match used.iter().find(|u| {
                    let p = u.replace('.', "_");
                    token == p
                        || token
                            .strip_prefix(&p)
                            .is_some_and(|s| ["_bucket", "_sum", "_count", "_total"].contains(&s))
                }) {
                    Some(u) => u.clone(),
                    None => token.to_owned(),
                }
            } else {
                token.to_owned()
            };
            if !used.contains(&name) {
                unlisted.insert(format!("{}: {token}", path.display()));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "names not in metrics-used.txt: {unlisted:?}"
    );
}
