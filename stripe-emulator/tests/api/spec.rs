//! Requests Stripe's published OpenAPI spec refuses, across every operation the
//! emulator serves: each is answered 400 with Stripe's wording, code and `param`
//! before any handler runs (so ids in paths need not exist). Valid look-alikes at the
//! limits go through.

use reqwest::Method;
use serde_json::Value;

use crate::support::{Emu, KEY, id};

/// One refused request (a line of `refused_requests.txt`): method, path (GET and
/// DELETE parameters in its query), form body, then the error's `code`, `param` and
/// `message`.
struct Case<'a> {
    method: Method,
    path: &'a str,
    body: &'a str,
    code: &'a str,
    param: &'a str,
    message: &'a str,
}

fn cases() -> Vec<Case<'static>> {
    include_str!("refused_requests.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split(" | ").collect();
            let [request, body, code, param, message] = fields[..] else {
                panic!("five fields: {line}");
            };
            let (method, path) = request.split_once(' ').unwrap();
            Case {
                method: method.parse().unwrap(),
                path,
                body,
                code,
                param,
                message,
            }
        })
        .collect()
}

#[tokio::test]
async fn requests_the_spec_refuses_are_refused_as_stripe_words_it() {
    let emu = Emu::start().await;
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut operations = std::collections::HashSet::new();
    for c in &cases {
        let res = emu
            .send(c.method.clone(), c.path, c.body, Some(KEY), None)
            .await;
        let what = format!("{} {} {}", c.method, c.path, c.body);
        assert_eq!(res.status, 400, "{what}: {}", res.body);
        let err = &res.body["error"];
        assert_eq!(err["type"], "invalid_request_error", "{what}");
        assert_eq!(err["message"], c.message, "{what}");
        assert_eq!(err["param"], c.param, "{what}");
        assert_eq!(err["code"], c.code, "{what}");
        operations.insert(format!("{} {}", c.method, operation(c.path)));
    }
    // Every operation the emulator serves has at least one refused shape.
    assert_eq!(operations.len(), 53, "{operations:?}");
    // Refused requests reached no handler: nothing was created.
    let state = emu.get("/_emulator/state").await.body;
    assert_eq!(state["objects"], serde_json::json!({}));
}

/// `/v1/prices/price_1?x` → `/v1/prices/{id}`: a path's shape, ids replaced.
fn operation(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.split('/')
        .map(|s| {
            if s.contains('_') && s.chars().any(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The body of a POST the emulator accepts.
async fn accepted(emu: &Emu, path: &str, body: &str) -> Value {
    emu.post(path, body).await.ok()
}

#[tokio::test]
async fn valid_look_alikes_at_the_limits_are_accepted() {
    let emu = Emu::start().await;
    let headline = "h".repeat(60);
    let features = "features[invoice_history][enabled]=true";
    let config = accepted(
        &emu,
        "/v1/billing_portal/configurations",
        &format!("{features}&business_profile[headline]={headline}"),
    )
    .await;
    assert_eq!(
        config["business_profile"]["headline"],
        Value::from(headline)
    );
    let product = accepted(&emu, "/v1/products", "name=Pairing&unit_label=123456789012").await;
    assert_eq!(product["unit_label"], "123456789012");
    let lookup_key = "k".repeat(200);
    let monthly = format!(
        "product={}&currency=usd&unit_amount=6000&recurring[interval]=month",
        id(&product)
    );
    let price_body = format!("{monthly}&lookup_key={lookup_key}");
    let price = accepted(&emu, "/v1/prices", &price_body).await;
    assert_eq!(price["lookup_key"], Value::from(lookup_key));
    let phone = "phone=12345678901234567890&metadata[plan]=gold";
    let customer = accepted(&emu, "/v1/customers", phone).await;
    assert_eq!(customer["phone"], "12345678901234567890");
    // Free-form hashes take any key; `""` unsets where the spec allows it.
    let path = format!("/v1/customers/{}", id(&customer));
    let customer = accepted(&emu, &path, "metadata[plan]=&description=").await;
    assert_eq!(customer["metadata"], serde_json::json!({}));
    // An enum Stripe does not hold requests to (`x-stripeBypassValidation`) reaches the
    // handler, whose own rule answers.
    let avg = "display_name=x&event_name=y&default_aggregation[formula]=avg";
    let err = emu.post("/v1/billing/meters", avg).await.err(400);
    assert_eq!(err["param"], "default_aggregation[formula]");
    let trial = "subscription_data[trial_period_days]=7&subscription_data[trial_settings][end_behavior][missing_payment_method]=cancel";
    let session = accepted(
        &emu,
        "/v1/checkout/sessions",
        &format!("mode=subscription&line_items[0][price]={}&line_items[0][quantity]=1&success_url=https://app.test/ok&{trial}&automatic_tax[enabled]=false&expand[]=line_items", id(&price)),
    )
    .await;
    assert_eq!(session["mode"], "subscription");
    let meter = emu.meter("pairing_minutes").await;
    let identifier = "i".repeat(100);
    let customer = id(&customer);
    let event_body = format!(
        "event_name=pairing_minutes&identifier={identifier}&payload[stripe_customer_id]={customer}"
    );
    let event = accepted(&emu, "/v1/billing/meter_events", &event_body).await;
    assert_eq!(event["identifier"], Value::from(identifier));
    let summaries = emu
        .get(&format!(
            "/v1/billing/meters/{meter}/event_summaries?customer={customer}&start_time=0&end_time=60&expand[]=data"
        ))
        .await;
    // Past the spec, the handler's own rules apply (here: the window is in the past).
    assert_ne!(
        summaries.body["error"]["code"], "parameter_unknown",
        "{}",
        summaries.body
    );
}
