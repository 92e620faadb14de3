//! Property tests of the pure offset bookkeeping ([`OffsetTracker`], [`KeyedScheduler`]):
//! for any arrival of keyed messages and any completion order, the watermark is monotonic,
//! never passes an unfinished offset, and one key never runs two messages at once nor out
//! of offset order.

use bytes::Bytes;
use kafka_runtime::{KeyedScheduler, LaneKey, OffsetTracker};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
enum Step {
    /// Receive the next message (offset gap, key index).
    Arrive { gap: i64, key: u8 },
    /// Finish the in-flight message at this index (modulo the number in flight).
    Finish(usize),
    /// Stop taking (revoke or shutdown).
    Stop,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1i64..4, 0u8..6).prop_map(|(gap, key)| Step::Arrive { gap, key }),
        4 => any::<usize>().prop_map(Step::Finish),
        1 => Just(Step::Stop),
    ]
}

fn lane(key: u8) -> LaneKey {
    if key == 0 {
        LaneKey::Keyless
    } else {
        LaneKey::Key(Bytes::from(vec![key]))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn scheduler_keeps_key_order_and_a_safe_monotonic_watermark(
        max_in_flight in 1usize..5,
        capacity in 1usize..12,
        steps in prop::collection::vec(step(), 1..300),
    ) {
        let capacity = capacity.max(max_in_flight);
        let mut s: KeyedScheduler<u8> = KeyedScheduler::new(max_in_flight, capacity);
        let mut next_offset = 0i64;
        let mut in_flight: Vec<(i64, LaneKey)> = Vec::new();
        let mut unfinished: BTreeSet<i64> = BTreeSet::new();
        let mut arrived_per_key: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
        let mut started_per_key: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
        let mut last_watermark: Option<i64> = None;

        let check = |s: &KeyedScheduler<u8>, unfinished: &BTreeSet<i64>, last: &mut Option<i64>, next_offset: i64| {
            let w = s.next_offset();
            if let (Some(prev), Some(now)) = (*last, w) {
                prop_assert!(now >= prev, "watermark went back from {} to {}", prev, now);
            }
            if let (Some(now), Some(lowest)) = (w, unfinished.first()) {
                prop_assert!(now <= *lowest, "watermark {} passed unfinished offset {}", now, lowest);
            }
            if unfinished.is_empty() && next_offset > 0 {
                prop_assert_eq!(w, Some(s.tracker().last_begun().unwrap() + 1));
            }
            *last = w;
            Ok(())
        };

        for st in steps {
            match st {
                Step::Arrive { gap, key } => {
                    let offset = next_offset + gap - 1;
                    if s.push(offset, lane(key), key).is_ok() {
                        next_offset = offset + 1;
                        unfinished.insert(offset);
                        arrived_per_key.entry(key).or_default().push(offset);
                    }
                }
                Step::Finish(i) => {
                    if !in_flight.is_empty() {
                        let (offset, l) = in_flight.remove(i % in_flight.len());
                        s.complete(offset, &l).unwrap();
                        unfinished.remove(&offset);
                    }
                }
                Step::Stop => s.stop_taking(),
            }
            while let Some(started) = s.next_ready() {
                let key = started.item;
                prop_assert!(
                    !in_flight.iter().any(|(_, l)| *l == started.lane),
                    "key {} started twice at once", key
                );
                started_per_key.entry(key).or_default().push(started.offset);
                in_flight.push((started.offset, started.lane));
            }
            prop_assert!(in_flight.len() <= max_in_flight);
            prop_assert!(s.held() <= capacity);
            check(&s, &unfinished, &mut last_watermark, next_offset)?;
        }
        // Finish everything that can still run.
        while !in_flight.is_empty() {
            let (offset, l) = in_flight.remove(0);
            s.complete(offset, &l).unwrap();
            unfinished.remove(&offset);
            while let Some(started) = s.next_ready() {
                started_per_key.entry(started.item).or_default().push(started.offset);
                in_flight.push((started.offset, started.lane));
            }
            check(&s, &unfinished, &mut last_watermark, next_offset)?;
        }
        for (key, started) in &started_per_key {
            let arrived = &arrived_per_key[key];
            prop_assert_eq!(
                &arrived[..started.len()], &started[..],
                "key {} started out of arrival order", key
            );
        }
        if !s.is_stopped() {
            prop_assert!(unfinished.is_empty(), "everything runs when not stopped");
            if next_offset > 0 {
                prop_assert_eq!(s.next_offset(), Some(s.tracker().last_begun().unwrap() + 1));
            }
        } else {
            prop_assert!(s.is_drained());
            // What is left unfinished lies above everything started: the next owner re-reads
            // exactly the messages never started.
            let max_started = started_per_key.values().flatten().max().copied();
            if let (Some(lowest), Some(m)) = (unfinished.first(), max_started) {
                prop_assert!(*lowest > m, "unstarted {} below started {}", lowest, m);
            }
        }
    }

    #[test]
    fn tracker_watermark_is_the_lowest_unfinished_offset(
        gaps in prop::collection::vec(1i64..5, 1..200),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..200),
    ) {
        let mut t = OffsetTracker::new();
        let mut offsets = Vec::new();
        let mut o = -1i64;
        for g in gaps {
            o += g;
            t.begin(o).unwrap();
            offsets.push(o);
        }
        let mut pending: BTreeSet<i64> = offsets.iter().copied().collect();
        let mut last = t.next_offset();
        prop_assert_eq!(last, offsets.first().copied());
        for idx in order {
            if pending.is_empty() { break; }
            let v: Vec<i64> = pending.iter().copied().collect();
            let pick = v[idx.index(v.len())];
            t.finish(pick).unwrap();
            pending.remove(&pick);
            let now = t.next_offset();
            prop_assert!(now >= last);
            match pending.first() {
                Some(lowest) => prop_assert_eq!(now, Some(*lowest)),
                None => prop_assert_eq!(now, Some(o + 1)),
            }
            last = now;
        }
    }
}
