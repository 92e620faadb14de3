//! End-to-end tests of the real `reader-github` binary (a child process) against a real
//! Kafka-compatible broker (Tansu) and the case sandbox (in process, real loopback gRPC).
//! Switched on by the cargo feature `real-broker`; once on, a test that cannot start Tansu
//! fails and says why (set `TANSU_BIN`; `cargo xtask test` installs it).
//!
//! - The scripted sequence of `fixtures/github/e2e/sequence.json` → the cases, the timeline
//!   and the reader's Prometheus counters are exactly the expected ones; SIGTERM → exit 0.
//! - A larger batch: kill -9 mid-stream, restart, SIGTERM mid-stream, restart → the final
//!   state is exactly the one an uninterrupted run gives, with no duplicate timeline cell.
//!
//! The harness and the scenario bodies are shared with the other flavors (`testkit::scenarios`).
#![cfg(feature = "real-broker")]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use std::error::Error;
use testkit::clock::rfc3339_secs;
use testkit::produce::TestRecord;
use testkit::scenarios::e2e::{Batch, public_comment_cell};

testkit::reader_e2e_tests!(env!("CARGO_BIN_EXE_reader-github"), "github", || batch(60));

/// (issue node id, issue number, case id, seeded case version) of the batch's issues, both
/// in repository 186853002 of installation 5501 (`fixtures/github/seed.json`).
const ISSUES: [(&str, u64, &str, u64); 2] = [
    (
        "MDU6SXNzdWU0NDQ1MDAwNDE=",
        1,
        "7b3e9f10-0000-4000-8000-000000000201",
        2,
    ),
    (
        "MDExOlB1bGxSZXF1ZXN0Mjc5MTQ3NDM3",
        2,
        "7b3e9f10-0000-4000-8000-000000000202",
        1,
    ),
];

/// The record of one webhook delivery `delivery` of `event` on issue (node id, number) at
/// `time` by monalisa, with `extra` webhook fields.
fn delivery(
    (node_id, number): (&str, u64),
    event: &str,
    delivery: usize,
    time: DateTime<Utc>,
    extra: Value,
) -> Result<TestRecord, Box<dyn Error>> {
    let mut webhook = json!({
        "sender": {"login": "monalisa", "id": 2, "type": "User"},
        "repository": {"id": 186853002, "full_name": "Codertocat/Hello-World"},
        "issue": {"node_id": node_id, "number": number, "updated_at": rfc3339_secs(time)},
    });
    if let (Some(w), Value::Object(extra)) = (webhook.as_object_mut(), extra) {
        for (k, v) in extra {
            match (w.get_mut(&k), v) {
                (Some(Value::Object(into)), Value::Object(more)) => into.extend(more),
                (_, v) => {
                    w.insert(k, v);
                }
            }
        }
    }
    let value = json!({
        "orgId": 1, "installationId": 5501, "receivedAt": rfc3339_secs(time),
        "deliveryId": format!("batch-{delivery:06}"), "event": event, "webhook": webhook,
    });
    Ok(TestRecord::keyed(
        github::record_key(1, node_id),
        serde_json::to_vec(&value)?,
    ))
}

/// `per_issue` closes and reopens (alternately) and as many comments on two issues,
/// interleaved, one second apart; and what they leave: the last status (version +
/// `per_issue`, the status stamped with its time) and one public cell per comment.
fn batch(per_issue: usize) -> Result<Batch, Box<dyn Error>> {
    let base: DateTime<Utc> = "2024-03-05T09:00:00Z".parse()?;
    let mut batch = Batch::default();
    let mut last = vec![("", base); ISSUES.len()];
    let mut n = 0;
    for k in 0..per_issue {
        for ((node_id, number, case_id, _), last_of_issue) in ISSUES.iter().zip(last.iter_mut()) {
            let issue = (*node_id, *number);
            let state_time = base + TimeDelta::seconds(2 * k as i64);
            let (action, state, status) = if k % 2 == 0 {
                ("closed", "closed", "CLOSED")
            } else {
                ("reopened", "open", "OPEN")
            };
            n += 1;
            batch.records.push(delivery(
                issue,
                "issues",
                n,
                state_time,
                json!({"action": action, "issue": {"state": state}}),
            )?);
            *last_of_issue = (status, state_time);

            let comment_id = 7_000_000 + n as u64;
            let comment_time = state_time + TimeDelta::seconds(1);
            let body = format!("Batch comment {k:03} on #{number}");
            n += 1;
            batch.records.push(delivery(
                issue,
                "issue_comment",
                n,
                comment_time,
                json!({"action": "created", "comment": {"id": comment_id, "body": body,
                       "created_at": rfc3339_secs(comment_time)}}),
            )?);
            batch.cells.push(public_comment_cell(
                "github",
                1,
                case_id,
                &format!("github:comment:{comment_id}"),
                ("monalisa", None),
                &body,
                comment_time,
            ));
        }
    }
    for ((_, _, case_id, seed_version), (status, time)) in ISSUES.iter().zip(&last) {
        let stamps = json!({"status": {"event_time": rfc3339_secs(*time), "sequence": null}});
        let changes = json!({
            "status": status,
            "version": seed_version + per_issue as u64,
            "field_stamps": stamps,
        });
        if let Value::Object(changes) = changes {
            batch.expect_case(1, case_id, changes);
        }
    }
    Ok(batch)
}
