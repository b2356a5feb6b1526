//! The clock: trials that come due, renewals ($60 monthly, unit × usage metered),
//! failed renewals, cancellation at period end.

use serde_json::{Value, json};

use crate::support::{Emu, id, parses_as, period_end};

const DAY: i64 = 86_400;

async fn invoices(emu: &Emu, sub: &str) -> Vec<Value> {
    let list = emu
        .get(&format!("/v1/invoices?subscription={sub}&limit=100"))
        .await
        .ok();
    let mut data = list["data"].as_array().unwrap().clone();
    data.reverse();
    data
}

#[tokio::test]
async fn a_monthly_subscription_renews_for_60_dollars() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu.monthly_subscriber(&monthly, "m@example.com").await;
    let sid = id(&sub);
    let end = period_end(&sub);
    emu.advance(27 * DAY).await;
    assert_eq!(invoices(&emu, &sid).await.len(), 1, "not due yet");
    emu.advance(5 * DAY).await;
    let all = invoices(&emu, &sid).await;
    assert_eq!(all.len(), 2);
    let renewal = &all[1];
    parses_as::<stripe_shared::Invoice>(renewal);
    assert_eq!(renewal["billing_reason"], "subscription_cycle");
    assert_eq!(renewal["total"], 6000);
    assert_eq!(renewal["amount_paid"], 6000);
    assert_eq!(renewal["status"], "paid");
    assert_eq!(renewal["lines"]["data"][0]["period"]["start"], json!(end));
    let sub = emu.get(&format!("/v1/subscriptions/{sid}")).await.ok();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["latest_invoice"], renewal["id"]);
    assert_eq!(sub["items"]["data"][0]["current_period_start"], json!(end));
    // The item's own copy moved with the subscription.
    let item = emu
        .get(&format!(
            "/v1/subscription_items/{}",
            id(&sub["items"]["data"][0])
        ))
        .await
        .ok();
    assert_eq!(item["current_period_start"], json!(end));

    // A jump of several months renews once per period.
    emu.advance(95 * DAY).await;
    let all = invoices(&emu, &sid).await;
    assert_eq!(
        all.len(),
        5,
        "{:?}",
        all.iter().map(|i| &i["period_start"]).collect::<Vec<_>>()
    );
    assert!(all[1..].iter().all(|i| i["total"] == 6000));
}

#[tokio::test]
async fn a_metered_subscription_bills_unit_price_times_usage() {
    let emu = Emu::start().await;
    let (_, metered, event_name) = emu.catalog().await;
    let sub = emu
        .metered_subscriber(&metered, "o@example.com", &event_name, 3)
        .await;
    let sid = id(&sub);
    // Someone else's usage does not count.
    let other = emu.posted("/v1/customers", "email=x@example.com").await;
    emu.meter_event(&event_name, &id(&other), 5, None).await;
    emu.advance(32 * DAY).await;
    let all = invoices(&emu, &sid).await;
    assert_eq!(all.len(), 2);
    let renewal = &all[1];
    assert_eq!(renewal["total"], 24_000, "3 × $80");
    assert_eq!(renewal["amount_paid"], 24_000);
    let line = &renewal["lines"]["data"][0];
    assert_eq!(line["quantity"], 3);
    assert_eq!(line["amount"], 24_000);
    assert_eq!(
        line["period"]["start"],
        sub["items"]["data"][0]["current_period_start"]
    );
    assert_eq!(
        line["period"]["end"],
        sub["items"]["data"][0]["current_period_end"]
    );
    // The next period had no usage.
    emu.advance(31 * DAY).await;
    let all = invoices(&emu, &sid).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2]["total"], 0);
}

#[tokio::test]
async fn the_clock_ends_trials_and_failed_renewals_go_past_due() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let good = emu
        .trialing(&monthly, "g@example.com", "4242424242424242")
        .await;
    let bad = emu
        .trialing(&monthly, "b@example.com", "4000000000000341")
        .await;
    // The trial-end invoice is charged an hour after the trial ends.
    emu.advance(3 * DAY + 3_600 + 60).await;
    let good_now = emu
        .get(&format!("/v1/subscriptions/{}", id(&good)))
        .await
        .ok();
    assert_eq!(good_now["status"], "active");
    assert_eq!(
        good_now["items"]["data"][0]["current_period_start"],
        good["trial_end"]
    );
    let bad_now = emu
        .get(&format!("/v1/subscriptions/{}", id(&bad)))
        .await
        .ok();
    assert_eq!(bad_now["status"], "past_due");
    let failed = emu.events("invoice.payment_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["object"]["customer"], bad["customer"]);
    // Renewals keep failing on that card.
    emu.advance(31 * DAY).await;
    let all = invoices(&emu, &id(&bad)).await;
    assert_eq!(all.len(), 3);
    assert!(
        all[1..]
            .iter()
            .all(|i| i["status"] == "open" && i["amount_remaining"] == 6000)
    );
    assert_eq!(emu.events("invoice.payment_failed").await.len(), 2);
}

#[tokio::test]
async fn cancel_at_period_end_cancels_when_the_period_ends() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu.monthly_subscriber(&monthly, "p@example.com").await;
    let sid = id(&sub);
    let end = period_end(&sub);
    let updated = emu.update_sub(&sid, "cancel_at_period_end=true").await;
    assert_eq!(updated["cancel_at"], json!(end));
    emu.advance(10 * DAY).await;
    assert_eq!(
        emu.get(&format!("/v1/subscriptions/{sid}")).await.ok()["status"],
        "active"
    );
    emu.advance(25 * DAY).await;
    let sub = emu.get(&format!("/v1/subscriptions/{sid}")).await.ok();
    assert_eq!(sub["status"], "canceled");
    assert_eq!(sub["ended_at"], json!(end));
    assert_eq!(invoices(&emu, &sid).await.len(), 1, "no renewal invoice");
    assert_eq!(emu.events("customer.subscription.deleted").await.len(), 1);
}

#[tokio::test]
async fn open_sessions_expire_with_the_clock() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let s = emu.session(&monthly, Some(1), "").await;
    emu.advance(DAY + 1).await;
    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    assert_eq!(s["status"], "expired");
}
