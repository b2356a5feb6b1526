//! The request and response ends of the wire format: [`StripeRequest`] reads an API
//! request's parameters, [`respond`] answers with an object, expanding `expand[]`.

use axum::{
    body::to_bytes,
    extract::{FromRequest, Request},
    http::Method,
};
use serde_json::Value;

use crate::{
    app::App,
    error::{ApiError, ApiResult},
    form::{self, Params},
    state::Db,
};

/// The parameters of an API request (query string for GET/DELETE, form body
/// otherwise) with `expand[]` taken out, ready for strict reading.
pub struct StripeRequest {
    pub params: Params,
    pub expand: Vec<String>,
}

impl<S: Send + Sync> FromRequest<S> for StripeRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_string();
        let method = req.method().clone();
        let body = to_bytes(req.into_body(), 1 << 20)
            .await
            .map_err(|_| ApiError::invalid("Request body too large or unreadable"))?;
        let mut map = form::parse(query.as_bytes())?;
        if method != Method::GET && method != Method::DELETE {
            map.extend(form::parse(&body)?);
        }
        let mut params = Params::new(map);
        let expand = params.str_list("expand")?.unwrap_or_default();
        Ok(Self { params, expand })
    }
}

/// Turns an object into the JSON response, expanding what was asked.
pub fn respond(app: &App, obj: Value, expand: &[String]) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(if expand.is_empty() {
        obj
    } else {
        app.read(|db| expand_paths(db, obj, expand))
    }))
}

/// Replaces ids with the objects they name along each dotted path of `expand[]`
/// (`subscription`, `items.data.price`, `data.latest_invoice`, …).
pub fn expand_paths(db: &Db, mut value: Value, paths: &[String]) -> Value {
    for path in paths {
        let parts: Vec<&str> = path.split('.').collect();
        expand_path(db, &mut value, &parts);
    }
    value
}

fn expand_path(db: &Db, value: &mut Value, parts: &[&str]) {
    let Some((head, rest)) = parts.split_first() else {
        return;
    };
    match value {
        Value::Array(items) => {
            for item in items {
                expand_path(db, item, parts);
            }
        }
        Value::Object(map) => {
            let Some(child) = map.get_mut(*head) else {
                return;
            };
            if rest.is_empty() {
                if let Value::String(id) = child
                    && let Some(obj) = db.get(id)
                {
                    *child = obj.clone();
                }
            } else {
                if let Value::String(id) = child
                    && let Some(obj) = db.get(id)
                {
                    *child = obj.clone();
                }
                expand_path(db, child, rest);
            }
        }
        _ => {}
    }
}
