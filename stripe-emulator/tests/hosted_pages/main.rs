//! The hosted Checkout, Customer Portal and invoice pages over HTTP, as a browser uses them:
//! GET the page, check Stripe's test hooks are there, POST its forms, follow the
//! redirects (`checkout`, `portal`: the pages without scripts), or send the forms as
//! the pages' script does and read the JSON answers (`script`); and what each step
//! did to the state, through the API.

mod checkout;
mod invoice;
mod portal;
mod script;
#[path = "../support/mod.rs"]
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
    r#"<button type="submit" class="pay SubmitButton" data-testid="hosted-payment-submit-button">"#,
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

/// A Checkout Session for `email` on the monthly price, expired through the API.
async fn expired_session(emu: &Emu, email: &str) -> Value {
    let (monthly, _, _) = emu.catalog().await;
    let s = emu
        .session(&monthly, Some(1), &format!("&customer_email={email}"))
        .await;
    emu.post(&format!("/v1/checkout/sessions/{}/expire", id(&s)), "")
        .await
        .ok();
    s
}

/// A new customer and a Checkout Session for them on the monthly price, no trial.
async fn monthly_checkout(emu: &Emu, email: &str) -> (String, Value) {
    let (monthly, _, _) = emu.catalog().await;
    let cus = emu.customer(email).await;
    let s = emu
        .session(&monthly, Some(1), &format!("&customer={cus}"))
        .await;
    (cus, s)
}

/// A new customer and a trial Checkout Session for them on the monthly price.
async fn trial_checkout(emu: &Emu, email: &str) -> (String, Value) {
    let (monthly, _, _) = emu.catalog().await;
    let cus = emu.customer(email).await;
    let s = trial_session(emu, &monthly, &cus).await;
    (cus, s)
}

/// A customer subscribed to the monthly price through the Checkout page, and a
/// portal session for them under a configuration built from `features`.
async fn portal(emu: &Emu, features: &str) -> (String, String, String) {
    let (cus, s) = monthly_checkout(emu, "portal%40example.com").await;
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

/// A portal configuration with every feature off.
const NO_FEATURES: &str = "features[payment_method_update][enabled]=false&features[invoice_history][enabled]=false&features[subscription_cancel][enabled]=false";
