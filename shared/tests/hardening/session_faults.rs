//! Faults in the middle of "Arrange session": SES down during the click, or any one
//! DynamoDB call of the click failing, loses no request and bills nothing twice; the
//! outbox's drain (after a click, a webhook delivery, or the scheduled `outbox`
//! function) sends the email once the fault is gone.

use devchat::{
    model::{SessionRequest, SubscriptionType},
    store::{BillingStore, SessionAdded, SessionMarks},
};
use devchat_kit::{Fault, OWNER_EMAIL, Options, Proxy, Route, Stack, call_as, free_port, sign_up};

#[tokio::test]
async fn ses_down_during_a_click_loses_nothing_and_bills_once() {
    let stack = Stack::start(Options::provisioned()).await;
    let ondemand = stack.catalog().ondemand_price.id.clone();
    let (user, _) = stack
        .signed_subscriber("ses-fault@example.com", &ondemand)
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

    // SES is back: the next scheduled drain (the `outbox` function, as EventBridge
    // invokes it) sends it, once; the run after finds nothing left.
    let scheduled = serde_json::json!({
        "source": "aws.events",
        "detail-type": "Scheduled Event",
        "detail": {}
    });
    let run = devchat::api::outbox::handle(stack.app, scheduled.clone()).await;
    assert_eq!(run["drained"], 1, "{run}");
    let run = devchat::api::outbox::handle(stack.app, scheduled).await;
    assert_eq!(run["drained"], 0, "{run}");
    let mail = stack.mail_to(OWNER_EMAIL).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert!(mail[0].body.contains("ses-fault@example.com"));
    assert!(stack.user(&user.id).await.sessions["ses-down-click"].notified);
    assert_eq!(stack.meter_total(&user.id).await, 1, "billed once");
}

/// The ways one DynamoDB operation of a click can fail.
const FAULTS: [(&str, &[Fault]); 3] = [
    // Refused on every attempt the SDK makes: the operation fails, nothing applied.
    ("refused", &[Fault::Refuse, Fault::Refuse, Fault::Refuse]),
    // Applied, its answer lost: the SDK's retry meets what the first attempt did.
    ("answer lost", &[Fault::LoseAnswer]),
    // Applied, then every retry refused: the operation fails although it happened.
    (
        "applied, then failed",
        &[Fault::LoseAnswer, Fault::Refuse, Fault::Refuse],
    ),
];

/// For each way to fail and each DynamoDB request a click makes (N = 1, 2, … until a
/// click makes fewer than N), a fresh subscriber clicks with request N failing, the
/// dashboard retries the click under the same `Idempotency-Key`, and the outbox is
/// drained: one stored request, `units` meter units, one owner email, nothing left in
/// the outbox.
async fn every_dynamodb_call_of_a_click_may_fail(kind: SubscriptionType) {
    let stack = Stack::start(Options::provisioned()).await;
    let catalog = stack.catalog().clone();
    let (price, units) = match kind {
        SubscriptionType::Ondemand => (&catalog.ondemand_price.id, 1),
        SubscriptionType::Monthly => (&catalog.monthly_price.id, 0),
    };
    let proxy = Proxy::start(&stack.dynamo).await;
    for (f, (what, faults)) in FAULTS.iter().enumerate() {
        let mut n = 1;
        loop {
            let email = format!("fault-{kind:?}-{f}-{n}@example.com").to_lowercase();
            let (user, _) = stack.signed_subscriber(&email, price).await;
            // A fresh instance (nothing cached), on DynamoDB through the proxy, so every
            // click makes the same calls.
            let app = stack.app_on(&proxy.url, None);
            let key = format!("click-{f}-{n}");
            let headers = [("idempotency-key", key.as_str())];
            let case = format!("{kind:?}, DynamoDB request {n} {what}");

            proxy.fail(n, faults);
            let first = call_as(app, Route::Schedule, &user, &[], &headers, "").await;
            let fired = proxy.fired();
            proxy.heal();
            assert!(
                [200, 503].contains(&first.status),
                "{case}: the click answers 200 or 503: {} {}",
                first.status,
                first.body
            );
            let retry = call_as(app, Route::Schedule, &user, &[], &headers, "").await;
            assert_eq!(
                retry.status, 200,
                "{case}: the retried click: {}",
                retry.body
            );
            assert_eq!(retry.body["usageRecord"], key.as_str(), "{case}");
            stack.app.senders().drain().await;

            let stored = stack.user(&user.id).await;
            assert_eq!(
                stored.sessions.keys().collect::<Vec<_>>(),
                [&key],
                "{case}: one stored request"
            );
            assert!(
                stored.sessions[&key].is_settled() && stored.sessions[&key].notified,
                "{case}: settled: {:?}",
                stored.sessions[&key]
            );
            assert_eq!(stack.meter_total(&user.id).await, units, "{case}: units");
            let mail: Vec<_> = (stack.mail_to(OWNER_EMAIL).await.into_iter())
                .filter(|m| m.body.contains(&email))
                .collect();
            assert_eq!(mail.len(), 1, "{case}: one owner email: {mail:#?}");
            let outbox = stack.app.store.outbox_pending(100).await.expect("outbox");
            assert!(
                !outbox.contains(&user.id),
                "{case}: the user is off the outbox: {outbox:?}"
            );
            if fired == 0 {
                // The click made fewer than n requests: each one has failed once.
                eprintln!("{case}: done after {} requests", n - 1);
                // A fresh instance: the user, the catalog, the request, the marks.
                assert_eq!(n, 5, "{case}: the DynamoDB calls of a click");
                break;
            }
            n += 1;
        }
    }
}

