//! Concurrency without loss, against the real emulator and moto server, through the
//! route handlers: double-clicked sign-ups, webhook storms (shuffled, duplicated),
//! and "Arrange session" clicks, concurrent and retried (stored, billed and emailed once each).

use devchat::store::Store;
use devchat_kit::{CARD_OK, Options, Route, Stack, call_as, deliver, request, sign_up, subscribe};
use futures::{StreamExt, stream};
use serde_json::json;

/// A small deterministic shuffle (xorshift), so a failure can be replayed.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

#[tokio::test]
async fn fifty_concurrent_sign_ups_with_one_email_make_one_customer() {
    let stack = Stack::start(Options::provisioned()).await;
    let app = stack.app;
    let spellings = [
        "race@example.com",
        "Race@Example.com",
        "  RACE@EXAMPLE.COM ",
        "race@EXAMPLE.com",
        "rAcE@example.com",
    ];
    let answers = futures::future::join_all((0..50).map(|n| {
        let body = json!({ "email": spellings[n % spellings.len()] }).to_string();
        Route::SignUp.call(app, request("POST", "/users", &[], &[], body.into()))
    }))
    .await;
    // Every answer is 2xx: the one that made the user carries its session, the others
    // say a code was sent (the email is known by then).
    let created: Vec<_> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(created.len(), 1, "one sign-up made the user");
    assert!(created[0].session_cookie().is_some());
    for answer in &answers {
        assert_eq!(answer.body["email"], "race@example.com", "{}", answer.body);
        if answer.status != 200 {
            assert_eq!(answer.status, 202, "{}", answer.body);
            assert_eq!(answer.body["signIn"], "code_sent");
            assert!(answer.session_cookie().is_none());
        }
    }
    // One code went out for the whole burst.
    assert_eq!(stack.mail_to("race@example.com").await.len(), 1);
    let customers = stack
        .stripe_get("/customers?email=race@example.com&limit=100")
        .await;
    assert_eq!(
        customers["data"].as_array().unwrap().len(),
        1,
        "one Stripe Customer: {customers}"
    );
    assert_eq!(stack.emulator.count("customer").await.expect("emulator"), 1);
    // One user record, one email claim, its sign-in state and one count of codes sent.
    assert_eq!(
        stack.items().await.len(),
        5,
        "the catalog, the user, the claim, the sign-in code, the count"
    );
}

#[tokio::test]
async fn two_hundred_shuffled_deliveries_with_duplicates_end_in_the_newest_state() {
    let _stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (_stack.app, _stack.catalog().clone());
    const USERS: usize = 20;
    const EVENTS_PER_USER: usize = 8;
    const STATUSES: [&str; 6] = [
        "trialing", "active", "past_due", "unpaid", "active", "canceled",
    ];
    let users = futures::future::join_all(
        (0..USERS).map(|n| async move { sign_up(app, &format!("storm{n}@example.com")).await }),
    )
    .await;
    let start = devchat_kit::now() - 3_600;
    let mut deliveries = Vec::new();
    let mut newest = Vec::new();
    for (n, user) in users.iter().enumerate() {
        let subscription = format!("sub_storm{n}");
        for k in 0..EVENTS_PER_USER {
            let status = STATUSES[(n * 3 + k * 5) % STATUSES.len()];
            let kind = match k {
                0 => "customer.subscription.created",
                _ if status == "canceled" => "customer.subscription.deleted",
                _ => "customer.subscription.updated",
            };
            let payload = devchat_kit::event(
                kind,
                start + k as i64 * 60,
                devchat_kit::subscription(
                    &subscription,
                    &user.id,
                    status,
                    &catalog.monthly_price.id,
                    "licensed",
                ),
            );
            deliveries.push(payload);
            if k == EVENTS_PER_USER - 1 {
                newest.push((user.id.clone(), subscription.clone(), status));
            }
        }
    }
    // 20% duplicates: every fourth event is delivered twice (160 + 40 = 200).
    let duplicates: Vec<String> = deliveries.iter().step_by(4).cloned().collect();
    deliveries.extend(duplicates);
    assert_eq!(deliveries.len(), 200);
    shuffle(&mut deliveries, 0x5eed_d00d);

    let statuses: Vec<u16> = stream::iter(deliveries)
        .map(|payload| async move { deliver(app, &payload).await.status })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every delivery acknowledged: {statuses:?}"
    );
    for (user, subscription, status) in newest {
        let stored = app
            .store
            .get_user(&user)
            .await
            .unwrap()
            .unwrap()
            .subscription
            .unwrap();
        assert_eq!(
            (stored.id.as_str(), stored.status.as_str()),
            (subscription.as_str(), status),
            "{user}: the newest state"
        );
        assert_eq!(
            stored.as_of,
            Some(start + (EVENTS_PER_USER as i64 - 1) * 60)
        );
    }
    eprintln!(
        "webhook storm: 200 deliveries (40 duplicates) for {USERS} users, shuffled, 16 at a time: every final state the newest"
    );
}

#[tokio::test]
async fn arrange_session_clicks_store_bill_and_email_once_per_key() {
    let stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (stack.app, stack.catalog().clone());
    let user = sign_up(app, "clicker@example.com").await;
    subscribe(&stack, app, &user, &catalog.ondemand_price.id, CARD_OK).await;

    // Sends every click at once; each must be answered with its key. Returns the
    // stored requests, the meter's units and the owner's emails after them.
    let click_all = async |keys: Vec<String>| {
        let answers = futures::future::join_all(keys.iter().map(|key| {
            let user = &user;
            async move {
                // As the dashboard does: a 5xx is retried with the click's key (moto
                // server, not thread-safe, sometimes fails a write under 50 writers
                // to one item while other suites run).
                let headers = [("idempotency-key", key.as_str())];
                let mut answer = call_as(app, Route::Schedule, user, &[], &headers, "").await;
                for _ in 0..2 {
                    if answer.status < 500 {
                        break;
                    }
                    answer = call_as(app, Route::Schedule, user, &[], &headers, "").await;
                }
                answer
            }
        }))
        .await;
        for (key, answer) in keys.iter().zip(&answers) {
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_eq!(answer.body["usageRecord"], key.as_str());
        }
        // A click sends its own email; one whose claim the store refused (moto server
        // sometimes refuses a conditional write under 50 writers to one item) leaves it
        // to the outbox, which the next webhook delivery drains: still one email each.
        app.senders().drain().await;
        (
            stack.user(&user.id).await.sessions.len(),
            stack.meter_total(&user.id).await,
            stack.mail_to(devchat_kit::OWNER_EMAIL).await.len(),
        )
    };
    // 50 concurrent clicks, each with its own key → 50 requests, 50 units, 50 emails.
    assert_eq!(
        click_all((0..50).map(|n| format!("click-{n}")).collect()).await,
        (50, 50, 50)
    );
    // 10 keys, each sent 10 times, all at once → 10 more of each.
    let retried = (0..100).map(|n| format!("retried-{}", n % 10)).collect();
    assert_eq!(
        click_all(retried).await,
        (60, 60, 60),
        "10 keys × 10 sends count 10"
    );
    let stored = stack.user(&user.id).await;
    assert!(stored.sessions.values().all(|s| s.metered && s.notified));
}
