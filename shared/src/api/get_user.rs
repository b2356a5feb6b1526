//! `GET /users?user_id=…[&session_id=…]` → `{"user":…}`; with `session_id`, the
//! subscription of that (completed) Checkout Session is recorded first.

use http::{Method, StatusCode};
use serde_json::json;

use super::App;
use crate::{
    Result, checkout,
    http::{Request, Response, query, require_method, respond},
};

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::GET)?;
    let user = super::session_user(app, &req).await?;
    let user = match query(&req, "session_id") {
        Some(session_id) => {
            checkout::complete(&app.stripe, &app.store, &app.config, user, &session_id).await?
        }
        None => user,
    };
    respond(StatusCode::OK, &json!({ "user": super::user_json(&user) }))
}
