//! `init` installs the process-wide exporters once: metrics fan out to DogStatsD (flushed by
//! its thread) and Prometheus, OTLP builds inside the runtime, and a second `init` fails.
//! One test only: the process-wide recorder and subscriber can be installed once.

use observability::{PipelineTelemetry, TelemetryConfig, TelemetryError};
use std::net::UdpSocket;
use std::time::Duration;
use thirdparty_core::{
    ChangelogOutcome, ChangelogType, FilteredReason, Integration, OrgId, Outcome, Payload,
    Telemetry,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_installs_fanned_out_metrics_once() {
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    agent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let config = TelemetryConfig {
        statsd: Some(agent.local_addr().unwrap()),
        prometheus: true,
        otlp: true,
        ..TelemetryConfig::new("servicenow")
    };
    let guard = observability::init(&config).unwrap();

    let flavor = Integration::new("servicenow");
    PipelineTelemetry::new(flavor).record(
        flavor,
        &Payload::from_value("{}"),
        &ChangelogOutcome::undecoded(
            Some(OrgId(5)),
            Some(ChangelogType::UpdateStatus),
            None,
            Outcome::Filtered(FilteredReason::InstanceNotConfigured),
        ),
    );

    // No explicit flush: the flush thread sends the datagram.
    let mut buf = [0u8; 2048];
    let n = agent
        .recv(&mut buf)
        .expect("the flush thread sends buffered metrics");
    let datagram = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(
        datagram.starts_with("dd.case_third_party_reader.jira.filtered:1|c|#"),
        "{datagram}"
    );
    assert!(
        datagram.contains("reason:instance_not_configured"),
        "{datagram}"
    );
    assert!(datagram.contains("flavor:servicenow"), "{datagram}");

    let text = guard.prometheus_handle().unwrap().render();
    assert!(
        text.lines().any(
            |l| l.starts_with("dd_case_third_party_reader_jira_filtered{")
                && l.contains("flavor=\"servicenow\"")
        ),
        "{text}"
    );

    let again = observability::init(&config).expect_err("second init fails");
    assert!(
        matches!(
            again,
            TelemetryError::SubscriberAlreadySet { .. } | TelemetryError::MetricsRecorderAlreadySet
        ),
        "{again}"
    );
    assert!(!again.is_retryable());

    guard.shutdown().unwrap();
}
