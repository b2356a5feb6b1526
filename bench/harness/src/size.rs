//! Package size: each function's binary as `bootstrap`, deflated in a zip (what Lambda
//! stores), for the x86_64 build the bench runs and for the arm64 build the template
//! deploys (`scripts/deploy-check.sh build`, `cargo lambda build --release --arm64`).

use std::{io::Write, path::Path};

use crate::{Result, results::Size, stack};

/// Sizes of `function` from `x86_dir/<function>` and, if built,
/// `arm64_dir/<function>/bootstrap` (cargo lambda's layout).
pub fn size_of(function: &str, x86_dir: &Path, arm64_dir: &Path) -> Result<Size> {
    let (binary_bytes, zip_bytes) = zipped(&stack::binary(x86_dir, function)?)?;
    let arm64 = arm64_dir.join(function).join("bootstrap");
    let arm64 = if arm64.is_file() {
        Some(zipped(&arm64)?)
    } else {
        None
    };
    Ok(Size {
        function: function.to_string(),
        binary_bytes,
        zip_bytes,
        arm64_binary_bytes: arm64.map(|a| a.0),
        arm64_zip_bytes: arm64.map(|a| a.1),
    })
}

/// `binary` as Lambda stores it: (bytes, bytes of `bootstrap` deflated in a zip).
fn zipped(binary: &Path) -> Result<(u64, u64)> {
    let bytes = std::fs::read(binary)?;
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut zipped);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o755);
        zip.start_file("bootstrap", options)?;
        zip.write_all(&bytes)?;
        zip.finish()?;
    }
    Ok((bytes.len() as u64, zipped.into_inner().len() as u64))
}
