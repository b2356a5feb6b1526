//! `POST /users` `{"email"}`: a new email → 200, the user `{"id","email"}` and a session;
//! a known email → 202 `{"email","signIn":"code_sent"}` and a sign-in code by email, no
//! session (unless this browser is signed in as that user already: 200 as for a new one).

use ::http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::App;
use crate::{
    Result,
    http::{self, Request, Response, json_body, require_method, respond},
    session, sign_in,
    signup::{SignedUp, sign_up},
};

#[derive(Deserialize)]
struct SignUp {
    email: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::POST)?;
    super::same_origin(app, &req)?;
    let body: SignUp = json_body(&req)?;
    let (customer_id, email) =
        match sign_up(&app.stripe, &app.store, &app.config, &body.email).await? {
            SignedUp::New(user) => {
                let response = respond(StatusCode::OK, &super::user_json(&user))?;
                return super::open_session(app, &req, &user, response);
            }
            SignedUp::Known { customer_id, email } => (customer_id, email),
        };
    if let Some(user) = super::signed_in_as(app, &req, &customer_id).await? {
        let response = respond(StatusCode::OK, &super::user_json(&user))?;
        return super::open_session(app, &req, &user, response);
    }
    let source = http::source_ip(&req);
    sign_in::request_code(
        &app.store,
        &app.mail,
        &app.config,
        &email,
        source.as_deref(),
        session::now(),
    )
    .await?;
    respond(
        StatusCode::ACCEPTED,
        &json!({ "email": email, "signIn": "code_sent" }),
    )
}
