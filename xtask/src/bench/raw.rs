//! Run (1), the raw limit: a bare rdkafka consumer assigned every partition of the
//! filter-path topic from the beginning, doing nothing but counting.

use super::STALL;
use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};
use testkit::clock::now_ms;

/// The raw limit: a bare consumer assigned every partition from the beginning, counting.
pub(super) struct RawRun {
    pub(super) msgs_per_s: f64,
    pub(super) seconds: f64,
    pub(super) bytes: u64,
}

/// Reads `count` messages of `topic` from the beginning; the rate excludes the first.
pub(super) async fn raw_consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: u64,
) -> Result<RawRun> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || -> Result<RawRun> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", format!("bench-raw-{}", now_ms()))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .context("creating the raw consumer")?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(&topic, p, Offset::Beginning)
                .context("building the raw consumer's assignment")?;
        }
        consumer
            .assign(&tpl)
            .context("assigning the raw consumer")?;
        let mut seen = 0u64;
        let mut bytes = 0u64;
        let mut first: Option<Instant> = None;
        let mut last_progress = Instant::now();
        while seen < count {
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    first.get_or_insert_with(Instant::now);
                    seen += 1;
                    bytes += message.payload().map_or(0, |p| p.len() as u64);
                    last_progress = Instant::now();
                }
                Some(Err(e)) => bail!("the raw consumer failed: {e}"),
                None => {
                    if last_progress.elapsed() > STALL {
                        bail!(
                            "the raw consumer got {seen}/{count} messages, then none for {STALL:?}"
                        );
                    }
                }
            }
        }
        let seconds = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
        Ok(RawRun {
            msgs_per_s: if seconds > 0.0 {
                count.saturating_sub(1) as f64 / seconds
            } else {
                0.0
            },
            seconds,
            bytes,
        })
    })
    .await
    .context("the raw consumer thread failed")?
}
