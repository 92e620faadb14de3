//! Offset probes: what a group committed, where a partition ends, what must be committed.

use crate::error::{HarnessError, joined, kafka};
use crate::produce::Delivered;
use rdkafka::ClientConfig;
use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::TopicPartitionList;
use std::collections::BTreeMap;
use std::time::Duration;

/// A consumer of `group` that stores and commits offsets only when told (automatic commit
/// and automatic offset store off): the offset probes, and tests of the offset convention.
pub fn manual_commit_consumer(bootstrap: &str, group: &str) -> Result<BaseConsumer, HarnessError> {
    manual_commit_consumer_with(bootstrap, &BTreeMap::new(), group)
}

/// [`manual_commit_consumer`] with more librdkafka `properties` (TLS, as
/// [`crate::tls::TlsTansu::client_properties`]).
pub fn manual_commit_consumer_with(
    bootstrap: &str,
    properties: &BTreeMap<String, String>,
    group: &str,
) -> Result<BaseConsumer, HarnessError> {
    let mut config = ClientConfig::new();
    for (key, value) in properties {
        config.set(key, value);
    }
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()
        .map_err(kafka("creating a manual-commit consumer"))
}

/// The committed offsets (next offset to read) of `group` for partitions `0..partitions`;
/// `None` where nothing was committed.
pub async fn committed_offsets(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, Option<i64>>, HarnessError> {
    committed_offsets_with(bootstrap, &BTreeMap::new(), group, topic, partitions).await
}

/// [`committed_offsets`] through a client with more librdkafka `properties` (TLS).
pub async fn committed_offsets_with(
    bootstrap: &str,
    properties: &BTreeMap<String, String>,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, Option<i64>>, HarnessError> {
    let (bootstrap, group, topic) = (bootstrap.to_owned(), group.to_owned(), topic.to_owned());
    let properties = properties.clone();
    tokio::task::spawn_blocking(move || {
        let consumer = manual_commit_consumer_with(&bootstrap, &properties, &group)?;
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(&topic, p);
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(15))
            .map_err(kafka(format!("fetching committed offsets of `{group}`")))?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (e.partition(), offset)
            })
            .collect())
    })
    .await
    .map_err(joined("fetching committed offsets"))?
}

/// The high watermark (next offset to be written) of partitions `0..partitions`. Not
/// reliable on Tansu.
pub async fn high_watermarks(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, i64>, HarnessError> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .map_err(kafka("creating the watermark probe"))?;
        (0..partitions)
            .map(|p| {
                consumer
                    .fetch_watermarks(&topic, p, Duration::from_secs(15))
                    .map(|(_, high)| (p, high))
                    .map_err(kafka(format!("fetching watermarks of `{topic}` [{p}]")))
            })
            .collect()
    })
    .await
    .map_err(joined("fetching watermarks"))?
}

/// Per partition, one past the highest of `offsets` (`(partition, offset)` pairs): the
/// offset a group must commit once every one of them is handled.
pub fn partition_ends(offsets: impl IntoIterator<Item = (i32, i64)>) -> BTreeMap<i32, i64> {
    let mut ends = BTreeMap::new();
    extend_partition_ends(&mut ends, offsets);
    ends
}

/// Raises `ends` (as [`partition_ends`] makes them) to cover `offsets` too: for a producer
/// that learns its deliveries a batch at a time.
///
/// ```
/// let mut ends = testkit::offsets::partition_ends([(0, 4)]);
/// testkit::offsets::extend_partition_ends(&mut ends, [(0, 2), (1, 7)]);
/// assert_eq!(ends.into_iter().collect::<Vec<_>>(), vec![(0, 5), (1, 8)]);
/// ```
pub fn extend_partition_ends(
    ends: &mut BTreeMap<i32, i64>,
    offsets: impl IntoIterator<Item = (i32, i64)>,
) {
    for (partition, offset) in offsets {
        let end = ends.entry(partition).or_insert(0);
        *end = (*end).max(offset + 1);
    }
}

/// [`partition_ends`] of produced records: per partition, one past the highest delivered
/// offset.
///
/// ```
/// use testkit::produce::Delivered;
/// let delivered = [
///     Delivered { partition: 0, offset: 4 },
///     Delivered { partition: 1, offset: 0 },
///     Delivered { partition: 0, offset: 2 },
/// ];
/// let ends = testkit::offsets::commit_targets(&delivered);
/// assert_eq!(ends.into_iter().collect::<Vec<_>>(), vec![(0, 5), (1, 1)]);
/// ```
pub fn commit_targets(delivered: &[Delivered]) -> BTreeMap<i32, i64> {
    partition_ends(delivered.iter().map(|d| (d.partition, d.offset)))
}
