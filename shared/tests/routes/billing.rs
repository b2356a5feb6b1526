//! The dashboard's `billing` object, kept current by webhooks: invoices recorded
//! per invoice in Stripe's order whatever the delivery order (duplicates and late
//! deliveries change nothing), and, through the real Stripe CLI, a renewal that
//! bills an on-demand month: its paid invoice appears with its hosted page and the
//! period's session count starts again at 0. `GET /users` makes no Stripe call.

use std::time::Duration;

use devchat_kit::{Options, Route, Stack, browser_request, eventually, sign_up};
use serde_json::{Value, json};

fn invoice_event(kind: &str, created: i64, customer: &str, status: &str, paid: i64) -> String {
    let mut invoice = devchat_kit::invoice("in_order", customer, status);
    for (field, value) in [
        ("number", json!("DC-0001")),
        ("created", json!(1_000)),
        ("amount_due", json!(24_000)),
        ("amount_paid", json!(paid)),
        ("currency", json!("usd")),
        (
            "hosted_invoice_url",
            json!("https://invoice.example/i/in_order"),
        ),
    ] {
        invoice[field] = value;
    }
    devchat_kit::event(kind, created, invoice)
}

async fn deliver(stack: &Stack, payload: &str) -> Value {
    let answer = devchat_kit::deliver(stack.app, payload).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body
}

async fn billing(stack: &Stack, user_id: &str) -> Value {
    let req = browser_request("GET", "/users", &[("user_id", user_id)], &[], "");
    let answer = Route::GetUser.call(stack.app, req).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["user"]["billing"].clone()
}

#[tokio::test]
async fn invoices_are_recorded_in_stripes_order_whatever_the_delivery_order() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = sign_up(stack.app, "invoices@example.com").await;
    let t = devchat_kit::now();
    let finalized = invoice_event("invoice.finalized", t, &user.id, "open", 0);
    let failed = invoice_event("invoice.payment_failed", t + 5, &user.id, "open", 0);
    let paid_same_second = invoice_event("invoice.paid", t + 5, &user.id, "paid", 24_000);

    // Paid first; then the older and same-second events arrive, twice each.
    assert_eq!(
        deliver(&stack, &paid_same_second).await["invoice"],
        "updated"
    );
    for payload in [&finalized, &failed, &paid_same_second, &finalized, &failed] {
        assert_eq!(
            deliver(&stack, payload).await["invoice"],
            "unchanged",
            "{payload}"
        );
    }
    let invoices = billing(&stack, &user.id).await["invoices"].clone();
    assert_eq!(
        invoices,
        json!([{
            "id": "in_order", "number": "DC-0001", "createdAt": 1_000, "amountDue": 24_000,
            "amountPaid": 24_000, "currency": "usd", "status": "paid",
            "url": "https://invoice.example/i/in_order"
        }])
    );
    // An invoice of someone who is not our user: acknowledged, nothing written.
    let stranger = invoice_event("invoice.paid", t, "cus_stranger", "paid", 1);
    assert_eq!(
        deliver(&stack, &stranger).await["invoice"],
        "unknown_customer"
    );
}

#[tokio::test]
async fn a_renewal_bills_the_month_and_the_count_starts_again() {
    let stack = Stack::start(Options::provisioned()).await;
    let listen = stack.listen().await;
    let user = stack
        .ondemand_subscriber("renewal-billing@example.com")
        .await;
    for n in 0..3 {
        let req = browser_request(
            "POST",
            "/offerings/paircode/schedule",
            &[("user_id", &user.id)],
            &[("Idempotency-Key", &format!("renew-{n}"))],
            "",
        );
        assert_eq!(Route::Schedule.call(stack.app, req).await.status, 200);
    }
    let before = billing(&stack, &user.id).await;
    assert_eq!(before["sessions"].as_array().unwrap().len(), 3);
    assert_eq!(before["nextCharge"]["amount"], 24_000);
    let period_end = before["periodEnd"].as_i64().unwrap();

    // Past the period's end, and the hour after which the invoice is finalized and paid.
    stack
        .emulator
        .advance(period_end - stack.emulator.now().await.unwrap() + 2 * 3_600)
        .await
        .expect("the clock");
    eventually(
        "the paid renewal invoice",
        Duration::from_secs(20),
        async || {
            billing(&stack, &user.id).await["invoices"]
                .as_array()
                .is_some_and(|invoices| {
                    invoices
                        .iter()
                        .any(|i| i["amountPaid"] == 24_000 && i["status"] == "paid")
                })
        },
    )
    .await;
    let after = billing(&stack, &user.id).await;
    let invoice = after["invoices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["amountDue"] == 24_000)
        .unwrap()
        .clone();
    let url = invoice["url"].as_str().expect("a hosted invoice page");
    let page = stack.http.get(url).send().await.expect("the invoice page");
    assert!(page.status().is_success(), "{url}: {}", page.status());
    assert!(page.text().await.unwrap().contains("240.00"), "{url}");
    assert_eq!(after["periodStart"], period_end, "the next period: {after}");
    assert_eq!(after["sessions"], json!([]), "the count starts again");
    assert_eq!(after["nextCharge"]["amount"], 0);

    // GET /users asked Stripe nothing.
    stack.emulator.clear_requests().await.unwrap();
    billing(&stack, &user.id).await;
    assert_eq!(
        stack.emulator.requests().await.unwrap(),
        Vec::<Value>::new()
    );
    listen.assert_all_acknowledged();
}

/// The user's record keeps the 12 newest invoices the dashboard shows: each invoice's
/// write drops the ones past them, and a late event for an invoice older than all 12
/// writes nothing.
#[tokio::test]
async fn the_record_keeps_the_twelve_newest_invoices() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = sign_up(stack.app, "many-invoices@example.com").await;
    let t = devchat_kit::now();
    let paid = |n: i64| {
        invoice_event("invoice.paid", t + n, &user.id, "paid", 6_000)
            .replace("\"in_order\"", &format!("\"in_{n:02}\""))
            .replace("\"created\":1000", &format!("\"created\":{}", 1_000 + n))
    };
    for n in 1..=15 {
        assert_eq!(
            deliver(&stack, &paid(n)).await["invoice"],
            "updated",
            "in_{n:02}"
        );
    }
    let stored: Vec<String> = stack.user(&user.id).await.invoices.into_keys().collect();
    let newest: Vec<String> = (4..=15).map(|n| format!("in_{n:02}")).collect();
    assert_eq!(stored, newest);
    let shown = billing(&stack, &user.id).await["invoices"].clone();
    assert_eq!(shown.as_array().unwrap().len(), 12);
    assert_eq!(shown[0]["id"], "in_15");
    assert_eq!(shown[0]["createdAt"], 1_015);
    // A late event for the oldest invoice: nothing to show it in, nothing written.
    assert_eq!(deliver(&stack, &paid(1)).await["invoice"], "unchanged");
    assert_eq!(stack.user(&user.id).await.invoices.len(), 12);
}
