//! `POST /webhook`: verified Stripe events sync subscriptions (`devchat::api::webhook`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::webhook::handle).await
}
