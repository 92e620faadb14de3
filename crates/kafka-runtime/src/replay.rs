//! Bounded reads of a topic for operators' replays: every partition of a topic between two
//! points, handed over one [`Payload`] at a time, with optional progress commits in a
//! consumer group of the replay's own.
//!
//! - [`ReplayStart::TimeRange`]: the source topic from the first offset at or after `since`
//!   up to (not including) the first offset at or after `until` (or the partition's end),
//!   both resolved with the broker's offsets-for-times (`ListOffsets` by timestamp).
//! - [`ReplayStart::Group`]: a topic (the dead-letter topic) from the group's committed
//!   offsets (its beginning where the group has none) to its end. [`TopicReplay::processed`]
//!   marks records done; [`TopicReplay::finish`] commits them when the replay was opened
//!   with `commit`, so a second run continues where the first stopped.
//!
//! A replay never joins the group (partitions are assigned, not subscribed) and refuses the
//! live consumer group ([`ReplayError::LiveGroup`]): it cannot move the service's offsets.
//! The end of a partition is found by reading (`PartitionEOF`), not from its high watermark.

use crate::ConsumerConfig;
use crate::partition::payload_of;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};
use thirdparty_core::Payload;
use tokio::sync::mpsc;

/// Where a replay starts and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayStart {
    /// Every partition of the consumer's topic, from the first record at or after `since`
    /// up to the first at or after `until` (excluded), or to the partition's end.
    TimeRange {
        /// Start time (inclusive).
        since: chrono::DateTime<chrono::Utc>,
        /// End time (exclusive); `None` reads to the end.
        until: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Every partition of `topic` from `group_id`'s committed offsets (the beginning when it
    /// has none) to its end.
    Group {
        /// The topic to read (e.g. the dead-letter topic).
        topic: String,
    },
}

/// What a replay will read of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionPlan {
    /// The partition.
    pub partition: i32,
    /// First offset to read; `None` when there is nothing to read.
    pub start: Option<i64>,
    /// First offset not to read, when the range has an end before the partition's end.
    pub end: Option<i64>,
    /// The high watermark when the replay opened (an estimate: some brokers report it
    /// wrongly, the end is found by reading).
    pub high_watermark: i64,
}

impl PartitionPlan {
    /// How many records the plan expects (from the watermark; an estimate).
    pub fn expected(&self) -> u64 {
        let Some(start) = self.start else { return 0 };
        let end = self
            .end
            .unwrap_or(self.high_watermark)
            .min(self.high_watermark);
        u64::try_from(end.saturating_sub(start)).unwrap_or(0)
    }
}

/// Why a replay could not read or commit. Every variant but [`ReplayError::LiveGroup`] can
/// succeed on a retry once the broker is reachable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// The replay was asked to use the service's own consumer group.
    #[error(
        "the replay's consumer group `{group_id}` is the live group of the reader (kafka.group_id): a replay never moves the service's offsets; pick another --group-id"
    )]
    LiveGroup {
        /// The refused group.
        group_id: String,
    },
    /// librdkafka refused the client configuration.
    #[error(
        "cannot create a kafka client for brokers `{brokers}`: {source}; check kafka.brokers and the [kafka.librdkafka] overrides"
    )]
    Client {
        /// `bootstrap.servers`.
        brokers: String,
        /// librdkafka's error.
        #[source]
        source: Box<KafkaError>,
    },
    /// Metadata, offsets-for-times, committed offsets or a fetch failed.
    #[error(
        "replaying topic `{topic}`: {what} failed: {message}; check that the brokers are reachable and the topic exists"
    )]
    Broker {
        /// Topic.
        topic: String,
        /// The step (`metadata`, `offsets for times`, …).
        what: &'static str,
        /// librdkafka's error.
        message: String,
    },
    /// No record and no end of partition arrived for longer than the idle timeout.
    #[error(
        "replaying topic `{topic}`: nothing arrived for {idle:?} with partitions {waiting:?} not at their end; check the brokers"
    )]
    Stalled {
        /// Topic.
        topic: String,
        /// The idle timeout.
        idle: Duration,
        /// Partitions not at their end.
        waiting: Vec<i32>,
    },
    /// The reading thread stopped unexpectedly.
    #[error("replaying topic `{topic}`: the reading task failed: {message}")]
    Task {
        /// Topic.
        topic: String,
        /// What happened.
        message: String,
    },
}

