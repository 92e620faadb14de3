//! What an operator does with messages the reader did not apply, end to end: the real
//! `reader-jira` binary (child processes) on Tansu with the case sandbox (in process).
//!
//! The reader filters a status change whose value has no mapping (`field_value_not_mapped`)
//! and parks three messages in the dead-letter topic: one that does not decode, a title
//! change the Case API refused with `INVALID_ARGUMENT`, and a comment an operator
//! skip-listed. Then, with the reader stopped:
//! - the mapping is added in the sandbox and `replay --since --until` applies the filtered
//!   change (and only it);
//! - `replay --from-dead-letter` refuses the live group and `--commit --dry-run`; `--reason`
//!   selects (committed in a group of its own); `--commit` re-runs every parked record once
//!   (the refused title now applies, the skipped comment too, the undecodable one still does
//!   not decode) and a second run finds nothing left.
#![cfg(feature = "real-broker")]
// Test helpers fail loudly: an unwrap here is an assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;
use testkit::broker::TestBroker;
use testkit::dead_letter::parked_records;
use testkit::fixtures::{fixture_json, fixtures_dir, with_fields};
use testkit::offsets::commit_targets;
use testkit::produce::{TestRecord, produce};
use testkit::reader::CliOutput;
use testkit::reader_config::ReaderConfig;
use testkit::sandbox::Sandbox;
use testkit::scenarios::cli::{decisions, run_cli};
use testkit::scenarios::e2e::{PARTITIONS, stop_with_sigterm, tansu, wait_committed};
use testkit::scenarios::spawn_reader;
use testkit::wait::unique_name;
use thirdparty_core::CaseField;

const BIN: &str = env!("CARGO_BIN_EXE_reader-jira");
const CASE_101: &str = "c0a8012e-7f3b-4d2a-9e1c-000000000101";
const CASE_102: &str = "c0a8012e-7f3b-4d2a-9e1c-000000000102";

fn payload(name: &str) -> Value {
    fixture_json(&format!("jira/payloads/{name}")).unwrap()
}

/// `template` with the values at the JSON pointers replaced.
fn with(template: Value, fields: &[(&str, Value)]) -> Vec<u8> {
    with_fields(&template, fields).unwrap()
}

fn case(sandbox: &Sandbox, id: &str) -> Value {
    sandbox
        .cases_json()
        .into_iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("case {id} is in the seed"))
}

async fn replay(config: &ReaderConfig, dir: &std::path::Path, flags: &[&str]) -> CliOutput {
    let mut command = config.args(dir, "replay", "replay").unwrap();
    command.extend(flags.iter().map(|f| (*f).to_owned()));
    run_cli(BIN, &command, &config.env_pairs()).await
}

fn decided(out: &CliOutput) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = decisions(&out.stdout)
        .into_iter()
        .map(|d| (d.changelog_type, d.decision))
        .collect();
    got.sort();
    got
}

