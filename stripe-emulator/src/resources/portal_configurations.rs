//! `/v1/billing_portal/configurations`: what the hosted portal shows and allows.
//! The portal sessions and the hosted portal page read these objects as stored.
//!
//! A Stripe account always has a default configuration (saved in the Dashboard);
//! the emulator has no Dashboard, so the first configuration created becomes the
//! default (`is_default: true`) while no default exists.
use super::rest::{self, prelude::*};

const KIND: &str = "billing_portal.configuration";
const WHAT: &str = "configuration";

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/billing_portal/configurations",
            rest::list(KIND, filter).merge(rest::create_with(respond, create)),
        )
        .route(
            "/v1/billing_portal/configurations/{id}",
            rest::retrieve(KIND, WHAT, "configuration")
                .merge(rest::update_linked((KIND, WHAT), update)),
        )
}

/// Every feature with its defaults (all disabled), as Stripe returns them.
fn default_features() -> Value {
    json!({
        "customer_update": { "allowed_updates": [], "enabled": false },
        "invoice_history": { "enabled": false },
        "payment_method_update": { "enabled": false, "payment_method_configuration": null },
        "subscription_cancel": {
            "cancellation_reason": { "enabled": false, "feedback_options": null, "options": [] },
            "enabled": false,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_update": {
            "billing_cycle_anchor": null,
            "default_allowed_updates": [],
            "enabled": false,
            "products": [],
            "proration_behavior": "none",
            "schedule_at_period_end": { "conditions": [] },
            "trial_update_behavior": "end_trial",
        },
    })
}

/// Reads a feature's `enabled` (the spec requires it where Stripe does).
fn enabled(f: &mut Params, target: &mut Value) -> ApiResult<()> {
    if let Some(v) = f.bool("enabled")? {
        target["enabled"] = json!(v);
    }
    Ok(())
}

/// A list of values (the spec holds them to its enum); `key=""` empties it.
fn list_of(f: &mut Params, key: &str) -> ApiResult<Option<Value>> {
    let Some(items) = f.str_list(key)? else {
        return Ok(None);
    };
    let items: Vec<String> = items.into_iter().filter(|s| !s.is_empty()).collect();
    Ok(Some(json!(items)))
}

fn set_str(f: &mut Params, target: &mut Value, key: &str) -> ApiResult<()> {
    if let Some(v) = f.str(key)? {
        target[key] = json!(v);
    }
    Ok(())
}

fn cancel_feature(mut f: Params, t: &mut Value) -> ApiResult<()> {
    enabled(&mut f, t)?;
    set_str(&mut f, t, "mode")?;
    set_str(&mut f, t, "proration_behavior")?;
    if let Some(mut r) = f.obj("cancellation_reason")? {
        let reason = &mut t["cancellation_reason"];
        enabled(&mut r, reason)?;
        if let Some(options) = list_of(&mut r, "options")? {
            reason["options"] = options;
        }
        if let Some(ids) = r.str_list("feedback_options")? {
            reason["feedback_options"] = json!(ids);
        }
        if reason["enabled"] == json!(true)
            && reason["options"].as_array().is_none_or(Vec::is_empty)
        {
            return Err(ApiError::missing_param(&r.name("options")));
        }
        r.finish()?;
    }
    f.finish()
}

fn update_feature(db: &Db, mut f: Params, t: &mut Value) -> ApiResult<()> {
    enabled(&mut f, t)?;
    if let Some(v) = list_of(&mut f, "default_allowed_updates")? {
        t["default_allowed_updates"] = v;
    }
    set_str(&mut f, t, "proration_behavior")?;
    set_str(&mut f, t, "billing_cycle_anchor")?;
    set_str(&mut f, t, "trial_update_behavior")?;
    if let Some(mut s) = f.obj("schedule_at_period_end")? {
        let mut conditions = Vec::new();
        for mut c in s.obj_list("conditions")?.unwrap_or_default() {
            let kind = c.str("type")?;
            c.finish()?;
            conditions.push(json!({ "type": kind }));
        }
        s.finish()?;
        t["schedule_at_period_end"] = json!({ "conditions": conditions });
    }
    if let Some(items) = f.obj_list("products")? {
        let mut products = Vec::new();
        for mut item in items {
            let product = item.req_str("product")?;
            db.fetch_param("product", &product, "product", &item.name("product"))?;
            let prices = item
                .str_list("prices")?
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ApiError::missing_param(&item.name("prices")))?;
            for price in &prices {
                db.fetch_param("price", price, "price", &item.name("prices"))?;
            }
            let mut adjustable = json!({ "enabled": false, "maximum": null, "minimum": 1 });
            if let Some(mut a) = item.obj("adjustable_quantity")? {
                adjustable["enabled"] = json!(a.bool("enabled")?.unwrap_or(false));
                adjustable["maximum"] = json!(a.i64("maximum")?);
                adjustable["minimum"] = json!(a.i64("minimum")?.unwrap_or(1));
                a.finish()?;
            }
            item.finish()?;
            products.push(json!({
                "adjustable_quantity": adjustable,
                "prices": prices,
                "product": product,
            }));
        }
        t["products"] = json!(products);
    }
    if t["enabled"] == json!(true) && t["products"].as_array().is_none_or(Vec::is_empty) {
        return Err(ApiError::missing_param(&f.name("products")));
    }
    f.finish()
}

