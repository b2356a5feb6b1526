//! `/v1/checkout/sessions`: create (subscription mode), retrieve, list, line items,
//! expire. Paying happens on the hosted page (`pages.rs` → `billing::complete_checkout`).

use axum::routing::MethodFilter;

use super::rest::{self, prelude::*};
use crate::billing;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/checkout/sessions",
            rest::list("checkout.session", filter)
                .merge(rest::create_with(respond_session, create)),
        )
        .route(
            "/v1/checkout/sessions/{id}",
            rest::retrieve_with(
                |db: &Db, id: &str| db.fetch("checkout.session", id, "checkout.session", "session"),
                respond_session,
            ),
        )
        .route(
            "/v1/checkout/sessions/{id}/line_items",
            rest::sublist(line_items),
        )
        .route(
            "/v1/checkout/sessions/{id}/expire",
            rest::act_with(MethodFilter::POST, respond_session, |_: &mut Params| {
                Ok(expire)
            }),
        )
}

/// A line item as asked for, before validation against the Db.
struct LineItemParam {
    price: String,
    quantity: Option<i64>,
    adjustable: Option<(bool, Option<i64>, Option<i64>)>,
}

fn read_line_items(p: &mut Params) -> ApiResult<Vec<LineItemParam>> {
    let Some(items) = p.obj_list("line_items")? else {
        return Ok(Vec::new());
    };
    items
        .into_iter()
        .map(|mut li| {
            let name = li.name("price");
            let price = li.str("price")?.filter(|s| !s.is_empty());
            let quantity = li.i64("quantity")?;
            let adjustable = match li.obj("adjustable_quantity")? {
                Some(mut a) => {
                    let enabled = a.bool("enabled")?.unwrap_or_default();
                    let min = a.i64("minimum")?;
                    let max = a.i64("maximum")?;
                    a.finish()?;
                    Some((enabled, min, max))
                }
                None => None,
            };
            if li.has("price_data") {
                return Err(ApiError::invalid_param(
                    &li.name("price_data"),
                    "line_items[][price_data] is not supported by the emulator; create a Price and pass its id.",
                ));
            }
            li.allow(&["description", "tax_rates", "dynamic_tax_rates", "metadata"]);
            let price = price.ok_or_else(|| {
                ApiError::invalid_param(
                    &name,
                    "You must specify either `price` or `price_data` for each line item.",
                )
            })?;
            if let Some(q) = quantity
                && q < 0
            {
                return Err(ApiError::invalid_param(&li.name("quantity"), "Quantity must be a non-negative integer."));
            }
            li.finish()?;
            Ok(LineItemParam { price, quantity, adjustable })
        })
        .collect()
}

