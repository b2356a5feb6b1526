//! GET /users: a user, recording a completed Checkout Session (see `devchat::api::get_user`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::get_user::handle).await
}
