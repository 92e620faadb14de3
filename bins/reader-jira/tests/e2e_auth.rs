//! Faults of the reader's own setup, end to end: the real `reader-jira` binary on Tansu with
//! the case sandbox (in process, real loopback gRPC).
//!
//! - The sandbox requires a bearer token. While the token is missing or wrong nothing is
//!   acknowledged (no commit, nothing applied, readiness false, the fault counted); once the
//!   token file is fixed in place, or rotated after the server's token, every event
//!   applies — none lost.
//! - The sandbox serves TLS with a certificate from another CA than the reader trusts: the
//!   reader acknowledges nothing and, after its retry budget, exits non-zero; restarted
//!   with the right CA it applies every event.
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
use std::path::Path;
use std::time::Duration;
use testkit::broker::TestBroker;
use testkit::fixtures::{fixture_json, fixtures_dir, with_fields};
use testkit::offsets::{commit_targets, committed_offsets};
use testkit::produce::{Delivered, TestRecord, produce};
use testkit::prometheus::prometheus_name;
use testkit::reader::ReaderProcess;
use testkit::reader_config::ReaderConfig;
use testkit::sandbox::Sandbox;
use testkit::scenarios::e2e::{PARTITIONS, tansu, wait_committed};
use testkit::scenarios::spawn_reader;
use testkit::wait::unique_name;

const BIN: &str = env!("CARGO_BIN_EXE_reader-jira");
/// How long a refused reader is watched for anything acknowledged.
const REFUSED_FOR: Duration = Duration::from_secs(4);

/// `n` comments on SUP-101, ids from `first`.
fn comments(first: u32, n: u32) -> Vec<TestRecord> {
    let template = fixture_json("jira/payloads/create_comment.json").unwrap();
    (first..first + n)
        .map(|id| {
            let fields = [
                ("/webhook/comment/id", json!(id.to_string())),
                (
                    "/webhook/comment/body",
                    json!(format!("auth e2e comment {id}")),
                ),
            ];
            let value = with_fields(&template, &fields).unwrap();
            TestRecord::keyed(jira::record_key(1, "10101"), value)
        })
        .collect()
}

fn applied(sandbox: &Sandbox) -> usize {
    sandbox
        .cells_json()
        .iter()
        .filter(|c| c.to_string().contains("auth e2e comment"))
        .count()
}

fn configuration_faults(reader: &ReaderProcess) -> f64 {
    reader.metrics().map_or(0.0, |m| {
        m.sum(
            &prometheus_name(observability::names::CONFIGURATION_FAULT),
            &[],
        )
    })
}