/// What a finished replay read and committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records read, per partition.
    pub read: BTreeMap<i32, u64>,
    /// The offsets committed for the replay's group (next offset to read), per partition;
    /// empty without `commit`.
    pub committed: BTreeMap<i32, i64>,
}

/// An open replay: records arrive with [`TopicReplay::next`] in partition order (partitions
/// interleaved); mark each one handled with [`TopicReplay::processed`], then
/// [`TopicReplay::finish`].
#[derive(Debug)]
pub struct TopicReplay {
    topic: String,
    plan: Vec<PartitionPlan>,
    records: mpsc::Receiver<Result<Payload, ReplayError>>,
    processed: Option<std_mpsc::Sender<(i32, i64)>>,
    reader: tokio::task::JoinHandle<Result<ReplayReport, ReplayError>>,
}

/// The consumer group a replay reads as, and whether it commits its progress there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayGroup {
    /// The group (never the live `config.group_id`).
    pub group_id: String,
    /// Commit processed records to the group (only meaningful with [`ReplayStart::Group`]).
    pub commit: bool,
}

impl TopicReplay {
    /// Resolves the start and end of every partition and starts reading in the background.
    /// `idle` bounds the wait for any record or end of partition.
    pub async fn open(
        config: &ConsumerConfig,
        start: ReplayStart,
        group: ReplayGroup,
        idle: Duration,
    ) -> Result<Self, ReplayError> {
        let topic = match &start {
            ReplayStart::TimeRange { .. } => config.topic.clone(),
            ReplayStart::Group { topic } => topic.clone(),
        };
        if group.group_id == config.group_id {
            return Err(ReplayError::LiveGroup {
                group_id: group.group_id,
            });
        }
        let consumer = {
            let (config, reading, start, group_id) = (
                config.clone(),
                topic.clone(),
                start.clone(),
                group.group_id.clone(),
            );
            tokio::task::spawn_blocking(move || {
                let consumer = client(&config, &group_id)?;
                let plan = plan(&consumer, &reading, &start, idle)?;
                Ok::<_, ReplayError>((consumer, plan))
            })
            .await
            .map_err(|e| ReplayError::Task {
                topic: topic.clone(),
                message: e.to_string(),
            })??
        };
        let (consumer, plan) = consumer;
        let (records_tx, records) = mpsc::channel(256);
        let (processed_tx, processed_rx) = std_mpsc::channel();
        let reader = {
            let (topic, plan) = (topic.clone(), plan.clone());
            tokio::task::spawn_blocking(move || {
                read(
                    &consumer,
                    &topic,
                    &plan,
                    group.commit,
                    idle,
                    records_tx,
                    &processed_rx,
                )
            })
        };
        Ok(Self {
            topic,
            plan,
            records,
            processed: Some(processed_tx),
            reader,
        })
    }

    /// The topic read.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// What will be read of each partition.
    pub fn plan(&self) -> &[PartitionPlan] {
        &self.plan
    }

    /// The next record, `None` at the end of every partition, or the error that stopped the
    /// read.
    pub async fn next(&mut self) -> Option<Result<Payload, ReplayError>> {
        self.records.recv().await
    }

    /// Marks `record` handled: with `commit`, its offset is committed (in order, per
    /// partition) by [`TopicReplay::finish`] and periodically before.
    pub fn processed(&self, record: &Payload) {
        if let Some(tx) = &self.processed {
            let _ = tx.send((record.partition, record.offset));
        }
    }

    /// Stops reading, commits what was marked processed (with `commit`) and reports.
    pub async fn finish(mut self) -> Result<ReplayReport, ReplayError> {
        self.processed = None;
        self.records.close();
        // Unblock a reader waiting on a full channel.
        while self.records.recv().await.is_some() {}
        self.reader.await.map_err(|e| ReplayError::Task {
            topic: self.topic.clone(),
            message: e.to_string(),
        })?
    }
}

fn client(config: &ConsumerConfig, group_id: &str) -> Result<BaseConsumer, ReplayError> {
    let mut client = ClientConfig::new();
    for (k, v) in config.librdkafka_properties() {
        client.set(k, v);
    }
    client
        .set("group.id", group_id)
        // An offset past the retention (a stale replay group) restarts at the oldest record.
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "true")
        .set("statistics.interval.ms", "0");
    client.create().map_err(|source| ReplayError::Client {
        brokers: config.brokers.clone(),
        source: Box::new(crate::error::without_config_value(source)),
    })
}

