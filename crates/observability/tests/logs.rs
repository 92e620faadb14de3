//! JSON logs: the per-outcome line carries the previous service's key fields, and free text (comment,
//! description, title, author name, error messages quoting a payload) never appears.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{JIRA, changes, payload};
use observability::{PipelineTelemetry, TelemetryConfig, build_subscriber};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::MakeWriter;

const MARKER: &str = "MARKER-7f3a-customer-secret";

/// Collects everything written, for inspection.
/// One log line a test expects: what it is, how to find it, fields it must carry.
type ExpectedLine = (&'static str, fn(&Value) -> bool, Vec<(&'static str, Value)>);

/// The log line `picks` finds (`what` names it), checked to carry each of `fields`.
#[track_caller]
fn logged<'a>(
    lines: &'a [Value],
    what: &str,
    picks: impl Fn(&Value) -> bool,
    fields: &[(&str, Value)],
) -> &'a Value {
    let line = lines
        .iter()
        .find(|l| picks(l))
        .unwrap_or_else(|| panic!("{what} is logged"));
    for (name, value) in fields {
        assert_eq!(&line[*name], value, "{what}: {name}");
    }
    line
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test]
async fn free_text_never_reaches_the_logs_and_key_fields_do() {
    let captured = Captured::default();
    let config = TelemetryConfig {
        log_filter: "trace".into(),
        ..TelemetryConfig::new("jira")
    };
    let _subscriber = tracing::subscriber::set_default(
        build_subscriber(&config, captured.clone(), None).unwrap(),
    );
    let pipeline = common::pipeline(MARKER).with_telemetry(Arc::new(PipelineTelemetry::new(JIRA)));

    let wrong_type = serde_json::json!({"org": MARKER, "changes": []}).to_string();
    let payloads = [
        changes(
            MARKER,
            2,
            &[
                ("apply", "comment"),
                ("apply", "description"),
                ("override", "status"),
                ("conflict", "description"),
                ("echo", "comment"),
                ("unconfigured", "comment"),
                ("permanent", "description"),
                ("rejected", "comment"),
                ("retry", "comment"),
            ],
        ),
        // serde quotes the offending value in its message: the decoder's error holds the marker.
        payload(wrong_type),
        payload(format!("not json {MARKER}")),
    ];
    let mut labels = Vec::new();
    for p in &payloads {
        let report = pipeline.run(p).await;
        labels.extend(report.outcomes.iter().map(|o| o.outcome.label()));
    }
    assert_eq!(
        labels,
        [
            "processed",
            "processed",
            "processed",
            "filtered",
            "filtered",
            "filtered",
            "permanent_error",
            "permanent_error",
            "retry_needed",
            "decode_failed",
            "decode_failed"
        ],
        "every kind of outcome is exercised"
    );

    let text = captured.text();
    assert!(
        !text.contains(MARKER),
        "free text leaked into the logs:\n{text}"
    );
    assert!(
        !text.contains("7f3a"),
        "a piece of the free text leaked into the logs:\n{text}"
    );

    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let outcome_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("outcome").is_some())
        .collect();
    assert_eq!(
        outcome_lines.len(),
        labels.len(),
        "one log line per outcome"
    );

    let applied = logged(
        &lines,
        "the applied comment",
        |l| l["message"] == "changelog applied" && l["changelog_type"] == "create_comment",
        &[
            ("level", json!("INFO")),
            ("third_party_type", json!("jira")),
            ("org_id", json!(42)),
            ("item_key", json!("PROJ-7")),
            ("event_id", json!("test:apply:0")),
            ("is_from_datadog", json!(false)),
        ],
    );
    // The integration's own field, declared as data: its span carries it (a `tracing` field
    // name is static per callsite), so it is in the line's "span" object.
    assert_eq!(
        applied["span"],
        json!({"name": "item_key", "jira_issue_key": "PROJ-7"}),
        "the Jira issue key"
    );
    let evt = applied["evt_timestamp"].as_str().expect("evt_timestamp");
    assert!(
        chrono::DateTime::parse_from_rfc3339(evt).is_ok(),
        "evt_timestamp is RFC 3339: {evt}"
    );

    // Each line: what it is, how to find it, and fields it must carry.
    let expected: [ExpectedLine; 3] = [
        (
            "the echo",
            |l| l["reason"] == "break_synchronization_cycle",
            vec![
                ("is_from_datadog", json!(true)),
                ("message", json!("changelog filtered")),
            ],
        ),
        (
            "the rejected write",
            |l| l["outcome"] == "permanent_error" && l["error_kind"] == "case_api_invalid_argument",
            vec![("level", json!("ERROR")), ("rpc", json!("UpdateCase"))],
        ),
        (
            "the decode failure",
            |l| l["outcome"] == "decode_failed" && l["error_path"] == "$.org",
            vec![
                ("error_kind", json!("invalid_org")),
                ("topic", json!("jira-events")),
                ("offset", json!(100)),
            ],
        ),
    ];
    for (what, picks, fields) in expected {
        logged(&lines, what, picks, &fields);
    }
}
