//! The `reader-servicenow` command line, no broker needed: `--help` of every subcommand,
//! `check-config` on the bad configurations of `fixtures/e2e/check-config/` (exit 78
//! naming the key), the config layers, and `replay --dry-run` of raw ServiceNow records
//! against the case sandbox (in process, real loopback gRPC): one decision per changelog,
//! exit 0 even when some inputs do not decode, nothing applied.

use std::error::Error;
use testkit::scenarios::replay::{RawInputFiles, RawReplay};

const BIN: &str = env!("CARGO_BIN_EXE_reader-servicenow");

testkit::reader_cli_tests! {
    bin: BIN,
    flavor: "servicenow",
    source_flag: "--instance-name",
    config_keys: [
        "servicenow.integration_user",
        "CASE_READER_SERVICENOW_INTEGRATION_USER",
        "servicenow.sync_marker",
    ],
}

const REPLAY: RawReplay = RawReplay {
    bin: BIN,
    flavor: "servicenow",
    org_id: "1001",
    source_flag: "--instance-name",
    inputs: raw_files,
};

/// Raw ServiceNow inputs: a contract diff without the envelope fields, a Table-API record
/// (display-value pairs, updated by our integration user), and JSON lines mixing a journal
/// row, a truncated line and an array.
fn raw_files() -> Result<RawInputFiles, Box<dyn Error>> {
    let inputs: [(&str, &str); 3] = [
        (
            "diff.json",
            r#"{"sysId": "be5fc89a31cc968c758ec576a4ba3425", "updatedTime": "2024-03-04T10:15:00Z",
                "updatedBy": "jane.roe", "data": {"correlationId": "5e1f0c0a-9b1e-4c0a-8d2e-000000000001",
                "state": "7", "comment": "Closing, the relay is fixed.", "sysModCount": "4"}}"#,
        ),
        (
            "record.json",
            r#"{"result": {"sys_id": "be5fc89a31cc968c758ec576a4ba3425", "number": "INC0010001",
                "state": {"display_value": "In Progress", "value": "2"},
                "sys_updated_on": {"display_value": "03/04/2024 11:15:00", "value": "2024-03-04 10:15:00"},
                "sys_updated_by": "datadog", "sys_mod_count": "5",
                "correlation_id": "5e1f0c0a-9b1e-4c0a-8d2e-000000000001"}}"#,
        ),
        (
            "journal.jsonl",
            concat!(
                r#"{"element": "work_notes", "element_id": "be5fc89a31cc968c758ec576a4ba3425", "sys_created_on": "2024-03-04 10:20:00", "sys_created_by": "ops.engineer", "value": "Relay restarted."}"#,
                "\n",
                r#"{"sysId": "be5fc89a31cc"#,
                "\n[1, 2]\n"
            ),
        ),
    ];
    Ok(inputs
        .into_iter()
        .map(|(name, text)| (name, text.as_bytes().to_vec()))
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_of_raw_records_prints_a_decision_per_changelog_and_applies_nothing() {
    REPLAY
        .prints_decisions_and_applies_nothing(
            "acme",
            &[
                ("diff.json", "update_status", "would_apply", ""),
                ("diff.json", "create_comment", "would_apply", ""),
                (
                    "record.json",
                    "update_status",
                    "filtered",
                    "break_synchronization_cycle",
                ),
                ("journal.jsonl:1", "create_comment", "would_apply", ""),
                ("journal.jsonl:2", "", "decode_error", "not_json"),
                ("journal.jsonl:3", "", "decode_error", "wrong_type"),
            ],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_dry_run_for_an_unknown_instance_filters_every_changelog() {
    REPLAY
        .for_an_unknown_source_prints(
            "globex",
            1,
            &[
                (
                    "diff.json",
                    "update_status",
                    "filtered",
                    "instance_not_configured",
                ),
                (
                    "diff.json",
                    "create_comment",
                    "filtered",
                    "instance_not_configured",
                ),
            ],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_raw_records_without_the_instance_is_a_usage_error() {
    REPLAY.without_the_source_flag_is_a_usage_error().await;
}
