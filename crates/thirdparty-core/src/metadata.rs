//! [`MetadataCache`]: each organisation's configured third-party scopes, cached for the
//! prefilter so that an event of an unconfigured scope is skipped without a remote call.

use crate::{
    CacheStats, CaseApi, CaseApiError, ExpiringCache, Integration, IntegrationMetadata, OrgId,
};
use std::sync::Arc;
use std::time::Duration;

/// The [`IntegrationMetadata`] rows of one integration, per organisation, loaded through
/// [`CaseApi::list_integration_metadata`] and kept for a TTL: one call per organisation per
/// TTL, concurrent misses of an organisation share that call, failed loads are not cached.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build()
/// #     .unwrap_or_else(|_| std::process::abort()).block_on(async {
/// use std::{sync::Arc, time::Duration};
/// use thirdparty_core::{CaseApi, Integration, MetadataCache, OrgId};
/// # struct Api;
/// # #[async_trait::async_trait]
/// # impl CaseApi for Api {
/// #     async fn get_case(&self, _: OrgId, _: &thirdparty_core::CaseId) -> Result<Option<thirdparty_core::Case>, thirdparty_core::CaseApiError> { Ok(None) }
/// #     async fn find_case_by_third_party(&self, _: OrgId, _: &str, _: &thirdparty_core::ThirdPartyRef) -> Result<Option<thirdparty_core::Case>, thirdparty_core::CaseApiError> { Ok(None) }
/// #     async fn get_project_settings(&self, _: OrgId, _: &thirdparty_core::ProjectId, _: &str) -> Result<Option<thirdparty_core::ProjectSettings>, thirdparty_core::CaseApiError> { Ok(None) }
/// #     async fn list_integration_metadata(&self, _: OrgId, _: &str) -> Result<Vec<thirdparty_core::IntegrationMetadata>, thirdparty_core::CaseApiError> { Ok(vec![]) }
/// #     async fn list_integration_orgs(&self, _: &str) -> Result<Vec<OrgId>, thirdparty_core::CaseApiError> { Ok(vec![OrgId(7)]) }
/// #     async fn update_case(&self, _: &thirdparty_core::CaseUpdate) -> Result<thirdparty_core::Case, thirdparty_core::CaseApiError> { Err(thirdparty_core::CaseApiError::InvalidArgument { rpc: "UpdateCase", message: String::new() }) }
/// #     async fn create_timeline_cell(&self, _: &thirdparty_core::NewTimelineCell) -> Result<thirdparty_core::TimelineCellCreated, thirdparty_core::CaseApiError> { Err(thirdparty_core::CaseApiError::InvalidArgument { rpc: "CreateTimelineCell", message: String::new() }) }
/// #     async fn resolve_user(&self, _: OrgId, _: &thirdparty_core::UserQuery) -> Result<Option<thirdparty_core::UserId>, thirdparty_core::CaseApiError> { Ok(None) }
/// # }
/// # let api: Arc<dyn CaseApi> = Arc::new(Api);
/// let cache = MetadataCache::new(api, Integration::new("jira"), 10_000, Duration::from_secs(300));
/// assert_eq!(cache.warm().await?, 1); // every org with the integration, before readiness
/// let rows = cache.rows(OrgId(7)).await?; // no remote call now
/// assert!(rows.is_empty());
/// assert_eq!(cache.stats().hits, 1);
/// # Ok::<(), thirdparty_core::CaseApiError>(())
/// # }).unwrap_or_else(|_| std::process::abort());
/// ```
pub struct MetadataCache {
    api: Arc<dyn CaseApi>,
    integration: Integration,
    cache: ExpiringCache<OrgId, Arc<[IntegrationMetadata]>>,
}

impl MetadataCache {
    /// A cache of `integration`'s metadata holding about `capacity` organisations for `ttl`.
    pub fn new(
        api: Arc<dyn CaseApi>,
        integration: Integration,
        capacity: usize,
        ttl: Duration,
    ) -> Self {
        Self {
            api,
            integration,
            cache: ExpiringCache::new(capacity, ttl),
        }
    }

    /// The organisation's rows for this integration (rows of another integration or
    /// organisation, should the API return any, are dropped).
    pub async fn rows(&self, org: OrgId) -> Result<Arc<[IntegrationMetadata]>, CaseApiError> {
        self.cache.get_or_load(org, || self.load(org)).await
    }

    async fn load(&self, org: OrgId) -> Result<Arc<[IntegrationMetadata]>, CaseApiError> {
        let rows = self
            .api
            .list_integration_metadata(org, self.integration.as_str())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|m| m.org_id == org && m.integration == self.integration.as_str())
            .collect())
    }

    /// Loads every organisation that has the integration configured
    /// ([`CaseApi::list_integration_orgs`]), so the first events need no remote call.
    /// Returns the number of organisations loaded.
    pub async fn warm(&self) -> Result<usize, CaseApiError> {
        let orgs = self
            .api
            .list_integration_orgs(self.integration.as_str())
            .await?;
        for org in &orgs {
            let rows = self.load(*org).await?;
            self.cache.insert(*org, rows);
        }
        Ok(orgs.len())
    }

    /// Hit, miss and load-error counts.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats()
    }
}
