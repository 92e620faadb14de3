//! [`GitHubProcessor`]: writes a filtered GitHub changelog through the Case API.

use crate::decode::comment_key;
use crate::target::{Target, resolve_login, target};
use async_trait::async_trait;
use std::sync::Arc;
use thirdparty_core::{
    Case, CaseApi, CaseUpdate, Change, Changelog, FieldUpdate, FilteredReason, NewTimelineCell,
    Processed, Processor, ProjectSettings, SyncError,
};
use tracing::debug;

/// Applies GitHub changelogs: one `update_case` per field change at the case's version
/// (stamped with `issue.updated_at`; a version conflict is returned for the pipeline to
/// re-read and re-filter), one idempotent timeline cell per comment (key
/// `github:comment:<comment id>`; an existing cell is `duplicate_event`). Assignee logins
/// are resolved with `resolve_user`; an unknown login is `assignee_resolution_failed`.
pub struct GitHubProcessor {
    api: Arc<dyn CaseApi>,
}

impl GitHubProcessor {
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
            "github change applied"
        );
        Ok(Processed::Applied)
    }
}

#[async_trait]
impl Processor for GitHubProcessor {
    async fn process(
        &self,
        changelog: &Changelog,
        case: &Case,
        settings: &ProjectSettings,
    ) -> Result<Processed, SyncError> {
        match target(changelog, case, settings) {
            Err(reason) => Ok(Processed::Skipped(reason)),
            Ok(Target::Update(update)) => self.update(changelog, case, update).await,
            Ok(Target::Assignee(None)) => {
                self.update(changelog, case, FieldUpdate::Assignee(None))
                    .await
            }
            Ok(Target::Assignee(Some(login))) => {
                match resolve_login(&self.api, changelog.org_id, login).await? {
                    Some(user) => {
                        self.update(changelog, case, FieldUpdate::Assignee(Some(user)))
                            .await
                    }
                    None => Ok(Processed::Skipped(FilteredReason::AssigneeResolutionFailed)),
                }
            }
            Ok(Target::Comment) => {
                let Change::Comment(comment) = &changelog.change else {
                    return Err(SyncError::Invalid(format!(
                        "changelog {} targets comments but carries no comment",
                        changelog.event_id
                    )));
                };
                let key = comment_key(&comment.id);
                let cell = NewTimelineCell::from_comment(case, changelog, comment, key);
                let created = self.api.create_timeline_cell(&cell).await?;
                if created.created {
                    Ok(Processed::Applied)
                } else {
                    Ok(Processed::Skipped(FilteredReason::DuplicateEvent))
                }
            }
        }
    }
}
