//! The Case API sandbox in this process, over real loopback gRPC, and views of its store as
//! JSON for assertions.

use crate::error::HarnessError;
use case_sandbox::{Rpc, ServerHandle, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Serves `store` on a free loopback port from this process.
pub async fn serve_store(store: Store) -> Result<ServerHandle, HarnessError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(crate::error::io("binding the sandbox Case API on loopback"))?;
    case_sandbox::serve_listener(listener, store, None)
        .await
        .map_err(|e| HarnessError::Sandbox {
            detail: e.to_string(),
        })
}

/// A case-sandbox gRPC server on a free loopback port over a seeded [`Store`].
pub struct Sandbox {
    /// The store the server serves (read it directly to assert).
    pub store: Store,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The seed's cases as JSON (what every untouched case must still equal).
    pub seed_cases: Vec<Value>,
    _server: ServerHandle,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::debug_one_field(f, "Sandbox", "url", &self.url)
    }
}

impl Sandbox {
    /// Seeds a store from `seed` (a `case_sandbox::Seed` file) and serves it.
    pub async fn start(seed: &Path) -> Result<Self, HarnessError> {
        let store = Store::load_seed_file(seed).map_err(|e| HarnessError::Fixture {
            what: seed.display().to_string(),
            detail: e.to_string(),
        })?;
        let seed_cases = store.cases().iter().map(to_json).collect();
        let server = serve_store(store.clone()).await?;
        Ok(Self {
            store,
            url: server.url(),
            seed_cases,
            _server: server,
        })
    }

    /// Every stored case as JSON, ordered by (org, id).
    pub fn cases_json(&self) -> Vec<Value> {
        self.store.cases().iter().map(to_json).collect()
    }

    /// Every timeline cell as created (without the store's cell id), in creation order.
    pub fn cells_json(&self) -> Vec<Value> {
        self.store
            .timeline_cells()
            .iter()
            .map(|c| to_json(&c.cell))
            .collect()
    }

    /// Changes applied so far: timeline cells plus case versions above the seed's.
    pub fn applied_count(&self) -> u64 {
        let seed_versions: BTreeMap<(Option<u64>, Option<&str>), u64> = self
            .seed_cases
            .iter()
            .map(|c| {
                (
                    (
                        c.get("org_id").and_then(Value::as_u64),
                        c.get("id").and_then(Value::as_str),
                    ),
                    c.get("version").and_then(Value::as_u64).unwrap_or(0),
                )
            })
            .collect();
        let bumps: u64 = self
            .store
            .cases()
            .iter()
            .map(|c| {
                let seed = seed_versions
                    .get(&(Some(c.org_id.0), Some(c.id.0.as_str())))
                    .copied()
                    .unwrap_or(0);
                c.version.0.saturating_sub(seed)
            })
            .sum();
        bumps + self.store.timeline_cells().len() as u64
    }

    /// Total Case API calls so far.
    pub fn total_calls(&self) -> u64 {
        Rpc::ALL.into_iter().map(|r| self.store.calls(r)).sum()
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
