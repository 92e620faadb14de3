//! [`Store`]: the in-memory Case Management behind both the [`CaseApi`] implementation and
//! the gRPC server.

use crate::faults::{FaultStatus, Faults, InjectedFault};
use crate::seed::{SandboxUser, Seed, SeedError};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use thirdparty_core::{
    Case, CaseApi, CaseApiError, CaseId, CaseUpdate, FieldUpdate, IntegrationMetadata,
    NewTimelineCell, OrgId, ProjectId, ProjectSettings, ThirdPartyRef, TimelineCell,
    TimelineCellCreated, UserId, UserQuery,
};

named_enum! {
    /// One Case Management RPC, as counted by the [`Store`] and targeted by
    /// [`Faults::fail_next`]. `Display` is the gRPC method name (`GetCase`, …).
    pub enum Rpc {
        /// `Cases/GetCase`.
        GetCase => "GetCase",
        /// `Cases/FindCaseByThirdParty`.
        FindCaseByThirdParty => "FindCaseByThirdParty",
        /// `Settings/GetProjectSettings`.
        GetProjectSettings => "GetProjectSettings",
        /// `Settings/ListIntegrationMetadata`.
        ListIntegrationMetadata => "ListIntegrationMetadata",
        /// `Settings/ListIntegrationOrgs`.
        ListIntegrationOrgs => "ListIntegrationOrgs",
        /// `Cases/UpdateCase`.
        UpdateCase => "UpdateCase",
        /// `Cases/CreateTimelineCell`.
        CreateTimelineCell => "CreateTimelineCell",
        /// `Users/ResolveUser`.
        ResolveUser => "ResolveUser",
    }
    all: "Every RPC, in declaration order.",
    as_str: "The gRPC method name.",
    from_name: "The RPC with this gRPC method name, if any.",
}

impl Rpc {
    /// The gRPC service (short name) the method belongs to: `Cases`, `Settings` or `Users`.
    pub const fn service(&self) -> &'static str {
        match self {
            Self::GetCase
            | Self::FindCaseByThirdParty
            | Self::UpdateCase
            | Self::CreateTimelineCell => "Cases",
            Self::GetProjectSettings
            | Self::ListIntegrationMetadata
            | Self::ListIntegrationOrgs => "Settings",
            Self::ResolveUser => "Users",
        }
    }
}

#[derive(Default)]
struct State {
    cases: BTreeMap<(OrgId, CaseId), Case>,
    settings: BTreeMap<(OrgId, ProjectId, String), ProjectSettings>,
    metadata: Vec<IntegrationMetadata>,
    users: Vec<SandboxUser>,
    /// Every timeline cell, in creation order.
    cells: Vec<TimelineCell>,
    /// (org, idempotency key) → index in `cells`.
    cell_keys: HashMap<(OrgId, String), usize>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    calls: Mutex<BTreeMap<Rpc, u64>>,
    faults: Faults,
    required_token: Mutex<Option<String>>,
}

