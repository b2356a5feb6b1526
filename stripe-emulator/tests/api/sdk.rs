//! Stripe's official Node SDK (`npm install` at the workspace root) against the emulator.

use std::path::Path;

use crate::support::Emu;

#[tokio::test]
async fn official_node_sdk_works_unchanged() {
    let emu = Emu::start().await;
    let port = emu.base.rsplit(':').next().unwrap().to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/node-sdk.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&port)
        .output()
        .await
        .expect("node must be installed (Node 20+, with `npm install` run at the workspace root)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node SDK script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("\"ok\":true"), "{stdout}");
    // The SDK really went through the emulator.
    let log = emu.get("/_emulator/requests").await.body;
    let paths: Vec<&str> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/v1/billing/meter_events"), "{paths:?}");
    assert!(
        paths.iter().filter(|p| **p == "/v1/prices").count() >= 4,
        "{paths:?}"
    );
}
