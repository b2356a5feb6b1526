//! A subscription's invoices through time, in Stripe's order: the first one
//! finalized and paid at once; then, as the clock passes a trial's end or a period's
//! end, the new period's invoice drafted (`invoice.created`, then the subscription's
//! `customer.subscription.updated`), finalized and charged an hour later; numbers,
//! hosted pages, periods on the items.

use serde_json::{Value, json};

use crate::support::{Emu, id, parses_as, period_end};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// The events emitted after the first `mark`, oldest first.
async fn events_since(emu: &Emu, mark: usize) -> Vec<Value> {
    emu.all_events().await[mark..].to_vec()
}

/// A fresh emulator with a monthly subscription on a 3-day trial, its card `number`:
/// the emulator, the subscription and when its trial ends.
async fn on_trial(email: &str, number: &str) -> (Emu, Value, i64) {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu.trialing(&monthly, email, number).await;
    let trial_end = sub["trial_end"].as_i64().unwrap();
    (emu, sub, trial_end)
}

/// Moves the clock to `to`; the events the move emitted, oldest first.
async fn advanced_to(emu: &Emu, to: i64) -> Vec<Value> {
    let mark = emu.all_events().await.len();
    emu.advance_to(to).await;
    events_since(emu, mark).await
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn times(events: &[Value]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e["created"].as_i64().unwrap())
        .collect()
}

async fn invoice(emu: &Emu, id: &str) -> Value {
    let inv = emu.get(&format!("/v1/invoices/{id}")).await.ok();
    parses_as::<stripe_shared::Invoice>(&inv);
    inv
}

async fn subscription(emu: &Emu, id: &str) -> Value {
    emu.get(&format!("/v1/subscriptions/{id}")).await.ok()
}

/// The customer's invoice number prefix.
async fn prefix(emu: &Emu, sub: &Value) -> String {
    let customer = sub["customer"].as_str().unwrap();
    let customer = emu.get(&format!("/v1/customers/{customer}")).await.ok();
    customer["invoice_prefix"].as_str().unwrap().to_string()
}

fn item_period(sub: &Value) -> (i64, i64) {
    let item = &sub["items"]["data"][0];
    (
        item["current_period_start"].as_i64().unwrap(),
        item["current_period_end"].as_i64().unwrap(),
    )
}

/// A finalized invoice's page link: on the emulator, under `/i/`.
fn assert_hosted(emu: &Emu, inv: &Value) {
    let url = inv["hosted_invoice_url"].as_str().unwrap_or_default();
    assert!(url.starts_with(&format!("{}/i/test_", emu.base)), "{inv}");
}

#[tokio::test]
async fn the_first_invoice_is_finalized_numbered_and_paid_at_once() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu.monthly_subscriber(&monthly, "first@example.com").await;
    let inv = invoice(&emu, sub["latest_invoice"].as_str().unwrap()).await;
    assert_eq!(inv["billing_reason"], "subscription_create");
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["amount_paid"], 6000);
    assert_eq!(inv["number"], format!("{}-0001", prefix(&emu, &sub).await));
    assert_hosted(&emu, &inv);
    assert_eq!(inv["automatically_finalizes_at"], Value::Null);
    assert_eq!(inv["next_payment_attempt"], Value::Null);
    let created = &inv["created"];
    assert_eq!(inv["status_transitions"]["finalized_at"], *created);
    assert_eq!(inv["status_transitions"]["paid_at"], *created);
    let customer = emu
        .get(&format!(
            "/v1/customers/{}",
            sub["customer"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(customer["next_invoice_sequence"], 2);
}

#[tokio::test]
async fn the_clock_ends_a_trial_with_a_draft_charged_an_hour_later() {
    let (emu, sub, trial_end) = on_trial("trial@example.com", "4242424242424242").await;
    let sid = id(&sub);

    let events = advanced_to(&emu, trial_end + 60).await;
    assert_eq!(
        types(&events),
        ["invoice.created", "customer.subscription.updated"]
    );
    assert_eq!(
        times(&events),
        [trial_end; 2],
        "stamped when the trial ended"
    );
    let draft = &events[0]["data"]["object"];
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["billing_reason"], "subscription_cycle");
    assert_eq!(draft["amount_due"], 6000);
    assert_eq!(draft["number"], Value::Null);
    assert_eq!(draft["hosted_invoice_url"], Value::Null);
    assert_eq!(draft["automatically_finalizes_at"], json!(trial_end + HOUR));
    assert_eq!(draft["next_payment_attempt"], json!(trial_end + HOUR));
    let updated = &events[1]["data"];
    assert_eq!(updated["object"]["status"], "active");
    assert_eq!(updated["previous_attributes"]["status"], "trialing");
    assert_eq!(updated["object"]["latest_invoice"], draft["id"]);
    let (start, end) = item_period(&updated["object"]);
    assert_eq!(start, trial_end);
    assert!(end >= trial_end + 28 * DAY);
    // Within the hour it stays a draft.
    assert_eq!(invoice(&emu, &id(draft)).await["status"], "draft");

    let events = advanced_to(&emu, trial_end + HOUR + 60).await;
    assert_eq!(
        types(&events),
        [
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded"
        ]
    );
    assert_eq!(times(&events), [trial_end + HOUR; 3]);
    let finalized = &events[0]["data"]["object"];
    assert_eq!(finalized["status"], "open");
    assert_eq!(finalized["automatically_finalizes_at"], Value::Null);
    assert_eq!(
        finalized["status_transitions"]["finalized_at"],
        json!(trial_end + HOUR)
    );
    let paid = invoice(&emu, &id(draft)).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["amount_paid"], 6000);
    assert_eq!(paid["attempt_count"], 1);
    assert_eq!(paid["number"], format!("{}-0002", prefix(&emu, &sub).await));
    assert_hosted(&emu, &paid);
    assert_eq!(subscription(&emu, &sid).await["status"], "active");
}