/// An in-memory Case Management: cases with real optimistic locking, idempotent timeline
/// cells, project settings, integration metadata and users, with per-RPC call counters and
/// fault injection. It implements [`CaseApi`] directly (no network) and is what
/// [`crate::serve`] exposes over gRPC.
///
/// Cheap to clone: clones share the same data.
///
/// Semantics:
/// - `update_case` applies only when `expected_version` equals the stored version, then
///   increments the version, writes the field and records `field_stamps[field] = stamp`;
///   otherwise [`CaseApiError::VersionConflict`] with the current version. An unknown case
///   is [`CaseApiError::InvalidArgument`].
/// - `create_timeline_cell`: the same (org, idempotency key) twice returns the existing cell
///   with `created: false`. An unknown case is [`CaseApiError::InvalidArgument`].
/// - `find_case_by_third_party` matches a link's (integration, account id, item id) within
///   the org.
/// - `resolve_user`: account id (exact), then email (case-insensitive), then display name
///   (exact), within the org.
/// - Every [`CaseApi`] call increments its [`Rpc`] counter, failed calls included, then
///   waits the injected latency, then fails if a fault says so.
#[derive(Clone, Default)]
pub struct Store {
    inner: Arc<Inner>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state();
        f.debug_struct("Store")
            .field("cases", &s.cases.len())
            .field("settings", &s.settings.len())
            .field("metadata", &s.metadata.len())
            .field("users", &s.users.len())
            .field("timeline_cells", &s.cells.len())
            .finish()
    }
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `seed`. A case or settings key given twice keeps the last one.
    pub fn from_seed(seed: Seed) -> Self {
        let store = Self::new();
        store.load(seed);
        store
    }

    /// A store seeded from one JSON file (a [`Seed`]).
    pub fn load_seed_file(path: &Path) -> Result<Self, SeedError> {
        Seed::read_file(path).map(Self::from_seed)
    }

    /// A store seeded from every `*.json` file in `dir`, merged; a case or settings key
    /// defined twice is an error.
    pub fn load_seed_dir(dir: &Path) -> Result<Self, SeedError> {
        Seed::read_dir(dir).map(Self::from_seed)
    }

    /// Adds everything in `seed` to the store (replacing cases and settings with the same
    /// keys).
    pub fn load(&self, seed: Seed) {
        let Seed {
            cases,
            settings,
            metadata,
            users,
        } = seed;
        let mut s = self.state();
        for case in cases {
            s.cases.insert((case.org_id, case.id.clone()), case);
        }
        for settings in settings {
            s.settings.insert(settings_key(&settings), settings);
        }
        s.metadata.extend(metadata);
        s.users.extend(users);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn counters(&self) -> MutexGuard<'_, BTreeMap<Rpc, u64>> {
        self.inner
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Inserts (or replaces) a case.
    pub fn insert_case(&self, case: Case) {
        self.state()
            .cases
            .insert((case.org_id, case.id.clone()), case);
    }

    /// Inserts (or replaces) the settings of (org, project, integration).
    pub fn put_settings(&self, settings: ProjectSettings) {
        self.state()
            .settings
            .insert(settings_key(&settings), settings);
    }

    /// Adds an integration metadata row.
    pub fn add_metadata(&self, metadata: IntegrationMetadata) {
        self.state().metadata.push(metadata);
    }

    /// Adds a user.
    pub fn add_user(&self, user: SandboxUser) {
        self.state().users.push(user);
    }

    /// A case as stored now (not counted as a call).
    pub fn case(&self, org: OrgId, id: &CaseId) -> Option<Case> {
        self.state().cases.get(&(org, id.clone())).cloned()
    }

    /// Every case, ordered by (org, id).
    pub fn cases(&self) -> Vec<Case> {
        self.state().cases.values().cloned().collect()
    }

    /// Every stored settings, ordered by (org, project, integration).
    pub fn settings(&self) -> Vec<ProjectSettings> {
        self.state().settings.values().cloned().collect()
    }

    /// The timeline cells of one case, in creation order.
    pub fn timeline(&self, org: OrgId, id: &CaseId) -> Vec<TimelineCell> {
        self.state()
            .cells
            .iter()
            .filter(|c| c.cell.org_id == org && &c.cell.case_id == id)
            .cloned()
            .collect()
    }

    /// Every timeline cell, in creation order.
    pub fn timeline_cells(&self) -> Vec<TimelineCell> {
        self.state().cells.clone()
    }

    /// How many times `rpc` was called (failed calls included) since the last reset.
    pub fn calls(&self, rpc: Rpc) -> u64 {
        self.counters().get(&rpc).copied().unwrap_or(0)
    }

    /// Every RPC's call count (zeros included).
    pub fn call_counts(&self) -> BTreeMap<Rpc, u64> {
        let counters = self.counters();
        Rpc::ALL
            .into_iter()
            .map(|rpc| (rpc, counters.get(&rpc).copied().unwrap_or(0)))
            .collect()
    }

    /// Sets every call counter back to zero.
    pub fn reset_calls(&self) {
        self.counters().clear();
    }

    /// The fault-injection switches.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Requires `authorization: Bearer <token>` on every Case Management call served over
    /// gRPC (`None`: no token needed, the default). Without one the server answers
    /// `UNAUTHENTICATED`, with another `PERMISSION_DENIED`. The in-process [`CaseApi`]
    /// calls have no metadata and are not checked. Takes effect at the next call (rotation).
    pub fn require_token(&self, token: Option<String>) {
        *self
            .inner
            .required_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = token;
    }

    /// The token calls must carry, if any ([`Store::require_token`]).
    pub fn required_token(&self) -> Option<String> {
        self.inner
            .required_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A concurrent writer: changes a field as Case Management's own UI would (bumps the
    /// version, leaves the third-party field stamps alone). `None` when the case is unknown.
    /// Not counted as a call and never faulted.
    pub fn edit_case(&self, org: OrgId, id: &CaseId, update: FieldUpdate) -> Option<Case> {
        let mut s = self.state();
        let case = s.cases.get_mut(&(org, id.clone()))?;
        apply_field(case, update);
        case.version.0 = case.version.0.saturating_add(1);
        Some(case.clone())
    }

    /// Counts a call of `rpc`, waits the injected latency, and returns the injected fault
    /// for this call, if any.
    pub(crate) async fn enter(&self, rpc: Rpc) -> Result<(), InjectedFault> {
        {
            let mut counters = self.counters();
            let n = counters.entry(rpc).or_insert(0);
            *n = n.saturating_add(1);
        }
        let latency = self.inner.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match self.inner.faults.take(rpc) {
            Some(fault) => {
                tracing::debug!(
                    rpc = rpc.as_str(),
                    status = fault.status.as_str(),
                    outage = fault.outage,
                    "sandbox: injected fault"
                );
                Err(fault)
            }
            None => Ok(()),
        }
    }

    pub(crate) fn do_get_case(&self, org: OrgId, id: &CaseId) -> Option<Case> {
        self.case(org, id)
    }

    pub(crate) fn do_find_case(
        &self,
        org: OrgId,
        integration: &str,
        account_id: &str,
        item_id: &str,
    ) -> Option<Case> {
        self.state()
            .cases
            .values()
            .find(|c| {
                c.org_id == org
                    && c.third_party_links.iter().any(|l| {
                        l.integration == integration
                            && l.account_id == account_id
                            && l.item_id == item_id
                    })
            })
            .cloned()
    }

    pub(crate) fn do_get_settings(
        &self,
        org: OrgId,
        project: &ProjectId,
        integration: &str,
    ) -> Option<ProjectSettings> {
        self.state()
            .settings
            .get(&(org, project.clone(), integration.to_owned()))
            .cloned()
    }

    pub(crate) fn do_list_metadata(
        &self,
        org: OrgId,
        integration: &str,
    ) -> Vec<IntegrationMetadata> {
        self.state()
            .metadata
            .iter()
            .filter(|m| m.org_id == org && m.integration == integration)
            .cloned()
            .collect()
    }

    pub(crate) fn do_list_orgs(&self, integration: &str) -> Vec<OrgId> {
        let mut orgs: Vec<OrgId> = self
            .state()
            .metadata
            .iter()
            .filter(|m| m.integration == integration)
            .map(|m| m.org_id)
            .collect();
        orgs.sort_unstable();
        orgs.dedup();
        orgs
    }

    pub(crate) fn do_update_case(&self, update: &CaseUpdate) -> Result<Case, CaseApiError> {
        let mut s = self.state();
        let Some(case) = s.cases.get_mut(&(update.org_id, update.case_id.clone())) else {
            return Err(CaseApiError::InvalidArgument {
                rpc: Rpc::UpdateCase.as_str(),
                message: format!("case {} not found in org {}", update.case_id, update.org_id),
            });
        };
        if case.version != update.expected_version {
            return Err(CaseApiError::VersionConflict {
                case_id: update.case_id.clone(),
                expected: update.expected_version,
                actual: Some(case.version),
            });
        }
        apply_field(case, update.update.clone());
        case.field_stamps
            .insert(update.update.field(), update.stamp);
        case.version.0 = case.version.0.saturating_add(1);
        Ok(case.clone())
    }

    pub(crate) fn do_create_cell(
        &self,
        cell: &NewTimelineCell,
    ) -> Result<TimelineCellCreated, CaseApiError> {
        let mut guard = self.state();
        let s = &mut *guard;
        let key = (cell.org_id, cell.idempotency_key.clone());
        if let Some(existing) = s.cell_keys.get(&key).and_then(|i| s.cells.get(*i)) {
            return Ok(TimelineCellCreated {
                cell: existing.clone(),
                created: false,
            });
        }
        if cell.idempotency_key.is_empty() {
            return Err(CaseApiError::InvalidArgument {
                rpc: Rpc::CreateTimelineCell.as_str(),
                message: "idempotency_key is empty; every timeline cell needs one".into(),
            });
        }
        if !s.cases.contains_key(&(cell.org_id, cell.case_id.clone())) {
            return Err(CaseApiError::InvalidArgument {
                rpc: Rpc::CreateTimelineCell.as_str(),
                message: format!("case {} not found in org {}", cell.case_id, cell.org_id),
            });
        }
        let stored = TimelineCell {
            id: format!("cell-{:06}", s.cells.len().saturating_add(1)),
            cell: cell.clone(),
        };
        s.cell_keys.insert(key, s.cells.len());
        s.cells.push(stored.clone());
        Ok(TimelineCellCreated {
            cell: stored,
            created: true,
        })
    }

    pub(crate) fn do_resolve_user(&self, org: OrgId, query: &UserQuery) -> Option<UserId> {
        let s = self.state();
        let in_org = || s.users.iter().filter(|u| u.org_id == org);
        let by_account = query
            .account_id
            .as_deref()
            .and_then(|account| in_org().find(|u| u.account_ids.iter().any(|a| a == account)));
        let by_email = || {
            query.email.as_deref().and_then(|email| {
                in_org().find(|u| {
                    u.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(email))
                })
            })
        };
        let by_name = || {
            query
                .display_name
                .as_deref()
                .and_then(|name| in_org().find(|u| u.display_name == name))
        };
        by_account
            .or_else(by_email)
            .or_else(by_name)
            .map(|u| u.user_id.clone())
    }
}

