//! `/v1/customers`.

use super::rest::{self, prelude::*};
use crate::billing;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/customers",
            rest::list("customer", filter).merge(rest::create(create)),
        )
        .route(
            "/v1/customers/{id}",
            rest::retrieve_with(fetch, respond)
                .merge(rest::update(("customer", "customer"), update))
                .merge(rest::delete("customer", delete)),
        )
}

/// The fields a create and an update share; `None` = not sent, `Some(None)` = unset.
struct Fields {
    email: Option<Option<String>>,
    name: Option<Option<String>>,
    description: Option<Option<String>>,
    phone: Option<Option<String>>,
    address: Option<Value>,
    preferred_locales: Option<Vec<String>>,
    metadata: Option<serde_json::Map<String, Value>>,
    payment_method: Option<String>,
    default_payment_method: Option<Option<String>>,
    footer: Option<Option<String>>,
}

fn nullable(p: &mut Params, key: &str) -> ApiResult<Option<Option<String>>> {
    Ok(p.str(key)?.map(|s| (!s.is_empty()).then_some(s)))
}

fn read_fields(p: &mut Params) -> ApiResult<Fields> {
    let email = nullable(p, "email")?;
    if let Some(Some(e)) = &email
        && !e.contains('@')
    {
        return Err(
            ApiError::invalid_param("email", format!("Invalid email address: {e}"))
                .code("email_invalid"),
        );
    }
    let address = match p.obj("address")? {
        None => None,
        Some(mut a) => {
            let mut out = json!({});
            for key in ["city", "country", "line1", "line2", "postal_code", "state"] {
                out[key] = json!(a.str(key)?.filter(|v| !v.is_empty()));
            }
            a.finish()?;
            Some(out)
        }
    };
    let (default_payment_method, footer) = match p.obj("invoice_settings")? {
        None => (None, None),
        Some(mut s) => {
            let f = (
                nullable(&mut s, "default_payment_method")?,
                nullable(&mut s, "footer")?,
            );
            s.finish()?;
            f
        }
    };
    Ok(Fields {
        email,
        name: nullable(p, "name")?,
        description: nullable(p, "description")?,
        phone: nullable(p, "phone")?,
        address,
        preferred_locales: p.str_list("preferred_locales")?,
        metadata: p.metadata()?,
        payment_method: p.str("payment_method")?.filter(|s| !s.is_empty()),
        default_payment_method,
        footer,
    })
}

/// Attaches a payment method to a customer, emitting `payment_method.attached`
/// (attaching it again to the same customer changes nothing). `param` is the request
/// parameter that named the payment method (`payment_method` on a customer);
/// `None` when the path did (`POST /v1/payment_methods/{id}/attach`): a missing one
/// is then a 404 and the error about one attached elsewhere names no parameter.
pub fn attach(db: &mut Db, customer: &str, pm: &str, param: Option<&str>) -> ApiResult<Value> {
    let before = match param {
        Some(param) => db.fetch_param("payment_method", pm, "PaymentMethod", param)?,
        None => db.fetch("payment_method", pm, "PaymentMethod", "payment_method")?,
    };
    if before["customer"] == customer {
        return Ok(before);
    }
    if !before["customer"].is_null() {
        let err = ApiError::invalid(
            "The payment method you provided has already been attached to a customer.",
        )
        .code("payment_method_unexpected_state");
        return Err(match param {
            Some(param) => err.param(param),
            None => err,
        });
    }
    db.change(
        ("payment_method", pm, "PaymentMethod"),
        "payment_method.attached",
        |_, obj| {
            obj["customer"] = json!(customer);
            Ok(())
        },
    )
}

/// Applies the fields to a customer object (validating payment methods against `db`).
fn apply(db: &mut Db, obj: &mut Value, f: Fields) -> ApiResult<()> {
    let id = obj["id"].as_str().unwrap_or_default().to_string();
    if let Some(Some(pm)) = &f.default_payment_method {
        let attached = db
            .get(pm)
            .is_some_and(|o| o["object"] == "payment_method" && o["customer"] == id.as_str());
        if !attached && f.payment_method.as_deref() != Some(pm.as_str()) {
            return Err(ApiError::invalid_param(
                "invoice_settings[default_payment_method]",
                format!(
                    "The customer does not have a payment method with the ID {pm}. The payment method must be attached to the customer."
                ),
            ));
        }
    }
    if let Some(pm) = &f.payment_method {
        attach(db, &id, pm, Some("payment_method"))?;
    }
    for (key, value) in [
        ("email", f.email),
        ("name", f.name),
        ("description", f.description),
        ("phone", f.phone),
    ] {
        if let Some(v) = value {
            obj[key] = json!(v);
        }
    }
    if let Some(a) = f.address {
        obj["address"] = a;
    }
    if let Some(l) = f.preferred_locales {
        obj["preferred_locales"] = json!(l);
    }
    if let Some(pm) = f.default_payment_method {
        obj["invoice_settings"]["default_payment_method"] = json!(pm);
    }
    if let Some(footer) = f.footer {
        obj["invoice_settings"]["footer"] = json!(footer);
    }
    merge_metadata(obj, f.metadata);
    Ok(())
}

fn create(p: &mut Params) -> ApiResult<impl Build + use<>> {
    let fields = read_fields(p)?;
    Ok(move |db: &mut Db| {
        let mut obj = billing::new_customer(db, None, None);
        apply(db, &mut obj, fields)?;
        let obj = db.insert(obj);
        db.emit("customer.created", &obj, None);
        Ok(obj)
    })
}

fn update(p: &mut Params) -> ApiResult<impl Apply + use<>> {
    let fields = read_fields(p)?;
    Ok(move |db: &mut Db, obj: &mut Value| apply(db, obj, fields))
}

/// Stripe answers a deleted customer's id with the deletion stub, not a 404.
fn fetch(db: &Db, id: &str) -> ApiResult<Value> {
    match db.get(id) {
        Some(o) if o["object"] == "customer" && o["deleted"] == json!(true) => Ok(o.clone()),
        _ => db.fetch("customer", id, "customer", "id"),
    }
}

/// Deletes the customer; as in Stripe, their live subscriptions are canceled first.
fn delete(db: &mut Db, id: &str) -> ApiResult<()> {
    let customer = db.fetch("customer", id, "customer", "id")?;
    let live: Vec<String> = db
        .all("subscription")
        .into_iter()
        .filter(|s| s["customer"] == id)
        .filter(|s| {
            !matches!(
                s["status"].as_str(),
                Some("canceled" | "incomplete_expired")
            )
        })
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect();
    for sub in live {
        if let Err(e) = billing::cancel_now(db, &sub) {
            tracing::warn!(%sub, error = %e, "cannot cancel the subscription of a deleted customer");
        }
    }
    db.emit("customer.deleted", &customer, None);
    Ok(())
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let email = p.str("email")?;
    let created = list::Range::read(p, "created")?;
    Ok(move |o: &Value| {
        list::is(o, "email", &email) && list::Range::matches(&created, o, "created")
    })
}
