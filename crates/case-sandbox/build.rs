//! Generates the sandbox's `Admin` service (`proto/case_sandbox/v1/admin.proto`) with
//! `protox` (no system `protoc`). Its Case Management messages are `case-client`'s
//! generated types, so the two crates share one set of `case_management.v1` types.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto");
    println!("cargo:rerun-if-changed={}", proto_root.display());
    let file = "case_sandbox/v1/admin.proto";
    println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    let fds = protox::compile([file], [&proto_root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .btree_map(".")
        .extern_path(".case_management.v1", "::case_client::proto::v1")
        .compile_fds(fds)?;
    Ok(())
}