/// Checks each line item against its price as Stripe does in subscription mode and
/// builds the session's `item`s.
fn build_line_items(db: &Db, items: &[LineItemParam]) -> ApiResult<Vec<Value>> {
    if items.is_empty() {
        return Err(ApiError::missing_param("line_items").param("line_items"));
    }
    let mut out = Vec::new();
    let mut currency: Option<String> = None;
    let mut interval: Option<(String, i64)> = None;
    for (i, li) in items.iter().enumerate() {
        let param = format!("line_items[{i}][price]");
        let price = db.fetch_param("price", &li.price, "price", &param)?;
        if price["active"] != json!(true) {
            return Err(ApiError::invalid_param(
                &param,
                format!(
                    "The price specified ({}) is inactive. This field only accepts active prices.",
                    li.price
                ),
            ));
        }
        if price["type"] != "recurring" || !price["recurring"].is_object() {
            return Err(ApiError::invalid_param(
                &param,
                "You must provide at least one recurring price in `subscription` mode when using prices.",
            ));
        }
        let metered = price["recurring"]["usage_type"] == "metered";
        if metered && li.quantity.is_some() {
            return Err(ApiError::invalid_param(
                &format!("line_items[{i}][quantity]"),
                format!(
                    "Quantity should not be specified where usage_type is `metered`. Remove quantity from `line_items[{i}]`."
                ),
            ));
        }
        if !metered && li.quantity.is_none() {
            return Err(ApiError::invalid(format!(
                "Quantity is required. Add `quantity` to `line_items[{i}]`."
            ))
            .code("parameter_missing")
            .param(format!("line_items[{i}][quantity]")));
        }
        if metered && li.adjustable.is_some_and(|a| a.0) {
            return Err(ApiError::invalid_param(
                &format!("line_items[{i}][adjustable_quantity]"),
                "Adjustable quantity is not supported for prices with usage_type `metered`.",
            ));
        }
        let cur = price["currency"].as_str().unwrap_or_default().to_string();
        if currency.as_ref().is_some_and(|c| *c != cur) {
            return Err(ApiError::invalid_param(
                &param,
                "All prices must be in the same currency.",
            ));
        }
        currency = Some(cur.clone());
        let every = (
            price["recurring"]["interval"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            price["recurring"]["interval_count"].as_i64().unwrap_or(1),
        );
        if interval.as_ref().is_some_and(|x| *x != every) {
            return Err(ApiError::invalid_param(
                &param,
                "Checkout does not support multiple prices with different billing intervals.",
            ));
        }
        interval = Some(every);
        let quantity = if metered { None } else { li.quantity };
        let amount = quantity.unwrap_or(0) * price["unit_amount"].as_i64().unwrap_or(0);
        let product_name = price["product"]
            .as_str()
            .and_then(|p| db.get(p))
            .and_then(|p| p["name"].as_str())
            .map(str::to_string);
        out.push(json!({
            "id": new_id("li"),
            "object": "item",
            "adjustable_quantity": li.adjustable.map(|(enabled, minimum, maximum)| json!({
                "enabled": enabled, "maximum": maximum.or(enabled.then_some(99)), "minimum": minimum.or(enabled.then_some(0)),
            })),
            "amount_discount": 0,
            "amount_subtotal": amount,
            "amount_tax": 0,
            "amount_total": amount,
            "currency": cur,
            "description": product_name,
            "metadata": {},
            "price": price,
            "quantity": quantity,
        }));
    }
    Ok(out)
}

fn create(p: &mut Params, public_url: &str) -> ApiResult<impl Build + use<>> {
    let mode = p.str("mode")?;
    let customer = p.str("customer")?.filter(|s| !s.is_empty());
    let customer_email = p.str("customer_email")?.filter(|s| !s.is_empty());
    let items = read_line_items(p)?;
    let subscription_data = match p.obj("subscription_data")? {
        Some(mut sd) => {
            let trial = sd.i64("trial_period_days")?;
            let metadata = sd.metadata()?;
            let description = sd.str("description")?;
            sd.allow(&[
                "billing_cycle_anchor",
                "default_tax_rates",
                "proration_behavior",
                "trial_settings",
                "application_fee_percent",
                "on_behalf_of",
                "transfer_data",
                "invoice_settings",
                "billing_mode",
            ]);
            if let Some(days) = trial
                && !(1..=730).contains(&days)
            {
                return Err(ApiError::invalid_param(
                    "subscription_data[trial_period_days]",
                    "The trial period must be between 1 and 730 days.",
                ));
            }
            sd.finish()?;
            json!({ "trial_period_days": trial, "metadata": metadata.unwrap_or_default(), "description": description })
        }
        None => json!({ "trial_period_days": null, "metadata": {}, "description": null }),
    };
    let pm_collection = p.str("payment_method_collection")?;
    let success_url = p.str("success_url")?;
    let cancel_url = p.str("cancel_url")?;
    let client_reference_id = p.str("client_reference_id")?;
    let metadata = p.metadata()?;
    let allow_promotion_codes = p.bool("allow_promotion_codes")?;
    let billing_address_collection = p.str("billing_address_collection")?;
    let expires_at = p.i64("expires_at")?;
    let locale = p.str("locale")?;
    let ui_mode = p.enum_str("ui_mode", &["hosted"])?;
    let customer_creation = p.str("customer_creation")?;
    let submit_type = p.str("submit_type")?;
    let pm_types = p.str_list("payment_method_types")?;
    p.allow(&[
        "customer_update",
        "tax_id_collection",
        "automatic_tax",
        "consent_collection",
        "custom_text",
        "phone_number_collection",
        "discounts",
    ]);
    let public_url = public_url.to_string();
    Ok(move |db: &mut Db| {
        let mode = mode.ok_or_else(|| ApiError::missing_param("mode"))?;
        if mode != "subscription" {
            return Err(ApiError::invalid_param(
                "mode",
                format!("mode={mode} is not supported by the emulator; only mode=subscription is."),
            ));
        }
        let success_url = success_url
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing_param("success_url"))?;
        if !success_url.starts_with("http://") && !success_url.starts_with("https://") {
            return Err(ApiError::invalid_param("success_url", "Not a valid URL"));
        }
        if customer.is_some() && customer_email.is_some() {
            return Err(ApiError::invalid(
                "You may only specify one of these parameters: customer, customer_email.",
            )
            .param("customer_email"));
        }
        if let Some(pm) = &pm_types
            && pm.iter().any(|t| t != "card")
        {
            return Err(ApiError::invalid_param(
                "payment_method_types",
                "The emulator only supports payment_method_types[]=card.",
            ));
        }
        let now = db.now();
        let customer_obj = match &customer {
            Some(c) => Some(db.fetch_param("customer", c, "customer", "customer")?),
            None => None,
        };
        let lines = build_line_items(db, &items)?;
        if let Some(t) = expires_at
            && !(now + 1800..=now + 86_400).contains(&t)
        {
            return Err(ApiError::invalid_param(
                "expires_at",
                "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
            ));
        }
        let trial = subscription_data["trial_period_days"].is_number();
        let subtotal: i64 = lines
            .iter()
            .filter_map(|l| l["amount_total"].as_i64())
            .sum();
        let due = if trial { 0 } else { subtotal };
        let currency = lines[0]["currency"].clone();
        let id = billing::checkout_session_id();
        let email = customer_obj
            .as_ref()
            .map(|c| c["email"].clone())
            .unwrap_or_else(|| json!(customer_email));
        let mut s = json!({
            "id": id,
            "object": "checkout.session",
            "adaptive_pricing": null,
            "after_expiration": null,
            "allow_promotion_codes": allow_promotion_codes,
            "amount_subtotal": due,
            "amount_total": due,
            "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
            "billing_address_collection": billing_address_collection,
            "cancel_url": cancel_url,
            "client_reference_id": client_reference_id,
            "client_secret": null,
            "collected_information": null,
            "consent": null,
            "consent_collection": null,
            "created": now,
            "currency": currency,
            "currency_conversion": null,
            "custom_fields": [],
            "custom_text": {"after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null},
            "customer": customer,
            "customer_account": null,
            "customer_creation": if customer.is_some() { Value::Null } else { json!(customer_creation.unwrap_or_else(|| "always".into())) },
            "customer_details": if email.is_null() { Value::Null } else {
                json!({"address": null, "business_name": null, "email": email, "individual_name": null, "name": null, "phone": null, "tax_exempt": "none", "tax_ids": null})
            },
            "customer_email": customer_email,
        });
        let rest = json!({
            "discounts": [],
            "expires_at": expires_at.unwrap_or(now + 86_400),
            "invoice": null,
            "invoice_creation": null,
            "livemode": false,
            "locale": locale,
            "metadata": {},
            "mode": "subscription",
            "origin_context": null,
            "payment_intent": null,
            "payment_link": null,
            "payment_method_collection": pm_collection.unwrap_or_else(|| "always".into()),
            "payment_method_configuration_details": null,
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "permissions": null,
            "phone_number_collection": {"enabled": false},
            "recovered_from": null,
            "saved_payment_method_options": {"allow_redisplay_filters": ["always"], "payment_method_remove": "disabled", "payment_method_save": null},
            "setup_intent": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "shipping_options": [],
            "status": "open",
            "submit_type": submit_type,
            "subscription": null,
            "success_url": success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": ui_mode.unwrap_or_else(|| "hosted".into()),
            "url": format!("{public_url}/c/pay/{id}"),
            "wallet_options": null,
        });
        if let (Some(s), Value::Object(rest)) = (s.as_object_mut(), rest) {
            s.extend(rest);
        }
        merge_metadata(&mut s, metadata);
        let id_str = id.clone();
        let setup = json!({
            "line_items": {
                "object": "list",
                "data": lines,
                "has_more": false,
                "url": format!("/v1/checkout/sessions/{id_str}/line_items"),
            },
            "subscription_data": subscription_data,
        });
        db.objects
            .insert(billing::session_setup_key(&id_str), setup);
        Ok(db.insert(s))
    })
}

/// Responds with a session, filling `line_items` when it is expanded (Stripe only
/// includes them on request).
fn respond_session(app: &App, mut session: Value, expand: &[String]) -> ApiResult<Json<Value>> {
    let (mine, rest): (Vec<String>, Vec<String>) = expand
        .iter()
        .cloned()
        .partition(|e| e == "line_items" || e.starts_with("line_items."));
    if !mine.is_empty() {
        let id = session["id"].as_str().unwrap_or_default().to_string();
        let items = app
            .read(|db| billing::session_setup(db, &id))
            .map(|s| s["line_items"].clone());
        session["line_items"] = items.unwrap_or(Value::Null);
    }
    respond(app, session, &rest)
}

fn line_items(_: &mut Params) -> ApiResult<impl Items + use<>> {
    Ok(|db: &Db, id: &str| {
        db.fetch("checkout.session", id, "checkout.session", "session")?;
        // Line items keep their given order (oldest first), as Stripe lists them.
        Ok(billing::session_setup(db, id)
            .and_then(|s| s["line_items"]["data"].as_array().cloned())
            .unwrap_or_default())
    })
}

fn expire(db: &mut Db, id: &str) -> ApiResult<Value> {
    let before = db.fetch("checkout.session", id, "checkout.session", "session")?;
    if before["status"] != "open" {
        return Err(ApiError::invalid(format!(
            "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{}\".",
            before["status"].as_str().unwrap_or_default()
        )));
    }
    let mut s = before.clone();
    s["status"] = json!("expired");
    let s = db.put(s);
    db.emit("checkout.session.expired", &s, None);
    Ok(s)
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let fields = ["customer", "status", "subscription", "payment_intent"];
    let equal = list::Equal::read(p, &fields)?;
    Ok(move |o: &Value| equal.matches(o))
}
