//! End-to-end tests of the real `reader-servicenow` binary (a child process) against a
//! real Kafka-compatible broker (Tansu) and the case sandbox (in process, real loopback
//! gRPC). Switched on by the cargo feature `real-broker`; once on, a test that cannot start
//! Tansu fails and says why (set `TANSU_BIN`; `cargo xtask test` installs it).
//!
//! - The scripted sequence of `fixtures/e2e/servicenow/sequence.json` → the cases, the
//!   timeline and the reader's Prometheus counters are exactly the expected ones; SIGTERM →
//!   exit 0.
//! - A larger batch: kill -9 mid-stream, restart, SIGTERM mid-stream, restart → the final
//!   state is exactly the one an uninterrupted run gives, with no duplicate timeline cell.
//!
//! The harness and the scenario bodies are shared with `reader-jira` (`testkit::scenarios`).
#![cfg(feature = "real-broker")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;
use testkit::clock::rfc3339_secs;
use testkit::fixtures::fixtures_dir;
use testkit::produce::TestRecord;
use testkit::scenarios::e2e::{Batch, kill_and_sigterm_then_restart, scripted_sequence};
use testkit::scenarios::sequence::ExpectCase;

const BIN: &str = env!("CARGO_BIN_EXE_reader-servicenow");

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scripted_sequence_gives_the_expected_cases_timeline_and_counts() {
    scripted_sequence(BIN, "servicenow").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_and_sigterm_mid_stream_then_restart_converge_without_duplicates() {
    kill_and_sigterm_then_restart(
        BIN,
        "servicenow",
        &fixtures_dir().join("servicenow/seed.json"),
        batch(60),
    )
    .await;
}

/// (sys id, case id, correlation id sent, seeded case version) of the batch's incidents:
/// INC0010001 names its case; INC0010004 (a one-way-pull project) is found by its link.
const INCIDENTS: [(&str, &str, bool, u64); 2] = [
    (
        "be5fc89a31cc968c758ec576a4ba3425",
        "5e1f0c0a-9b1e-4c0a-8d2e-000000000001",
        true,
        3,
    ),
    (
        "080f09821409e3f83251b9c72c20aae7",
        "5e1f0c0a-9b1e-4c0a-8d2e-000000000004",
        false,
        1,
    ),
];

/// `per_incident` state changes (In Progress and New, alternately) and as many comments on
/// two incidents, interleaved, one sysModCount and one second apart; and what they leave:
/// the last state (version + `per_incident`, the status stamped with its time and
/// sysModCount) and one public cell per comment.
fn batch(per_incident: usize) -> Batch {
    let base: DateTime<Utc> = "2024-03-05T09:00:00Z".parse().unwrap();
    let mut records = Vec::new();
    let mut cells = Vec::new();
    let mut last = vec![("", 0_u64, base); INCIDENTS.len()];
    for k in 0..per_incident {
        for (i, (sys_id, case_id, correlate, _)) in INCIDENTS.iter().enumerate() {
            let key = format!("1001:{sys_id}");
            let state_count = 100 + 2 * k as u64;
            let state_time = base + TimeDelta::seconds(2 * k as i64);
            let (state, status) = if k % 2 == 0 {
                ("2", "IN_PROGRESS")
            } else {
                ("1", "OPEN")
            };
            let mut data = json!({"state": state, "sysModCount": state_count.to_string()});
            if *correlate {
                data["correlationId"] = json!(case_id);
            }
            let value = json!({
                "type": "datadog_x_incident", "orgId": 1001, "sysId": sys_id,
                "instanceName": "acme", "updatedTime": rfc3339_secs(state_time),
                "updatedBy": "jane.roe", "data": data,
            });
            records.push(TestRecord::keyed(
                key.clone(),
                serde_json::to_vec(&value).unwrap(),
            ));
            last[i] = (status, state_count, state_time);

            let comment_count = state_count + 1;
            let comment_time = state_time + TimeDelta::seconds(1);
            let body = format!("Batch comment {k:03} on {sys_id}");
            let mut data = json!({"comment": body, "sysModCount": comment_count.to_string()});
            if *correlate {
                data["correlationId"] = json!(case_id);
            }
            let value = json!({
                "type": "datadog_x_incident", "orgId": 1001, "sysId": sys_id,
                "instanceName": "acme", "updatedTime": rfc3339_secs(comment_time),
                "updatedBy": "jane.roe", "data": data,
            });
            records.push(TestRecord::keyed(key, serde_json::to_vec(&value).unwrap()));
            cells.push(json!({
                "org_id": 1001,
                "case_id": case_id,
                "idempotency_key": format!("servicenow:{sys_id}:{comment_count}:comment"),
                "author_id": "jane.roe",
                "author_name": null,
                "body": body,
                "internal": false,
                "source": "servicenow",
                "created_at": rfc3339_secs(comment_time),
            }));
        }
    }
    let changes = INCIDENTS
        .iter()
        .zip(&last)
        .map(|((_, case_id, _, seed_version), (status, count, time))| {
            let changes = json!({
                "status": status,
                "version": seed_version + per_incident as u64,
                "field_stamps": {"status": {"event_time": rfc3339_secs(*time), "sequence": count}},
            });
            ExpectCase {
                org_id: 1001,
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
