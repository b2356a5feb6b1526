//! `POST /users/portal`: a Stripe Customer Portal session (`devchat::api::portal`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::portal::handle).await
}
