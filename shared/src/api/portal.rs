//! `POST /users/portal?user_id=…` → `{"url","configuration"}`: a Stripe Customer
//! Portal session for the user, with our configuration, back to `{APP_URL}/dashboard`.

use ::http::{Method, StatusCode};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::json;

use super::App;
use crate::{
    Result, catalog,
    http::{self, Request, Response},
    portal,
};

/// What the client sends. `priceType` is not needed to open the portal, but a body
/// that is present must still be well formed.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct PortalRequest {
    #[serde(rename = "priceType")]
    price_type: Option<String>,
}

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    http::require_method(&req, Method::POST)?;
    super::same_origin(app, &req)?;
    let user = super::session_user(app, &req).await?;
    optional_json_body::<PortalRequest>(&req)?;
    let catalog = catalog::load(&app.stripe, &app.store, &app.config).await?;
    let session = portal::open(&app.stripe, &catalog, &user, &app.config.dashboard_url()).await?;
    let answer = json!({ "url": session.url, "configuration": session.configuration });
    http::respond(StatusCode::OK, &answer)
}

/// A JSON body the route can do without: none (or blank) is fine, anything else must
/// parse as `T` (400 otherwise, 413 when too large).
pub(crate) fn optional_json_body<T: DeserializeOwned>(req: &Request) -> Result<Option<T>> {
    if http::raw_body(req)?.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    http::json_body(req).map(Some)
}
