//! GET /offerings: the catalog (see `devchat::api::offerings`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::offerings::handle).await
}
