//! Scheduled (EventBridge, every 5 minutes): drains the outbox of session requests
//! (`devchat::api::outbox`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::outbox::run().await
}
