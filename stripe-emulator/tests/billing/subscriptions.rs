//! `/v1/subscriptions`, `/v1/subscription_items`, `/v1/invoices`.

use serde_json::{Value, json};

use crate::support::{Emu, id, parses_as};

const TRIAL: &str = "&customer_email=t@example.com&subscription_data[trial_period_days]=3&subscription_data[metadata][challenge_id]=c1";

/// An emulator with one subscriber on a 3-day trial of the monthly price, paying with `card`.
async fn on_trial(card: &str) -> (Emu, Value) {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu.subscribe(&monthly, Some(1), TRIAL, card).await;
    (emu, sub)
}

#[tokio::test]
async fn a_trial_subscription_has_stripes_shape() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu
        .subscribe(&monthly, Some(1), TRIAL, "4242424242424242")
        .await;
    parses_as::<stripe_shared::Subscription>(&sub);
    let sid = id(&sub);
    assert!(sid.starts_with("sub_"));
    assert_eq!(sub["status"], "trialing");
    let (start, end) = (
        sub["trial_start"].as_i64().unwrap(),
        sub["trial_end"].as_i64().unwrap(),
    );
    assert_eq!(end - start, 3 * 86_400);
    assert_eq!(sub["metadata"], json!({"challenge_id": "c1"}));
    assert_eq!(sub["cancel_at_period_end"], false);
    let items = &sub["items"];
    assert_eq!(items["object"], "list");
    assert_eq!(items["data"].as_array().unwrap().len(), 1);
    let item = &items["data"][0];
    assert!(item["id"].as_str().unwrap().starts_with("si_"));
    assert_eq!(item["object"], "subscription_item");
    assert_eq!(item["quantity"], 1);
    assert_eq!(item["subscription"], json!(sid));
    assert_eq!(
        item["price"]["object"], "price",
        "items carry the full price by default"
    );
    assert_eq!(item["price"]["unit_amount"], 6000);
    assert_eq!(item["current_period_start"], json!(start));
    assert_eq!(item["current_period_end"], json!(end));

    // The first invoice: $0 during the trial, paid.
    let inv = emu
        .get(&format!(
            "/v1/subscriptions/{sid}?expand[]=latest_invoice&expand[]=default_payment_method"
        ))
        .await
        .ok();
    parses_as::<stripe_shared::Subscription>(&inv);
    let first = &inv["latest_invoice"];
    assert_eq!(first["object"], "invoice");
    assert_eq!(first["total"], 0);
    assert_eq!(first["status"], "paid");
    assert_eq!(first["lines"]["data"][0]["amount"], 0);
    assert_eq!(inv["default_payment_method"]["card"]["last4"], "4242");

    // Subscription items, on their own.
    let si = emu
        .get(&format!("/v1/subscription_items/{}", id(item)))
        .await
        .ok();
    assert_eq!(&si, item);
    parses_as::<stripe_shared::SubscriptionItem>(&si);
    let listed = emu
        .get(&format!("/v1/subscription_items?subscription={sid}"))
        .await
        .ok();
    assert_eq!(listed["data"][0], *item);
    let err = emu.get("/v1/subscription_items").await.err(400);
    assert_eq!(err["param"], "subscription");

    // Lists and filters.
    let customer = sub["customer"].as_str().unwrap();
    for query in [
        format!("customer={customer}"),
        format!("price={monthly}"),
        "status=trialing".to_string(),
        "status=all".to_string(),
    ] {
        let list = emu.get(&format!("/v1/subscriptions?{query}")).await.ok();
        assert_eq!(list["data"][0]["id"], json!(sid), "{query}");
    }
    for query in [
        "status=active",
        "customer=cus_other",
        "price=price_other",
        "status=ended",
    ] {
        let list = emu.get(&format!("/v1/subscriptions?{query}")).await.ok();
        assert_eq!(list["data"], json!([]), "{query}");
    }
    let invoices = emu
        .get(&format!("/v1/invoices?subscription={sid}&status=paid"))
        .await
        .ok();
    assert_eq!(invoices["data"][0]["id"], first["id"]);
    parses_as::<stripe_shared::Invoice>(&invoices["data"][0]);
    let invoices = emu
        .get(&format!("/v1/invoices?customer={customer}&status=open"))
        .await
        .ok();
    assert_eq!(invoices["data"], json!([]));
    assert_eq!(
        emu.get("/v1/subscriptions/sub_missing").await.err(404)["code"],
        "resource_missing"
    );
    assert_eq!(
        emu.get("/v1/invoices/in_missing").await.err(404)["code"],
        "resource_missing"
    );
}

#[tokio::test]
async fn ending_a_trial_now_with_4242_charges_and_activates() {
    let (emu, sub) = on_trial("4242424242424242").await;
    let sid = id(&sub);
    let updated = emu
        .posted(
            &format!("/v1/subscriptions/{sid}?expand[]=latest_invoice"),
            "trial_end=now&proration_behavior=none",
        )
        .await;
    parses_as::<stripe_shared::Subscription>(&updated);
    assert_eq!(updated["status"], "active");
    let now = updated["trial_end"].as_i64().unwrap();
    assert!(now < sub["trial_end"].as_i64().unwrap());
    let inv = &updated["latest_invoice"];
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["amount_paid"], 6000);
    assert_eq!(inv["attempt_count"], 1);
    // A new monthly period starts at the end of the trial.
    let item = &updated["items"]["data"][0];
    assert_eq!(item["current_period_start"], json!(now));
    assert!(item["current_period_end"].as_i64().unwrap() - now >= 28 * 86_400);
    let events = emu.events("customer.subscription.updated").await;
    assert_eq!(events[0]["data"]["object"]["status"], "active");
    assert_eq!(
        events[0]["data"]["previous_attributes"]["status"],
        "trialing"
    );
    assert!(emu.events("invoice.payment_failed").await.is_empty());
}

