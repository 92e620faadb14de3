//! [`GitHubProcessor`]: writes a filtered GitHub changelog through the Case API.

use crate::decode::comment_key;
use crate::target::{Target, login_query, target};
use async_trait::async_trait;
use std::sync::Arc;
use thirdparty_core::{
    Case, CaseApi, CaseUpdate, Change, Changelog, FieldUpdate, FilteredReason, NewTimelineCell,
    Processed, Processor, ProjectSettings as Settings, SyncError,
};
use tracing::debug;

/// Applies GitHub changelogs: one `update_case` per field change at the case's version
/// (stamped with `issue.updated_at`; a version conflict is returned for the pipeline to
/// re-read and re-filter), one idempotent timeline cell per comment (key
/// `github:comment:<comment id>`; an existing cell is `duplicate_event`). Assignee logins
/// are resolved with `resolve_user`; an unknown login is `assignee_resolution_failed`.
pub struct GitHubProcessor(Arc<dyn CaseApi>);

impl GitHubProcessor {
    /// A processor writing through `api`.
    pub fn new(api: Arc<dyn CaseApi>) -> Self {
        Self(api)
    }

    /// Creates the comment's timeline cell (idempotent on the comment id).
    async fn comment(&self, changelog: &Changelog, case: &Case) -> Result<Processed, SyncError> {
        let Change::Comment(comment) = &changelog.change else {
            return Err(SyncError::Invalid(format!(
                "changelog {} targets comments but carries no comment",
                changelog.event_id
            )));
        };
        let key = comment_key(&comment.id);
        let cell = NewTimelineCell::from_comment(case, changelog, comment, key);
        Ok(match self.0.create_timeline_cell(&cell).await?.created {
            true => Processed::Applied,
            false => Processed::Skipped(FilteredReason::DuplicateEvent),
        })
    }
}

type Done = Result<Processed, SyncError>;

#[async_trait]
impl Processor for GitHubProcessor {
    async fn process(&self, changelog: &Changelog, case: &Case, settings: &Settings) -> Done {
        let update = match target(changelog, case, settings) {
            Err(reason) => return Ok(Processed::Skipped(reason)),
            Ok(Target::Comment) => return self.comment(changelog, case).await,
            Ok(Target::Update(update)) => update,
            Ok(Target::Assignee(None)) => FieldUpdate::Assignee(None),
            Ok(Target::Assignee(Some(login))) => {
                match self
                    .0
                    .resolve_user(changelog.org_id, &login_query(login))
                    .await?
                {
                    Some(user) => FieldUpdate::Assignee(Some(user)),
                    None => {
                        return Ok(Processed::Skipped(FilteredReason::AssigneeResolutionFailed));
                    }
                }
            }
        };
        let field = update.field();
        let request = CaseUpdate::from_changelog(case, changelog, update);
        let version = self.0.update_case(&request).await?.version;
        debug!(event_id = %changelog.event_id, case_id = %case.id, field = field.as_str(), %version, "github change applied");
        Ok(Processed::Applied)
    }
}
