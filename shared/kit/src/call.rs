//! Calling the API's routes in process, as API Gateway hands requests to the
//! functions, and reading their answers as a client does.

use std::collections::HashMap;

use devchat::{api::App, http::finish, model::User};
use lambda_http::{Body, RequestExt};
use serde_json::{Value, json};

use crate::{Card, Stack, session_cookie};

/// Every route of the API, called through its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Offerings,
    SignUp,
    GetUser,
    Checkout,
    Schedule,
    Portal,
    Webhook,
    SignIn,
    SignOut,
}

impl Route {
    pub const ALL: [Route; 9] = [
        Route::Offerings,
        Route::SignUp,
        Route::GetUser,
        Route::Checkout,
        Route::Schedule,
        Route::Portal,
        Route::Webhook,
        Route::SignIn,
        Route::SignOut,
    ];

    pub fn method(self) -> &'static str {
        match self {
            Route::Offerings | Route::GetUser => "GET",
            _ => "POST",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Route::Offerings => "/offerings",
            Route::SignUp | Route::GetUser => "/users",
            Route::Checkout => "/offerings/paircode",
            Route::Schedule => "/offerings/paircode/schedule",
            Route::Portal => "/users/portal",
            Route::Webhook => "/webhook",
            Route::SignIn => "/users/sign-in",
            Route::SignOut => "/users/sign-out",
        }
    }

    /// Calls the route's handler; the answer as the client sees it (errors rendered
    /// by `devchat::http::finish`, as the function binaries do).
    pub async fn call(self, app: &App, req: lambda_http::Request) -> Answer {
        use devchat::api::*;
        Answer::of(match self {
            Route::Offerings => offerings::handle(app, req).await,
            Route::SignUp => signup::handle(app, req).await,
            Route::GetUser => get_user::handle(app, req).await,
            Route::Checkout => checkout::handle(app, req).await,
            Route::Schedule => schedule::handle(app, req).await,
            Route::Portal => portal::handle(app, req).await,
            Route::Webhook => webhook::handle(app, req).await,
            Route::SignIn => sign_in::handle(app, req).await,
            Route::SignOut => sign_out::handle(app, req).await,
        })
    }
}

/// A response as the client sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: http::HeaderMap,
}

impl From<devchat::http::Response> for Answer {
    fn from(response: devchat::http::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            headers,
        }
    }
}

impl Answer {
    /// A handler's result as the client sees it (errors rendered as the binaries do).
    pub fn of(result: devchat::Result<devchat::http::Response>) -> Answer {
        Answer::from(finish(result))
    }

    /// `error.message`, or a panic naming the body when the answer is not an error.
    pub fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("not an error body ({}): {}", self.status, self.body))
    }

    /// Asserts this is the error `status` with a message containing `says`; `what` names
    /// the call in the failure.
    #[track_caller]
    pub fn assert_error(&self, status: u16, says: &str, what: impl std::fmt::Display) {
        assert_eq!(self.status, status, "{what}: {}", self.body);
        assert!(self.message().contains(says), "{what}: {}", self.body);
    }

    /// The `name=value` part of the session cookie this answer sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
            .next()
    }
}

/// A request as API Gateway hands it to a function: method, path, query parameters,
/// headers and a raw body. An empty text body is no body.
pub fn request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: Body,
) -> lambda_http::Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = match body {
        Body::Text(text) if text.is_empty() => Body::Empty,
        body => body,
    };
    let query: HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    builder
        .body(body)
        .expect("request")
        .with_query_string_parameters(query)
}

/// [`request`] from a browser signed in as the `user_id` its query names (the session
/// cookie `POST /users` set), with a JSON body.
pub fn browser_request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &str,
) -> lambda_http::Request {
    let cookie = query
        .iter()
        .find(|(name, _)| *name == "user_id")
        .map(|(_, id)| session_cookie(id));
    let mut all: Vec<(&str, &str)> = vec![("content-type", "application/json")];
    all.extend(cookie.iter().map(|c| ("cookie", c.as_str())));
    all.extend_from_slice(headers);
    request(method, path, query, &all, Body::Text(body.to_owned()))
}

/// A signed-up user and the session cookie their sign-up set (if the app sets one).
#[derive(Debug, Clone)]
pub struct Signed {
    pub id: String,
    pub email: String,
    pub cookie: Option<String>,
}

/// Calls a user-scoped route as `user` (their session cookie and their `user_id`), plus
/// `query`, `extra` headers and a JSON `body`.
pub async fn call_as(
    app: &App,
    route: Route,
    user: &Signed,
    query: &[(&str, &str)],
    extra: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut params = vec![("user_id", user.id.as_str())];
    params.extend_from_slice(query);
    let mut headers: Vec<(&str, &str)> =
        user.cookie.iter().map(|c| ("cookie", c.as_str())).collect();
    headers.push(("content-type", "application/json"));
    headers.extend_from_slice(extra);
    let req = request(
        route.method(),
        route.path(),
        &params,
        &headers,
        Body::Text(body.to_owned()),
    );
    route.call(app, req).await
}

/// `POST {route}` with a JSON body, as a browser without a session sends it.
async fn post_json(app: &App, route: Route, body: Value) -> Answer {
    let headers = [("content-type", "application/json")];
    let req = request(
        "POST",
        route.path(),
        &[],
        &headers,
        Body::Text(body.to_string()),
    );
    route.call(app, req).await
}

