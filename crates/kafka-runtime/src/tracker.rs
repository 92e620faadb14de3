//! Pure, tick-by-tick bookkeeping of one partition (no rdkafka, no clock):
//! [`OffsetTracker`] (the in-order commit watermark) and [`KeyedScheduler`] (per-key order,
//! bounded concurrency, bounded queue).
//!
//! Offset convention, used everywhere in this crate: the value stored and committed for a
//! partition is the **next offset to read**, i.e. `offset + 1` of the highest message such
//! that it and every message before it are finished. A consumer that resumes from the
//! committed value re-reads exactly the unfinished messages.

use bytes::Bytes;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// A call that breaks the tracker's contract; the partition must be restarted from its
/// last stored watermark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackerError {
    /// Offsets must be begun in increasing order.
    #[error(
        "offset {offset} begun after offset {last_begun}: offsets must increase within a partition"
    )]
    NotIncreasing {
        /// The offset begun.
        offset: i64,
        /// The highest offset begun before.
        last_begun: i64,
    },
    /// Only begun, unfinished offsets can be finished.
    #[error("offset {offset} finished but it is not pending (never begun, or finished twice)")]
    NotPending {
        /// The offset finished.
        offset: i64,
    },
    /// Offsets are never negative.
    #[error("offset {offset} is negative")]
    Negative {
        /// The offset.
        offset: i64,
    },
}

/// The in-order watermark of one partition: which offset may be committed.
///
/// [`OffsetTracker::begin`] every message as it is received (in increasing offset order),
/// [`OffsetTracker::finish`] it when done, in any order. [`OffsetTracker::next_offset`] is
/// the smallest unfinished offset, or one past the last begun offset when nothing is
/// pending: it never passes a message still in flight or waiting for a retry, and it never
/// goes backwards.
///
/// ```
/// use kafka_runtime::OffsetTracker;
/// let mut t = OffsetTracker::new();
/// assert_eq!(t.next_offset(), None, "nothing received: nothing to commit");
/// for o in [10, 11, 13] { t.begin(o)?; }      // offset 12 was compacted away
/// t.finish(11)?;
/// assert_eq!(t.next_offset(), Some(10), "10 is still in flight");
/// t.finish(10)?;
/// assert_eq!(t.next_offset(), Some(13));
/// t.finish(13)?;
/// assert_eq!(t.next_offset(), Some(14), "next offset to read");
/// # Ok::<(), kafka_runtime::TrackerError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetTracker {
    pending: BTreeSet<i64>,
    last_begun: Option<i64>,
}

impl OffsetTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a received message. Offsets must increase.
    pub fn begin(&mut self, offset: i64) -> Result<(), TrackerError> {
        if offset < 0 {
            return Err(TrackerError::Negative { offset });
        }
        if let Some(last_begun) = self.last_begun
            && offset <= last_begun
        {
            return Err(TrackerError::NotIncreasing { offset, last_begun });
        }
        self.pending.insert(offset);
        self.last_begun = Some(offset);
        Ok(())
    }

    /// Records a finished message (handled, skipped or dropped), in any order.
    pub fn finish(&mut self, offset: i64) -> Result<(), TrackerError> {
        if self.pending.remove(&offset) {
            Ok(())
        } else {
            Err(TrackerError::NotPending { offset })
        }
    }

    /// The offset to store and commit (next offset to read), if any message was received.
    pub fn next_offset(&self) -> Option<i64> {
        match self.pending.first() {
            Some(&lowest_unfinished) => Some(lowest_unfinished),
            None => self.last_begun.map(|o| o.saturating_add(1)),
        }
    }

    /// The highest offset begun so far.
    pub fn last_begun(&self) -> Option<i64> {
        self.last_begun
    }

    /// Whether `offset` is begun and unfinished.
    pub fn is_pending(&self, offset: i64) -> bool {
        self.pending.contains(&offset)
    }

    /// Number of begun, unfinished messages.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }
}

/// The ordering key of a message. Messages without a key share one lane (kept in order with
/// each other), which is the conservative choice for producers that do not set keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LaneKey {
    /// The record key's bytes.
    Key(Bytes),
    /// No record key.
    Keyless,
}

impl LaneKey {
    /// The lane of a record key.
    pub fn of(key: Option<&Bytes>) -> Self {
        key.map_or(Self::Keyless, |k| Self::Key(k.clone()))
    }
}