#[tokio::test]
async fn a_renewal_moves_the_item_periods_then_charges_after_the_grace_hour() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu.monthly_subscriber(&monthly, "renew@example.com").await;
    let sid = id(&sub);
    let (start, end) = item_period(&sub);

    let events = advanced_to(&emu, end).await;
    assert_eq!(
        types(&events),
        ["invoice.created", "customer.subscription.updated"]
    );
    assert_eq!(times(&events), [end; 2]);
    let update = &events[1]["data"];
    assert_eq!(
        update["previous_attributes"]["items"]["data"][0]["current_period_end"],
        json!(end)
    );
    assert!(update["previous_attributes"]["latest_invoice"].is_string());
    // Periods live on the items (API 2025-03-31 and later), not on the subscription.
    let now = subscription(&emu, &sid).await;
    assert_eq!(now["status"], "active", "unchanged until the charge");
    assert!(now.get("current_period_start").is_none(), "{now}");
    assert!(now.get("current_period_end").is_none(), "{now}");
    let (next_start, next_end) = item_period(&now);
    assert_eq!(next_start, end);
    assert!(next_end - end >= 28 * DAY && next_end - end <= 31 * DAY);
    let item = emu
        .get(&format!(
            "/v1/subscription_items/{}",
            id(&now["items"]["data"][0])
        ))
        .await
        .ok();
    assert_eq!(item["current_period_start"], json!(end));
    assert_eq!(item["current_period_end"], json!(next_end));
    // The invoice looks back at the ended period; its line bills the new one.
    let draft = invoice(&emu, now["latest_invoice"].as_str().unwrap()).await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(
        (draft["period_start"].clone(), draft["period_end"].clone()),
        (json!(start), json!(end))
    );
    let line = &draft["lines"]["data"][0]["period"];
    assert_eq!(
        (line["start"].clone(), line["end"].clone()),
        (json!(end), json!(next_end))
    );

    let events = advanced_to(&emu, end + HOUR).await;
    assert_eq!(
        types(&events),
        [
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded"
        ]
    );
    let paid = invoice(&emu, &id(&draft)).await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["amount_paid"], 6000);
    assert_hosted(&emu, &paid);
}

#[tokio::test]
async fn a_metered_renewal_bills_the_ended_periods_usage() {
    let emu = Emu::start().await;
    let (_, metered, event_name) = emu.catalog().await;
    let sub = emu
        .metered_subscriber(&metered, "od@example.com", &event_name, 3)
        .await;
    let (start, end) = item_period(&sub);
    let events = advanced_to(&emu, end + HOUR).await;
    assert_eq!(
        types(&events),
        [
            "invoice.created",
            "customer.subscription.updated",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded"
        ]
    );
    assert_eq!(
        times(&events),
        [end, end, end + HOUR, end + HOUR, end + HOUR]
    );
    let inv = invoice(&emu, &id(&events[0]["data"]["object"])).await;
    assert_eq!(inv["billing_reason"], "subscription_cycle");
    assert_eq!(inv["total"], 24_000, "3 × $80");
    assert_eq!(inv["amount_paid"], 24_000);
    let line = &inv["lines"]["data"][0];
    assert_eq!(line["quantity"], 3);
    assert_eq!(line["period"], json!({"end": end, "start": start}));
    assert_eq!(item_period(&subscription(&emu, &id(&sub)).await).0, end);
}

