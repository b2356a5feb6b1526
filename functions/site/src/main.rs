//! `site`: GET /, /login, /dashboard and /assets/* — the web client from `client/`,
//! embedded at build time (see build.rs) and served by [`devchat::api::site`].

use std::convert::Infallible;

use lambda_http::{Request, service_fn};

mod client {
    include!(concat!(env!("OUT_DIR"), "/client.rs"));
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    devchat::telemetry::init();
    lambda_http::run(service_fn(|req: Request| async move {
        Ok::<_, Infallible>(devchat::api::site::handle(client::FILES, &req))
    }))
    .await
}

#[cfg(test)]
mod tests;