/// Why [`KeyedScheduler::push`] did not take a message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PushError<T> {
    /// The scheduler holds `capacity` messages: pause the partition and push it again once
    /// something finishes.
    #[error("the partition queue is full")]
    Full(T),
    /// The scheduler stopped taking messages (revoke, shutdown, fatal error).
    #[error("the partition is draining and takes no new message")]
    Stopped(T),
    /// The offset is not after the last one pushed (a redelivery): drop the message, it was
    /// already taken.
    #[error("offset {offset} was already taken (last taken {last_taken})")]
    AlreadyTaken {
        /// The message.
        item: T,
        /// Its offset.
        offset: i64,
        /// The highest offset taken.
        last_taken: i64,
    },
    /// Negative offset.
    #[error(transparent)]
    Invalid(TrackerError),
}

/// A message the scheduler says may start now.
#[derive(Debug, PartialEq, Eq)]
pub struct Started<T> {
    /// Its offset.
    pub offset: i64,
    /// Its lane.
    pub lane: LaneKey,
    /// The message.
    pub item: T,
}

#[derive(Debug)]
struct Entry<T> {
    offset: i64,
    /// `None` once started.
    item: Option<T>,
    failed: bool,
}

/// The per-partition scheduler: messages of one key run strictly one after another in
/// offset order; messages of different keys run concurrently, at most `max_in_flight` at a
/// time; at most `capacity` messages are held (in flight plus waiting). It owns the
/// partition's [`OffsetTracker`].
///
/// Pure and synchronous, so every interleaving can be tested tick by tick:
///
/// ```
/// use bytes::Bytes;
/// use kafka_runtime::{KeyedScheduler, LaneKey};
/// let a = LaneKey::Key(Bytes::from_static(b"a"));
/// let b = LaneKey::Key(Bytes::from_static(b"b"));
/// let mut s = KeyedScheduler::new(2, 10);
/// s.push(0, a.clone(), "a0").map_err(|e| e.to_string())?;
/// s.push(1, a.clone(), "a1").map_err(|e| e.to_string())?;
/// s.push(2, b.clone(), "b0").map_err(|e| e.to_string())?;
/// let started: Vec<_> = std::iter::from_fn(|| s.next_ready()).map(|st| st.item).collect();
/// assert_eq!(started, ["a0", "b0"], "a1 waits for a0; two in flight");
/// s.complete(2, &b).map_err(|e| e.to_string())?;
/// assert_eq!(s.next_offset(), Some(0), "a0 still in flight");
/// s.complete(0, &a).map_err(|e| e.to_string())?;
/// assert_eq!(s.next_ready().map(|st| st.item), Some("a1"));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug)]
pub struct KeyedScheduler<T> {
    max_in_flight: usize,
    capacity: usize,
    tracker: OffsetTracker,
    lanes: HashMap<LaneKey, VecDeque<Entry<T>>>,
    /// Lanes whose front entry may start, in the order they became ready.
    runnable: VecDeque<LaneKey>,
    held: usize,
    in_flight: usize,
    max_started: Option<i64>,
    stopped: bool,
}

impl<T> KeyedScheduler<T> {
    /// A scheduler running at most `max_in_flight` messages and holding at most `capacity`
    /// (both at least 1; `capacity` at least `max_in_flight`).
    pub fn new(max_in_flight: usize, capacity: usize) -> Self {
        let max_in_flight = max_in_flight.max(1);
        Self {
            max_in_flight,
            capacity: capacity.max(max_in_flight),
            tracker: OffsetTracker::new(),
            lanes: HashMap::new(),
            runnable: VecDeque::new(),
            held: 0,
            in_flight: 0,
            max_started: None,
            stopped: false,
        }
    }

    /// Takes a received message (offsets increasing).
    pub fn push(&mut self, offset: i64, lane: LaneKey, item: T) -> Result<(), PushError<T>> {
        if self.stopped {
            return Err(PushError::Stopped(item));
        }
        if let Some(last_taken) = self.tracker.last_begun()
            && offset <= last_taken
        {
            return Err(PushError::AlreadyTaken {
                item,
                offset,
                last_taken,
            });
        }
        if self.held >= self.capacity {
            return Err(PushError::Full(item));
        }
        self.tracker.begin(offset).map_err(PushError::Invalid)?;
        let queue = self.lanes.entry(lane.clone()).or_default();
        queue.push_back(Entry {
            offset,
            item: Some(item),
            failed: false,
        });
        if queue.len() == 1 {
            self.runnable.push_back(lane);
        }
        self.held += 1;
        Ok(())
    }

