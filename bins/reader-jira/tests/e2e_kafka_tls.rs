//! Kafka over TLS, end to end: the real `reader-jira` binary against Tansu behind stunnel
//! (the broker advertises the TLS port, so every connection is TLS), with the case sandbox.
//!
//! - Mutual TLS: `check-config` passes with the test CA and the client certificate, fails
//!   naming `ssl.ca.location` with another CA, and fails without the client certificate;
//!   the reader consumes, commits and, after kill -9, restarts through the terminator and
//!   applies the rest, each event once.
//!
//! The TLS terminator is Debian's stunnel (`STUNNEL_BIN`, or on `PATH`; `cargo xtask test`
//! installs it when missing).
#![cfg(feature = "real-broker")]
// Test helpers fail loudly: an unwrap here is an assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;
use testkit::broker::TestBroker;
use testkit::fixtures::{fixture_json, fixtures_dir, with_fields};
use testkit::offsets::{commit_targets, committed_offsets_with};
use testkit::produce::{Delivered, TestProducer, TestRecord};
use testkit::reader_config::ReaderConfig;
use testkit::sandbox::Sandbox;
use testkit::scenarios::cli::run_cli;
use testkit::scenarios::e2e::{PARTITIONS, wait_committed_with};
use testkit::scenarios::spawn_reader;
use testkit::tls::{ClientCertificates, TlsTansu};
use testkit::wait::unique_name;

const BIN: &str = env!("CARGO_BIN_EXE_reader-jira");

/// `n` comments on SUP-101, ids from `first`.
fn comments(first: u32, n: u32) -> Vec<TestRecord> {
    let template = fixture_json("jira/payloads/create_comment.json").unwrap();
    (first..first + n)
        .map(|id| {
            let fields = [
                ("/webhook/comment/id", json!(id.to_string())),
                (
                    "/webhook/comment/body",
                    json!(format!("kafka tls e2e comment {id}")),
                ),
            ];
            let value = with_fields(&template, &fields).unwrap();
            TestRecord::keyed(jira::record_key(1, "10101"), value)
        })
        .collect()
}

/// Every stored cell of the comments of this test, by text: an event applied twice would
/// show twice.
fn applied(sandbox: &Sandbox) -> Vec<String> {
    let mut cells: Vec<String> = sandbox
        .cells_json()
        .iter()
        .map(ToString::to_string)
        .filter(|c| c.contains("kafka tls e2e comment"))
        .collect();
    cells.sort();
    cells
}

async fn produce_tls(broker: &TlsTansu, topic: &str, records: &[TestRecord]) -> Vec<Delivered> {
    let mut builder = TestProducer::builder(&broker.bootstrap_servers());
    for (key, value) in broker.client_properties() {
        builder = builder.with(&key, value);
    }
    builder
        .build()
        .unwrap()
        .send_all(topic, records)
        .await
        .unwrap()
}

