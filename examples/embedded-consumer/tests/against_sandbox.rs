//! The example consumer run as a platform team would run it: a real-protocol broker
//! (librdkafka's mock cluster), the sandbox Case API seeded with the Jira fixtures, and one
//! fixture webhook on the topic. The consumer applies it (the case's title changes), prints
//! the outcome, and drains and exits 0 on SIGTERM.

use std::path::PathBuf;
use std::time::Duration;
use testkit::broker::{MockBroker, TestBroker};
use testkit::produce::{TestRecord, produce};
use testkit::reader::ReaderSpec;
use testkit::sandbox::Sandbox;
use testkit::wait::wait_until;
use thirdparty_core::{CaseId, OrgId};

const TOPIC: &str = "collaboration_integrations_jira";
/// The seeded case that `fixtures/jira/payloads/update_title.json` targets.
const CASE: &str = "c0a8012e-7f3b-4d2a-9e1c-000000000101";
/// The summary that payload sets.
const NEW_TITLE: &str = "Checkout returns HTTP 500 for EU and UK customers";

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_consumer_applies_a_jira_webhook_and_drains_on_sigterm()
-> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(&repo("fixtures/jira/seed.json")).await?;
    let case_id = CaseId::from(CASE);
    let title = |sandbox: &Sandbox| {
        sandbox
            .store
            .case(OrgId(1), &case_id)
            .map(|c| c.title.expose().to_owned())
    };
    assert_ne!(
        title(&sandbox).as_deref(),
        Some(NEW_TITLE),
        "the seed's title differs"
    );

    let broker = MockBroker::start()?;
    broker.create_topic(TOPIC, 1)?;
    let webhook = std::fs::read(repo("fixtures/jira/payloads/update_title.json"))?;
    produce(
        &broker.bootstrap_servers(),
        TOPIC,
        &[TestRecord::keyed(format!("1:{CASE}"), webhook)],
        "lz4",
    )
    .await?;

    let mut consumer = ReaderSpec::new(
        "embedded-jira-consumer",
        env!("CARGO_BIN_EXE_embedded-jira-consumer"),
    )
    .args([
        "--brokers",
        &broker.bootstrap_servers(),
        "--case-api",
        &sandbox.url,
        "--auto-offset-reset",
        "earliest",
    ])
    .spawn()?;
    let applied = wait_until(Duration::from_secs(60), "the case title to change", || {
        title(&sandbox).as_deref() == Some(NEW_TITLE)
    })
    .await;
    if let Err(e) = applied {
        return Err(format!("{e}; consumer output:\n{}", consumer.tail(40)).into());
    }
    consumer.sigterm()?;
    let status = consumer
        .wait_exit(Duration::from_secs(30))
        .await
        .ok_or("the consumer did not exit within 30 s of SIGTERM")?;
    let lines = consumer.lines();
    assert!(status.success(), "exit {status}: {}", lines.join("\n"));
    let outcome = lines
        .iter()
        .find(|l| l.contains("\"outcome\""))
        .ok_or_else(|| format!("no outcome line in {lines:?}"))?;
    let outcome: serde_json::Value = serde_json::from_str(outcome)?;
    assert_eq!(outcome["outcome"], "processed", "{outcome}");
    assert_eq!(outcome["changelog_type"], "update_title", "{outcome}");
    assert_eq!(outcome["offset"], 0, "{outcome}");
    Ok(())
}
