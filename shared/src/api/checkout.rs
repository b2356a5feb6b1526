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
    let user_id = super::session_user(app, &req)?;
    let body: Subscribe = json_body(&req)?;
    let url = checkout::start(&app.stripe, &app.store, &app.config, &user_id, &body.price).await?;
    respond(StatusCode::OK, &json!({ "url": url }))
}