    /// The next message that may start now, if any: the front of a ready lane, while fewer
    /// than `max_in_flight` run. After [`KeyedScheduler::stop_taking`], only messages below
    /// the highest started offset start (they must finish for the watermark to reach the
    /// messages already handled; later ones are left to the next owner).
    pub fn next_ready(&mut self) -> Option<Started<T>> {
        if self.in_flight >= self.max_in_flight {
            return None;
        }
        let mut skipped = 0;
        while skipped < self.runnable.len() {
            let lane = self.runnable.pop_front()?;
            let Some(front) = self.lanes.get_mut(&lane).and_then(|q| q.front_mut()) else {
                continue;
            };
            let allowed = !self.stopped || self.max_started.is_some_and(|m| front.offset < m);
            if !allowed {
                // Keep it for the ready order; look further.
                self.runnable.push_back(lane);
                skipped += 1;
                continue;
            }
            let Some(item) = front.item.take() else {
                continue;
            };
            let offset = front.offset;
            self.in_flight += 1;
            self.max_started = Some(self.max_started.map_or(offset, |m| m.max(offset)));
            return Some(Started { offset, lane, item });
        }
        None
    }

    /// Marks the started message at `offset` of `lane` finished: its lane's next message may
    /// start and the watermark may advance.
    pub fn complete(&mut self, offset: i64, lane: &LaneKey) -> Result<(), TrackerError> {
        let queue = self
            .lanes
            .get_mut(lane)
            .ok_or(TrackerError::NotPending { offset })?;
        match queue.front() {
            Some(front) if front.offset == offset && front.item.is_none() && !front.failed => {}
            _ => return Err(TrackerError::NotPending { offset }),
        }
        self.tracker.finish(offset)?;
        queue.pop_front();
        if queue.is_empty() {
            self.lanes.remove(lane);
        } else {
            self.runnable.push_back(lane.clone());
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        self.held = self.held.saturating_sub(1);
        Ok(())
    }

    /// Marks the started message at `offset` of `lane` failed for good: it stays unfinished
    /// (the watermark never passes it) and its lane stays blocked. Stops taking messages.
    pub fn fail(&mut self, offset: i64, lane: &LaneKey) -> Result<(), TrackerError> {
        let front = self
            .lanes
            .get_mut(lane)
            .and_then(|q| q.front_mut())
            .filter(|f| f.offset == offset && f.item.is_none() && !f.failed)
            .ok_or(TrackerError::NotPending { offset })?;
        front.failed = true;
        self.in_flight = self.in_flight.saturating_sub(1);
        self.stop_taking();
        Ok(())
    }

    /// Stops taking messages (revoke, shutdown): see [`KeyedScheduler::next_ready`] and
    /// [`KeyedScheduler::is_drained`].
    pub fn stop_taking(&mut self) {
        self.stopped = true;
    }

    /// Whether [`KeyedScheduler::stop_taking`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// After [`KeyedScheduler::stop_taking`]: nothing runs and nothing below the highest
    /// started offset can still start, so the watermark is final.
    pub fn is_drained(&self) -> bool {
        self.stopped
            && self.in_flight == 0
            && !self.runnable.iter().any(|lane| {
                self.lanes
                    .get(lane)
                    .and_then(|q| q.front())
                    .is_some_and(|f| {
                        f.item.is_some() && self.max_started.is_some_and(|m| f.offset < m)
                    })
            })
    }

    /// Whether another message may be pushed now.
    pub fn has_room(&self) -> bool {
        !self.stopped && self.held < self.capacity
    }

    /// Messages running now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Messages held (running, waiting, or failed).
    pub fn held(&self) -> usize {
        self.held
    }

    /// The offset to store and commit: see [`OffsetTracker::next_offset`].
    pub fn next_offset(&self) -> Option<i64> {
        self.tracker.next_offset()
    }

    /// The partition's tracker.
    pub fn tracker(&self) -> &OffsetTracker {
        &self.tracker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &'static str) -> LaneKey {
        LaneKey::Key(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn tracker_rejects_contract_breaks() {
        let mut t = OffsetTracker::new();
        t.begin(5).unwrap();
        assert_eq!(
            t.begin(5),
            Err(TrackerError::NotIncreasing {
                offset: 5,
                last_begun: 5
            })
        );
        assert_eq!(t.finish(4), Err(TrackerError::NotPending { offset: 4 }));
        t.finish(5).unwrap();
        assert_eq!(t.finish(5), Err(TrackerError::NotPending { offset: 5 }));
        assert_eq!(t.begin(-1), Err(TrackerError::Negative { offset: -1 }));
        assert_eq!(t.next_offset(), Some(6));
    }

    #[test]
    fn capacity_and_stop_are_enforced() {
        let mut s = KeyedScheduler::new(1, 2);
        s.push(0, key("a"), 0).unwrap();
        s.push(1, key("a"), 1).unwrap();
        assert_eq!(s.push(2, key("b"), 2), Err(PushError::Full(2)));
        assert!(!s.has_room());
        assert!(matches!(
            s.push(1, key("b"), 9),
            Err(PushError::AlreadyTaken { offset: 1, .. })
        ));
        let st = s.next_ready().unwrap();
        assert_eq!(st.offset, 0);
        assert!(s.next_ready().is_none(), "max_in_flight 1");
        s.complete(0, &key("a")).unwrap();
        s.stop_taking();
        assert_eq!(s.push(2, key("b"), 2), Err(PushError::Stopped(2)));
        assert!(
            s.next_ready().is_none(),
            "offset 1 is above the highest started (0): left to the next owner"
        );
        assert!(s.is_drained());
        assert_eq!(s.next_offset(), Some(1));
    }

    #[test]
    fn drain_finishes_gaps_below_the_highest_started() {
        // a0 (slow) blocks a1; b2 runs and finishes. Draining must still run a1, because the
        // next owner would otherwise re-handle b2.
        let mut s = KeyedScheduler::new(4, 10);
        s.push(0, key("a"), "a0").unwrap();
        s.push(1, key("a"), "a1").unwrap();
        s.push(2, key("b"), "b2").unwrap();
        s.push(3, key("c"), "c3").unwrap();
        let a0 = s.next_ready().unwrap();
        let b2 = s.next_ready().unwrap();
        assert_eq!((a0.item, b2.item), ("a0", "b2"));
        s.complete(2, &key("b")).unwrap();
        s.stop_taking();
        assert!(
            s.next_ready().is_none(),
            "c3 is above the highest started (2)"
        );
        assert!(!s.is_drained());
        s.complete(0, &key("a")).unwrap();
        let a1 = s.next_ready().unwrap();
        assert_eq!(a1.item, "a1");
        assert!(!s.is_drained());
        s.complete(1, &key("a")).unwrap();
        assert!(s.is_drained());
        assert_eq!(s.next_offset(), Some(3), "c3 is re-read by the next owner");
    }

    #[test]
    fn a_failed_message_pins_the_watermark_and_its_lane() {
        let mut s = KeyedScheduler::new(4, 10);
        s.push(0, key("a"), 0).unwrap();
        s.push(1, key("a"), 1).unwrap();
        s.push(2, key("b"), 2).unwrap();
        let first = s.next_ready().unwrap();
        let second = s.next_ready().unwrap();
        assert_eq!((first.offset, second.offset), (0, 2));
        s.fail(0, &key("a")).unwrap();
        assert!(s.is_stopped());
        s.complete(2, &key("b")).unwrap();
        assert!(s.next_ready().is_none(), "a1 stays behind the failed a0");
        assert!(s.is_drained());
        assert_eq!(s.next_offset(), Some(0));
        assert_eq!(
            s.complete(0, &key("a")),
            Err(TrackerError::NotPending { offset: 0 })
        );
    }

    #[test]
    fn complete_checks_the_lane_front() {
        let mut s = KeyedScheduler::new(2, 10);
        s.push(0, LaneKey::Keyless, 0).unwrap();
        s.push(1, LaneKey::Keyless, 1).unwrap();
        assert_eq!(
            s.complete(0, &LaneKey::Keyless),
            Err(TrackerError::NotPending { offset: 0 }),
            "not started yet"
        );
        let st = s.next_ready().unwrap();
        assert!(s.next_ready().is_none(), "keyless messages share one lane");
        assert_eq!(
            s.complete(1, &LaneKey::Keyless),
            Err(TrackerError::NotPending { offset: 1 })
        );
        assert_eq!(
            s.complete(0, &key("x")),
            Err(TrackerError::NotPending { offset: 0 })
        );
        s.complete(st.offset, &st.lane).unwrap();
        assert_eq!(s.held(), 1);
    }
}