/// Applies `features[...]` onto the stored features.
fn apply_features(db: &Db, mut f: Params, features: &mut Value) -> ApiResult<()> {
    if let Some(mut c) = f.obj("customer_update")? {
        let t = &mut features["customer_update"];
        enabled(&mut c, t)?;
        if let Some(v) = list_of(&mut c, "allowed_updates")? {
            t["allowed_updates"] = v;
        }
        c.finish()?;
    }
    if let Some(mut c) = f.obj("invoice_history")? {
        enabled(&mut c, &mut features["invoice_history"])?;
        c.finish()?;
    }
    if let Some(mut c) = f.obj("payment_method_update")? {
        let t = &mut features["payment_method_update"];
        enabled(&mut c, t)?;
        if let Some(v) = c.str("payment_method_configuration")? {
            t["payment_method_configuration"] = json!((!v.is_empty()).then_some(v));
        }
        c.finish()?;
    }
    if let Some(c) = f.obj("subscription_cancel")? {
        cancel_feature(c, &mut features["subscription_cancel"])?;
    }
    if let Some(c) = f.obj("subscription_update")? {
        update_feature(db, c, &mut features["subscription_update"])?;
    }
    f.finish()
}

/// The parameters create and update share.
struct Fields {
    business_profile: Option<Params>,
    features: Option<Params>,
    default_return_url: Option<String>,
    login_page: Option<bool>,
    name: Option<String>,
    metadata: Option<serde_json::Map<String, Value>>,
}

fn read_fields(p: &mut Params) -> ApiResult<Fields> {
    let login_page = match p.obj("login_page")? {
        Some(mut l) => {
            let v = l.bool("enabled")?.unwrap_or_default();
            l.finish()?;
            Some(v)
        }
        None => None,
    };
    Ok(Fields {
        business_profile: p.obj("business_profile")?,
        features: p.obj("features")?,
        default_return_url: p.str("default_return_url")?,
        login_page,
        name: p.str("name")?,
        metadata: p.metadata()?,
    })
}

fn url_or_null(key: &str, v: String) -> ApiResult<Value> {
    if v.is_empty() {
        return Ok(Value::Null);
    }
    if !(v.starts_with("http://") || v.starts_with("https://")) {
        return Err(
            ApiError::invalid_param(key, format!("Not a valid URL: {v}")).code("url_invalid"),
        );
    }
    Ok(json!(v))
}

/// Applies the fields to a configuration; `public_url` is where its login page is.
fn apply(public_url: &str, db: &Db, obj: &mut Value, f: Fields) -> ApiResult<()> {
    if let Some(mut b) = f.business_profile {
        let profile = &mut obj["business_profile"];
        if let Some(v) = b.str("headline")? {
            profile["headline"] = json!((!v.is_empty()).then_some(v));
        }
        for key in ["privacy_policy_url", "terms_of_service_url"] {
            if let Some(v) = b.str(key)? {
                profile[key] = url_or_null(&format!("business_profile[{key}]"), v)?;
            }
        }
        b.finish()?;
    }
    if let Some(features) = f.features {
        apply_features(db, features, &mut obj["features"])?;
    }
    if let Some(v) = f.default_return_url {
        obj["default_return_url"] = url_or_null("default_return_url", v)?;
    }
    if let Some(enabled) = f.login_page {
        let url = enabled.then(|| format!("{public_url}/p/login/{}", new_id("test")));
        obj["login_page"] = json!({ "enabled": enabled, "url": url });
    }
    if let Some(v) = f.name {
        obj["name"] = json!((!v.is_empty()).then_some(v));
    }
    merge_metadata(obj, f.metadata);
    Ok(())
}

fn create(p: &mut Params, public_url: &str) -> ApiResult<impl Build + use<>> {
    let fields = read_fields(p)?;
    let public_url = public_url.to_string();
    Ok(move |db: &mut Db| {
        let mut obj = base_object(db, "bpc", KIND);
        obj["active"] = json!(true);
        obj["application"] = Value::Null;
        obj["business_profile"] = json!({
            "headline": null,
            "privacy_policy_url": null,
            "terms_of_service_url": null,
        });
        obj["default_return_url"] = Value::Null;
        obj["features"] = default_features();
        obj["is_default"] = json!(!db.all(KIND).iter().any(|c| c["is_default"] == json!(true)));
        obj["login_page"] = json!({ "enabled": false, "url": null });
        obj["name"] = Value::Null;
        obj["updated"] = obj["created"].clone();
        apply(&public_url, db, &mut obj, fields)?;
        let obj = db.insert(obj);
        db.emit("billing_portal.configuration.created", &obj, None);
        Ok(obj)
    })
}

fn update(p: &mut Params, public_url: &str) -> ApiResult<impl Apply + use<>> {
    let fields = read_fields(p)?;
    let active = p.bool("active")?;
    let public_url = public_url.to_string();
    Ok(move |db: &mut Db, obj: &mut Value| {
        let before = obj.clone();
        apply(&public_url, db, obj, fields)?;
        if let Some(active) = active {
            if !active && obj["is_default"] == json!(true) {
                return Err(ApiError::invalid_param(
                    "active",
                    "You cannot deactivate the default configuration.",
                ));
            }
            obj["active"] = json!(active);
        }
        if *obj != before {
            obj["updated"] = json!(db.now());
        }
        Ok(())
    })
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let active = p.bool("active")?;
    let is_default = p.bool("is_default")?;
    Ok(move |c: &Value| list::is(c, "active", &active) && list::is(c, "is_default", &is_default))
}
