//! `POST /users/sign-out` `{"everywhere"?: bool}` → `{"signedOut":true,"everywhere"}`
//! and the session cookie deleted. With `everywhere`, the user's session epoch moves on
//! first, so every session of theirs, in every browser, stops working at once (401
//! without a valid session, or with one that has ended already: one conditional
//! write, no read). Without it, only this browser's cookie goes.

use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::{App, portal::optional_json_body};
use crate::{
    Error, Result,
    http::{Request, Response, require_method, respond},
    store::Store,
};

#[derive(Deserialize)]
struct SignOut {
    #[serde(default)]
    everywhere: bool,
}

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::POST)?;
    super::same_origin(app, &req)?;
    let everywhere = optional_json_body::<SignOut>(&req)?.is_some_and(|body| body.everywhere);
    if everywhere {
        // The cookie's signature proves the session; one conditional write checks that
        // its epoch is still the user's and moves it on (no read first).
        let session = super::session_of(app, &req)?;
        if !app
            .store
            .bump_session_epoch(&session.user_id, session.epoch)
            .await?
        {
            return Err(Error::Unauthorized(
                "you have been signed out: sign in again".into(),
            ));
        }
        tracing::info!(customer = %session.user_id, "signed out everywhere");
    }
    let response = respond(
        StatusCode::OK,
        &json!({ "signedOut": true, "everywhere": everywhere }),
    )?;
    super::close_session(&req, response)
}
