//! The outbox's timed drain: an EventBridge schedule invokes the `outbox` function
//! every few minutes (template.yaml), and it settles what session requests still have
//! to send ([`crate::outbox`]). A click settles its own user's earlier requests too;
//! this run makes sure a failed owner email (or meter event) is retried within minutes
//! even when nobody clicks. Under `cargo lambda watch`, `make up` invokes it every
//! minute (scripts/up.sh).

use lambda_http::{LambdaEvent, lambda_runtime, service_fn};
use serde_json::{Value, json};

use std::convert::Infallible;

use super::App;

/// One scheduled run: drains the outbox; `{"drained": n}`, the users looked at.
/// Never fails: a failed send is logged and left for the next run.
pub async fn handle(app: &App, _event: Value) -> Value {
    let drained = app.senders().drain().await;
    tracing::info!(drained, "scheduled drain of the outbox");
    json!({ "drained": drained })
}

/// The whole `main` of the `outbox` function: logging, the [`App`], then the Lambda
/// runtime calling [`handle`] for each scheduled event.
pub async fn run() -> std::result::Result<(), lambda_runtime::Error> {
    crate::telemetry::init();
    let app = App::from_env()
        .await
        .inspect_err(|err| tracing::error!(error = %err, "cold start failed"))?;
    let app: &'static App = Box::leak(Box::new(app));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        Ok::<_, Infallible>(handle(app, event.payload).await)
    }))
    .await
}
