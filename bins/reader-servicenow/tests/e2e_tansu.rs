//! End-to-end tests of the real `reader-servicenow` binary (a child process) against a
//! real Kafka-compatible broker (Tansu) and the case sandbox (in process, real loopback
//! gRPC). Switched on by the cargo feature `real-broker`; once on, a test that cannot start
//! Tansu fails and says why (set `TANSU_BIN`; `cargo xtask test` installs it).
//!
//! - The scripted sequence of `fixtures/servicenow/e2e/sequence.json` → the cases, the
//!   timeline and the reader's Prometheus counters are exactly the expected ones; SIGTERM →
//!   exit 0.
//! - A larger batch: kill -9 mid-stream, restart, SIGTERM mid-stream, restart → the final
//!   state is exactly the one an uninterrupted run gives, with no duplicate timeline cell.
//!
//! The harness and the scenario bodies are shared with `reader-jira` (`testkit::scenarios`).
#![cfg(feature = "real-broker")]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use std::error::Error;
use testkit::clock::rfc3339_secs;
use testkit::produce::TestRecord;
use testkit::scenarios::e2e::{Batch, public_comment_cell};

testkit::reader_e2e_tests!(
    env!("CARGO_BIN_EXE_reader-servicenow"),
    "servicenow",
    || batch(60)
);

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

/// The record of one update of the incident (sys id, case id, correlated) at `time` by
/// jane.roe: `field` and the sysModCount `count`, plus the case id when the incident is
/// correlated.
fn update(
    (sys_id, case_id, correlated): (&str, &str, bool),
    time: DateTime<Utc>,
    count: u64,
    field: (&str, Value),
) -> Result<TestRecord, Box<dyn Error>> {
    let mut data = serde_json::Map::new();
    data.insert(field.0.into(), field.1);
    data.insert("sysModCount".into(), json!(count.to_string()));
    if correlated {
        data.insert("correlationId".into(), json!(case_id));
    }
    let value = json!({
        "type": "datadog_x_incident", "orgId": 1001, "sysId": sys_id,
        "instanceName": "acme", "updatedTime": rfc3339_secs(time),
        "updatedBy": "jane.roe", "data": data,
    });
    Ok(TestRecord::keyed(
        format!("1001:{sys_id}"),
        serde_json::to_vec(&value)?,
    ))
}

/// `per_incident` state changes (In Progress and New, alternately) and as many comments on
/// two incidents, interleaved, one sysModCount and one second apart; and what they leave:
/// the last state (version + `per_incident`, the status stamped with its time and
/// sysModCount) and one public cell per comment.
fn batch(per_incident: usize) -> Result<Batch, Box<dyn Error>> {
    let base: DateTime<Utc> = "2024-03-05T09:00:00Z".parse()?;
    let mut batch = Batch::default();
    // The last (status, sysModCount, time) of each incident.
    let mut last = vec![("", 0_u64, base); INCIDENTS.len()];
    for k in 0..per_incident {
        for ((sys_id, case_id, correlated, _), last_of_incident) in
            INCIDENTS.iter().zip(last.iter_mut())
        {
            let state_count = 100 + 2 * k as u64;
            let state_time = base + TimeDelta::seconds(2 * k as i64);
            let (state, status) = if k % 2 == 0 {
                ("2", "IN_PROGRESS")
            } else {
                ("1", "OPEN")
            };
            let incident = (*sys_id, *case_id, *correlated);
            let state_update = update(incident, state_time, state_count, ("state", json!(state)))?;
            batch.records.push(state_update);
            *last_of_incident = (status, state_count, state_time);

            let comment_count = state_count + 1;
            let comment_time = state_time + TimeDelta::seconds(1);
            let body = format!("Batch comment {k:03} on {sys_id}");
            let comment = ("comment", json!(body));
            batch
                .records
                .push(update(incident, comment_time, comment_count, comment)?);
            batch.cells.push(public_comment_cell(
                "servicenow",
                1001,
                case_id,
                &format!("servicenow:{sys_id}:{comment_count}:comment"),
                ("jane.roe", None),
                &body,
                comment_time,
            ));
        }
    }
    for ((_, case_id, _, seed_version), (status, count, time)) in INCIDENTS.iter().zip(&last) {
        let mut changes = serde_json::Map::new();
        changes.insert("status".into(), json!(status));
        changes.insert("version".into(), json!(seed_version + per_incident as u64));
        changes.insert(
            "field_stamps".into(),
            json!({"status": {"event_time": rfc3339_secs(*time), "sequence": count}}),
        );
        batch.expect_case(1001, case_id, changes);
    }
    Ok(batch)
}