/// Watches a refused reader for [`REFUSED_FOR`]: the fault is counted, readiness is false,
/// nothing is applied and no offset passes the first record of `batch`.
async fn assert_refused(
    what: &str,
    reader: &mut ReaderProcess,
    sandbox: &Sandbox,
    applied_before: usize,
    committed: impl AsyncFn() -> BTreeMap<i32, Option<i64>>,
    batch: &[Delivered],
) {
    let started = std::time::Instant::now();
    while configuration_faults(reader) == 0.0 {
        assert!(
            reader.is_running() && started.elapsed() < Duration::from_secs(30),
            "{what}: no configuration fault counted within 30 s\n{}",
            reader.tail(40)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(REFUSED_FOR).await;
    assert!(
        reader.is_running(),
        "{what}: the reader waits, it does not exit yet\n{}",
        reader.tail(30)
    );
    assert!(
        !reader.ready(),
        "{what}: not ready while the Case API refuses it"
    );
    assert_eq!(
        applied(sandbox),
        applied_before,
        "{what}: 0 applied while refused"
    );
    let committed = committed().await;
    for d in batch {
        let c = committed.get(&d.partition).copied().flatten().unwrap_or(0);
        assert!(
            c <= d.offset,
            "{what}: committed {c} past the refused record {d:?}"
        );
    }
}

fn write_token(path: &Path, token: &str) {
    // As a Secret update does it: a new file swapped in place.
    let next = path.with_extension("next");
    std::fs::write(&next, format!("{token}\n")).unwrap();
    std::fs::rename(&next, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_or_wrong_token_acknowledges_nothing_and_the_fix_loses_nothing() {
    let broker = tansu();
    let sandbox = Sandbox::start(&fixtures_dir().join("jira/seed.json"))
        .await
        .unwrap();
    sandbox.store.require_token(Some("token-a".into()));
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_name("e2e-jira-auth");
    let group = unique_name("e2e-jira-auth-group");
    broker.create_topic(&topic, PARTITIONS).unwrap();
    let committed = async || {
        committed_offsets(&bootstrap, &group, &topic, PARTITIONS)
            .await
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("case-api-token");

    let first = produce(&bootstrap, &topic, &comments(97_000, 5), "none")
        .await
        .unwrap();
    let config = ReaderConfig::e2e(&bootstrap, &topic, &group, &sandbox.url);

    // 1. No token configured.
    let mut reader = spawn_reader(
        "reader-jira",
        BIN,
        &config.args(dir.path(), "no-token", "run").unwrap(),
        &config.env,
    );
    reader
        .health_addr(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_refused("no token", &mut reader, &sandbox, 0, &committed, &first).await;
    assert!(
        reader
            .lines()
            .iter()
            .any(|l| l.contains("requires a token") && l.contains("case_api.auth_token_file")),
        "the log names the fix\n{}",
        reader.tail(30)
    );
    reader.terminate(Duration::from_secs(30)).unwrap();

    // 2. A wrong token in the file, then fixed in place: everything applies.
    write_token(&token_file, "not-the-token");
    let mut with_file = config.clone();
    with_file.set_flag(
        "case_api.auth_token_file",
        &token_file.display().to_string(),
    );
    let mut reader = spawn_reader(
        "reader-jira",
        BIN,
        &with_file.args(dir.path(), "token-file", "run").unwrap(),
        &with_file.env,
    );
    reader
        .health_addr(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_refused("wrong token", &mut reader, &sandbox, 0, &committed, &first).await;
    let refused_line = format!("refused the token from {}", token_file.display());
    assert!(
        reader.lines().iter().any(|l| l.contains(&refused_line)),
        "the log names the token file\n{}",
        reader.tail(30)
    );
    assert!(
        !reader.lines().iter().any(|l| l.contains("not-the-token")),
        "the token is never logged"
    );
    write_token(&token_file, "token-a");
    wait_committed(
        &bootstrap,
        &group,
        &topic,
        &commit_targets(&first),
        &mut reader,
    )
    .await;
    assert_eq!(applied(&sandbox), 5, "5 produced, 5 applied after the fix");
    reader
        .wait_ready(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // 3. The server rotates first; the secret file follows.
    sandbox.store.require_token(Some("token-b".into()));
    let second = produce(&bootstrap, &topic, &comments(98_000, 5), "none")
        .await
        .unwrap();
    assert_refused(
        "rotated server token",
        &mut reader,
        &sandbox,
        5,
        &committed,
        &second,
    )
    .await;
    write_token(&token_file, "token-b");
    let mut all = first.clone();
    all.extend(second.iter().copied());
    wait_committed(
        &bootstrap,
        &group,
        &topic,
        &commit_targets(&all),
        &mut reader,
    )
    .await;
    assert_eq!(
        applied(&sandbox),
        10,
        "10 produced, 10 applied after the rotation"
    );
    eprintln!(
        "e2e auth: 10 produced, 10 applied after the fixes, 0 acknowledged while the token was missing or wrong ({} configuration faults counted by the last reader)",
        configuration_faults(&reader)
    );
    testkit::scenarios::e2e::stop_with_sigterm(&mut reader).await;
}

/// A test certificate authority and its PEM.
fn test_ca(name: &str) -> (rcgen::CertifiedIssuer<'static, rcgen::KeyPair>, String) {
    let issuer = testkit::tls::test_ca(name).unwrap();
    let pem = issuer.pem();
    (issuer, pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_certificate_from_another_ca_acknowledges_nothing_and_the_right_ca_loses_nothing()
{
    let broker = tansu();
    let (ca, ca_pem) = test_ca("case api CA");
    let (_other, other_pem) = test_ca("some other CA");
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let store =
        case_sandbox::Store::load_seed_file(&fixtures_dir().join("jira/seed.json")).unwrap();
    let server = case_sandbox::serve_tls(
        "127.0.0.1:0".parse().unwrap(),
        store.clone(),
        case_sandbox::ServerTls {
            cert_pem: leaf.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
            client_ca_pem: None,
        },
    )
    .await
    .unwrap();
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_name("e2e-jira-tls");
    let group = unique_name("e2e-jira-tls-group");
    broker.create_topic(&topic, PARTITIONS).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (right, wrong) = (
        dir.path().join("right-ca.pem"),
        dir.path().join("other-ca.pem"),
    );
    std::fs::write(&right, &ca_pem).unwrap();
    std::fs::write(&wrong, &other_pem).unwrap();
    let cells_before = store.timeline_cells().len();
    let delivered = produce(&bootstrap, &topic, &comments(99_000, 5), "none")
        .await
        .unwrap();

    let mut config = ReaderConfig::e2e(&bootstrap, &topic, &group, &server.url());
    // A small budget: three attempts, then the reader exits without committing.
    config.set_flag("kafka.retry_max_attempts", "3");
    config.set_flag("kafka.retry_max_backoff_ms", "200");
    let mut wrong_ca = config.clone();
    wrong_ca.set_flag("case_api.ca_file", &wrong.display().to_string());
    let mut reader = spawn_reader(
        "reader-jira",
        BIN,
        &wrong_ca.args(dir.path(), "wrong-ca", "run").unwrap(),
        &wrong_ca.env,
    );
    let status = reader
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap_or_else(|| {
            panic!(
                "the reader gives up after its retry budget\n{}",
                reader.tail(40)
            )
        });
    assert!(
        !status.success(),
        "exits non-zero after the budget: {status}"
    );
    assert!(
        reader
            .lines()
            .iter()
            .any(|l| l.contains("TLS handshake failed") && l.contains("UnknownIssuer")),
        "the log names the certificate problem\n{}",
        reader.tail(40)
    );
    assert_eq!(
        store.timeline_cells().len(),
        cells_before,
        "0 applied with the wrong CA"
    );
    let committed = committed_offsets(&bootstrap, &group, &topic, PARTITIONS)
        .await
        .unwrap();
    for d in &delivered {
        let c = committed.get(&d.partition).copied().flatten().unwrap_or(0);
        assert!(c <= d.offset, "committed {c} past the refused record {d:?}");
    }

    let mut right_ca = config.clone();
    right_ca.set_flag("case_api.ca_file", &right.display().to_string());
    let mut reader = spawn_reader(
        "reader-jira",
        BIN,
        &right_ca.args(dir.path(), "right-ca", "run").unwrap(),
        &right_ca.env,
    );
    wait_committed(
        &bootstrap,
        &group,
        &topic,
        &commit_targets(&delivered),
        &mut reader,
    )
    .await;
    assert_eq!(
        store.timeline_cells().len() - cells_before,
        5,
        "5 produced, 5 applied with the right CA"
    );
    testkit::scenarios::e2e::stop_with_sigterm(&mut reader).await;
    server.shutdown().await.unwrap();
}
