//! `/v1/prices`: unique lookup keys (moved with `transfer_lookup_key`), immutable
//! amounts and recurrence, metered prices backed by an active billing meter.

use super::rest::{self, prelude::*};

pub fn routes() -> Router<App> {
    rest::resource(("/v1/prices", "price"), filter, create, update)
}

/// A lowercase ISO currency code.
pub fn currency(p: &mut Params, key: &str) -> ApiResult<String> {
    let c = p.req_str(key)?.to_ascii_lowercase();
    if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_lowercase()) {
        return Err(ApiError::invalid_param(
            &p.name(key),
            format!(
                "Invalid currency: {c}. Stripe currently supports these currencies: usd, eur, gbp, …"
            ),
        ));
    }
    Ok(c)
}

/// `recurring[...]` as the price's `recurring` object, validated against the meters.
fn recurring(db: &Db, mut r: Params) -> ApiResult<Value> {
    let interval = r.str("interval")?.unwrap_or_default();
    let interval_count = r.i64("interval_count")?.unwrap_or(1);
    let max = match interval.as_str() {
        "day" => 1095,
        "week" => 156,
        "month" => 36,
        _ => 3,
    };
    if !(1..=max).contains(&interval_count) {
        return Err(ApiError::invalid_param(
            "recurring[interval_count]",
            "Invalid recurring[interval_count]: the maximum billing period is three years.",
        ));
    }
    let usage_type = r.str("usage_type")?;
    let meter = r.str("meter")?;
    r.finish()?;
    let usage_type = match (usage_type.as_deref(), &meter) {
        (Some("licensed"), Some(_)) => {
            return Err(ApiError::invalid_param(
                "recurring[meter]",
                "A meter can only be set on prices with `recurring[usage_type]=metered`.",
            ));
        }
        (Some("metered"), None) => {
            return Err(ApiError::invalid(
                "Metered prices must be backed by a meter: pass `recurring[meter]` with the id of an active billing meter.",
            )
            .code("parameter_missing")
            .param("recurring[meter]"));
        }
        (None, Some(_)) | (Some("metered"), Some(_)) => "metered",
        _ => "licensed",
    };
    if let Some(id) = &meter {
        let m = db.fetch_param("billing.meter", id, "billing meter", "recurring[meter]")?;
        if m["status"] != "active" {
            return Err(ApiError::invalid_param(
                "recurring[meter]",
                format!("The meter `{id}` is inactive; metered prices need an active meter."),
            ));
        }
    }
    Ok(json!({
        "interval": interval,
        "interval_count": interval_count,
        "meter": meter,
        // endive still answers it (null); as a parameter the spec refuses it.
        "trial_period_days": null,
        "usage_type": usage_type,
    }))
}

/// Gives `key` to the price `id`: fails when another price holds it, unless
/// `transfer` is set, in which case that price loses it (and says so in an event).
fn claim_lookup_key(db: &mut Db, id: &str, key: &str, transfer: bool) -> ApiResult<()> {
    let holder = db
        .all("price")
        .into_iter()
        .find(|p| p["lookup_key"] == key && p["id"] != id);
    let Some(holder) = holder else {
        return Ok(());
    };
    let holder_id = holder["id"].as_str().unwrap_or_default().to_string();
    if !transfer {
        return Err(ApiError::invalid_param(
            "lookup_key",
            format!("A price (`{holder_id}`) already uses that lookup key."),
        ));
    }
    db.change(("price", &holder_id, "price"), "price.updated", |_, p| {
        p["lookup_key"] = Value::Null;
        Ok(())
    })?;
    Ok(())
}

