//! POST /offerings/paircode: start a Checkout Session (see `devchat::api::checkout`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::checkout::handle).await
}
