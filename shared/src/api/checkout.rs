//! `POST /offerings/paircode?user_id=…` `{"price"}` → `{"url"}` of a new Checkout Session.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::App;
use crate::{
    Result, checkout,
    http::{Request, Response, json_body, require_method, respond},
};

#[derive(Deserialize)]
struct Subscribe {
    price: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::POST)?;
    super::same_origin(app, &req)?;
    let user = super::session_user(app, &req).await?;
    let body: Subscribe = json_body(&req)?;
    let url = checkout::start(&app.stripe, &app.store, &app.config, &user, &body.price).await?;
    respond(StatusCode::OK, &json!({ "url": url }))
}