fn create(p: &mut Params) -> ApiResult<impl Build + use<>> {
    let product = p.req_str("product")?;
    let currency = currency(p, "currency")?;
    let unit_amount = p.i64("unit_amount")?;
    let unit_amount_decimal = p.str("unit_amount_decimal")?;
    let nickname = p.str("nickname")?.filter(|n| !n.is_empty());
    let lookup_key = p.str("lookup_key")?.filter(|k| !k.is_empty());
    let transfer = p.bool("transfer_lookup_key")?.unwrap_or(false);
    let active = p.bool("active")?.unwrap_or(true);
    let tax_behavior = p
        .str("tax_behavior")?
        .unwrap_or_else(|| "unspecified".into());
    p.enum_str("billing_scheme", &["per_unit"])?;
    let recurring_params = p.obj("recurring")?;
    let metadata = p.metadata()?;
    Ok(move |db: &mut Db| {
        let (unit_amount, unit_amount_decimal) = match (unit_amount, unit_amount_decimal) {
            (Some(a), _) if a < 0 => {
                return Err(ApiError::invalid_param(
                    "unit_amount",
                    format!("Invalid non-negative integer: {a}"),
                ));
            }
            (Some(a), None) => (json!(a), json!(a.to_string())),
            (None, Some(d)) => {
                let parsed: f64 = d.parse().map_err(|_| {
                    ApiError::invalid_param("unit_amount_decimal", format!("Invalid decimal: {d}"))
                })?;
                let whole = (parsed.fract() == 0.0).then_some(parsed as i64);
                (json!(whole), json!(d))
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                )
                .param("unit_amount"));
            }
            (None, None) => return Err(ApiError::missing_param("unit_amount")),
        };
        db.fetch_param("product", &product, "product", "product")?;
        let recurring = recurring_params.map(|r| recurring(db, r)).transpose()?;
        let mut obj = base_object(db, "price", "price");
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        if let Some(key) = &lookup_key {
            claim_lookup_key(db, &id, key, transfer)?;
        }
        obj["active"] = json!(active);
        obj["billing_scheme"] = json!("per_unit");
        obj["currency"] = json!(currency);
        obj["custom_unit_amount"] = Value::Null;
        obj["lookup_key"] = json!(lookup_key);
        obj["nickname"] = json!(nickname);
        obj["product"] = json!(product);
        obj["type"] = json!(if recurring.is_some() {
            "recurring"
        } else {
            "one_time"
        });
        obj["recurring"] = recurring.unwrap_or(Value::Null);
        obj["tax_behavior"] = json!(tax_behavior);
        obj["tiers_mode"] = Value::Null;
        obj["transform_quantity"] = Value::Null;
        obj["unit_amount"] = unit_amount;
        obj["unit_amount_decimal"] = unit_amount_decimal;
        merge_metadata(&mut obj, metadata);
        let obj = db.insert(obj);
        db.emit("price.created", &obj, None);
        Ok(obj)
    })
}

fn update(p: &mut Params) -> ApiResult<impl Apply + use<>> {
    let lookup_key = p.str("lookup_key")?;
    let transfer = p.bool("transfer_lookup_key")?.unwrap_or(false);
    let nickname = p.str("nickname")?;
    let active = p.bool("active")?;
    let tax_behavior = p.str("tax_behavior")?;
    let metadata = p.metadata()?;
    Ok(move |db: &mut Db, obj: &mut Value| {
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        match lookup_key.as_deref() {
            Some("") => obj["lookup_key"] = Value::Null,
            Some(key) => {
                claim_lookup_key(db, &id, key, transfer)?;
                obj["lookup_key"] = json!(key);
            }
            None => {}
        }
        if let Some(v) = nickname {
            obj["nickname"] = if v.is_empty() { Value::Null } else { json!(v) };
        }
        if let Some(v) = active {
            obj["active"] = json!(v);
        }
        if let Some(v) = tax_behavior {
            obj["tax_behavior"] = json!(v);
        }
        merge_metadata(obj, metadata);
        Ok(())
    })
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let active = p.bool("active")?;
    let product = p.str("product")?;
    let currency = p.str("currency")?.map(|c| c.to_ascii_lowercase());
    let kind = p.str("type")?;
    let lookup_keys = p.str_list("lookup_keys")?;
    let created = list::Range::read(p, "created")?;
    let (interval, usage_type, meter) = match p.obj("recurring")? {
        Some(mut r) => {
            let f = (r.str("interval")?, r.str("usage_type")?, r.str("meter")?);
            r.finish()?;
            f
        }
        None => (None, None, None),
    };
    Ok(move |o: &Value| {
        let r = &o["recurring"];
        list::is(o, "active", &active)
            && list::is(o, "product", &product)
            && list::is(o, "currency", &currency)
            && list::is(o, "type", &kind)
            && lookup_keys
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|k| o["lookup_key"] == json!(k)))
            && list::Range::matches(&created, o, "created")
            && list::is(r, "interval", &interval)
            && list::is(r, "usage_type", &usage_type)
            && list::is(r, "meter", &meter)
    })
}
