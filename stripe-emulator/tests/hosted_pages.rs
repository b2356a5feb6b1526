//! The hosted Checkout and Customer Portal pages over HTTP, as a browser uses them:
//! GET the page, check Stripe's test hooks are there, POST its forms, follow the
//! redirects; and what each step did to the state, through the API.

mod support;

use reqwest::{StatusCode, header::LOCATION, redirect::Policy};
use serde_json::Value;
use support::{Emu, id};

/// A browser: no API key, no redirect following (the tests check each hop).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    html: String,
}

impl Page {
    fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }

    fn assert_has(&self, texts: &[&str]) {
        for text in texts {
            assert!(self.has(text), "page lacks {text:?}:\n{}", self.html);
        }
    }

    /// The value of `attr` on the element carrying `hook` (e.g. an `href`).
    fn attr_after(&self, hook: &str, attr: &str) -> String {
        let start = self
            .html
            .find(hook)
            .unwrap_or_else(|| panic!("no {hook} in:\n{}", self.html));
        let tag_start = self.html[..=start].rfind('<').unwrap();
        let tag = &self.html[tag_start..tag_start + self.html[tag_start..].find('>').unwrap()];
        let needle = format!("{attr}=\"");
        let at = tag
            .find(&needle)
            .unwrap_or_else(|| panic!("no {attr} in {tag}"))
            + needle.len();
        tag[at..at + tag[at..].find('"').unwrap()].replace("&amp;", "&")
    }
}

async fn open(url: &str) -> Page {
    let res = browser().get(url).send().await.unwrap();
    page(res).await
}

async fn submit(url: &str, form: &[(&str, &str)]) -> Page {
    let res = browser().post(url).form(form).send().await.unwrap();
    page(res).await
}

async fn page(res: reqwest::Response) -> Page {
    let status = res.status();
    let location = res
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    if location.is_none() {
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/html"), "content type {ct}");
    }
    Page {
        status,
        location,
        html: res.text().await.unwrap(),
    }
}

/// The card form as a person fills it on Stripe's page.
fn card_form(number: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("cardNumber", number),
        ("cardExpiry", "12 / 34"),
        ("cardCvc", "123"),
        ("billingName", "Ada Lovelace"),
        ("billingCountry", "US"),
        ("billingPostalCode", "10001"),
        ("enableStripePass", "true"),
    ]
}

/// The Stripe test hooks browser suites use on the Checkout page.
const CHECKOUT_HOOKS: &[&str] = &[
    r#"<select id="billingCountry""#,
    r#"<option value="US" selected>"#,
    r#"name="cardNumber""#,
    r#"placeholder="MM / YY""#,
    r#"placeholder="CVC""#,
    r#"name="billingName""#,
    r#"placeholder="ZIP""#,
    r#"type="checkbox" name="enableStripePass""#,
    r#"data-testid="hosted-payment-submit-button""#,
];

