//! `/v1/webhook_endpoints` (delivery is [`crate::webhooks`]).

use super::rest::{self, prelude::*};

const ENDPOINT: &str = "webhook_endpoint";
const WHAT: &str = "webhook endpoint";

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/webhook_endpoints",
            rest::list(ENDPOINT, filter).merge(rest::create(create)),
        )
        .route(
            "/v1/webhook_endpoints/{id}",
            rest::retrieve(ENDPOINT, WHAT, "id")
                .merge(rest::act(update))
                .merge(rest::delete(ENDPOINT, delete)),
        )
}

fn endpoint_url(v: String) -> ApiResult<String> {
    let ok = (v.starts_with("http://") || v.starts_with("https://"))
        && v.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if ok {
        Ok(v)
    } else {
        Err(ApiError::invalid_param("url", format!("Invalid URL: {v}")).code("url_invalid"))
    }
}

/// `enabled_events[]`: `*` or event types (`a.b`, lowercase). The spec refuses an
/// empty list but bypasses its enum of types, so their shape is checked here.
fn enabled_events(p: &mut Params) -> ApiResult<Option<Vec<String>>> {
    let Some(events) = p.str_list("enabled_events")? else {
        return Ok(None);
    };
    let valid = |e: &str| {
        e == "*"
            || (e.contains('.')
                && e.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'))
    };
    if let Some(bad) = events.iter().find(|e| !valid(e)) {
        return Err(ApiError::invalid_param(
            "enabled_events",
            format!("Invalid enabled_events[]: `{bad}` is not a valid event type."),
        ));
    }
    Ok(Some(events))
}

fn create(p: &mut Params) -> ApiResult<impl Build + use<>> {
    let url = endpoint_url(p.req_str("url")?)?;
    let events = enabled_events(p)?.unwrap_or_default();
    let description = p.str("description")?.filter(|d| !d.is_empty());
    let api_version = p.str("api_version")?;
    p.bool("connect")?;
    let metadata = p.metadata()?;
    Ok(move |db: &mut Db| {
        let mut obj = base_object(db, "we", ENDPOINT);
        obj["api_version"] = json!(api_version);
        obj["application"] = Value::Null;
        obj["description"] = json!(description);
        obj["enabled_events"] = json!(events);
        obj["status"] = json!("enabled");
        obj["url"] = json!(url);
        merge_metadata(&mut obj, metadata);
        let obj = db.insert(obj);
        let secret = new_id("whsec");
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        db.endpoint_secrets.insert(id, secret.clone());
        let mut shown = obj;
        // The secret is shown once, at creation; it is kept apart from the object.
        shown["secret"] = json!(secret);
        Ok(shown)
    })
}

/// Changes an endpoint; Stripe emits no event for it.
fn update(p: &mut Params) -> ApiResult<impl Act + use<>> {
    let url = p.str("url")?.map(endpoint_url).transpose()?;
    let events = enabled_events(p)?;
    let description = p.str("description")?;
    let disabled = p.bool("disabled")?;
    let metadata = p.metadata()?;
    Ok(move |db: &mut Db, id: &str| {
        let mut obj = db.fetch(ENDPOINT, id, WHAT, "id")?;
        if let Some(v) = url {
            obj["url"] = json!(v);
        }
        if let Some(v) = events {
            obj["enabled_events"] = json!(v);
        }
        if let Some(v) = description {
            obj["description"] = json!((!v.is_empty()).then_some(v));
        }
        if let Some(d) = disabled {
            obj["status"] = json!(if d { "disabled" } else { "enabled" });
        }
        merge_metadata(&mut obj, metadata);
        Ok(db.put(obj))
    })
}

fn delete(db: &mut Db, id: &str) -> ApiResult<()> {
    db.fetch(ENDPOINT, id, WHAT, "id")?;
    db.endpoint_secrets.remove(id);
    Ok(())
}

fn filter(_: &mut Params) -> ApiResult<impl Keep + use<>> {
    Ok(|_: &Value| true)
}
