//! The cold-start floor: the smallest `lambda_http` function, built with the same
//! profile and runtime as ours, so `make bench` can report our Init Duration as a
//! ratio to what Rust on Lambda costs anyway.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_req: Request| async {
        Ok::<_, Error>(Response::new(Body::from("hello")))
    }))
    .await
}
