//! A platform team's own consumer, built from the libraries alone — no `reader-app` shell:
//!
//! - `kafka-runtime` consumes the Jira topic at least once (offsets committed only after each
//!   message and every one before it in its partition is handled);
//! - the `jira` crate decodes, prefilters and filters each webhook into `Changelog`s;
//! - `thirdparty-core`'s `Pipeline` runs them and `case-client` applies them to the Case
//!   Management API under optimistic locking;
//! - a `Telemetry` of our own prints one JSON line per outcome (swap in `observability` for
//!   the readers' metrics and logs).
//!
//! ```sh
//! embedded-jira-consumer --brokers localhost:9092 --case-api http://localhost:50051
//! ```
//!
//! It stops on SIGTERM or Ctrl-C after draining what is in flight, and exits non-zero when a
//! message keeps failing transiently (the supervisor restarts it; the message is redelivered).

use anyhow::{Context, Result};
use case_client::{CaseClient, CaseClientConfig};
use clap::Parser;
use jira::JiraConfig;
use kafka_runtime::{ConsumerConfig, KafkaRuntime, SkipList};
use std::sync::Arc;
use thirdparty_core::{ChangelogOutcome, Integration, Outcome, Payload, Telemetry};

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Sync Jira webhooks from Kafka into Case Management (library example)")]
struct Args {
    /// Kafka bootstrap servers (host:port, comma-separated).
    #[arg(long)]
    brokers: String,
    /// The topic of Jira webhook envelopes.
    #[arg(long, default_value = "collaboration_integrations_jira")]
    topic: String,
    /// Consumer group of this consumer (not the readers' group).
    #[arg(long, default_value = "embedded-jira-consumer")]
    group_id: String,
    /// Where a partition without a committed offset starts: latest or earliest.
    #[arg(long, default_value = "latest")]
    auto_offset_reset: String,
    /// Case Management gRPC endpoint (http:// for plaintext, https:// for TLS).
    #[arg(long)]
    case_api: String,
}

/// Prints one JSON line per outcome: where the message was, what happened, and why.
struct PrintOutcomes;

impl Telemetry for PrintOutcomes {
    fn record(&self, integration: Integration, payload: &Payload, outcome: &ChangelogOutcome) {
        let reason = match &outcome.outcome {
            Outcome::Filtered(reason) => Some(reason.to_string()),
            Outcome::DecodeFailed(e) => Some(e.kind().to_owned()),
            _ => None,
        };
        let line = serde_json::json!({
            "integration": integration.as_str(),
            "partition": payload.partition,
            "offset": payload.offset,
            "outcome": outcome.outcome.label(),
            "reason": reason,
            "item": outcome.item_key,
            "changelog_type": outcome.changelog_type.as_ref().map(|t| t.as_tag()),
        });
        println!("{line}");
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let api = Arc::new(
        CaseClient::connect(CaseClientConfig::new(&args.case_api))
            .with_context(|| format!("cannot use the Case API endpoint {}", args.case_api))?,
    );
    let (pipeline, _filterer) = jira::pipeline(api, &JiraConfig::default());
    let pipeline = Arc::new(pipeline.with_telemetry(Arc::new(PrintOutcomes)));
    let consumer = ConsumerConfig::new(&args.brokers, &args.topic)
        .with_group_id(&args.group_id)
        .with_auto_offset_reset(&args.auto_offset_reset);
    let runtime = KafkaRuntime::new(consumer, pipeline, SkipList::new())
        .context("invalid consumer configuration")?;
    let summary = runtime
        .run(shutdown_signal())
        .await
        .context("the consumer stopped on a fatal error (the message will be redelivered)")?;
    eprintln!(
        "embedded-jira-consumer: handled {} messages",
        summary.status.messages_handled
    );
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