fn broker_error<'a>(topic: &'a str, what: &'static str) -> impl Fn(KafkaError) -> ReplayError + 'a {
    move |e| ReplayError::Broker {
        topic: topic.to_owned(),
        what,
        message: e.to_string(),
    }
}

/// The offset each partition of `tpl`'s answer holds (`None`: no such record / no commit).
fn offsets_of(answer: &TopicPartitionList) -> BTreeMap<i32, Option<i64>> {
    answer
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => (e.partition(), Some(o)),
            _ => (e.partition(), None),
        })
        .collect()
}

fn plan(
    consumer: &BaseConsumer,
    topic: &str,
    start: &ReplayStart,
    timeout: Duration,
) -> Result<Vec<PartitionPlan>, ReplayError> {
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(broker_error(topic, "metadata"))?;
    let meta = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .ok_or_else(|| ReplayError::Broker {
            topic: topic.to_owned(),
            what: "metadata",
            message: "the topic is not in the metadata".into(),
        })?;
    if let Some(err) = meta.error() {
        return Err(ReplayError::Broker {
            topic: topic.to_owned(),
            what: "metadata",
            message: format!("{err:?}"),
        });
    }
    let partitions: Vec<i32> = meta.partitions().iter().map(|p| p.id()).collect();
    let at_time = |time: chrono::DateTime<chrono::Utc>| {
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(topic, *p, Offset::Offset(time.timestamp_millis()))
                .map_err(broker_error(topic, "offsets for times"))?;
        }
        consumer
            .offsets_for_times(tpl, timeout)
            .map(|answer| offsets_of(&answer))
            .map_err(broker_error(topic, "offsets for times"))
    };
    let mut lows = BTreeMap::new();
    let mut highs = BTreeMap::new();
    for p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, *p, timeout)
            .map_err(broker_error(topic, "watermarks"))?;
        lows.insert(*p, low);
        highs.insert(*p, high);
    }
    let (starts, ends): (BTreeMap<i32, Option<i64>>, BTreeMap<i32, Option<i64>>) = match start {
        ReplayStart::TimeRange { since, until } => (
            at_time(*since)?,
            match until {
                Some(until) => at_time(*until)?,
                None => BTreeMap::new(),
            },
        ),
        ReplayStart::Group { .. } => {
            let mut tpl = TopicPartitionList::new();
            for p in &partitions {
                tpl.add_partition(topic, *p);
            }
            let committed = consumer
                .committed_offsets(tpl, timeout)
                .map_err(broker_error(topic, "committed offsets"))?;
            let starts = offsets_of(&committed)
                .into_iter()
                .map(|(p, o)| {
                    (
                        p,
                        Some(o.unwrap_or_else(|| lows.get(&p).copied().unwrap_or(0))),
                    )
                })
                .collect();
            (starts, BTreeMap::new())
        }
    };
    Ok(partitions
        .iter()
        .map(|p| {
            let high = highs.get(p).copied().unwrap_or(0);
            let end = ends.get(p).copied().flatten();
            // offsets-for-times answers "end" (no record at or after the time) as no offset.
            let start = starts
                .get(p)
                .copied()
                .flatten()
                .filter(|s| end.is_none_or(|e| *s < e));
            PartitionPlan {
                partition: *p,
                start,
                end,
                high_watermark: high,
            }
        })
        .collect())
}

/// How often a replay with `commit` commits its progress while it runs.
const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Marks `(partition, offset)` handled: the partition's next offset to commit is past it.
fn mark_done(done: &mut BTreeMap<i32, i64>, (partition, offset): (i32, i64)) {
    let next = done.entry(partition).or_insert(offset + 1);
    *next = (*next).max(offset + 1);
}

