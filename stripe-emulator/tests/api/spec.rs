//! Requests Stripe's published OpenAPI spec refuses, across every operation the
//! emulator serves: each is answered 400 with Stripe's wording, code and `param`
//! before any handler runs (so ids in paths need not exist). Valid look-alikes at the
//! limits go through.

use reqwest::Method;
use serde_json::Value;

use crate::support::{Emu, KEY, id};

const INVALID: Option<&str> = Some("parameter_invalid");
const UNKNOWN: Option<&str> = Some("parameter_unknown");
const MISSING: Option<&str> = Some("parameter_missing");
const INTEGER: Option<&str> = Some("parameter_invalid_integer");
const EMPTY: Option<&str> = Some("parameter_invalid_empty");

/// One refused request: method, path (GET/DELETE parameters in its query), form body,
/// then the error's `code`, `param` and `message`.
struct Case {
    method: Method,
    path: &'static str,
    body: &'static str,
    code: Option<&'static str>,
    param: &'static str,
    message: &'static str,
}

const fn post(path: &'static str, body: &'static str) -> (Method, &'static str, &'static str) {
    (Method::POST, path, body)
}

const fn get(path: &'static str) -> (Method, &'static str, &'static str) {
    (Method::GET, path, "")
}

const fn delete(path: &'static str) -> (Method, &'static str, &'static str) {
    (Method::DELETE, path, "")
}

fn case(
    (method, path, body): (Method, &'static str, &'static str),
    code: Option<&'static str>,
    param: &'static str,
    message: &'static str,
) -> Case {
    Case {
        method,
        path,
        body,
        code,
        param,
        message,
    }
}

