//! End-to-end tests of the real `reader-jira` binary (a child process) against a real
//! Kafka-compatible broker (Tansu) and the case sandbox (in process, real loopback gRPC).
//! Switched on by the cargo feature `real-broker`; once on, a test that cannot start Tansu
//! fails and says why (set `TANSU_BIN`; `cargo xtask test` installs it).
//!
//! - The scripted sequence of `fixtures/e2e/jira/sequence.json` → the cases, the timeline
//!   and the reader's Prometheus counters are exactly the expected ones; SIGTERM → exit 0.
//! - A larger batch: kill -9 mid-stream, restart, SIGTERM mid-stream, restart → the final
//!   state is exactly the one an uninterrupted run gives, with no duplicate timeline cell.
//!
//! Tansu's high watermark is not reliable: progress is judged by the group's committed
//! offsets against the offsets the producer got back, never by lag.
#![cfg(feature = "real-broker")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use testkit::clock::rfc3339_secs;
use testkit::fixtures::fixtures_dir;
use testkit::produce::TestRecord;
use testkit::scenarios::e2e::{Batch, kill_and_sigterm_then_restart, scripted_sequence};
use testkit::scenarios::sequence::ExpectCase;

const BIN: &str = env!("CARGO_BIN_EXE_reader-jira");

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scripted_sequence_gives_the_expected_cases_timeline_and_counts() {
    scripted_sequence(BIN, "jira").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_and_sigterm_mid_stream_then_restart_converge_without_duplicates() {
    kill_and_sigterm_then_restart(
        BIN,
        "jira",
        &fixtures_dir().join("jira/seed.json"),
        batch(60),
    )
    .await;
}

/// (issue id, issue key, case id, seeded case version) of the batch's issues.
const ISSUES: [(&str, &str, &str, u64); 2] = [
    (
        "10101",
        "SUP-101",
        "c0a8012e-7f3b-4d2a-9e1c-000000000101",
        3,
    ),
    (
        "10102",
        "SUP-102",
        "c0a8012e-7f3b-4d2a-9e1c-000000000102",
        5,
    ),
];

fn payload_template(name: &str) -> Value {
    let path = fixtures_dir().join("jira/payloads").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// `per_issue` title changes and as many comments on SUP-101 and SUP-102, interleaved, one
/// second apart, built from the fixture payloads `update_title.json` and
/// `create_comment.json`; and what they leave: the last title (version + `per_issue`, the
/// title stamped with its time) and one public cell per comment.
fn batch(per_issue: usize) -> Batch {
    let title_template = payload_template("update_title.json");
    let comment_template = payload_template("create_comment.json");
    let base: DateTime<Utc> = "2026-03-03T09:00:00Z".parse().unwrap();
    let mut records = Vec::new();
    let mut cells = Vec::new();
    let mut last_titles = vec![String::new(); ISSUES.len()];
    let mut last_times = vec![base; ISSUES.len()];
    for k in 0..per_issue {
        for (i, (issue_id, issue_key, case_id, _)) in ISSUES.iter().enumerate() {
            let key = jira::record_key(1, issue_id);
            let title_time = base + TimeDelta::seconds(2 * k as i64);
            let comment_time = title_time + TimeDelta::seconds(1);

            let title = format!("{issue_key} batch title {k:03}");
            let mut v = title_template.clone();
            v["webhook"]["timestamp"] = json!(title_time.timestamp_millis());
            v["webhook"]["issue"]["id"] = json!(issue_id);
            v["webhook"]["issue"]["key"] = json!(issue_key);
            v["webhook"]["issue"]["fields"]["summary"] = json!(title);
            v["webhook"]["changelog"]["id"] = json!(format!("{}", 80_000 + 1_000 * i + k));
            v["webhook"]["changelog"]["items"][0]["fromString"] = json!(last_titles[i]);
            v["webhook"]["changelog"]["items"][0]["toString"] = json!(title);
            records.push(TestRecord::keyed(
                key.clone(),
                serde_json::to_vec(&v).unwrap(),
            ));
            last_titles[i] = title;
            last_times[i] = title_time;

            let comment_id = format!("{}", 90_000 + 1_000 * i + k);
            let body = format!("Batch comment {k:03} on {issue_key}");
            let mut v = comment_template.clone();
            v["webhook"]["timestamp"] = json!(comment_time.timestamp_millis());
            v["webhook"]["issue"]["id"] = json!(issue_id);
            v["webhook"]["issue"]["key"] = json!(issue_key);
            v["webhook"]["comment"]["id"] = json!(comment_id);
            v["webhook"]["comment"]["body"] = json!(body);
            records.push(TestRecord::keyed(key, serde_json::to_vec(&v).unwrap()));
            cells.push(json!({
                "org_id": 1,
                "case_id": case_id,
                "idempotency_key": format!("jira:{comment_id}"),
                "author_id": "5f1a7c3e9b2d4e0011a2b3c5",
                "author_name": "Grace Hopper",
                "body": body,
                "internal": false,
                "source": "jira",
                "created_at": rfc3339_secs(comment_time),
            }));
        }
    }
    let changes = ISSUES
        .iter()
        .enumerate()
        .map(|(i, (_, _, case_id, seed_version))| {
            let mut stamps = serde_json::Map::new();
            if i == 1 {
                // SUP-102's seeded status stamp stays.
                stamps.insert(
                    "status".into(),
                    json!({"event_time": "2026-03-02T12:00:00Z", "sequence": null}),
                );
            }
            stamps.insert(
                "title".into(),
                json!({"event_time": rfc3339_secs(last_times[i]), "sequence": null}),
            );
            let changes = json!({
                "title": last_titles[i],
                "version": seed_version + per_issue as u64,
                "field_stamps": stamps,
            });
            ExpectCase {
                org_id: 1,
                id: (*case_id).to_owned(),
                changes: changes.as_object().unwrap().clone(),
            }
        })
        .collect();
    Batch {
        records,
        changes,
        cells,
    }
}