fn read(
    consumer: &BaseConsumer,
    topic: &str,
    plan: &[PartitionPlan],
    commit: bool,
    idle: Duration,
    records: mpsc::Sender<Result<Payload, ReplayError>>,
    processed: &std_mpsc::Receiver<(i32, i64)>,
) -> Result<ReplayReport, ReplayError> {
    let mut report = ReplayReport::default();
    let mut tpl = TopicPartitionList::new();
    let mut reading: BTreeMap<i32, Option<i64>> = BTreeMap::new();
    for p in plan {
        if let Some(start) = p.start {
            tpl.add_partition_offset(topic, p.partition, Offset::Offset(start))
                .map_err(broker_error(topic, "assign"))?;
            reading.insert(p.partition, p.end);
        }
    }
    let mut done: BTreeMap<i32, i64> = BTreeMap::new();
    let mut last_commit = Instant::now();
    let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
    // Commits what is marked done (with `commit`): asynchronously at most once per
    // COMMIT_INTERVAL while reading, synchronously at the end.
    let mut commit_done = |done: &BTreeMap<i32, i64>, last: bool| -> Result<(), ReplayError> {
        if !commit || done == &committed || (!last && last_commit.elapsed() < COMMIT_INTERVAL) {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (p, next) in done {
            tpl.add_partition_offset(topic, *p, Offset::Offset(*next))
                .map_err(broker_error(topic, "commit"))?;
        }
        let mode = if last {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        consumer
            .commit(&tpl, mode)
            .map_err(broker_error(topic, "commit"))?;
        committed.clone_from(done);
        last_commit = Instant::now();
        Ok(())
    };
    if !reading.is_empty() {
        consumer
            .assign(&tpl)
            .map_err(broker_error(topic, "assign"))?;
    }
    let mut last_progress = Instant::now();
    while !reading.is_empty() {
        for handled in processed.try_iter() {
            mark_done(&mut done, handled);
        }
        commit_done(&done, false)?;
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                last_progress = Instant::now();
                let Some(end) = reading.get(&m.partition()).copied() else {
                    continue;
                };
                if end.is_some_and(|e| m.offset() >= e) {
                    reading.remove(&m.partition());
                    continue;
                }
                *report.read.entry(m.partition()).or_default() += 1;
                let last = end.is_some_and(|e| m.offset() + 1 >= e);
                let payload = payload_of(&m);
                drop(m);
                if last {
                    reading.remove(&payload.partition);
                }
                if records.blocking_send(Ok(payload)).is_err() {
                    break; // the replay was finished early
                }
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                last_progress = Instant::now();
                reading.remove(&p);
            }
            Some(Err(e)) => {
                let error = broker_error(topic, "fetch")(e);
                let _ = records.blocking_send(Err(error));
                break;
            }
            None if last_progress.elapsed() > idle => {
                let _ = records.blocking_send(Err(ReplayError::Stalled {
                    topic: topic.to_owned(),
                    idle,
                    waiting: reading.keys().copied().collect(),
                }));
                break;
            }
            None => {}
        }
    }
    // Every record is sent: end the stream, then wait until the caller finished (dropped its
    // sender), committing.
    drop(records);
    loop {
        match processed.recv_timeout(Duration::from_millis(500)) {
            Ok(handled) => mark_done(&mut done, handled),
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
        }
        commit_done(&done, false)?;
    }
    commit_done(&done, true)?;
    if commit {
        report.committed = done;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_count_is_bounded_by_the_end_and_the_watermark() {
        let plan = |start, end, high| PartitionPlan {
            partition: 0,
            start,
            end,
            high_watermark: high,
        };
        assert_eq!(plan(Some(3), None, 10).expected(), 7);
        assert_eq!(plan(Some(3), Some(5), 10).expected(), 2);
        assert_eq!(plan(Some(3), Some(50), 10).expected(), 7);
        assert_eq!(plan(None, None, 10).expected(), 0);
        assert_eq!(
            plan(Some(12), None, 10).expected(),
            0,
            "a watermark reported low"
        );
    }

    #[tokio::test]
    async fn the_live_group_is_refused() {
        let config = ConsumerConfig::new("127.0.0.1:1", "t").with_group_id("live");
        let err = TopicReplay::open(
            &config,
            ReplayStart::Group {
                topic: "t.dead-letter".into(),
            },
            ReplayGroup {
                group_id: "live".into(),
                commit: true,
            },
            Duration::from_secs(1),
        )
        .await
        .err();
        assert!(
            matches!(&err, Some(ReplayError::LiveGroup { group_id }) if group_id == "live"),
            "{err:?}"
        );
    }
}
