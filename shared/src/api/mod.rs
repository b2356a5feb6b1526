//! One handler per HTTP route: parse the request, call a rule, respond. The function
//! binaries under `functions/` run these with [`run`]; tests call them in-process with
//! `lambda_http` requests and [`crate::http::finish`].
//!
//! Every handler has the shape
//! `pub async fn handle(app: &App, req: Request) -> Result<Response>`.

pub mod checkout;
pub mod get_user;
pub mod offerings;
pub mod outbox;
pub mod portal;
pub mod schedule;
pub mod sign_in;
pub mod sign_out;
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
    store::Store,
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

/// Whether the request came over https (API Gateway sets `X-Forwarded-Proto`).
fn https(req: &Request) -> bool {
    http::header(req, "x-forwarded-proto").is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// Every `Cookie` header of the request, as one.
fn cookies(req: &Request) -> Option<String> {
    let cookies: Vec<&str> = req
        .headers()
        .get_all(::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!cookies.is_empty()).then(|| cookies.join("; "))
}

/// The session the request's cookie carries (401 without a valid one); its epoch is
/// not checked yet.
pub(crate) fn session_of(app: &App, req: &Request) -> Result<session::Session> {
    session::read(
        &app.config.session_secret,
        cookies(req).as_deref(),
        https(req),
        session::now(),
    )
}

/// The user a session names, if their record exists and still counts its epoch (401
/// otherwise: the user signed out everywhere since).
pub(crate) async fn user_of(app: &App, session: &session::Session) -> Result<crate::model::User> {
    let user = app.store.require_user(&session.user_id).await?;
    if user.session_epoch != session.epoch {
        return Err(crate::Error::Unauthorized(
            "you have been signed out: sign in again".into(),
        ));
    }
    Ok(user)
}

/// The user a user-scoped route acts for, once the session proves the caller signed in
/// as the `user_id` the route was given: 400 without `user_id`, 401 without a valid
/// session, 403 when the session names another user, 401 when the session was ended
/// ("sign out everywhere"). The user record it reads is the one the route acts on, so
/// the epoch check costs no extra call. Every user-scoped handler starts with it.
pub async fn session_user(app: &App, req: &Request) -> Result<crate::model::User> {
    let session = session_for(app, req)?;
    user_of(app, &session).await
}

/// [`session_user`] before its read: the session, once its cookie proves the caller
/// signed in as the route's `user_id` (400, 401, 403 as there); its epoch is still to
/// be checked by [`user_of`].
pub(crate) fn session_for(app: &App, req: &Request) -> Result<session::Session> {
    let user_id = http::required_query(req, "user_id")?;
    let session = session_of(app, req)?;
    if session.user_id != user_id {
        return Err(crate::Error::Forbidden(
            "you are signed in as another user".into(),
        ));
    }
    Ok(session)
}

/// The user the request's session is for, whoever that is.
pub async fn current_user(app: &App, req: &Request) -> Result<crate::model::User> {
    let session = session_of(app, req)?;
    user_of(app, &session).await
}

/// The user `customer_id` if the request carries a valid session for exactly them,
/// `None` for no session or another's (a known email signing up again from a browser
/// that is signed in as its owner).
pub async fn signed_in_as(
    app: &App,
    req: &Request,
    customer_id: &str,
) -> Result<Option<crate::model::User>> {
    match session_of(app, req) {
        Ok(session) if session.user_id == customer_id => match user_of(app, &session).await {
            Ok(user) => Ok(Some(user)),
            Err(crate::Error::Unauthorized(_) | crate::Error::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        },
        _ => Ok(None),
    }
}

/// 403 for a state-changing request a browser sent from another origin: its `Origin`
/// must be `APP_URL`'s. A request without `Origin` (not from a browser page) passes; the
/// session cookie is `SameSite=Lax` besides. See docs/reliability.md.
pub fn same_origin(app: &App, req: &Request) -> Result<()> {
    let Some(origin) = req.headers().get(::http::header::ORIGIN) else {
        return Ok(());
    };
    let ours = origin_of(&app.config.app_url);
    if origin
        .to_str()
        .is_ok_and(|origin| origin.eq_ignore_ascii_case(ours))
    {
        Ok(())
    } else {
        Err(crate::Error::Forbidden(format!(
            "cross-site request refused: this API takes state-changing requests only from {ours}"
        )))
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// Adds the `Set-Cookie` that opens a session for `user` (at their current epoch) to
/// `response`; `__Host-` and `Secure` over https.
pub fn open_session(
    app: &App,
    req: &Request,
    user: &crate::model::User,
    response: Response,
) -> Result<Response> {
    let cookie = session::cookie(
        &app.config.session_secret,
        &user.id,
        user.session_epoch,
        session::now(),
        https(req),
    )?;
    set_cookie(response, &cookie)
}

/// Adds the `Set-Cookie` that deletes the session cookie to `response`.
pub fn close_session(req: &Request, response: Response) -> Result<Response> {
    set_cookie(response, &session::clear(https(req)))
}

fn set_cookie(mut response: Response, cookie: &str) -> Result<Response> {
    let value = ::http::HeaderValue::from_str(cookie)
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
/// Lambda hands an instance one event at a time, so the binaries run it on a
/// `current_thread` Tokio runtime: no worker threads to start at init or to hand work
/// between, and concurrent calls within one request (`tokio::try_join!`) still overlap
/// their waiting (bench/NOTES.md measures it against the multi-threaded runtime).
///
/// ```no_run
/// #[tokio::main(flavor = "current_thread")]
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

#[cfg(test)]
mod tests {
    #[test]
    fn origin_of_a_url() {
        assert_eq!(
            super::origin_of("http://127.0.0.1:9000"),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            super::origin_of("https://a.example/app"),
            "https://a.example"
        );
    }
}
