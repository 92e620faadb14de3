//! Facts of the repository's fixtures that tests, the bench and the chaos scenarios share:
//! where `fixtures/` is, the Jira site and users of `fixtures/jira/seed.json`, and builders
//! of the cases they seed.

use crate::error::{HarnessError, io};
use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The repository's `fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    repo_root().join("fixtures")
}

/// `fixtures/<flavor>/e2e/`: the flavor's end-to-end inputs (ARCHITECTURE.md, flavor contract §4), e.g. its
/// scripted `sequence.json`.
pub fn e2e_dir(flavor: &str) -> PathBuf {
    fixtures_dir().join(flavor).join("e2e")
}

/// The JSON document `fixtures/<path>` (e.g. `jira/payloads/create_comment.json`).
pub fn fixture_json(path: &str) -> Result<serde_json::Value, HarnessError> {
    let full = fixtures_dir().join(path);
    let bytes = std::fs::read(&full).map_err(io(format!("reading {}", full.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| HarnessError::Fixture {
        what: full.display().to_string(),
        detail: format!("not JSON: {e}"),
    })
}

/// `template` with the values at the JSON pointers of `fields` replaced, as bytes (a record
/// value); a pointer the template lacks is an error naming it.
///
/// ```
/// let template = serde_json::json!({"webhook": {"comment": {"id": "1"}}});
/// let value = testkit::fixtures::with_fields(&template, &[("/webhook/comment/id", "2".into())])?;
/// assert_eq!(value, br#"{"webhook":{"comment":{"id":"2"}}}"#);
/// assert!(testkit::fixtures::with_fields(&template, &[("/nope", 1.into())]).is_err());
/// # Ok::<(), testkit::HarnessError>(())
/// ```
pub fn with_fields(
    template: &serde_json::Value,
    fields: &[(&str, serde_json::Value)],
) -> Result<Vec<u8>, HarnessError> {
    let mut value = template.clone();
    for (pointer, field) in fields {
        *value
            .pointer_mut(pointer)
            .ok_or_else(|| HarnessError::Fixture {
                what: "a payload template".into(),
                detail: format!("it has no {pointer}"),
            })? = field.clone();
    }
    serde_json::to_vec(&value).map_err(|e| HarnessError::Fixture {
        what: "a payload template".into(),
        detail: e.to_string(),
    })
}

/// The files of `dir` whose name ends in `.<extension>`, sorted by name.
pub fn files_with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, HarnessError> {
    let listing = format!("listing {}", dir.display());
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(listing.clone()))? {
        let path = entry.map_err(io(listing.clone()))?.path();
        if path.extension().is_some_and(|x| x == extension) {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// The Jira site (account) of org 1 in `fixtures/jira/seed.json`.
pub const JIRA_ACCOUNT: &str = "4f9c2b7e-1d3a-4c5b-8e6f-0a1b2c3d4e5f";
/// Org 1's Jira integration user: its events are sync-cycle echoes, rejected in PreFilter.
pub const JIRA_INTEGRATION_USER: &str = "712020:7d3e5b1a-2c4f-4a6e-8b9d-0f1e2d3c4b5a";
/// A regular Jira user (not an integration user).
pub const JIRA_HUMAN_USER: &str = "5f1a7c3e9b2d4e0011a2b3c7";
/// Jira project 10000 maps to `proj-support` (bidirectional, conflicts rejected) in the seed.
pub const JIRA_CONFIGURED_PROJECT: &str = "10000";
/// A Jira project with no metadata row in org 1: its events are filtered
/// `no_matching_metadata`.
pub const JIRA_UNCONFIGURED_PROJECT: &str = "99999";

/// A case of org 1 in `proj-support` at version 1, priority P3, status OPEN, linked to the
/// Jira issue `issue_id` (key `<key_prefix>-<issue_id>`) of the site `account`: what the bench
/// and the chaos scenarios seed the sandbox with.
///
/// ```
/// let case = testkit::fixtures::linked_jira_case(
///     "bench-7", "Bench case 7 rev 0", testkit::fixtures::JIRA_ACCOUNT, 1_000_007, "BEN",
/// )?;
/// assert_eq!(case.version.0, 1);
/// # Ok::<(), testkit::HarnessError>(())
/// ```
pub fn linked_jira_case(
    case_id: &str,
    title: &str,
    account: &str,
    issue_id: u64,
    key_prefix: &str,
) -> Result<thirdparty_core::Case, HarnessError> {
    serde_json::from_value(serde_json::json!({
        "id": case_id,
        "org_id": 1,
        "version": 1,
        "project_id": "proj-support",
        "title": title,
        "description": "",
        "priority": "P3",
        "status": "OPEN",
        "assignee": null,
        "due_date": null,
        "created_at": "2025-06-01T09:00:00Z",
        "third_party_links": [{
            "integration": "jira",
            "account_id": account,
            "item_id": issue_id.to_string(),
            "item_key": format!("{key_prefix}-{issue_id}"),
        }],
        "field_stamps": {},
    }))
    .map_err(|e| HarnessError::Fixture {
        what: format!("linked Jira case {case_id}"),
        detail: e.to_string(),
    })
}
