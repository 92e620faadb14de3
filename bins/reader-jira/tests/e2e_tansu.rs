//! End-to-end tests of the real `reader-jira` binary (a child process) against a real
//! Kafka-compatible broker (Tansu) and the case sandbox (in process, real loopback gRPC).
//! Switched on by the cargo feature `real-broker`; once on, a test that cannot start Tansu
//! fails and says why (set `TANSU_BIN`; `cargo xtask test` installs it).
//!
//! - The scripted sequence of `fixtures/jira/e2e/sequence.json` → the cases, the timeline
//!   and the reader's Prometheus counters are exactly the expected ones; SIGTERM → exit 0.
//! - A larger batch: kill -9 mid-stream, restart, SIGTERM mid-stream, restart → the final
//!   state is exactly the one an uninterrupted run gives, with no duplicate timeline cell.
//!
//! Tansu's high watermark is not reliable: progress is judged by the group's committed
//! offsets against the offsets the producer got back, never by lag.
#![cfg(feature = "real-broker")]

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use std::error::Error;
use testkit::clock::rfc3339_secs;
use testkit::fixtures::{fixture_json, with_fields};
use testkit::produce::TestRecord;
use testkit::scenarios::e2e::{Batch, public_comment_cell};

testkit::reader_e2e_tests!(env!("CARGO_BIN_EXE_reader-jira"), "jira", || batch(60));

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

fn payload_template(name: &str) -> Result<Value, Box<dyn Error>> {
    Ok(fixture_json(&format!("jira/payloads/{name}"))?)
}

/// A copy of the payload `template` for the issue `issue` (id, key) at `time`, with the
/// values at the JSON pointers `fields` replaced too.
fn filled(
    template: &Value,
    issue: (&str, &str),
    time: DateTime<Utc>,
    fields: &[(&str, Value)],
) -> Result<Vec<u8>, Box<dyn Error>> {
    let mut all = vec![
        ("/webhook/timestamp", json!(time.timestamp_millis())),
        ("/webhook/issue/id", json!(issue.0)),
        ("/webhook/issue/key", json!(issue.1)),
    ];
    all.extend(fields.iter().cloned());
    Ok(with_fields(template, &all)?)
}

/// `per_issue` title changes and as many comments on SUP-101 and SUP-102, interleaved, one
/// second apart, built from the fixture payloads `update_title.json` and
/// `create_comment.json`; and what they leave: the last title (version + `per_issue`, the
/// title stamped with its time) and one public cell per comment.
fn batch(per_issue: usize) -> Result<Batch, Box<dyn Error>> {
    let title_template = payload_template("update_title.json")?;
    let comment_template = payload_template("create_comment.json")?;
    let base: DateTime<Utc> = "2026-03-03T09:00:00Z".parse()?;
    let mut batch = Batch::default();
    // The last (title, time) of each issue.
    let mut last = vec![(String::new(), base); ISSUES.len()];
    for k in 0..per_issue {
        for (i, ((issue_id, issue_key, case_id, _), last_of_issue)) in
            ISSUES.iter().zip(last.iter_mut()).enumerate()
        {
            let key = jira::record_key(1, issue_id);
            let title_time = base + TimeDelta::seconds(2 * k as i64);
            let comment_time = title_time + TimeDelta::seconds(1);

            let payload = |template, time, fields: &[(&str, Value)]| {
                filled(template, (issue_id, issue_key), time, fields)
            };

            let title = format!("{issue_key} batch title {k:03}");
            let title_change = payload(
                &title_template,
                title_time,
                &[
                    ("/webhook/issue/fields/summary", json!(title)),
                    (
                        "/webhook/changelog/id",
                        json!(format!("{}", 80_000 + 1_000 * i + k)),
                    ),
                    (
                        "/webhook/changelog/items/0/fromString",
                        json!(last_of_issue.0),
                    ),
                    ("/webhook/changelog/items/0/toString", json!(title)),
                ],
            )?;
            batch
                .records
                .push(TestRecord::keyed(key.clone(), title_change));
            *last_of_issue = (title, title_time);

            let comment_id = format!("{}", 90_000 + 1_000 * i + k);
            let body = format!("Batch comment {k:03} on {issue_key}");
            let fields = [
                ("/webhook/comment/id", json!(comment_id)),
                ("/webhook/comment/body", json!(body)),
            ];
            let comment = payload(&comment_template, comment_time, &fields)?;
            batch.records.push(TestRecord::keyed(key, comment));
            batch.cells.push(public_comment_cell(
                "jira",
                1,
                case_id,
                &format!("jira:{comment_id}"),
                ("5f1a7c3e9b2d4e0011a2b3c5", Some("Grace Hopper")),
                &body,
                comment_time,
            ));
        }
    }
    for (i, ((_, _, case_id, seed_version), (title, time))) in ISSUES.iter().zip(&last).enumerate()
    {
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
            json!({"event_time": rfc3339_secs(*time), "sequence": null}),
        );
        let mut changes = serde_json::Map::new();
        changes.insert("title".into(), json!(title));
        changes.insert("version".into(), json!(seed_version + per_issue as u64));
        changes.insert("field_stamps".into(), Value::Object(stamps));
        batch.expect_case(1, case_id, changes);
    }
    Ok(batch)
}
