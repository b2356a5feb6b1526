//! `--data`: the state survives a restart.

use stripe_emulator::app;

use crate::support::{Emu, id};

#[tokio::test]
async fn subscriptions_and_invoices_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("emu-billing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    let _ = std::fs::remove_file(&path);

    let first = Emu::start_with(Some(path.clone()), app::load(&path).unwrap()).await;
    let (monthly, _, _) = first.catalog().await;
    let sub = first
        .trialing(&monthly, "s@example.com", "4000000000000341")
        .await;
    let sid = id(&sub);
    // Every request saves; the file is complete JSON (written atomically).
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(saved["objects"][&sid].is_object());

    let second = Emu::start_with(Some(path.clone()), app::load(&path).unwrap()).await;
    let again = second.get(&format!("/v1/subscriptions/{sid}")).await.ok();
    assert_eq!(again, sub);
    // Card behaviour survives too: ending the trial on 0341 fails the charge.
    let ended = second
        .post(&format!("/v1/subscriptions/{sid}"), "trial_end=now")
        .await
        .ok();
    assert_eq!(ended["status"], "past_due");
    let third = Emu::start_with(None, app::load(&path).unwrap()).await;
    assert_eq!(
        third.get(&format!("/v1/subscriptions/{sid}")).await.ok()["status"],
        "past_due"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
