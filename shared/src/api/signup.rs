//! `POST /users` `{"email"}` → the user `{"id","email","subscription"?}`.

use http::{Method, StatusCode};
use serde::Deserialize;

use super::App;
use crate::{
    Result,
    http::{Request, Response, json_body, require_method, respond},
    signup::sign_up,
};

#[derive(Deserialize)]
struct SignUp {
    email: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::POST)?;
    let body: SignUp = json_body(&req)?;
    let user = sign_up(&app.stripe, &app.store, &app.config, &body.email).await?;
    let response = respond(StatusCode::OK, &super::user_json(&user))?;
    super::open_session(app, &req, &user.id, response)
}