async fn subscriptions_of(emu: &Emu, customer: &str) -> Vec<Value> {
    emu.get(&format!("/v1/subscriptions?customer={customer}&status=all"))
        .await
        .ok()["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// A Checkout Session for `price` with a 3-day trial, for customer `cus`.
async fn trial_session(emu: &Emu, price: &str, cus: &str) -> Value {
    let extra = format!("&customer={cus}&subscription_data[trial_period_days]=3");
    emu.session(price, Some(1), &extra).await
}

/// A new customer and a trial Checkout Session for them on the monthly price.
async fn trial_checkout(emu: &Emu, email: &str) -> (String, Value) {
    let (monthly, _, _) = emu.catalog().await;
    let cus = emu.customer(email).await;
    let s = trial_session(emu, &monthly, &cus).await;
    (cus, s)
}

#[tokio::test]
async fn checkout_page_shows_the_offer_the_customer_and_every_test_hook() {
    let emu = Emu::start().await;
    let (monthly, metered, _) = emu.catalog().await;
    let cus = emu.customer("ada%40example.com").await;
    let s = trial_session(&emu, &monthly, &cus).await;
    let page = open(s["url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_has(CHECKOUT_HOOKS);
    page.assert_has(&[
        "3 days free, then $60.00 per month",
        "Pair Coding",
        "ada@example.com",
        r#"href="https://app.test/back""#,
        "Start trial",
        "$0.00",
        "<style>",
    ]);
    assert!(
        !page.has("<link") && !page.has(r#"src="http"#),
        "nothing loaded from elsewhere"
    );

    // A metered price reads per unit of its product, billed by usage.
    let price = emu.get(&format!("/v1/prices/{metered}")).await.ok();
    emu.post(
        &format!("/v1/products/{}", price["product"].as_str().unwrap()),
        "unit_label=session",
    )
    .await
    .ok();
    let s = emu
        .session(&metered, None, &format!("&customer={cus}"))
        .await;
    let page = open(s["url"].as_str().unwrap()).await;
    page.assert_has(CHECKOUT_HOOKS);
    page.assert_has(&["$80.00 per session, billed monthly by usage", "Subscribe"]);
    assert!(!page.has("days free"));
}

#[tokio::test]
async fn paying_with_4242_completes_the_session_and_redirects_to_success_url() {
    let emu = Emu::start().await;
    let (cus, s) = trial_checkout(&emu, "pay%40example.com").await;
    let url = s["url"].as_str().unwrap();
    let paid = submit(url, &card_form("4242 4242 4242 4242")).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    assert_eq!(
        paid.location.as_deref(),
        Some(format!("https://app.test/done?session={}", id(&s)).as_str())
    );

    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    assert_eq!(s["status"], "complete");
    let sub = emu
        .get(&format!(
            "/v1/subscriptions/{}",
            s["subscription"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["customer"], cus.as_str());
    let pm = emu
        .get(&format!(
            "/v1/payment_methods/{}",
            sub["default_payment_method"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(pm["card"]["last4"], "4242");
    assert_eq!(pm["billing_details"]["name"], "Ada Lovelace");
    assert_eq!(pm["billing_details"]["address"]["postal_code"], "10001");

    // The link is spent: the page says so, and paying again changes nothing.
    let again = open(url).await;
    again.assert_has(&["This checkout is complete"]);
    assert!(!again.has("hosted-payment-submit-button"));
    let twice = submit(url, &card_form("4242424242424242")).await;
    assert_eq!(twice.location, None);
    assert_eq!(subscriptions_of(&emu, &cus).await.len(), 1);
}

#[tokio::test]
async fn a_card_whose_charges_fail_still_starts_a_trial_and_metered_plans_owe_nothing_now() {
    let emu = Emu::start().await;
    let (cus, s) = trial_checkout(&emu, "later%40example.com").await;
    let paid = submit(
        s["url"].as_str().unwrap(),
        &card_form("4000 0000 0000 0341"),
    )
    .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    assert_eq!(subscriptions_of(&emu, &cus).await[0]["status"], "trialing");

    let (_, metered, _) = emu.catalog().await;
    let cus = emu.customer("metered%40example.com").await;
    let s = emu
        .session(&metered, None, &format!("&customer={cus}"))
        .await;
    let page = open(s["url"].as_str().unwrap()).await;
    page.assert_has(&[r#"<span id="total-due-today">$0.00</span>"#]);
    let paid = submit(
        s["url"].as_str().unwrap(),
        &card_form("4242 4242 4242 4242"),
    )
    .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    let sub = &subscriptions_of(&emu, &cus).await[0];
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["items"]["data"][0]["price"]["id"], metered.as_str());
}

#[tokio::test]
async fn a_declined_card_is_shown_on_the_page_and_creates_nothing() {
    let emu = Emu::start().await;
    let (cus, s) = trial_checkout(&emu, "declined%40example.com").await;
    let events_before = emu.event_types().await.len();
    let page = submit(
        s["url"].as_str().unwrap(),
        &card_form("4000 0000 0000 0002"),
    )
    .await;
    assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED);
    page.assert_has(&["Your card was declined.", r#"role="alert""#]);
    page.assert_has(CHECKOUT_HOOKS);
    page.assert_has(&[r#"value="Ada Lovelace""#, r#"value="4000 0000 0000 0002""#]);
    assert!(!page.has(r#"value="123""#), "the CVC is never echoed");

    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    assert_eq!(s["status"], "open");
    assert_eq!(s["subscription"], Value::Null);
    assert!(subscriptions_of(&emu, &cus).await.is_empty());
    let pms = emu
        .get(&format!("/v1/payment_methods?customer={cus}&type=card"))
        .await
        .ok();
    assert_eq!(pms["data"], serde_json::json!([]));
    assert_eq!(emu.event_types().await.len(), events_before, "no events");
}

#[tokio::test]
async fn form_mistakes_are_shown_next_to_their_fields() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let cus = emu.customer("typo%40example.com").await;
    let s = emu
        .session(&monthly, Some(1), &format!("&customer={cus}"))
        .await;
    let url = s["url"].as_str().unwrap();
    let page = submit(
        url,
        &[
            ("cardNumber", "4242 4242 4242 4242"),
            ("cardExpiry", "13 / 34"),
            ("cardCvc", ""),
            ("billingName", "Ada"),
            ("billingCountry", "US"),
            ("billingPostalCode", ""),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    page.assert_has(&[
        "Your card&#39;s expiration date is invalid.",
        "Your card&#39;s security code is incomplete.",
        "Your ZIP is incomplete.",
    ]);
    page.assert_has(CHECKOUT_HOOKS);

    // An expiry in the past (by the emulator's clock) and a wrong number.
    let mut form = card_form("4242 4242 4242 4241");
    let page = submit(url, &form).await;
    page.assert_has(&["Your card number is incorrect."]);
    form[0].1 = "4242 4242 4242 4242";
    form[1].1 = "01 / 20";
    let page = submit(url, &form).await;
    page.assert_has(&["Your card has expired."]);
    assert!(subscriptions_of(&emu, &cus).await.is_empty());

    // Outside the US there is no ZIP to give.
    form[1].1 = "12 / 34";
    form[4].1 = "FR";
    form[5].1 = "";
    let page = submit(url, &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
}

#[tokio::test]
async fn without_a_customer_the_page_asks_for_the_email_and_creates_the_customer() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let s = emu.session(&monthly, Some(1), "").await;
    let url = s["url"].as_str().unwrap();
    let page = open(url).await;
    page.assert_has(&[r#"name="email" type="email" autocomplete="email""#]);
    assert!(!page.has("readonly class"));

    let missing = submit(url, &card_form("4242424242424242")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    missing.assert_has(&["Your email is incomplete."]);

    let mut form = card_form("4242424242424242");
    form.push(("email", "new@example.com"));
    let paid = submit(url, &form).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    let customer = emu
        .get(&format!(
            "/v1/customers/{}",
            s["customer"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(customer["email"], "new@example.com");
    assert_eq!(
        subscriptions_of(&emu, &id(&customer)).await[0]["status"],
        "active"
    );

    // A `customer_email` session shows the email, read-only.
    let s = emu
        .session(&monthly, Some(1), "&customer_email=known%40example.com")
        .await;
    open(s["url"].as_str().unwrap())
        .await
        .assert_has(&[r#"value="known@example.com" readonly"#]);
}

#[tokio::test]
async fn expired_and_unknown_sessions_say_so() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let s = emu
        .session(&monthly, Some(1), "&customer_email=x%40example.com")
        .await;
    emu.post(&format!("/v1/checkout/sessions/{}/expire", id(&s)), "")
        .await
        .ok();
    let page = open(s["url"].as_str().unwrap()).await;
    page.assert_has(&[
        "This checkout session has expired",
        r#"href="https://app.test/back""#,
    ]);
    assert!(!page.has("hosted-payment-submit-button"));
    let post = submit(s["url"].as_str().unwrap(), &card_form("4242424242424242")).await;
    assert_eq!(post.location, None);
    assert!(
        emu.get("/v1/subscriptions").await.ok()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let unknown = open(&format!("{}/c/pay/cs_test_nope", emu.base)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

/// A customer subscribed to the monthly price through the Checkout page, and a
/// portal session for them under a configuration built from `features`.
async fn portal(emu: &Emu, features: &str) -> (String, String, String) {
    let (monthly, _, _) = emu.catalog().await;
    let cus = emu.customer("portal%40example.com").await;
    let s = emu
        .session(&monthly, Some(1), &format!("&customer={cus}"))
        .await;
    let paid = submit(
        s["url"].as_str().unwrap(),
        &card_form("4242 4242 4242 4242"),
    )
    .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    let sub = id(&subscriptions_of(emu, &cus).await[0]);
    let config = emu
        .post(
            "/v1/billing_portal/configurations",
            &format!("business_profile[headline]=%2Fdev%2Fchat&{features}"),
        )
        .await
        .ok();
    let session = emu
        .post(
            "/v1/billing_portal/sessions",
            &format!(
                "customer={cus}&configuration={}&return_url=https%3A%2F%2Fapp.test%2Fdashboard",
                id(&config)
            ),
        )
        .await
        .ok();
    (session["url"].as_str().unwrap().to_string(), cus, sub)
}

const ALL_FEATURES: &str = "features[payment_method_update][enabled]=true&features[invoice_history][enabled]=true&features[subscription_cancel][enabled]=true&features[subscription_cancel][mode]=immediately";

#[tokio::test]
async fn portal_cancel_immediately_cancels_the_subscription() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(&emu, ALL_FEATURES).await;
    let home = open(&url).await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_has(&[
        "/dev/chat",
        "Monthly",
        "$60.00 per month",
        "Active",
        "Renews on",
        "Invoice history",
        "$60.00",
        "Paid",
        "Visa",
        "4242",
        "portal@example.com",
        r#"data-testid="return-to-business-link" href="https://app.test/dashboard""#,
        r#"data-test="cancel-subscription""#,
    ]);

    let base = emu.base.clone();
    let step = open(&format!(
        "{base}{}",
        home.attr_after(r#"data-test="cancel-subscription""#, "href")
    ))
    .await;
    step.assert_has(&[
        r#"data-testid="confirm""#,
        "canceled immediately",
        r#"data-testid="return-to-business-link""#,
    ]);
    assert_eq!(
        subscriptions_of(&emu, &cus).await[0]["status"],
        "active",
        "opening the step changes nothing"
    );

    let action = step.attr_after(r#"<form method="post""#, "action");
    let done = submit(&format!("{base}{action}"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let sub = emu.get(&format!("/v1/subscriptions/{sub}")).await.ok();
    assert_eq!(sub["status"], "canceled");
    assert!(
        emu.event_types()
            .await
            .contains(&"customer.subscription.deleted".to_string())
    );

    let after = open(&format!("{base}{}", done.location.unwrap())).await;
    after.assert_has(&[
        "Your subscription has been canceled.",
        "You have no current subscriptions.",
        r#"data-testid="return-to-business-link" href="https://app.test/dashboard""#,
    ]);
    assert!(!after.has("cancel-subscription"));
}

#[tokio::test]
async fn portal_cancel_at_period_end_keeps_the_subscription_until_then() {
    let emu = Emu::start().await;
    let features = ALL_FEATURES.replace("mode]=immediately", "mode]=at_period_end");
    let (url, _, sub) = portal(&emu, &features).await;
    let home = open(&url).await;
    let base = emu.base.clone();
    let step = open(&format!(
        "{base}{}",
        home.attr_after(r#"data-test="cancel-subscription""#, "href")
    ))
    .await;
    step.assert_has(&["still available until the end of your billing period"]);
    let action = step.attr_after(r#"<form method="post""#, "action");
    let done = submit(&format!("{base}{action}"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let sub = emu.get(&format!("/v1/subscriptions/{sub}")).await.ok();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["cancel_at_period_end"], true);
    let after = open(&format!("{base}{}", done.location.unwrap())).await;
    after.assert_has(&[
        "will be canceled at the end of the billing period",
        "Cancels ",
    ]);
    assert!(!after.has(r#"data-test="cancel-subscription""#));
}

#[tokio::test]
async fn portal_shows_only_the_enabled_features() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(
        &emu,
        "features[payment_method_update][enabled]=false&features[invoice_history][enabled]=false&features[subscription_cancel][enabled]=false",
    )
    .await;
    let home = open(&url).await;
    home.assert_has(&["Monthly", r#"data-testid="return-to-business-link""#]);
    for absent in ["cancel-subscription", "Invoice history", "Payment method"] {
        assert!(!home.has(absent), "{absent} shown while disabled");
    }
    let refused = submit(&format!("{url}/subscriptions/{sub}/cancel"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = submit(
        &format!("{url}/payment-method"),
        &card_form("5555555555554444"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(subscriptions_of(&emu, &cus).await[0]["status"], "active");
}

#[tokio::test]
async fn portal_replaces_the_payment_method() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(&emu, ALL_FEATURES).await;
    let base = emu.base.clone();
    let home = open(&url).await;
    let form_page = open(&format!(
        "{base}{}",
        home.attr_after(r#"data-testid="update-payment-method""#, "href")
    ))
    .await;
    form_page.assert_has(&[r#"name="cardNumber""#, r#"placeholder="MM / YY""#]);

    let declined = submit(
        &format!("{url}/payment-method"),
        &card_form("4000000000000002"),
    )
    .await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    declined.assert_has(&["Your card was declined."]);

    let done = submit(
        &format!("{url}/payment-method"),
        &card_form("5555 5555 5555 4444"),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let customer = emu.get(&format!("/v1/customers/{cus}")).await.ok();
    let pm = customer["invoice_settings"]["default_payment_method"]
        .as_str()
        .unwrap();
    let sub = emu.get(&format!("/v1/subscriptions/{sub}")).await.ok();
    assert_eq!(sub["default_payment_method"], pm);
    let pm = emu.get(&format!("/v1/payment_methods/{pm}")).await.ok();
    assert_eq!(pm["card"]["last4"], "4444");
    open(&format!("{base}{}", done.location.unwrap()))
        .await
        .assert_has(&[
            "Your payment method has been updated.",
            "Mastercard",
            "4444",
        ]);
}

#[tokio::test]
async fn unknown_portal_sessions_and_foreign_subscriptions_are_not_found() {
    let emu = Emu::start().await;
    let (url, _, _) = portal(&emu, ALL_FEATURES).await;
    assert_eq!(
        open(&format!("{}/p/session/bps_nope", emu.base))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (monthly, _, _) = emu.catalog().await;
    let other = emu
        .subscribe(
            &monthly,
            Some(1),
            "&customer_email=other%40example.com",
            "4242424242424242",
        )
        .await;
    let refused = submit(&format!("{url}/subscriptions/{}/cancel", id(&other)), &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let other = emu
        .get(&format!("/v1/subscriptions/{}", id(&other)))
        .await
        .ok();
    assert_eq!(other["status"], "active");
}