fn cases() -> Vec<Case> {
    let checkout = "/v1/checkout/sessions";
    vec![
        // The six the issue names.
        case(
            post(
                checkout,
                "mode=subscription&subscription_data[trial_settings][end_behavior][missing_payment_method]=bogus",
            ),
            INVALID,
            "subscription_data[trial_settings][end_behavior][missing_payment_method]",
            "Invalid subscription_data[trial_settings][end_behavior][missing_payment_method]: must be one of cancel, create_invoice, or pause",
        ),
        case(
            post(
                checkout,
                "mode=subscription&line_items[0][price]=price_1&line_items[0][description]=x",
            ),
            UNKNOWN,
            "line_items[0][description]",
            "Received unknown parameter: line_items[0][description]",
        ),
        case(
            post(checkout, "mode=subscription&automatic_tax[enabled]=maybe"),
            INVALID,
            "automatic_tax[enabled]",
            "Invalid boolean: maybe",
        ),
        case(
            post(
                "/v1/prices",
                "currency=usd&recurring[interval]=month&recurring[trial_period_days]=7",
            ),
            UNKNOWN,
            "recurring[trial_period_days]",
            "Received unknown parameter: recurring[trial_period_days]",
        ),
        case(
            post(
                "/v1/billing_portal/configurations",
                "features[invoice_history][enabled]=true&business_profile[headline]=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
            INVALID,
            "business_profile[headline]",
            "Invalid business_profile[headline]: must be at most 60 characters",
        ),
        case(
            post("/v1/products", "name=x&unit_label=1234567890123456789"),
            INVALID,
            "unit_label",
            "Invalid unit_label: must be at most 12 characters",
        ),
        // Checkout Sessions.
        case(
            post(checkout, "mode=bogus"),
            INVALID,
            "mode",
            "Invalid mode: must be one of payment, setup, or subscription",
        ),
        case(
            post(checkout, "mode=subscription&line_items[0][quantity]=two"),
            INTEGER,
            "line_items[0][quantity]",
            "Invalid integer: two",
        ),
        case(
            post(
                checkout,
                "mode=subscription&line_items[0][price_data][currency]=usd&line_items[0][price_data][product]=prod_1&line_items[0][price_data][recurring][interval]=fortnight",
            ),
            INVALID,
            "line_items[0][price_data][recurring][interval]",
            "Invalid line_items[0][price_data][recurring][interval]: must be one of day, month, week, or year",
        ),
        case(
            post(
                checkout,
                "mode=subscription&subscription_data[trial_period_days]=week",
            ),
            INTEGER,
            "subscription_data[trial_period_days]",
            "Invalid integer: week",
        ),
        case(
            post(checkout, "mode=subscription&expires_at=soon"),
            INTEGER,
            "expires_at",
            "Invalid integer: soon",
        ),
        case(
            post(
                checkout,
                "mode=subscription&line_items[0][price]=price_1&line_items[0][adjustable_quantity][maximum]=5",
            ),
            MISSING,
            "line_items[0][adjustable_quantity][enabled]",
            "Missing required param: line_items[0][adjustable_quantity][enabled].",
        ),
        case(
            post(checkout, "mode=subscription&line_items=price_1"),
            INVALID,
            "line_items",
            "Invalid array: line_items",
        ),
        case(
            post(checkout, "mode=subscription&metadata=x"),
            INVALID,
            "metadata",
            "Invalid hash: metadata",
        ),
        case(
            post(
                checkout,
                "mode=subscription&subscription_data[trial_period_days]=",
            ),
            EMPTY,
            "subscription_data[trial_period_days]",
            "You passed an empty string for 'subscription_data[trial_period_days]'. We assume empty values are an attempt to unset a parameter; however 'subscription_data[trial_period_days]' cannot be unset. You should remove 'subscription_data[trial_period_days]' from your request or supply a non-empty value.",
        ),
        case(
            post("/v1/checkout/sessions/cs_test_1/expire", "at=now"),
            UNKNOWN,
            "at",
            "Received unknown parameter: at",
        ),
        case(
            get("/v1/checkout/sessions?limit=ten"),
            INTEGER,
            "limit",
            "Invalid integer: ten",
        ),
        case(
            get("/v1/checkout/sessions/cs_test_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            get("/v1/checkout/sessions/cs_test_1/line_items?limit=all"),
            INTEGER,
            "limit",
            "Invalid integer: all",
        ),
        // Customers.
        case(
            post("/v1/customers", "phone=123456789012345678901"),
            INVALID,
            "phone",
            "Invalid phone: must be at most 20 characters",
        ),
        case(
            post("/v1/customers", "tax_exempt=bogus"),
            INVALID,
            "tax_exempt",
            "Invalid tax_exempt: must be one of exempt, none, or reverse",
        ),
        case(
            post(
                "/v1/customers/cus_1",
                "invoice_settings[rendering_options][amount_tax_display]=bogus",
            ),
            INVALID,
            "invoice_settings[rendering_options][amount_tax_display]",
            "Invalid invoice_settings[rendering_options][amount_tax_display]: must be one of exclude_tax or include_inclusive_tax",
        ),
        case(
            post("/v1/customers/cus_1", "metadata[plan][tier]=gold"),
            INVALID,
            "metadata[plan]",
            "Invalid string: metadata[plan]",
        ),
        case(
            delete("/v1/customers/cus_1?force=true"),
            UNKNOWN,
            "force",
            "Received unknown parameter: force",
        ),
        case(
            get("/v1/customers?created[gt]=yesterday"),
            INTEGER,
            "created[gt]",
            "Invalid integer: yesterday",
        ),
        case(
            get("/v1/customers/cus_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            get("/v1/customers/cus_1/payment_methods?limit=x"),
            INTEGER,
            "limit",
            "Invalid integer: x",
        ),
        // Products.
        case(
            post("/v1/products", "description=x"),
            MISSING,
            "name",
            "Missing required param: name.",
        ),
        case(
            post("/v1/products/prod_1", "active=yes"),
            INVALID,
            "active",
            "Invalid boolean: yes",
        ),
        case(
            post("/v1/products", "name=x&marketing_features[0][title]=y"),
            MISSING,
            "marketing_features[0][name]",
            "Missing required param: marketing_features[0][name].",
        ),
        case(
            get("/v1/products?active=maybe"),
            INVALID,
            "active",
            "Invalid boolean: maybe",
        ),
        case(
            get("/v1/products/prod_1?expand=default_price"),
            INVALID,
            "expand",
            "Invalid array: expand",
        ),
        // Prices.
        case(
            post("/v1/prices", "currency=usd&unit_amount=12.5"),
            INTEGER,
            "unit_amount",
            "Invalid integer: 12.5",
        ),
        case(
            post(
                "/v1/prices",
                "currency=usd&recurring[interval]=month&recurring[usage_type]=bogus",
            ),
            INVALID,
            "recurring[usage_type]",
            "Invalid recurring[usage_type]: must be one of licensed or metered",
        ),
        case(
            post("/v1/prices", "unit_amount=100"),
            MISSING,
            "currency",
            "Missing required param: currency.",
        ),
        case(
            post("/v1/prices/price_1", "nickname=x&product=prod_2"),
            UNKNOWN,
            "product",
            "Received unknown parameter: product",
        ),
        case(
            get("/v1/prices?type=bogus"),
            INVALID,
            "type",
            "Invalid type: must be one of one_time or recurring",
        ),
        case(
            get("/v1/prices/price_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        // Billing meters and meter events.
        case(
            post("/v1/billing/meters", "display_name=x&event_name=y"),
            MISSING,
            "default_aggregation",
            "Missing required param: default_aggregation.",
        ),
        case(
            post(
                "/v1/billing/meters",
                "display_name=x&event_name=y&default_aggregation[formula]=sum&event_time_window=week",
            ),
            INVALID,
            "event_time_window",
            "Invalid event_time_window: must be one of day or hour",
        ),
        case(
            post(
                "/v1/billing/meters",
                "display_name=x&event_name=y&default_aggregation[formula]=sum&customer_mapping[event_payload_key]=k",
            ),
            MISSING,
            "customer_mapping[type]",
            "Missing required param: customer_mapping[type].",
        ),
        case(
            post("/v1/billing/meters/mtr_1", "event_name=z"),
            UNKNOWN,
            "event_name",
            "Received unknown parameter: event_name",
        ),
        case(
            post("/v1/billing/meters/mtr_1/deactivate", "now=1"),
            UNKNOWN,
            "now",
            "Received unknown parameter: now",
        ),
        case(
            post("/v1/billing/meters/mtr_1/reactivate", "now=1"),
            UNKNOWN,
            "now",
            "Received unknown parameter: now",
        ),
        case(
            get("/v1/billing/meters/mtr_1/event_summaries?customer=cus_1&start_time=60"),
            MISSING,
            "end_time",
            "Missing required param: end_time.",
        ),
        case(
            get("/v1/billing/meters?status=paused"),
            INVALID,
            "status",
            "Invalid status: must be one of active or inactive",
        ),
        case(
            get("/v1/billing/meters/mtr_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            post("/v1/billing/meter_events", "event_name=x"),
            MISSING,
            "payload",
            "Missing required param: payload.",
        ),
        case(
            post(
                "/v1/billing/meter_events",
                "event_name=x&payload[value]=1&timestamp=now",
            ),
            INTEGER,
            "timestamp",
            "Invalid integer: now",
        ),
        case(
            post(
                "/v1/billing/meter_events",
                "event_name=x&payload[value][n]=1",
            ),
            INVALID,
            "payload[value]",
            "Invalid string: payload[value]",
        ),
        // Portal configurations and sessions.
        case(
            post("/v1/billing_portal/configurations", "name=x"),
            MISSING,
            "features",
            "Missing required param: features.",
        ),
        case(
            post(
                "/v1/billing_portal/configurations",
                "features[subscription_cancel][mode]=at_period_end",
            ),
            MISSING,
            "features[subscription_cancel][enabled]",
            "Missing required param: features[subscription_cancel][enabled].",
        ),
        case(
            post(
                "/v1/billing_portal/configurations",
                "features[customer_update][enabled]=true&features[customer_update][allowed_updates][0]=iban",
            ),
            INVALID,
            "features[customer_update][allowed_updates][0]",
            "Invalid features[customer_update][allowed_updates][0]: must be one of address, email, name, phone, shipping, or tax_id",
        ),
        case(
            post(
                "/v1/billing_portal/configurations/bpc_1",
                "login_page[enabled]=perhaps",
            ),
            INVALID,
            "login_page[enabled]",
            "Invalid boolean: perhaps",
        ),
        case(
            get("/v1/billing_portal/configurations?is_default=maybe"),
            INVALID,
            "is_default",
            "Invalid boolean: maybe",
        ),
        case(
            get("/v1/billing_portal/configurations/bpc_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            post(
                "/v1/billing_portal/sessions",
                "customer=cus_1&flow_data[type]=bogus",
            ),
            INVALID,
            "flow_data[type]",
            "Invalid flow_data[type]: must be one of payment_method_update, subscription_cancel, subscription_update, or subscription_update_confirm",
        ),
        // Events, invoices, payment methods.
        case(
            get("/v1/events?delivery_success=perhaps"),
            INVALID,
            "delivery_success",
            "Invalid boolean: perhaps",
        ),
        case(
            get("/v1/events/evt_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            get("/v1/invoices?status=late"),
            INVALID,
            "status",
            "Invalid status: must be one of draft, open, paid, uncollectible, or void",
        ),
        case(
            get("/v1/invoices/in_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            get("/v1/invoices/in_1/lines?limit=many"),
            INTEGER,
            "limit",
            "Invalid integer: many",
        ),
        case(
            post("/v1/invoices/in_1/pay", "forgive=perhaps"),
            INVALID,
            "forgive",
            "Invalid boolean: perhaps",
        ),
        case(
            get("/v1/payment_methods?limit=x"),
            INTEGER,
            "limit",
            "Invalid integer: x",
        ),
        case(
            get("/v1/payment_methods/pm_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            post(
                "/v1/payment_methods/pm_1/attach",
                "customer=cus_1&default=true",
            ),
            UNKNOWN,
            "default",
            "Received unknown parameter: default",
        ),
        case(
            post("/v1/payment_methods/pm_1/detach", "customer=cus_1"),
            UNKNOWN,
            "customer",
            "Received unknown parameter: customer",
        ),
        // Subscriptions and their items.
        case(
            get("/v1/subscription_items"),
            MISSING,
            "subscription",
            "Missing required param: subscription.",
        ),
        case(
            get("/v1/subscription_items/si_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            get("/v1/subscriptions/sub_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            get("/v1/subscriptions?status=late"),
            INVALID,
            "status",
            "Invalid status: must be one of active, all, canceled, ended, incomplete, incomplete_expired, past_due, paused, trialing, or unpaid",
        ),
        case(
            post("/v1/subscriptions/sub_1", "cancel_at_period_end=perhaps"),
            INVALID,
            "cancel_at_period_end",
            "Invalid boolean: perhaps",
        ),
        case(
            post(
                "/v1/subscriptions/sub_1",
                "items[0][id]=si_1&items[0][bogus]=1",
            ),
            UNKNOWN,
            "items[0][bogus]",
            "Received unknown parameter: items[0][bogus]",
        ),
        case(
            post("/v1/subscriptions/sub_1", "trial_end=tomorrow"),
            INVALID,
            "trial_end",
            "Invalid trial_end: must be one of now",
        ),
        case(
            delete("/v1/subscriptions/sub_1?cancellation_details[feedback]=bored"),
            INVALID,
            "cancellation_details[feedback]",
            "Invalid cancellation_details[feedback]: must be one of customer_service, low_quality, missing_features, other, switched_service, too_complex, too_expensive, or unused",
        ),
        // Webhook endpoints.
        case(
            get("/v1/webhook_endpoints?limit=x"),
            INTEGER,
            "limit",
            "Invalid integer: x",
        ),
        case(
            post("/v1/webhook_endpoints", "url=https://app.test/hook"),
            MISSING,
            "enabled_events",
            "Missing required param: enabled_events.",
        ),
        case(
            get("/v1/webhook_endpoints/we_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
        case(
            post("/v1/webhook_endpoints/we_1", "disabled=perhaps"),
            INVALID,
            "disabled",
            "Invalid boolean: perhaps",
        ),
        case(
            delete("/v1/webhook_endpoints/we_1?bogus=1"),
            UNKNOWN,
            "bogus",
            "Received unknown parameter: bogus",
        ),
    ]
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
        assert_eq!(err["code"].as_str(), c.code, "{what}");
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
