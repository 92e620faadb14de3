//! The offset convention, checked against librdkafka on the mock cluster: the committed
//! value is the next offset to read. `store_offset(topic, partition, o)` (librdkafka's
//! `rd_kafka_offset_store`) stores `o + 1`; `store_offsets(tpl)` stores exactly what it is
//! given. The runtime stores its watermark with `store_offsets`, so it passes the next
//! offset to read itself.

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::{Message, Offset};
use std::time::{Duration, Instant};
use testkit::broker::{MockBroker, TestBroker};
use testkit::offsets::{committed_offsets, manual_commit_consumer};
use testkit::produce::{TestRecord, produce};
use testkit::wait::unique_name;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_offset_adds_one_and_store_offsets_stores_what_it_is_given() {
    let broker = MockBroker::start().unwrap();
    let bootstrap = broker.bootstrap_servers();
    let topic = unique_name("convention");
    let group = unique_name("group");
    broker.create_topic(&topic, 1).unwrap();
    let records: Vec<TestRecord> = (0..10)
        .map(|i| TestRecord::keyed("k", format!("m{i}")).to_partition(0))
        .collect();
    produce(&bootstrap, &topic, &records, "none").await.unwrap();

    let (b, t, g) = (bootstrap.clone(), topic.clone(), group.clone());
    tokio::task::spawn_blocking(move || {
        let consumer = manual_commit_consumer(&b, &g).unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&t, 0, Offset::Beginning).unwrap();
        consumer.assign(&tpl).unwrap();
        let committed_now = |consumer: &BaseConsumer| {
            consumer
                .committed(Duration::from_secs(10))
                .unwrap()
                .find_partition(&t, 0)
                .unwrap()
                .offset()
        };
        let started = Instant::now();
        let mut seen = Vec::new();
        while seen.len() < 5 {
            assert!(started.elapsed() < Duration::from_secs(30), "no messages");
            if let Some(m) = consumer.poll(Duration::from_millis(200)) {
                seen.push(m.unwrap().offset());
            }
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);

        consumer.store_offset(&t, 0, 4).unwrap();
        consumer.commit_consumer_state(CommitMode::Sync).unwrap();
        let committed = committed_now(&consumer);
        assert_eq!(committed, Offset::Offset(5), "store_offset(4) commits 5");

        let mut next = TopicPartitionList::new();
        next.add_partition_offset(&t, 0, Offset::Offset(8)).unwrap();
        consumer.store_offsets(&next).unwrap();
        consumer.commit_consumer_state(CommitMode::Sync).unwrap();
        let committed = committed_now(&consumer);
        assert_eq!(
            committed,
            Offset::Offset(8),
            "store_offsets(8) commits 8 (the value given, as the next offset to read)"
        );
    })
    .await
    .unwrap();
    let probe = committed_offsets(&bootstrap, &group, &topic, 1)
        .await
        .unwrap();
    assert_eq!(probe[&0], Some(8));
}