#[tokio::test]
async fn a_failed_charge_makes_the_subscription_past_due_after_the_invoice() {
    let (emu, sub, trial_end) = on_trial("fails@example.com", "4000000000000341").await;
    let sid = id(&sub);
    let events = advanced_to(&emu, trial_end + HOUR).await;
    assert_eq!(
        types(&events),
        [
            "invoice.created",
            "customer.subscription.updated",
            "invoice.finalized",
            "invoice.payment_failed",
            "customer.subscription.updated"
        ]
    );
    assert_eq!(events[1]["data"]["object"]["status"], "active");
    let past_due = &events[4]["data"];
    assert_eq!(past_due["object"]["status"], "past_due");
    assert_eq!(past_due["previous_attributes"], json!({"status": "active"}));
    assert_eq!(events[4]["created"], json!(trial_end + HOUR));
    let inv = invoice(&emu, &id(&events[3]["data"]["object"])).await;
    assert_eq!(inv["status"], "open");
    assert_eq!(inv["attempted"], true);
    assert_eq!(inv["attempt_count"], 1);
    assert_eq!(inv["amount_remaining"], 6000);
    assert_eq!(
        inv["next_payment_attempt"],
        json!(trial_end + HOUR + 3 * DAY)
    );
    assert!(inv["number"].is_string());
    assert_hosted(&emu, &inv);

    // The next renewal fails too; the subscription is already past due.
    let end = period_end(&subscription(&emu, &sid).await);
    let events = advanced_to(&emu, end + HOUR).await;
    assert_eq!(
        types(&events),
        [
            "invoice.created",
            "customer.subscription.updated",
            "invoice.finalized",
            "invoice.payment_failed"
        ]
    );
    assert_eq!(subscription(&emu, &sid).await["status"], "past_due");
}

#[tokio::test]
async fn ending_a_trial_now_bills_at_once_as_an_update() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu
        .trialing(&monthly, "now@example.com", "4242424242424242")
        .await;
    let mark = emu.all_events().await.len();
    let updated = emu.update_sub(&id(&sub), "trial_end=now").await;
    let events = events_since(&emu, mark).await;
    assert_eq!(
        types(&events),
        [
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "customer.subscription.updated"
        ]
    );
    let inv = invoice(&emu, updated["latest_invoice"].as_str().unwrap()).await;
    assert_eq!(inv["billing_reason"], "subscription_update");
    assert_eq!(inv["status"], "paid");
    assert_hosted(&emu, &inv);
}

#[tokio::test]
async fn a_long_jump_runs_each_moment_in_time_order() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let plain = emu.monthly_subscriber(&monthly, "plain@example.com").await;
    let trial = emu
        .trialing(&monthly, "later@example.com", "4242424242424242")
        .await;
    let (_, first_end) = item_period(&plain);
    let mark = emu.all_events().await.len();
    emu.advance(70 * DAY).await;
    let events = events_since(&emu, mark).await;
    let stamps = times(&events);
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    // Each invoice is created at its own moment: the trial's end, each period's end.
    let created: Vec<(Value, i64)> = events
        .iter()
        .filter(|e| e["type"] == "invoice.created")
        .map(|e| {
            let inv = &e["data"]["object"];
            assert_eq!(inv["created"], e["created"]);
            (inv["customer"].clone(), e["created"].as_i64().unwrap())
        })
        .collect();
    let at = |customer: &Value| -> Vec<i64> {
        created
            .iter()
            .filter(|(c, _)| c == customer)
            .map(|(_, t)| *t)
            .collect()
    };
    assert_eq!(at(&plain["customer"])[0], first_end);
    assert_eq!(at(&plain["customer"]).len(), 2);
    assert_eq!(
        at(&trial["customer"])[0],
        trial["trial_end"].as_i64().unwrap()
    );
    assert_eq!(at(&trial["customer"]).len(), 3);
    for invoice in emu.get("/v1/invoices?limit=100").await.ok()["data"]
        .as_array()
        .unwrap()
    {
        assert_eq!(invoice["status"], "paid", "{invoice}");
    }
}
