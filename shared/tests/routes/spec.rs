//! Every request the app's tests send the emulator is held to Stripe's published spec
//! when the stack stops (the kit reads the emulator's request log): this shows that the
//! check catches a request Stripe would refuse.

use std::panic::{AssertUnwindSafe, catch_unwind};

use devchat_kit::{Options, SECRET_KEY, Stack};

/// `POST /v1/products` straight to the emulator; returns its status.
async fn create_product(stack: &Stack, form: &[(&str, &str)]) -> u16 {
    let url = format!("{}/v1/products", stack.emulator.url());
    let sent = stack.http.post(url).bearer_auth(SECRET_KEY).form(form);
    sent.send().await.expect("emulator").status().as_u16()
}

#[tokio::test]
async fn a_request_stripe_refuses_fails_the_test_that_sent_it() {
    let stack = Stack::start(Options::default()).await;
    // Stripe caps a product's unit_label at 12 characters.
    let form = [("name", "Too long"), ("unit_label", "nineteen characters")];
    assert_eq!(create_product(&stack, &form).await, 400);
    let stopped = catch_unwind(AssertUnwindSafe(|| drop(stack)));
    let why = stopped.expect_err("the stack's stop should refuse the request");
    let why = why.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        why.contains("POST /v1/products") && why.contains("unit_label"),
        "{why}"
    );
}

#[tokio::test]
async fn requests_stripe_accepts_pass() {
    let stack = Stack::start(Options::default()).await;
    let form = [("name", "Just right"), ("unit_label", "twelve chars")];
    assert_eq!(create_product(&stack, &form).await, 200);
    let stopped = catch_unwind(AssertUnwindSafe(|| drop(stack)));
    assert!(stopped.is_ok());
}