/// The reader's configuration with `properties` as `[kafka.librdkafka]` keys.
fn with_kafka_properties(
    config: &ReaderConfig,
    properties: &BTreeMap<String, String>,
) -> ReaderConfig {
    let mut config = config.clone();
    for (key, value) in properties {
        config.set_file(&format!("kafka.librdkafka.{key}"), value);
    }
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reader_consumes_commits_and_restarts_through_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let broker = TlsTansu::start(dir.path(), ClientCertificates::Required)
        .unwrap_or_else(|e| panic!("the Kafka TLS tests need Tansu and stunnel: {e}"));
    let sandbox = Sandbox::start(&fixtures_dir().join("jira/seed.json"))
        .await
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_name("e2e-jira-kafka-tls");
    let group = unique_name("e2e-jira-kafka-tls-group");
    broker.create_topic(&topic, PARTITIONS).unwrap();
    let properties = broker.client_properties();
    let base = ReaderConfig::e2e(&bootstrap, &topic, &group, &sandbox.url);
    let config = with_kafka_properties(&base, &properties);

    // check-config: the right CA and client certificate pass, through the terminator.
    let check = run_cli(
        BIN,
        &config.args(dir.path(), "check-ok", "check-config").unwrap(),
        &config.env_pairs(),
    )
    .await;
    assert_eq!(
        check.code,
        Some(0),
        "check-config passes\n{}{}",
        check.stdout,
        check.stderr
    );
    assert!(
        check.stdout.lines().any(|l| l.starts_with("ok")
            && l.contains("kafka security")
            && l.contains("ssl through librdkafka")
            && l.contains("with OpenSSL")),
        "check-config names Kafka's TLS\n{}",
        check.stdout
    );
    assert!(
        check.stdout.contains(&format!("kafka topic {topic}"))
            && check.stdout.contains("3 partition(s)"),
        "check-config read the topic through TLS\n{}",
        check.stdout
    );
    eprintln!("check-config through mutual TLS:\n{}", check.stdout);

    // Another CA: check-config fails and names the setting to fix.
    let mut wrong = properties.clone();
    wrong.insert(
        "ssl.ca.location".into(),
        broker.pki().other_ca.display().to_string(),
    );
    let wrong_ca = with_kafka_properties(&base, &wrong);
    let check = run_cli(
        BIN,
        &wrong_ca
            .args(dir.path(), "check-wrong-ca", "check-config")
            .unwrap(),
        &wrong_ca.env_pairs(),
    )
    .await;
    assert_eq!(
        check.code,
        Some(1),
        "a wrong CA fails check-config\n{}{}",
        check.stdout,
        check.stderr
    );
    let kafka_line = check
        .stdout
        .lines()
        .find(|l| l.starts_with("fail") && l.contains("kafka "))
        .unwrap_or_else(|| panic!("a failed kafka line\n{}", check.stdout));
    assert!(
        kafka_line.contains("certificate verify failed") && kafka_line.contains("ssl.ca.location"),
        "the failure says the certificate did not verify and names ssl.ca.location\n{kafka_line}"
    );
    eprintln!("check-config with another CA:\n{}", check.stdout);

    // No client certificate: the terminator refuses the handshake.
    let mut anonymous = properties.clone();
    anonymous.remove("ssl.certificate.location");
    anonymous.remove("ssl.key.location");
    let anonymous = with_kafka_properties(&base, &anonymous);
    let check = run_cli(
        BIN,
        &anonymous
            .args(dir.path(), "check-no-cert", "check-config")
            .unwrap(),
        &anonymous.env_pairs(),
    )
    .await;
    assert_eq!(
        check.code,
        Some(1),
        "no client certificate fails check-config\n{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .lines()
            .any(|l| l.starts_with("fail") && l.contains("kafka ")),
        "{}",
        check.stdout
    );

    // The reader consumes and commits through TLS.
    let first = produce_tls(&broker, &topic, &comments(96_000, 5)).await;
    let mut reader = spawn_reader(
        "reader-jira",
        BIN,
        &config.args(dir.path(), "run-1", "run").unwrap(),
        &config.env,
    );
    wait_committed_with(
        &bootstrap,
        &properties,
        &group,
        &topic,
        &commit_targets(&first),
        &mut reader,
    )
    .await;
    assert_eq!(applied(&sandbox).len(), 5, "5 produced, 5 applied");

    // kill -9, more events while it is down, a restart through the terminator.
    reader.kill9().unwrap();
    let second = produce_tls(&broker, &topic, &comments(96_100, 5)).await;
    let mut reader = spawn_reader(
        "reader-jira",
        BIN,
        &config.args(dir.path(), "run-2", "run").unwrap(),
        &config.env,
    );
    let mut all = first.clone();
    all.extend(second.iter().copied());
    wait_committed_with(
        &bootstrap,
        &properties,
        &group,
        &topic,
        &commit_targets(&all),
        &mut reader,
    )
    .await;
    reader
        .wait_ready(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cells = applied(&sandbox);
    let mut unique = cells.clone();
    unique.dedup();
    assert_eq!(cells.len(), 10, "10 produced, 10 applied\n{cells:#?}");
    assert_eq!(unique.len(), 10, "each applied once\n{cells:#?}");
    let committed = committed_offsets_with(&bootstrap, &properties, &group, &topic, PARTITIONS)
        .await
        .unwrap();
    assert_eq!(
        committed
            .into_iter()
            .filter_map(|(p, c)| c.map(|c| (p, c)))
            .collect::<BTreeMap<_, _>>(),
        commit_targets(&all),
        "committed exactly past every produced record"
    );
    eprintln!(
        "kafka tls e2e: 10 produced over mutual TLS, 10 applied once, committed through the terminator across a kill -9"
    );
    testkit::scenarios::e2e::stop_with_sigterm(&mut reader).await;
}
