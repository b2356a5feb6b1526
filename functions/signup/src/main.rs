//! POST /users: sign up with an email (see `devchat::api::signup`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::signup::handle).await
}
