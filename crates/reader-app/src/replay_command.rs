//! `replay`: which messages (files, a partition's offset range, a time range of the topic,
//! the dead-letter topic), through the flavor's pipeline, with a progress bar on a terminal
//! and a summary by outcome on stderr. Exit 0 when every message was decided, 1 when the
//! Case API failed transiently or the broker could not be read, 2 for a usage error.

use crate::app;
use crate::cli::ReplayArgs;
use crate::config::{EXIT_CONFIG, RawConfig};
use crate::flavor::Flavor;
use crate::replay::{self, Decision, MessageOrigin, ReplayMessage, Report, decide};
use crate::settings::ReaderSettings;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kafka_runtime::dead_letter::ParkedMessage;
use kafka_runtime::{ReplayGroup, ReplayStart, TopicReplay};
use std::process::ExitCode;
use std::time::Duration;
use thirdparty_core::{Payload, Pipeline};

/// How long a topic replay waits for any record or end of partition before giving up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Suffix of the default group of `replay --since` (never committed).
const TIME_RANGE_GROUP_SUFFIX: &str = ".replay";

/// Suffix of the default group of `replay --from-dead-letter`.
const DEAD_LETTER_GROUP_SUFFIX: &str = ".dead-letter-replay";

/// The usage-error exit code (clap's).
const EXIT_USAGE: u8 = 2;

/// Runs `replay`.
pub(crate) async fn run<F: Flavor>(raw: RawConfig, args: ReplayArgs<F::RawArgs>) -> ExitCode {
    match replay::<F>(raw, args).await {
        Ok(code) => code,
        Err(Failure { message, code }) => {
            eprintln!("reader-{}: {message}", F::NAME);
            ExitCode::from(code)
        }
    }
}

/// A replay that stopped: what to tell the operator and the exit code.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn new(code: u8, message: impl std::fmt::Display) -> Self {
        Self {
            message: message.to_string(),
            code,
        }
    }
}

