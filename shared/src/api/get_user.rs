//! `GET /users?user_id=…[&session_id=…]` → `{"user":…}`; with `session_id`, the
//! subscription of that (completed) Checkout Session is recorded first. The Checkout
//! Session is retrieved while the user is read (the cookie's signature already checked;
//! the user's answer, whose epoch may end the session, decides first), so the return
//! from Checkout waits for one round trip, Stripe's, not two.

use http::{Method, StatusCode};
use serde_json::json;

use super::App;
use crate::stripe::StripeApi;
use crate::{
    Result, checkout,
    http::{Request, Response, query, require_method, respond},
};

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    require_method(&req, Method::GET)?;
    let session = super::session_for(app, &req)?;
    let user = match query(&req, "session_id") {
        Some(session_id) => {
            let (user, retrieved) = tokio::join!(
                super::user_of(app, &session),
                app.stripe.retrieve_checkout_session(&session_id)
            );
            let (user, retrieved) = (user?, retrieved?);
            checkout::complete(
                &app.stripe,
                &app.store,
                &app.config,
                user,
                &session_id,
                retrieved,
            )
            .await?
        }
        None => super::user_of(app, &session).await?,
    };
    respond(StatusCode::OK, &json!({ "user": super::user_json(&user) }))
}
