//! POST /users/sign-in: trade the emailed code for a session (see `devchat::api::sign_in`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::sign_in::handle).await
}