fn settings_key(s: &ProjectSettings) -> (OrgId, ProjectId, String) {
    (s.org_id, s.project_id.clone(), s.integration.clone())
}

fn apply_field(case: &mut Case, update: FieldUpdate) {
    match update {
        FieldUpdate::Title(t) => case.title = t,
        FieldUpdate::Description(d) => case.description = d,
        FieldUpdate::Priority(p) => case.priority = p,
        FieldUpdate::Status(s) => case.status = s,
        FieldUpdate::Assignee(a) => case.assignee = a,
        FieldUpdate::DueDate(d) => case.due_date = d,
    }
}

impl Store {
    /// [`Store::enter`] for a call through the in-memory [`CaseApi`]: an injected fault is
    /// the [`CaseApiError`] of its status (`update` is the update an `UpdateCase` applies).
    async fn enter_in_memory(
        &self,
        rpc: Rpc,
        update: Option<&CaseUpdate>,
    ) -> Result<(), CaseApiError> {
        self.enter(rpc)
            .await
            .map_err(|fault| fault_error(rpc, fault, update))
    }
}

/// The [`CaseApiError`] an injected fault stands for in memory. `update` gives the context
/// an `ABORTED` on `UpdateCase` needs to become a version conflict.
fn fault_error(rpc: Rpc, fault: InjectedFault, update: Option<&CaseUpdate>) -> CaseApiError {
    let message = if fault.outage {
        format!("injected outage: {}", fault.status)
    } else {
        format!("injected fault: {}", fault.status)
    };
    let rpc_name = rpc.as_str();
    match fault.status {
        FaultStatus::Unavailable
        | FaultStatus::DeadlineExceeded
        | FaultStatus::ResourceExhausted => CaseApiError::Unavailable {
            rpc: rpc_name,
            message,
        },
        FaultStatus::InvalidArgument => CaseApiError::InvalidArgument {
            rpc: rpc_name,
            message,
        },
        FaultStatus::Aborted => match update {
            Some(u) => CaseApiError::VersionConflict {
                case_id: u.case_id.clone(),
                expected: u.expected_version,
                actual: None,
            },
            None => CaseApiError::Internal {
                rpc: rpc_name,
                message,
            },
        },
        FaultStatus::Internal => CaseApiError::Internal {
            rpc: rpc_name,
            message,
        },
    }
}

