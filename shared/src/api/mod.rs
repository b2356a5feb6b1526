//! One handler per HTTP route: parse the request, call a rule, respond. The function
//! binaries under `functions/` run these with [`run`]; tests call them in-process with
//! `lambda_http` requests and [`crate::http::finish`].
//!
//! Every handler has the shape
//! `pub async fn handle(app: &App, req: Request) -> Result<Response>`.

pub mod checkout;
pub mod get_user;
pub mod offerings;
pub mod portal;
pub mod schedule;
pub mod signup;
pub mod site;
pub mod webhook;

use std::{convert::Infallible, future::Future};

use crate::{
    Result,
    config::Config,
    http::{self, Request, Response},
    mail::SesMailer,
    session,
    store::DynamoStore,
    stripe::StripeClient,
};

/// A user as the client sees it: `{"id","email","subscription"?,"billing"}` with the
/// subscription's `{"id","status","type"}` (the stored `asOf` stamp stays internal) and
/// where they stand ([`crate::billing::view`]).
pub fn user_json(user: &crate::model::User) -> serde_json::Value {
    let mut value = serde_json::json!({
        "id": user.id,
        "email": user.email,
        "billing": crate::billing::view(user),
    });
    if let Some(s) = &user.subscription {
        value["subscription"] =
            serde_json::json!({ "id": s.id, "status": s.status, "type": s.kind });
    }
    value
}

/// The `user_id` a user-scoped route acts for, once the session proves the caller
/// signed in as that user: 400 without `user_id`, 401 without a valid session, 403
/// when the session names another user. Every user-scoped handler starts with it.
pub fn session_user(app: &App, req: &Request) -> Result<String> {
    let user_id = http::required_query(req, "user_id")?;
    let cookies: Vec<&str> = req
        .headers()
        .get_all(::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let cookies = (!cookies.is_empty()).then(|| cookies.join("; "));
    let signed_in = session::user(
        &app.config.session_secret,
        cookies.as_deref(),
        session::now(),
    )?;
    if signed_in != user_id {
        return Err(crate::Error::Forbidden(
            "you are signed in as another user".into(),
        ));
    }
    Ok(user_id)
}

/// Adds the `Set-Cookie` that opens a session for `user_id` to `response`; `Secure`
/// when the request came over https (API Gateway sets `X-Forwarded-Proto`).
pub fn open_session(
    app: &App,
    req: &Request,
    user_id: &str,
    mut response: Response,
) -> Result<Response> {
    let https = http::header(req, "x-forwarded-proto")
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    let cookie = session::cookie(&app.config.session_secret, user_id, session::now(), https)?;
    let value = ::http::HeaderValue::from_str(&cookie)
        .map_err(|err| crate::Error::Internal(format!("session cookie: {err}")))?;
    response
        .headers_mut()
        .append(::http::header::SET_COOKIE, value);
    Ok(response)
}

/// What every handler borrows: built once per cold start.
pub struct App {
    pub config: Config,
    pub stripe: StripeClient,
    pub store: DynamoStore,
    pub mail: SesMailer,
}

impl App {
    /// What the outbox sends with: this app's Stripe, store, mailer and settings.
    pub fn senders(&self) -> crate::outbox::Senders<'_, StripeClient, DynamoStore, SesMailer> {
        crate::outbox::Senders {
            stripe: &self.stripe,
            store: &self.store,
            mail: &self.mail,
            config: &self.config,
        }
    }

    /// Configuration from the environment, then the clients.
    pub async fn from_env() -> Result<Self> {
        App::new(Config::from_env()?).await
    }

    pub async fn new(config: Config) -> Result<Self> {
        let stripe = StripeClient::new(&config)?;
        let aws = crate::aws::from_env().await?;
        let store = DynamoStore::on(&aws, &config.table_name);
        let mail = SesMailer::on(&aws, &config.from_email);
        Ok(App {
            config,
            stripe,
            store,
            mail,
        })
    }
}

/// The whole `main` of a function binary: logging, the [`App`], then the Lambda
/// runtime calling `handler` for each request, with errors rendered by
/// [`http::finish`].
///
/// ```no_run
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_http::Error> {
///     devchat::api::run(devchat::api::offerings::handle).await
/// }
/// ```
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = Result<Response>> + Send + 'static,
{
    crate::telemetry::init();
    let app = App::from_env()
        .await
        .inspect_err(|err| tracing::error!(error = %err, "cold start failed"))?;
    // One App for the life of the process: every invocation borrows it.
    let app: &'static App = Box::leak(Box::new(app));
    lambda_http::run(lambda_http::service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(http::finish(handler(app, req).await))
    }))
    .await
}
