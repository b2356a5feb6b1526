//! `POST /offerings/paircode/schedule?user_id=…` → `{"usageRecord": …}`: a session
//! request (and, on demand, one unit on the meter), emailed to the owner. The
//! `Idempotency-Key` header, when present, becomes the request's id and the meter
//! event's identifier, so a retried click counts once.

use ::http::{Method, StatusCode};
use serde_json::json;

use super::{App, portal::optional_json_body};
use crate::{
    Result, catalog,
    http::{self, Request, Response},
    usage,
};

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    http::require_method(&req, Method::POST)?;
    super::same_origin(app, &req)?;
    let user = super::session_user(app, &req).await?;
    let identifier = usage::identifier(http::text_header(&req, "idempotency-key")?)?;
    optional_json_body::<serde_json::Map<String, serde_json::Value>>(&req)?;
    // Provisioned on first use, then kept in the instance's memory, where the meter
    // event finds its name.
    catalog::load(&app.stripe, &app.store, &app.config).await?;
    let recorded = usage::arrange_session(&app.senders(), &user, &identifier).await?;
    http::respond(StatusCode::OK, &json!({ "usageRecord": recorded }))
}