#[async_trait]
impl CaseApi for Store {
    async fn get_case(&self, org: OrgId, case_id: &CaseId) -> Result<Option<Case>, CaseApiError> {
        self.enter_in_memory(Rpc::GetCase, None).await?;
        Ok(self.do_get_case(org, case_id))
    }

    async fn find_case_by_third_party(
        &self,
        org: OrgId,
        integration: &str,
        reference: &ThirdPartyRef,
    ) -> Result<Option<Case>, CaseApiError> {
        self.enter_in_memory(Rpc::FindCaseByThirdParty, None)
            .await?;
        Ok(self.do_find_case(org, integration, &reference.account_id, &reference.item_id))
    }

    async fn get_project_settings(
        &self,
        org: OrgId,
        project: &ProjectId,
        integration: &str,
    ) -> Result<Option<ProjectSettings>, CaseApiError> {
        self.enter_in_memory(Rpc::GetProjectSettings, None).await?;
        Ok(self.do_get_settings(org, project, integration))
    }

    async fn list_integration_metadata(
        &self,
        org: OrgId,
        integration: &str,
    ) -> Result<Vec<IntegrationMetadata>, CaseApiError> {
        self.enter_in_memory(Rpc::ListIntegrationMetadata, None)
            .await?;
        Ok(self.do_list_metadata(org, integration))
    }

    async fn list_integration_orgs(&self, integration: &str) -> Result<Vec<OrgId>, CaseApiError> {
        self.enter_in_memory(Rpc::ListIntegrationOrgs, None).await?;
        Ok(self.do_list_orgs(integration))
    }

    async fn update_case(&self, update: &CaseUpdate) -> Result<Case, CaseApiError> {
        self.enter_in_memory(Rpc::UpdateCase, Some(update)).await?;
        self.do_update_case(update)
    }

    async fn create_timeline_cell(
        &self,
        cell: &NewTimelineCell,
    ) -> Result<TimelineCellCreated, CaseApiError> {
        self.enter_in_memory(Rpc::CreateTimelineCell, None).await?;
        self.do_create_cell(cell)
    }

    async fn resolve_user(
        &self,
        org: OrgId,
        query: &UserQuery,
    ) -> Result<Option<UserId>, CaseApiError> {
        self.enter_in_memory(Rpc::ResolveUser, None).await?;
        Ok(self.do_resolve_user(org, query))
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
