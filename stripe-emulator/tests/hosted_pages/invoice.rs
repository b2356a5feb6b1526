//! The hosted invoice page: an invoice's `hosted_invoice_url`, as a customer opens it
//! from an email, the app's dashboard or the portal's invoice history.

use super::*;

const HOUR: i64 = 3_600;

async fn invoice_of(emu: &Emu, sub: &Value) -> Value {
    emu.get(&format!(
        "/v1/invoices/{}",
        sub["latest_invoice"].as_str().unwrap()
    ))
    .await
    .ok()
}

#[tokio::test]
async fn a_paid_invoice_shows_its_amount_number_status_and_lines() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let sub = emu.monthly_subscriber(&monthly, "page@example.com").await;
    let inv = invoice_of(&emu, &sub).await;
    let url = inv["hosted_invoice_url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/i/", emu.base)), "{url}");
    let page = open(url).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_has(&[
        &format!("<title>Invoice {}</title>", inv["number"].as_str().unwrap()),
        r#"<p class="amount" id="invoice-amount">$60.00</p>"#,
        r#"<span class="badge status-paid" id="invoice-status">Paid</span> <span class="muted" id="invoice-when">on "#,
        r#"<dd id="invoice-customer">page@example.com</dd>"#,
        "1 × Pair Coding (at $60.00 / month)",
        r#"<span id="invoice-amount-paid">$60.00</span>"#,
        r#"<span id="invoice-amount-remaining">$0.00</span>"#,
    ]);
}

#[tokio::test]
async fn a_metered_renewal_invoice_page_shows_the_usage_and_a_failed_one_stays_open() {
    let emu = Emu::start().await;
    let (monthly, metered, event_name) = emu.catalog().await;
    let sub = emu
        .metered_subscriber(&metered, "od@example.com", &event_name, 3)
        .await;
    let failing = emu
        .trialing(&monthly, "late@example.com", "4000000000000341")
        .await;
    emu.advance(32 * 86_400 + HOUR).await;

    let renewed = emu
        .get(&format!("/v1/subscriptions/{}", id(&sub)))
        .await
        .ok();
    let inv = invoice_of(&emu, &renewed).await;
    assert_eq!(inv["total"], 24_000);
    let page = open(inv["hosted_invoice_url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_has(&[
        r#"id="invoice-amount">$240.00<"#,
        "3 × Pair Coding (at $80.00 / month)",
        r#"<td class="qty">3</td>"#,
        r#"id="invoice-status">Paid<"#,
    ]);

    let past_due = emu
        .get(&format!("/v1/subscriptions/{}", id(&failing)))
        .await
        .ok();
    assert_eq!(past_due["status"], "past_due");
    let open_invoice = invoice_of(&emu, &past_due).await;
    assert_eq!(open_invoice["status"], "open");
    let page = open(open_invoice["hosted_invoice_url"].as_str().unwrap()).await;
    page.assert_has(&[
        r#"id="invoice-amount">$60.00<"#,
        r#"<span class="badge status-open" id="invoice-status">Open</span>"#,
        "The last payment attempt failed.",
        r#"<span id="invoice-amount-remaining">$60.00</span>"#,
    ]);
}

#[tokio::test]
async fn the_portal_links_each_invoice_to_its_page_and_unknown_pages_are_404() {
    let emu = Emu::start().await;
    let (url, cus, _) = portal(&emu, ALL_FEATURES).await;
    let invoices = emu.get(&format!("/v1/invoices?customer={cus}")).await.ok();
    let hosted = invoices["data"][0]["hosted_invoice_url"].as_str().unwrap();
    let home = open(&url).await;
    home.assert_has(&[&format!(r#"<a href="{hosted}">"#)]);
    assert_eq!(open(hosted).await.status, StatusCode::OK);

    let missing = open(&format!("{}/i/test_nothing_here", emu.base)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
