//! [`JiraProcessor`]: writes a filtered Jira changelog through the Case API.

use crate::values::{Target, resolve_user, target};
use async_trait::async_trait;
use std::sync::Arc;
use thirdparty_core::{
    Case, CaseApi, CaseUpdate, Change, Changelog, FieldUpdate, FilteredReason, NewTimelineCell,
    Processed, Processor, ProjectSettings, SyncError,
};
use tracing::debug;

/// Applies Jira changelogs: one `update_case` per field change at the case's version (a
/// version conflict is returned for the pipeline to re-read and re-filter), one idempotent
/// timeline cell per comment (key `jira:<comment id>`; an existing cell is
/// `duplicate_event`). Assignees are resolved by account id / username, then display name;
/// an unknown user is `assignee_resolution_failed`.
pub struct JiraProcessor {
    api: Arc<dyn CaseApi>,
}

impl JiraProcessor {
    /// A processor writing through `api`.
    pub fn new(api: Arc<dyn CaseApi>) -> Self {
        Self { api }
    }

    async fn update(
        &self,
        changelog: &Changelog,
        case: &Case,
        update: FieldUpdate,
    ) -> Result<Processed, SyncError> {
        let field = update.field();
        let request = CaseUpdate::from_changelog(case, changelog, update);
        let updated = self.api.update_case(&request).await?;
        debug!(
            event_id = %changelog.event_id,
            case_id = %case.id,
            field = field.as_str(),
            version = %updated.version,
            "jira change applied"
        );
        Ok(Processed::Applied)
    }
}

#[async_trait]
impl Processor for JiraProcessor {
    async fn process(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<Processed, SyncError> {
        let target = match target(changelog, settings) {
            Ok(t) => t,
            Err(reason) => return Ok(Processed::Skipped(reason)),
        };
        match target {
            Target::Update(update) => self.update(changelog, case, update).await,
            Target::Assignee(None) => {
                self.update(changelog, case, FieldUpdate::Assignee(None))
                    .await
            }
            Target::Assignee(Some(to)) => {
                match resolve_user(&self.api, changelog.org_id, to).await? {
                    Some(user) => {
                        self.update(changelog, case, FieldUpdate::Assignee(Some(user)))
                            .await
                    }
                    None => {
                        debug!(event_id = %changelog.event_id, case_id = %case.id, "jira assignee not found in Case Management");
                        Ok(Processed::Skipped(FilteredReason::AssigneeResolutionFailed))
                    }
                }
            }
            Target::Comment => {
                let Change::Comment(comment) = &changelog.change else {
                    return Err(SyncError::Invalid(format!(
                        "changelog {} targets comments but carries no comment",
                        changelog.event_id
                    )));
                };
                let cell = NewTimelineCell::from_comment(
                    case,
                    changelog,
                    comment,
                    format!("jira:{}", comment.id),
                );
                let created = self.api.create_timeline_cell(&cell).await?;
                if created.created {
                    debug!(event_id = %changelog.event_id, case_id = %case.id, internal = comment.internal, "jira comment synced");
                    Ok(Processed::Applied)
                } else {
                    Ok(Processed::Skipped(FilteredReason::DuplicateEvent))
                }
            }
        }
    }
}