#[tokio::test]
async fn ending_a_trial_with_0341_makes_the_subscription_past_due() {
    let (emu, sub) = on_trial("4000000000000341").await;
    assert_eq!(sub["status"], "trialing", "the card attaches fine");
    let sid = id(&sub);
    let updated = emu.update_sub(&sid, "trial_end=now").await;
    assert_eq!(updated["status"], "past_due");
    let inv = emu
        .get(&format!(
            "/v1/invoices/{}",
            updated["latest_invoice"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["amount_due"], 6000);
    assert_eq!(inv["amount_paid"], 0);
    assert_eq!(inv["amount_remaining"], 6000);
    assert_eq!(inv["attempt_count"], 1);
    assert_eq!(inv["attempted"], true);
    let failed = emu.events("invoice.payment_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["object"]["id"], inv["id"]);
    let updates = emu.events("customer.subscription.updated").await;
    assert_eq!(updates[0]["data"]["object"]["status"], "past_due");

    // Paying the open invoice again with the same card fails again (402), recorded.
    let retry = emu
        .post(&format!("/v1/invoices/{}/pay", id(&inv)), "")
        .await
        .err(402);
    assert_eq!(retry["type"], "card_error");
    let inv = emu.get(&format!("/v1/invoices/{}", id(&inv))).await.ok();
    assert_eq!(inv["attempt_count"], 2);
    assert_eq!(emu.events("invoice.payment_failed").await.len(), 2);

    // A new card from the portal pays the open invoice: active again.
    let customer = sub["customer"].as_str().unwrap().to_string();
    let pm = emu
        .app
        .write(|db| {
            stripe_emulator::billing::replace_payment_method(
                db,
                &customer,
                &crate::support::card("4242424242424242"),
            )
        })
        .unwrap();
    stripe_emulator::server::flush(&emu.app).await;
    let sub = emu.get(&format!("/v1/subscriptions/{sid}")).await.ok();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["default_payment_method"], pm["id"]);
    let inv = emu.get(&format!("/v1/invoices/{}", id(&inv))).await.ok();
    assert_eq!(inv["status"], "paid");
    let again = emu
        .refused(&format!("/v1/invoices/{}/pay", id(&inv)), "")
        .await;
    assert!(again["message"].as_str().unwrap().contains("already paid"));
}

#[tokio::test]
async fn update_changes_metadata_trial_end_and_cancel_at_period_end() {
    let (emu, sub) = on_trial("4242424242424242").await;
    let sid = id(&sub);
    let later = sub["trial_end"].as_i64().unwrap() + 86_400;
    let updated = emu
        .update_sub(&sid, &format!("metadata[user]=u1&trial_end={later}"))
        .await;
    assert_eq!(
        updated["metadata"],
        json!({"challenge_id": "c1", "user": "u1"})
    );
    assert_eq!(updated["trial_end"], json!(later));
    assert_eq!(
        updated["items"]["data"][0]["current_period_end"],
        json!(later)
    );
    assert_eq!(updated["status"], "trialing");

    let updated = emu.update_sub(&sid, "cancel_at_period_end=true").await;
    assert_eq!(updated["cancel_at_period_end"], true);
    assert_eq!(updated["cancel_at"], json!(later));
    assert_eq!(updated["status"], "trialing");
    let updated = emu.update_sub(&sid, "cancel_at_period_end=false").await;
    assert_eq!(updated["cancel_at_period_end"], false);
    assert_eq!(updated["cancel_at"], json!(null));

    for (body, param) in [
        ("bogus=1", "bogus"),
        ("trial_end=yesterday", "trial_end"),
        ("trial_end=1000", "trial_end"),
        ("default_payment_method=pm_nope", "default_payment_method"),
        ("proration_behavior=sometimes", "proration_behavior"),
    ] {
        let err = emu.refused(&format!("/v1/subscriptions/{sid}"), body).await;
        assert_eq!(err["param"], param, "{body}: {err}");
    }
}

#[tokio::test]
async fn delete_cancels_now_and_emits_deleted() {
    let (emu, sub) = on_trial("4242424242424242").await;
    let sid = id(&sub);
    let canceled = emu.delete(&format!("/v1/subscriptions/{sid}")).await.ok();
    parses_as::<stripe_shared::Subscription>(&canceled);
    assert_eq!(canceled["status"], "canceled");
    assert!(canceled["canceled_at"].is_i64());
    assert_eq!(canceled["ended_at"], canceled["canceled_at"]);
    let deleted = emu.events("customer.subscription.deleted").await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["data"]["object"]["id"], json!(sid));
    assert_eq!(deleted[0]["data"]["object"]["status"], "canceled");
    // Canceled subscriptions leave the default list but stay retrievable.
    assert_eq!(emu.get("/v1/subscriptions").await.ok()["data"], json!([]));
    assert_eq!(
        emu.get("/v1/subscriptions?status=canceled").await.ok()["data"][0]["id"],
        json!(sid)
    );
    assert_eq!(
        emu.get("/v1/subscriptions?status=ended").await.ok()["data"][0]["id"],
        json!(sid)
    );
    assert_eq!(
        emu.get(&format!("/v1/subscriptions/{sid}")).await.ok()["status"],
        "canceled"
    );
    emu.delete(&format!("/v1/subscriptions/{sid}"))
        .await
        .err(400);
    emu.refuses(&format!(
        "
        /v1/subscriptions/{sid} trial_end=now => message ~ canceled subscription
        "
    ))
    .await;
    assert_eq!(emu.events("customer.subscription.deleted").await.len(), 1);
}
