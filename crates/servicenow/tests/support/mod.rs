//! What the ServiceNow integration tests and the bench share: the fixture seed store and the
//! `datadog_x_incident` envelope they send (`mod support;`, the bench by `#[path]`).
// Each test uses part of it.
#![allow(dead_code, clippy::unwrap_used)]

use case_sandbox::Store;
use serde_json::{Value, json};
use std::path::Path;
use thirdparty_core::Payload;

/// The incident of the seed's organisation 1001 on instance `acme`.
pub const SYS_ID: &str = "be5fc89a31cc968c758ec576a4ba3425";

/// A store loaded from `fixtures/servicenow/seed.json`.
pub fn seed_store() -> Store {
    let seed = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/servicenow/seed.json"
    );
    Store::load_seed_file(Path::new(seed)).unwrap()
}

/// The envelope of a change by `jane.roe` at 2024-03-04T10:15:00Z to incident `sys_id` of
/// organisation `org` on `instance`, with the diff `data`.
pub fn envelope(org: u64, instance: &str, sys_id: &str, data: Value) -> Value {
    json!({
        "type": "datadog_x_incident", "orgId": org, "sysId": sys_id, "instanceName": instance,
        "updatedTime": "2024-03-04T10:15:00Z", "updatedBy": "jane.roe", "data": data,
    })
}

/// [`envelope`] of [`SYS_ID`] in organisation 1001 on `acme`, as the Kafka record keyed
/// `1001:<SYS_ID>`.
pub fn payload(data: Value) -> Payload {
    let v = envelope(1001, "acme", SYS_ID, data);
    Payload::from_value(serde_json::to_vec(&v).unwrap()).with_key(format!("1001:{SYS_ID}"))
}