impl Signed {
    /// The user an answer of `POST /users` or `POST /users/sign-in` names, with the
    /// session it sets.
    fn from_answer(answer: &Answer) -> Signed {
        Signed {
            id: answer.body["id"].as_str().expect("user id").to_owned(),
            email: answer.body["email"].as_str().expect("email").to_owned(),
            cookie: answer.session_cookie(),
        }
    }
}

/// "Arrange session" (`POST /offerings/paircode/schedule`) as `user`, under the
/// Idempotency-Key `key`, as the dashboard sends it.
pub async fn arrange(app: &App, user: &Signed, key: &str) -> Answer {
    call_as(
        app,
        Route::Schedule,
        user,
        &[],
        &[("idempotency-key", key)],
        "",
    )
    .await
}

/// `POST /users` through the handler: must succeed.
pub async fn sign_up(app: &App, email: &str) -> Signed {
    let answer = post_json(app, Route::SignUp, json!({ "email": email })).await;
    assert_eq!(answer.status, 200, "sign-up of {email:?}: {}", answer.body);
    Signed::from_answer(&answer)
}

/// Signs in as the known `email` with a code: `POST /users` (202, a code by email), the
/// code read from SES (moto), then `POST /users/sign-in`. Must succeed.
pub async fn sign_in_with_code(stack: &Stack, app: &App, email: &str) -> Signed {
    let answer = post_json(app, Route::SignUp, json!({ "email": email })).await;
    assert_eq!(answer.status, 202, "sign-in of {email:?}: {}", answer.body);
    assert_eq!(answer.body["signIn"], "code_sent", "{}", answer.body);
    assert!(
        answer.session_cookie().is_none(),
        "no session before the code"
    );
    let normalised = answer.body["email"].as_str().expect("email").to_owned();
    let code = stack.latest_code(&normalised).await;
    let body = json!({ "email": email, "code": code });
    let answer = post_json(app, Route::SignIn, body).await;
    assert_eq!(answer.status, 200, "code for {email:?}: {}", answer.body);
    Signed::from_answer(&answer)
}

/// `POST /webhook` as Stripe delivers `payload`: signed now with the app's secret.
pub async fn deliver(app: &App, payload: &str) -> Answer {
    let secret = app.config.webhook_secret().expect("a webhook secret");
    let signature = stripe_webhook::Webhook::generate_test_header(payload, secret, None);
    let headers = [("stripe-signature", signature.as_str())];
    let req = request(
        "POST",
        "/webhook",
        &[],
        &headers,
        Body::Text(payload.into()),
    );
    Route::Webhook.call(app, req).await
}

/// A subscription made through Checkout: its session and the user as `GET /users` shows them.
#[derive(Debug, Clone)]
pub struct Subscribed {
    pub session_id: String,
    pub user: User,
}

/// Subscribes `user` to `price` through Checkout paid with `card` on the hosted page,
/// then records it as the success redirect does (`GET /users?session_id=`).
pub async fn subscribe(
    stack: &Stack,
    app: &App,
    user: &Signed,
    price: &str,
    card: &str,
) -> Subscribed {
    let body = json!({ "price": price }).to_string();
    let answer = call_as(app, Route::Checkout, user, &[], &[], &body).await;
    assert_eq!(answer.status, 200, "checkout: {}", answer.body);
    let url = answer.body["url"].as_str().expect("checkout url");
    let paid = stack
        .emulator
        .pay(url, Card::new(card))
        .await
        .expect("paying");
    let session_id = paid
        .session_id()
        .expect("session_id in the redirect")
        .to_owned();
    let query = [("session_id", session_id.as_str())];
    let answer = call_as(app, Route::GetUser, user, &query, &[], "").await;
    assert_eq!(
        answer.status, 200,
        "recording the subscription: {}",
        answer.body
    );
    assert!(
        answer.body["user"]["subscription"]["id"].is_string(),
        "{}",
        answer.body
    );
    let user = serde_json::from_value(answer.body["user"].clone()).expect("a user");
    Subscribed { session_id, user }
}

impl Stack {
    /// A new user, signed up with `email` and subscribed to `price` through Checkout
    /// paid with `card`, as `GET /users` shows them.
    pub async fn subscriber(&self, email: &str, price: &str, card: &str) -> User {
        let user = sign_up(self.app, email).await;
        subscribe(self, self.app, &user, price, card).await.user
    }

    /// [`Stack::subscriber`] to the monthly price, paid with a card that works.
    pub async fn monthly_subscriber(&self, email: &str) -> User {
        let price = &self.catalog().monthly_price.id;
        self.subscriber(email, price, crate::CARD_OK).await
    }

    /// [`Stack::subscriber`] to the on-demand price, paid with a card that works.
    pub async fn ondemand_subscriber(&self, email: &str) -> User {
        let price = &self.catalog().ondemand_price.id;
        self.subscriber(email, price, crate::CARD_OK).await
    }

    /// A new user, signed up with `email` and subscribed to `price` through Checkout
    /// with a card that works: the user as signed in, and their Checkout Session.
    pub async fn signed_subscriber(&self, email: &str, price: &str) -> (Signed, String) {
        let user = sign_up(self.app, email).await;
        let session_id = subscribe(self, self.app, &user, price, crate::CARD_OK)
            .await
            .session_id;
        (user, session_id)
    }
}
