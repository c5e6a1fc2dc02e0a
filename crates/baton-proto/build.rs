//! Generates the Rust code and the file descriptor set from `proto/baton/v1`.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the environment now.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let include = protoc_bin_vendored::include_path()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files: Vec<PathBuf> = [
        "common", "metadata", "workflow", "task", "monitor", "schedule", "admin",
    ]
    .iter()
    .map(|f| root.join(format!("baton/v1/{f}.proto")))
    .collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("baton_descriptor.bin"))
        .compile_protos(&files, &[root, include])?;
    Ok(())
}
