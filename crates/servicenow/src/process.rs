//! [`ServiceNowProcessor`]: writes a filtered change to the case.

use crate::decode::comment_field;
use async_trait::async_trait;
use std::sync::Arc;
use thirdparty_core::{
    Case, CaseApi, CaseField, CaseUpdate, Change, Changelog, FieldChange, FieldUpdate,
    FilteredReason, NewTimelineCell, Processed, Processor, ProjectSettings, SyncError,
};
use tracing::debug;

/// The ServiceNow [`Processor`]:
/// - a state change becomes a [`CaseUpdate`] of the case status (mapped through the
///   project's `value_mappings[status]`) with the case's version as the expected version and
///   a field stamp of (`updatedTime`, `sysModCount`); a version conflict is returned as the
///   [`SyncError`] so the pipeline re-reads the case and filters again;
/// - a comment or work note becomes a timeline cell with idempotency key
///   `servicenow:<sysId>:<sysModCount or sha256 of the body>:comment|work_note`, `internal`
///   for work notes and `updatedBy` as author; a cell that already existed is reported as
///   `duplicate_event`.
pub struct ServiceNowProcessor {
    api: Arc<dyn CaseApi>,
}

impl ServiceNowProcessor {
    /// A processor writing through `api`.
    pub fn new(api: Arc<dyn CaseApi>) -> Self {
        Self { api }
    }
}

/// The case status a ServiceNow state change maps to (`value_mappings.status`), if any.
pub(crate) fn mapped_status<'s>(
    settings: &'s ProjectSettings,
    change: &FieldChange,
) -> Option<&'s str> {
    change
        .to
        .as_ref()
        .and_then(|v| settings.map_field_value(CaseField::Status, v))
}

/// The timeline idempotency key of a comment or work note.
pub(crate) fn idempotency_key(sys_id: &str, comment_id: &str, internal: bool) -> String {
    format!(
        "servicenow:{sys_id}:{comment_id}:{}",
        comment_field(internal)
    )
}

#[async_trait]
impl Processor for ServiceNowProcessor {
    async fn process(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<Processed, SyncError> {
        match &changelog.change {
            Change::Status(change) => {
                let Some(status) = mapped_status(settings, change) else {
                    return Ok(Processed::Skipped(FilteredReason::FieldValueNotMapped));
                };
                let update = CaseUpdate::from_changelog(
                    case,
                    changelog,
                    FieldUpdate::Status(status.to_owned()),
                );
                let updated = self.api.update_case(&update).await?;
                debug!(
                    case_id = %updated.id,
                    version = %updated.version,
                    event_id = %changelog.event_id,
                    "servicenow state applied to case status"
                );
                Ok(Processed::Applied)
            }
            Change::Comment(comment) => {
                let key = idempotency_key(
                    &changelog.third_party.item_id,
                    &comment.id,
                    comment.internal,
                );
                let cell = NewTimelineCell::from_comment(case, changelog, comment, key);
                let created = self.api.create_timeline_cell(&cell).await?;
                if created.created {
                    Ok(Processed::Applied)
                } else {
                    Ok(Processed::Skipped(FilteredReason::DuplicateEvent))
                }
            }
            _ => Err(SyncError::Invalid(format!(
                "the ServiceNow processor cannot apply a {} change (event {}); only state, comment and work note changes come from ServiceNow",
                changelog.changelog_type().bounded_tag(),
                changelog.event_id
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_incident_update_and_kind() {
        assert_eq!(
            idempotency_key("0a52", "12", false),
            "servicenow:0a52:12:comment"
        );
        assert_eq!(
            idempotency_key("0a52", "12", true),
            "servicenow:0a52:12:work_note"
        );
    }
}
