//! `POST /users/sign-in` `{"email","code"}` → the user `{"id","email","subscription"?}`
//! and a new session, for the code `POST /users` emailed (see [`crate::sign_in`]).

use http::{Method, StatusCode};
use serde::Deserialize;

use super::App;
use crate::{
    Result,
    http::{Request, Response, json_body, require_method, respond},
    session, sign_in,
};

#[derive(Deserialize)]
struct SignIn {
    email: String,
    code: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::POST)?;
    super::same_origin(app, &req)?;
    let body: SignIn = json_body(&req)?;
    let user = sign_in::verify(
        &app.store,
        &app.config,
        &body.email,
        &body.code,
        session::now(),
    )
    .await?;
    let response = respond(StatusCode::OK, &super::user_json(&user))?;
    super::open_session(app, &req, &user, response)
}
