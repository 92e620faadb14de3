//! A pipeline run sends its DogStatsD datagrams to a real UDP socket: names, types and tags.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{JIRA, changes, payload};
use observability::names::FILTERED;
use observability::{
    CacheStatsReporter, METRIC_NAMES, MetricsExporters, PipelineTelemetry, TelemetryConfig,
};
use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;
use thirdparty_core::CacheStats;

/// One DogStatsD line: `name:value|type|#k:v,k:v`.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    name: String,
    value: f64,
    kind: String,
    tags: BTreeSet<String>,
}

fn parse(line: &str) -> Line {
    let (name, rest) = line.split_once(':').expect("name:value");
    let mut parts = rest.split('|');
    let value = parts.next().unwrap().parse().expect("numeric value");
    let kind = parts.next().expect("type").to_owned();
    let tags = parts
        .find_map(|p| p.strip_prefix('#'))
        .map(|t| t.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    Line {
        name: name.to_owned(),
        value,
        kind,
        tags,
    }
}

fn tags(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Reads datagrams until `want` metric lines arrived; fails with what came if they don't
/// within the deadline.
fn receive(socket: &UdpSocket, want: usize) -> Vec<Line> {
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut lines = Vec::new();
    let mut buf = [0u8; 65_536];
    while lines.len() < want {
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => panic!(
                "expected {want} metric lines, got {} before {e}: {lines:#?}",
                lines.len()
            ),
        };
        let datagram = std::str::from_utf8(&buf[..n]).unwrap();
        lines.extend(datagram.lines().filter(|l| !l.is_empty()).map(parse));
    }
    lines
}

fn find<'a>(lines: &'a [Line], name: &str, with: &[&str]) -> &'a Line {
    lines
        .iter()
        .find(|l| l.name == name && tags(with).is_subset(&l.tags))
        .unwrap_or_else(|| panic!("no {name} with {with:?} in {lines:#?}"))
}

#[tokio::test]
async fn a_pipeline_run_sends_the_seed_metrics_over_udp() {
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = TelemetryConfig {
        statsd: Some(agent.local_addr().unwrap()),
        global_tags: vec![("env".into(), "test".into())],
        ..TelemetryConfig::new("jira")
    };
    let exporters = MetricsExporters::build(&config).unwrap();
    let pipeline = common::pipeline("plain").with_telemetry(Arc::new(PipelineTelemetry::new(JIRA)));

    {
        let _recorder = metrics::set_default_local_recorder(exporters.recorder());
        for p in [
            changes("plain", 1, &[("apply", "status")]),
            changes("plain", 1, &[("conflict", "status")]),
            changes("plain", 1, &[("out_of_order", "comment")]),
            changes("plain", 1, &[("override", "status")]),
            changes("plain", 1, &[("permanent", "status")]),
            payload("this is not json"),
        ] {
            let report = pipeline.run(&p).await;
            assert_eq!(report.outcomes.len(), 1, "{report:?}");
        }
        CacheStatsReporter::new(JIRA)
            .with_cache("project_settings", || CacheStats {
                hits: 5,
                misses: 2,
                load_errors: 1,
            })
            .report();
    }
    exporters.flush();

    // 2 (apply) + 2 (conflict) + 3 (out of order) + 3 (override) + 2 (permanent)
    // + 2 (decode) + 3 (cache gauges)
    let lines = receive(&agent, 17);
    assert_eq!(lines.len(), 17, "{lines:#?}");

    let common_tags = ["env:test", "service:case-third-party-reader"];
    for l in &lines {
        assert!(
            tags(&common_tags).is_subset(&l.tags),
            "global tags missing on {l:?}"
        );
        let template = l.name.replace(".jira.", ".{flavor}.");
        assert!(
            METRIC_NAMES.contains(&l.name.as_str()) || METRIC_NAMES.contains(&template.as_str()),
            "{} is not in METRIC_NAMES",
            l.name
        );
    }

    let processed = find(
        &lines,
        "dd.case_third_party_reader.changelog_processed",
        &["org_id:42", "flavor:jira", "changelog_type:update_status"],
    );
    assert_eq!((processed.kind.as_str(), processed.value), ("c", 1.0));

    // The previous service's name, kept for its dashboards: every flavor counts under it.
    let filtered_name = FILTERED;
    assert_eq!(filtered_name, "dd.case_third_party_reader.jira.filtered");
    let conflict = find(
        &lines,
        filtered_name,
        &[
            "reason:state_conflict",
            "org_id:42",
            "flavor:jira",
            "changelog_type:update_status",
        ],
    );
    assert_eq!((conflict.kind.as_str(), conflict.value), ("c", 1.0));
    find(
        &lines,
        filtered_name,
        &["reason:out_of_order_event", "changelog_type:create_comment"],
    );
    // Counters, each with tags it must carry.
    let counters: [(&str, &[&str]); 5] = [
        (
            "dd.case_third_party_reader.out_of_order_event",
            &["integration:jira", "org_id:42"],
        ),
        (
            "dd.case_third_party_reader.state_conflict_overridden",
            &["org_id:42", "flavor:jira", "changelog_type:update_status"],
        ),
        (
            "dd.case_third_party_reader.permanent_error",
            &["error:invalid_changelog", "flavor:jira"],
        ),
        (
            "dd.case_third_party_reader.decoding_failed",
            &["flavor:jira", "error:not_json"],
        ),
        ("dd.case.kafka_consumer.decode_error", &["flavor:jira"]),
    ];
    for (name, tags) in counters {
        assert_eq!(find(&lines, name, tags).kind, "c", "{name}");
    }

    let latencies: Vec<&Line> = lines
        .iter()
        .filter(|l| l.name == "case.case_third_party_reader.end_to_end_latency")
        .collect();
    assert_eq!(
        latencies.len(),
        5,
        "every acknowledged changelog with a time"
    );
    for l in latencies {
        assert_eq!(l.kind, "d", "latency is a distribution");
        assert!(
            l.value >= 3_600_000.0,
            "an event an hour old has at least an hour of latency: {l:?}"
        );
        assert!(tags(&["org_id:42", "flavor:jira"]).is_subset(&l.tags));
        assert!(l.tags.iter().any(|t| t.starts_with("changelog_type:")));
    }

    for (name, value) in [
        ("dd.case_third_party_reader.cache.hits", 5.0),
        ("dd.case_third_party_reader.cache.misses", 2.0),
        ("dd.case_third_party_reader.cache.load_errors", 1.0),
    ] {
        let g = find(&lines, name, &["cache:project_settings", "flavor:jira"]);
        assert_eq!((g.kind.as_str(), g.value), ("g", value));
    }
}

#[tokio::test]
async fn skipped_events_without_a_type_have_no_changelog_type_tag() {
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = TelemetryConfig {
        statsd: Some(agent.local_addr().unwrap()),
        ..TelemetryConfig::new("jira")
    };
    let exporters = MetricsExporters::build(&config).unwrap();
    let pipeline = common::pipeline("plain").with_telemetry(Arc::new(PipelineTelemetry::new(JIRA)));
    {
        let _recorder = metrics::set_default_local_recorder(exporters.recorder());
        pipeline
            .run(&changes("plain", 0, &[("apply", "skip")]))
            .await;
    }
    exporters.flush();
    let lines = receive(&agent, 1);
    assert_eq!(lines[0].name, "dd.case_third_party_reader.jira.filtered");
    assert_eq!(
        lines[0].tags,
        tags(&[
            "org_id:42",
            "flavor:jira",
            "reason:empty_changelog",
            "service:case-third-party-reader"
        ])
    );
}
