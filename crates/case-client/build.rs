//! Generates the Case Management protobuf types, clients and servers from `proto/` at the
//! repository root, with `protox` (pure Rust): no system `protoc` is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    let files = [
        "case_management/v1/types.proto",
        "case_management/v1/cases.proto",
        "case_management/v1/settings.proto",
        "case_management/v1/users.proto",
        "google/rpc/status.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }
    let fds = protox::compile(files, [&proto_root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .btree_map(".")
        // Messages carrying free text get a redacting Debug (in `proto.rs`).
        .skip_debug([
            "case_management.v1.Case",
            "case_management.v1.NewTimelineCell",
            "case_management.v1.FieldUpdate",
        ])
        .compile_fds(fds)?;
    Ok(())
}
