//! Wall-clock helpers for event times.

/// Milliseconds since the Unix epoch, now (the unit of Jira webhook timestamps).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `t` as RFC 3339 with whole seconds and `Z` (`2026-03-03T09:00:00Z`).
///
/// ```
/// let t = "2026-03-03T09:00:00.250Z".parse().map_err(|_| ())?;
/// assert_eq!(testkit::clock::rfc3339_secs(t), "2026-03-03T09:00:00Z");
/// # Ok::<(), ()>(())
/// ```
pub fn rfc3339_secs(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
