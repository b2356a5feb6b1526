//! `/v1/events`: every event the emulator emitted, newest first.

use super::rest::{self, prelude::*};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/events", rest::list("event", filter))
        .route("/v1/events/{id}", rest::retrieve("event", "event", "id"))
}

/// `type` filters take one `*` wildcard per dot-separated part, as Stripe's do
/// (`customer.*`, `customer.subscription.*`).
fn type_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let kind = p.str("type")?;
    let types = p.str_list("types")?;
    let created = list::Range::read(p, "created")?;
    p.bool("delivery_success")?;
    if kind.is_some() && types.is_some() {
        return Err(ApiError::invalid(
            "You may only specify one of these parameters: type, types.",
        ));
    }
    if types.as_ref().is_some_and(|t| t.len() > 20) {
        return Err(ApiError::invalid_param(
            "types",
            "Invalid array: types must have at most 20 elements",
        ));
    }
    let patterns: Option<Vec<String>> = kind.map(|k| vec![k]).or(types);
    Ok(move |e: &Value| {
        let t = e["type"].as_str().unwrap_or_default();
        patterns
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|pat| type_matches(pat, t)))
            && list::Range::matches(&created, e, "created")
    })
}
