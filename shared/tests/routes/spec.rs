//! Every request the app's tests send the emulator is held to Stripe's published spec
//! when the stack stops (the kit reads the emulator's request log): this shows that the
//! check catches a request Stripe would refuse.

use std::panic::{AssertUnwindSafe, catch_unwind};

use devchat_kit::{Options, SECRET_KEY, Stack};

/// On a fresh stack, `POST /v1/products` straight to the emulator, then the stack's
/// stop: the status Stripe answered, and why the stop panicked, if it did.
async fn create_product_then_stop(form: &[(&str, &str)]) -> (u16, Result<(), String>) {
    let stack = Stack::start(Options::default()).await;
    let url = format!("{}/v1/products", stack.emulator.url());
    let sent = stack.http.post(url).bearer_auth(SECRET_KEY).form(form);
    let status = sent.send().await.expect("emulator").status().as_u16();
    let stopped = catch_unwind(AssertUnwindSafe(|| drop(stack)));
    let why = |panic: Box<dyn std::any::Any + Send>| {
        panic.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    (status, stopped.map_err(why))
}

#[tokio::test]
async fn a_request_stripe_refuses_fails_the_test_that_sent_it() {
    // Stripe caps a product's unit_label at 12 characters.
    let form = [("name", "Too long"), ("unit_label", "nineteen characters")];
    let (status, stopped) = create_product_then_stop(&form).await;
    assert_eq!(status, 400);
    let why = stopped.expect_err("the stack's stop should refuse the request");
    assert!(
        why.contains("POST /v1/products") && why.contains("unit_label"),
        "{why}"
    );
}

#[tokio::test]
async fn requests_stripe_accepts_pass() {
    let form = [("name", "Just right"), ("unit_label", "twelve chars")];
    let (status, stopped) = create_product_then_stop(&form).await;
    assert_eq!(status, 200);
    assert!(stopped.is_ok());
}