async fn replay<F: Flavor>(
    raw: RawConfig,
    args: ReplayArgs<F::RawArgs>,
) -> Result<ExitCode, Failure> {
    let from_topic = args.partition.is_some() || args.since.is_some() || args.from_dead_letter;
    let settings = ReaderSettings::from_raw(&raw, F::NAME, from_topic)
        .map_err(|e| Failure::new(EXIT_CONFIG, e))?;
    let (_, api) = app::case_api(&settings).map_err(|e| Failure::new(e.exit_code(), e))?;
    let pipeline = app::build_pipeline::<F>(&raw, &settings, api)
        .map(|(p, _)| p.dry_run(args.dry_run))
        .map_err(|e| Failure::new(e.exit_code(), e))?;
    let mut stdout = std::io::stdout().lock();
    let mut report = Report::new(args.output, &mut stdout);
    if args.since.is_some() || args.from_dead_letter {
        topic_replay::<F>(&settings, &args, &pipeline, &mut report).await?;
    } else {
        let messages = listed_messages::<F>(&settings, &args).await?;
        for message in messages {
            let decisions = decide(&pipeline, message).await;
            report.decisions(decisions).map_err(output_error)?;
        }
    }
    let summary = report.finish().map_err(output_error)?;
    eprintln!("reader-{}: replayed {summary}", F::NAME);
    let retry_needed = summary.count("retry_needed");
    if retry_needed > 0 {
        return Err(Failure::new(
            1,
            format!(
                "{retry_needed} changelog(s) could not be decided because the Case API failed transiently; run the replay again once it is reachable"
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn output_error(e: std::io::Error) -> Failure {
    Failure::new(1, format!("cannot write the output: {e}"))
}

/// The messages of `--file` and `--partition` (read whole, in order).
async fn listed_messages<F: Flavor>(
    settings: &ReaderSettings,
    args: &ReplayArgs<F::RawArgs>,
) -> Result<Vec<ReplayMessage>, Failure> {
    let mut messages = Vec::new();
    if let (Some(partition), Some(from), Some(to)) =
        (args.partition, args.from_offset, args.to_offset)
    {
        let payloads =
            kafka_runtime::read_range(&settings.consumer, partition, from, to, IDLE_TIMEOUT)
                .await
                .map_err(|e| Failure::new(1, e))?;
        let asked = to.saturating_sub(from).saturating_add(1);
        if i64::try_from(payloads.len()).is_ok_and(|n| n < asked) {
            eprintln!(
                "reader-{}: read {} of the {asked} requested offsets: partition {partition} ends earlier",
                F::NAME,
                payloads.len()
            );
        }
        messages.extend(payloads.into_iter().map(|p| ReplayMessage {
            origin: MessageOrigin::Topic {
                partition: p.partition,
                offset: p.offset,
            },
            payload: Ok(p),
        }));
    }
    for path in &args.files {
        let items = replay::read_file(path)
            .map_err(|e| Failure::new(1, format!("cannot read {}: {e}", path.display())))?;
        for (line, bytes) in items {
            let payload = match args.org_id {
                Some(org) => F::envelope_raw(&args.raw, org, &bytes)
                    .ok_or_else(|| {
                        Failure::new(
                            EXIT_USAGE,
                            "--org-id needs the integration's ids for raw bodies (see `replay --help`)",
                        )
                    })?
                    .map(Payload::from_value),
                None => Ok(Payload::from_value(bytes)),
            };
            messages.push(ReplayMessage {
                origin: MessageOrigin::File {
                    path: path.clone(),
                    line,
                },
                payload,
            });
        }
    }
    if messages.is_empty() && args.files.is_empty() && args.partition.is_none() {
        return Err(Failure::new(
            EXIT_USAGE,
            "replay needs --file PATH, --partition with --from-offset/--to-offset, --since TIME or --from-dead-letter",
        ));
    }
    Ok(messages)
}

/// `--since` and `--from-dead-letter`: stream the topic through the pipeline, one message at
/// a time, marking each one decided (committed with `--commit`); stops at the first message
/// the Case API could not decide (it stays uncommitted).
async fn topic_replay<F: Flavor>(
    settings: &ReaderSettings,
    args: &ReplayArgs<F::RawArgs>,
    pipeline: &Pipeline,
    report: &mut Report<'_>,
) -> Result<(), Failure> {
    let live = &settings.consumer.group_id;
    let (start, default_suffix) = match (args.since, args.from_dead_letter) {
        (Some(since), _) => (
            ReplayStart::TimeRange {
                since,
                until: args.until,
            },
            TIME_RANGE_GROUP_SUFFIX,
        ),
        _ => {
            let topic = settings
                .consumer
                .dead_letter
                .as_ref()
                .map(|d| d.topic.clone())
                .ok_or_else(|| {
                    Failure::new(
                        EXIT_USAGE,
                        "--from-dead-letter reads kafka.dead_letter_topic, but kafka.dead_letter is off: add --set kafka.dead_letter=true (and kafka.dead_letter_topic when it is not the default)",
                    )
                })?;
            (ReplayStart::Group { topic }, DEAD_LETTER_GROUP_SUFFIX)
        }
    };
    // A `--reason` run passes over the other records: it gets a group of its own, so a later
    // run without `--reason` still sees them.
    let group_id = args.group_id.clone().unwrap_or_else(|| match args.reason {
        Some(reason) => format!("{live}{default_suffix}.{reason}"),
        None => format!("{live}{default_suffix}"),
    });
    if &group_id == live {
        return Err(Failure::new(
            EXIT_USAGE,
            format!(
                "--group-id `{group_id}` is the reader's live consumer group (kafka.group_id): a replay never moves the service's offsets; pick another group"
            ),
        ));
    }
    let group = ReplayGroup {
        group_id: group_id.clone(),
        commit: args.commit,
    };
    let mut topic = TopicReplay::open(&settings.consumer, start, group, IDLE_TIMEOUT)
        .await
        .map_err(|e| Failure::new(1, e))?;
    let expected: u64 = topic.plan().iter().map(|p| p.expected()).sum();
    let bar = progress_bar(topic.topic(), expected);
    let mut stopped = None;
    let mut passed_over = 0_usize;
    while let Some(record) = topic.next().await {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                stopped = Some(Failure::new(1, e));
                break;
            }
        };
        bar.inc(1);
        if bar.length().is_some_and(|l| bar.position() > l) {
            bar.set_length(bar.position());
        }
        let retry = if args.from_dead_letter {
            let parked = ParkedMessage::from_record(record.clone());
            if args.reason.is_some() && parked.reason != args.reason {
                passed_over += 1;
                topic.processed(&record);
                continue;
            }
            let decisions = dead_letter_decisions(pipeline, parked).await;
            bar.suspend(|| report.decisions(decisions))
                .map_err(output_error)?
        } else {
            let message = ReplayMessage {
                origin: MessageOrigin::Topic {
                    partition: record.partition,
                    offset: record.offset,
                },
                payload: Ok(record.clone()),
            };
            let decisions = decide(pipeline, message).await;
            bar.suspend(|| report.decisions(decisions))
                .map_err(output_error)?
        };
        if retry {
            break;
        }
        topic.processed(&record);
    }
    bar.finish_and_clear();
    let report = topic.finish().await.map_err(|e| Failure::new(1, e))?;
    if passed_over > 0 {
        eprintln!(
            "reader-{}: passed over {passed_over} parked record(s) of other reasons than --reason",
            F::NAME
        );
    }
    if !report.committed.is_empty() {
        eprintln!(
            "reader-{}: committed the replay's progress in group `{group_id}` (partition → next offset): {:?}; the next run with --commit continues from there",
            F::NAME,
            report.committed
        );
    }
    stopped.map_or(Ok(()), Err)
}

/// The decisions of one parked record: a truncated copy is reported (it cannot be replayed
/// as it is), the others run through the pipeline as the original message.
async fn dead_letter_decisions(pipeline: &Pipeline, parked: ParkedMessage) -> Vec<Decision> {
    let origin = MessageOrigin::DeadLetter {
        at: parked.at,
        source: (parked.original.partition, parked.original.offset),
    };
    if parked.truncated {
        let (partition, offset) = (parked.original.partition, parked.original.offset);
        return vec![Decision {
            source: origin.to_string(),
            changelog_type: String::new(),
            decision: "truncated",
            detail: format!(
                "parked truncated (original size {} bytes): re-read the source with --partition {partition} --from-offset {offset} --to-offset {offset} while the topic retains it",
                parked
                    .original_size
                    .map_or_else(|| "unknown".to_owned(), |n| n.to_string())
            ),
        }];
    }
    let message = ReplayMessage {
        origin,
        payload: Ok(parked.original),
    };
    decide(pipeline, message).await
}

/// A progress bar on stderr when it is a terminal (hidden otherwise): records read of the
/// expected count (an estimate from the watermarks).
fn progress_bar(topic: &str, expected: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(expected), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} records ({per_sec}, {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("replaying {topic}"));
    bar
}