fn pair(changelog_type: &str, decision: &str) -> (String, String) {
    (changelog_type.to_owned(), decision.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filtered_then_mapped_applies_on_replay_since_and_parked_records_rerun_once() {
    let broker = tansu();
    let sandbox = Sandbox::start(&fixtures_dir().join("jira/seed.json"))
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_name("e2e-jira-replay");
    let group = unique_name("e2e-jira-replay-group");
    let dead_letter_topic = kafka_runtime::dead_letter::default_topic(&topic);
    broker.create_topic(&topic, PARTITIONS).unwrap();
    broker.create_topic(&dead_letter_topic, PARTITIONS).unwrap();
    let key_101 = jira::record_key(1, "10101");
    let key_102 = jira::record_key(1, "10102");

    // Status 10000 → 10002 ("Waiting for customer"): 10002 has no mapping yet.
    let since: DateTime<Utc> = Utc::now();
    let unmapped = TestRecord::keyed(
        key_101.clone(),
        with(payload("field_value_not_mapped.json"), &[]),
    );
    let first = produce(&bootstrap, &topic, &[unmapped], "none")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let until: DateTime<Utc> = Utc::now();
    let not_json =
        std::fs::read(fixtures_dir().join("jira/payloads/malformed_not_json.txt")).unwrap();
    let title = with(
        payload("update_title.json"),
        &[
            ("/webhook/timestamp", json!(1_772_528_400_000_i64)),
            ("/webhook/issue/id", json!("10102")),
            ("/webhook/issue/key", json!("SUP-102")),
            (
                "/webhook/issue/fields/summary",
                json!("Nightly export fixed"),
            ),
            (
                "/webhook/changelog/items/0/fromString",
                json!("Nightly export finishes late"),
            ),
            (
                "/webhook/changelog/items/0/toString",
                json!("Nightly export fixed"),
            ),
        ],
    );
    let comment = with(
        payload("create_comment.json"),
        &[
            ("/webhook/comment/id", json!("95001")),
            ("/webhook/comment/body", json!("Skipped, then replayed")),
        ],
    );
    let rest = [
        TestRecord::keyed(key_101.clone(), not_json),
        TestRecord::keyed(key_102, title),
        TestRecord::keyed(key_101, comment),
    ];
    let mut delivered = first;
    delivered.extend(produce(&bootstrap, &topic, &rest, "none").await.unwrap());
    let skipped = delivered[3];

    // The Case API refuses the first write (the title change) with INVALID_ARGUMENT.
    sandbox.store.faults().fail_next(
        case_sandbox::Rpc::UpdateCase,
        1,
        case_sandbox::FaultStatus::InvalidArgument,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut config = ReaderConfig::e2e(&bootstrap, &topic, &group, &sandbox.url);
    config.set_flag("kafka.dead_letter", "true");
    let mut run = config.clone();
    run.set_flag(
        "dd.kafka.consumer.skip_messages",
        &format!("{topic}:{}:{}", skipped.partition, skipped.offset),
    );
    let mut reader = spawn_reader(
        "reader-jira",
        BIN,
        &run.args(dir.path(), "reader-jira", "run").unwrap(),
        &run.env,
    );
    wait_committed(
        &bootstrap,
        &group,
        &topic,
        &commit_targets(&delivered),
        &mut reader,
    )
    .await;
    stop_with_sigterm(&mut reader).await;

    assert_eq!(
        case(&sandbox, CASE_101)["status"],
        "OPEN",
        "filtered, not applied"
    );
    assert_eq!(
        case(&sandbox, CASE_102)["title"],
        "Nightly export finishes late"
    );
    let parked = parked_records(
        &bootstrap,
        &dead_letter_topic,
        PARTITIONS,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let mut reasons: Vec<String> = parked.iter().filter_map(|p| p.reason()).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        ["decode_failed", "permanent_error", "skip_listed"],
        "the filtered change is a decision, not parked: {parked:#?}"
    );

    // The mapping is added; the time range holds only the filtered change.
    let mut settings = sandbox
        .store
        .settings()
        .into_iter()
        .find(|s| s.project_id.as_str() == "proj-support")
        .unwrap();
    settings
        .value_mappings
        .entry(CaseField::Status)
        .or_default()
        .insert("10002".into(), "IN_PROGRESS".into());
    sandbox.store.put_settings(settings);
    let (since, until) = (since.to_rfc3339(), until.to_rfc3339());
    let out = replay(
        &config,
        dir.path(),
        &["--output", "json", "--since", &since, "--until", &until],
    )
    .await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(decided(&out), [pair("update_status", "applied")], "{out:?}");
    assert!(
        out.stderr
            .contains("1 message(s), 1 decision(s): applied 1"),
        "{out:?}"
    );
    assert_eq!(case(&sandbox, CASE_101)["status"], "IN_PROGRESS");

    // The dead-letter topic: never as the live group; --reason selects; --commit once.
    let live = replay(
        &config,
        dir.path(),
        &["--from-dead-letter", "--group-id", &group],
    )
    .await;
    assert_eq!(live.code, Some(2), "{live:?}");
    assert!(live.stderr.contains("live consumer group"), "{live:?}");
    let dry_commit = replay(
        &config,
        dir.path(),
        &["--from-dead-letter", "--commit", "--dry-run"],
    )
    .await;
    assert_eq!(
        dry_commit.code,
        Some(2),
        "a dry run never records progress: {dry_commit:?}"
    );
    // One reason, committed in a group of its own: the full run below still sees all three.
    let only = replay(
        &config,
        dir.path(),
        &[
            "--from-dead-letter",
            "--reason",
            "decode_failed",
            "--commit",
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(only.code, Some(0), "{only:?}");
    assert_eq!(decided(&only), [pair("", "decode_error")], "{only:?}");
    assert!(
        only.stderr.contains("passed over 2 parked record(s)"),
        "{only:?}"
    );
    assert!(
        only.stderr.contains(".dead-letter-replay.decode_failed`"),
        "{only:?}"
    );

    let rerun = replay(
        &config,
        dir.path(),
        &["--from-dead-letter", "--commit", "--output", "json"],
    )
    .await;
    assert_eq!(rerun.code, Some(0), "{rerun:?}");
    assert_eq!(
        decided(&rerun),
        [
            pair("", "decode_error"),
            pair("create_comment", "applied"),
            pair("update_title", "applied"),
        ],
        "{rerun:?}"
    );
    assert!(
        decisions(&rerun.stdout)
            .iter()
            .all(|d| d.source.contains("(dead-letter ")),
        "each decision names the parked copy and its source: {rerun:?}"
    );
    assert_eq!(case(&sandbox, CASE_102)["title"], "Nightly export fixed");
    let comment_cells = sandbox
        .cells_json()
        .iter()
        .filter(|c| c.to_string().contains("Skipped, then replayed"))
        .count();
    assert_eq!(comment_cells, 1);

    let again = replay(
        &config,
        dir.path(),
        &["--from-dead-letter", "--commit", "--output", "json"],
    )
    .await;
    assert_eq!(again.code, Some(0), "{again:?}");
    assert!(decisions(&again.stdout).is_empty(), "{again:?}");
    assert!(again.stderr.contains("0 message(s)"), "{again:?}");
}
