//! `POST /offerings/paircode/schedule`: one on-demand session on the meter (`devchat::api::schedule`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::api::run(devchat::api::schedule::handle).await
}
