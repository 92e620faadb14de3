//! Generates the protobuf code of this crate's `proto/` (the repository root's `proto/` links
//! here, so the packaged crate carries its contract) with `protox` (pure Rust,
//! no system `protoc`): the Case Management API (`case_management.v1`), the sandbox's
//! `Admin` service (`case_sandbox.v1`) and `google.rpc.Status`. Messages are always
//! generated; the gRPC clients only with the `client` feature, the servers only with
//! `server`.

use std::path::PathBuf;

/// Every `.proto` file compiled, relative to `proto/`.
const PROTO_FILES: [&str; 6] = [
    "case_management/v1/types.proto",
    "case_management/v1/cases.proto",
    "case_management/v1/settings.proto",
    "case_management/v1/users.proto",
    "case_sandbox/v1/admin.proto",
    "google/rpc/status.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    for file in PROTO_FILES {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }
    let fds = protox::compile(PROTO_FILES, [&proto_root])?;
    tonic_prost_build::configure()
        .build_client(std::env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .build_server(std::env::var_os("CARGO_FEATURE_SERVER").is_some())
        .btree_map(".")
        // Messages carrying free text get a redacting Debug (in `redact.rs`).
        .skip_debug([
            "case_management.v1.Case",
            "case_management.v1.NewTimelineCell",
            "case_management.v1.FieldUpdate",
        ])
        .compile_fds(fds)?;
    Ok(())
}
