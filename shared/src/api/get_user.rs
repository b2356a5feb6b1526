//! `GET /users?user_id=…[&session_id=…]` → `{"user":…}`; with `session_id`, the
//! subscription of that (completed) Checkout Session is recorded first.

use http::{Method, StatusCode};
use serde_json::json;

use super::App;
use crate::{
    Result, checkout,
    http::{Request, Response, query, require_method, respond},
    store::Store,
};

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::GET)?;
    let user_id = super::session_user(app, &req)?;
    let user = match query(&req, "session_id") {
        Some(session_id) => {
            checkout::complete(&app.stripe, &app.store, &app.config, &user_id, &session_id).await?
        }
        None => app.store.require_user(&user_id).await?,
    };
    respond(StatusCode::OK, &json!({ "user": super::user_json(&user) }))
}
