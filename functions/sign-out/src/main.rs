//! POST /users/sign-out: end this session, or every session (see `devchat::api::sign_out`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::sign_out::handle).await
}