#[tokio::test]
async fn a_dynamodb_fault_anywhere_in_an_on_demand_click_loses_nothing_and_bills_once() {
    every_dynamodb_call_of_a_click_may_fail(SubscriptionType::Ondemand).await;
}

#[tokio::test]
async fn a_dynamodb_fault_anywhere_in_a_monthly_click_loses_nothing_and_bills_nothing() {
    every_dynamodb_call_of_a_click_may_fail(SubscriptionType::Monthly).await;
}

/// 30 concurrent monthly clicks with distinct keys: the period's one session is taken
/// once (one request, one email), every other click is refused with 409. DynamoDB
/// checks and applies a conditional write as one step; the stack's moto server does so
/// too only because it answers DynamoDB one request at a time (scripts/moto_server.py).
#[tokio::test]
async fn concurrent_monthly_clicks_take_the_periods_one_session_once() {
    let stack = Stack::start(Options::provisioned()).await;
    let monthly = stack.catalog().monthly_price.id.clone();
    let email = "monthly-race@example.com";
    let (user, _) = stack.signed_subscriber(email, &monthly).await;
    let keys: Vec<String> = (0..30).map(|n| format!("race-{n}")).collect();
    let answers = futures::future::join_all(keys.iter().map(|key| {
        let headers = [("idempotency-key", key.as_str())];
        let user = &user;
        async move { call_as(stack.app, Route::Schedule, user, &[], &headers, "").await }
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "one click takes the period's session: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(stack.user(&user.id).await.sessions.len(), 1);
    stack.app.senders().drain().await;
    let mail: Vec<_> = (stack.mail_to(OWNER_EMAIL).await.into_iter())
        .filter(|m| m.body.contains(email))
        .collect();
    assert_eq!(mail.len(), 1, "{mail:#?}");
}

/// The store's one-per-period write under contention: 20 rounds of 50 concurrent
/// `add_session` calls for one period each, exactly one stored per round. This is the
/// guarantee the monthly rule leans on; an unlocked moto server breaks it every few
/// runs of this test.
#[tokio::test]
async fn concurrent_conditional_writes_let_exactly_one_through() {
    let stack = Stack::start(Options::default()).await;
    let user = sign_up(stack.app, "conditional-race@example.com").await;
    for period in 1..=20 {
        let answers = futures::future::join_all((0..50).map(|n| {
            let request = SessionRequest {
                id: format!("{period}-{n}"),
                requested_at: period,
                kind: SubscriptionType::Monthly,
                period_start: Some(period),
                metered: false,
                notified: false,
                mail_claim: None,
                mail_claim_by: None,
            };
            let id = user.id.clone();
            async move { stack.app.store.add_session(&id, &request, true, &[]).await }
        }))
        .await;
        let added = answers
            .iter()
            .filter(|a| matches!(a, Ok(SessionAdded::New)))
            .count();
        let taken = answers
            .iter()
            .filter(|a| matches!(a, Ok(SessionAdded::PeriodTaken)))
            .count();
        assert_eq!((added, taken), (1, 49), "period {period}");
    }
    let stored = stack.user(&user.id).await.sessions;
    assert_eq!(stored.len(), 20, "one per period");
}

/// A click that settles its request takes its user off the outbox in the same write
/// that marks it; a request stored after a sender read the user keeps them on it
/// until a drain finds everything settled.
#[tokio::test]
async fn the_outbox_holds_a_user_while_a_request_of_theirs_waits() {
    let stack = Stack::start(Options::provisioned()).await;
    let ondemand = stack.catalog().ondemand_price.id.clone();
    let (user, _) = stack
        .signed_subscriber("outbox-marker@example.com", &ondemand)
        .await;
    let store = &stack.app.store;
    let on_outbox = || async { store.outbox_pending(100).await.expect("outbox") };

    let headers = [("idempotency-key", "marker-1")];
    let answer = call_as(stack.app, Route::Schedule, &user, &[], &headers, "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        !on_outbox().await.contains(&user.id),
        "settled: off the outbox"
    );
    let seen = stack.user(&user.id).await.outbox_adds;
    assert_eq!(seen, 1);

    // Another request is stored after a sender read the user (at `seen` adds).
    let later = SessionRequest {
        id: "marker-2".into(),
        requested_at: devchat::outbox::now(),
        kind: SubscriptionType::Monthly,
        period_start: None,
        metered: false,
        notified: false,
        mail_claim: None,
        mail_claim_by: None,
    };
    let added = store.add_session(&user.id, &later, false, &[]).await;
    assert_eq!(added.expect("stored"), SessionAdded::New);
    assert!(on_outbox().await.contains(&user.id));
    // That sender's marking write may not take the user off: it only marks.
    let marks = SessionMarks {
        metered: false,
        notified: true,
    };
    (store
        .mark_session(&user.id, "marker-1", marks, Some(seen))
        .await)
        .expect("marked");
    assert!(
        on_outbox().await.contains(&user.id),
        "a later request keeps the user on"
    );

    // The drain sends the later request's email, then takes the user off.
    assert_eq!(stack.app.senders().drain().await, 1);
    let stored = stack.user(&user.id).await;
    assert!(stored.sessions["marker-2"].notified, "{stored:?}");
    assert!(!on_outbox().await.contains(&user.id));
    assert_eq!(stack.app.senders().drain().await, 0);
}
