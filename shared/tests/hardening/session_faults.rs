//! Faults in the middle of "Arrange session": SES down during the click loses no
//! request and bills nothing twice; the outbox's drain sends the email once SES is back.

use devchat_kit::{
    CARD_OK, OWNER_EMAIL, Options, Route, Stack, call_as, free_port, sign_up, subscribe,
};

#[tokio::test]
async fn ses_down_during_a_click_loses_nothing_and_bills_once() {
    let stack = Stack::start(Options::provisioned()).await;
    let catalog = stack.catalog().clone();
    let user = sign_up(stack.app, "ses-fault@example.com").await;
    subscribe(
        &stack,
        stack.app,
        &user,
        &catalog.ondemand_price.id,
        CARD_OK,
    )
    .await;
    // The same app, but SES is unreachable (nothing listens on this port).
    let no_ses = stack.app_reaching(&stack.dynamo, &format!("http://127.0.0.1:{}", free_port()));
    let headers = [("idempotency-key", "ses-down-click")];
    let answer = call_as(no_ses, Route::Schedule, &user, &[], &headers, "").await;
    assert_eq!(
        answer.status, 200,
        "a failed email never fails the click: {}",
        answer.body
    );
    assert_eq!(stack.meter_total(&user.id).await, 1);
    assert!(stack.mail_to(OWNER_EMAIL).await.is_empty());
    let stored = stack.user(&user.id).await.sessions["ses-down-click"].clone();
    assert!(stored.metered && !stored.notified, "{stored:?}");

    // The click retried while SES is still down: still one unit, still stored once.
    let answer = call_as(no_ses, Route::Schedule, &user, &[], &headers, "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(stack.meter_total(&user.id).await, 1);

    // SES is back: the next drain (as after a webhook delivery) sends it, once.
    stack.app.senders().drain().await;
    stack.app.senders().drain().await;
    let mail = stack.mail_to(OWNER_EMAIL).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert!(mail[0].body.contains("ses-fault@example.com"));
    assert!(stack.user(&user.id).await.sessions["ses-down-click"].notified);
    assert_eq!(stack.meter_total(&user.id).await, 1, "billed once");
}
