use serde_json::json;

use crate::support::{Emu, ids, new_id, parses_as, types};

#[tokio::test]
async fn meters_lifecycle() {
    let emu = Emu::start().await;
    let meter = emu.posted(
            "/v1/billing/meters",
            "display_name=Pair+minutes&event_name=pair_minutes&default_aggregation[formula]=sum&customer_mapping[event_payload_key]=stripe_customer_id&customer_mapping[type]=by_id&value_settings[event_payload_key]=minutes",
        ).await;
    let id = new_id(&meter, "mtr_", "billing.meter");
    assert_eq!(meter["status"], "active");
    assert_eq!(meter["default_aggregation"], json!({"formula": "sum"}));
    assert_eq!(
        meter["value_settings"],
        json!({"event_payload_key": "minutes"})
    );
    assert_eq!(meter["status_transitions"], json!({"deactivated_at": null}));
    parses_as::<stripe_billing::BillingMeter>(&meter);

    let renamed = emu
        .posted(&format!("/v1/billing/meters/{id}"), "display_name=Minutes")
        .await;
    assert_eq!(renamed["display_name"], "Minutes");
    assert_eq!(
        emu.get(&format!("/v1/billing/meters/{id}")).await.ok()["display_name"],
        "Minutes"
    );

    emu.refuses(
        "
        /v1/billing/meters display_name=Again&event_name=pair_minutes&default_aggregation[formula]=count => param: event_name
        "
    )
    .await;

    let off = emu
        .posted(&format!("/v1/billing/meters/{id}/deactivate"), "")
        .await;
    assert_eq!(off["status"], "inactive");
    assert!(off["status_transitions"]["deactivated_at"].is_i64());
    parses_as::<stripe_billing::BillingMeter>(&off);
    assert_eq!(
        emu.post(&format!("/v1/billing/meters/{id}/deactivate"), "")
            .await
            .status,
        400
    );

    // The event name is free again while the meter is inactive, so reactivating conflicts.
    let other = emu.meter("pair_minutes").await;
    let err = emu
        .refused(&format!("/v1/billing/meters/{id}/reactivate"), "")
        .await;
    assert!(err["message"].as_str().unwrap().contains(&other), "{err}");
    emu.posted(&format!("/v1/billing/meters/{other}/deactivate"), "")
        .await;
    let on = emu
        .posted(&format!("/v1/billing/meters/{id}/reactivate"), "")
        .await;
    assert_eq!(on["status"], "active");
    assert_eq!(on["status_transitions"]["deactivated_at"], json!(null));

    assert_eq!(
        ids(&emu.get("/v1/billing/meters?status=active").await.ok()),
        vec![id.clone()]
    );
    assert_eq!(
        ids(&emu.get("/v1/billing/meters?status=inactive").await.ok()),
        vec![other.clone()]
    );
    assert_eq!(
        ids(&emu.get("/v1/billing/meters").await.ok()),
        vec![other, id.clone()]
    );

    let events = emu.get("/v1/events?type=billing.meter.*").await.ok();
    let kinds = types(&events);
    for kind in ["created", "deactivated", "reactivated", "updated"] {
        assert!(
            kinds.contains(&format!("billing.meter.{kind}")),
            "{kinds:?}"
        );
    }
}

#[tokio::test]
async fn meter_errors() {
    let emu = Emu::start().await;
    emu.refuses(
        "
        /v1/billing/meters display_name=X&event_name=x => message: Missing required param: default_aggregation.
        /v1/billing/meters display_name=X&event_name=x&default_aggregation[formula]=avg => param: default_aggregation[formula]
        /v1/billing/meters display_name=X&event_name=x&default_aggregation[formula]=sum&customer_mapping[event_payload_key]=c&customer_mapping[type]=by_email => param: customer_mapping[type]
        "
    )
    .await;
    let err = emu.get("/v1/billing/meters/mtr_nope").await.err(404);
    assert_eq!(err["message"], "No such billing meter: 'mtr_nope'");
    let meter = emu.meter("x").await;
    emu.refuses(&format!(
        "
        /v1/billing/meters/{meter} event_name=y => message: Received unknown parameter: event_name
        "
    ))
    .await;
}

#[tokio::test]
async fn meter_events_are_recorded_once_and_summarized() {
    let emu = Emu::start().await;
    let meter = emu.meter("pair_minutes").await;
    let customer = emu.customer("dev@example.com").await;
    let now = emu.get("/_emulator/clock").await.body["now"]
        .as_i64()
        .unwrap();
    let hour = now - now % 3600;

    let event = emu.posted(
            "/v1/billing/meter_events",
            &format!("event_name=pair_minutes&payload[stripe_customer_id]={customer}&payload[value]=25&identifier=evt-1&timestamp={hour}"),
        ).await;
    assert_eq!(event["object"], "billing.meter_event");
    assert_eq!(event["identifier"], "evt-1");
    assert_eq!(
        event["payload"],
        json!({"stripe_customer_id": customer, "value": "25"})
    );
    assert_eq!(event["timestamp"], hour);
    parses_as::<stripe_billing::BillingMeterEvent>(&event);

    // The same identifier again is a repeat, whatever the payload: v1 answers a 400
    // naming `identifier`, without a code (`duplicate_meter_event` is v2's).
    let err = emu
        .refused(
            "/v1/billing/meter_events",
            &format!("event_name=pair_minutes&payload[stripe_customer_id]={customer}&payload[value]=5&identifier=evt-1"),
        )
        .await;
    assert_eq!(err["param"], "identifier");
    assert!(err["message"].as_str().unwrap().contains("evt-1"), "{err}");
    assert_eq!(
        err["message"],
        "An event already exists with identifier evt-1."
    );
    assert_eq!(err["type"], "invalid_request_error");
    assert!(err.get("code").is_none(), "{err}");

    // Without a value an event counts 1; without an identifier one is generated.
    let second = emu
        .posted(
            "/v1/billing/meter_events",
            &format!(
                "event_name=pair_minutes&payload[stripe_customer_id]={customer}&timestamp={}",
                hour + 60
            ),
        )
        .await;
    assert!(!second["identifier"].as_str().unwrap().is_empty());
    // An event an hour earlier lands in another window.
    emu.posted(
        "/v1/billing/meter_events",
        &format!("event_name=pair_minutes&payload[stripe_customer_id]={customer}&payload[value]=100&timestamp={}", hour - 3600),
    ).await;

    let state = emu.get("/_emulator/state").await.body;
    assert_eq!(state["meter_events"].as_array().unwrap().len(), 3);

    let summaries = emu
        .get(&format!(
            "/v1/billing/meters/{meter}/event_summaries?customer={customer}&start_time={}&end_time={}",
            hour,
            hour + 3600
        ))
        .await
        .ok();
    assert_eq!(summaries["object"], "list");
    let summary = &summaries["data"][0];
    assert_eq!(summaries["data"].as_array().unwrap().len(), 1);
    assert_eq!(summary["object"], "billing.meter_event_summary");
    assert_eq!(summary["aggregated_value"], 26.0);
    assert_eq!(summary["start_time"], hour);
    assert_eq!(summary["end_time"], hour + 3600);
    assert_eq!(summary["meter"], meter.as_str());
    assert!(summary["id"].as_str().unwrap().starts_with("mtrusg_"));
    parses_as::<stripe_billing::BillingMeterEventSummary>(summary);

    let hourly = emu
        .get(&format!(
            "/v1/billing/meters/{meter}/event_summaries?customer={customer}&start_time={}&end_time={}&value_grouping_window=hour",
            hour - 3600,
            hour + 3600
        ))
        .await
        .ok();
    let values: Vec<f64> = hourly["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["aggregated_value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, vec![26.0, 100.0], "newest window first");
}

#[tokio::test]
async fn meter_event_errors() {
    let emu = Emu::start().await;
    let meter = emu.meter("pair_minutes").await;
    let customer = emu.customer("a@b.c").await;

    emu.refuses(&format!(
        "
        /v1/billing/meter_events event_name=pair_minutes&payload[stripe_customer_id]=cus_ghost => message: No such customer: 'cus_ghost' && param: payload[stripe_customer_id]
        /v1/billing/meter_events event_name=unknown_event&payload[stripe_customer_id]={customer} => param: event_name
        /v1/billing/meter_events event_name=pair_minutes => message: Missing required param: payload.
        /v1/billing/meter_events event_name=pair_minutes&payload[value]=3 => param: payload[stripe_customer_id]
        /v1/billing/meter_events event_name=pair_minutes&payload[stripe_customer_id]={customer}&payload[value]=lots => param: payload[value]
        /v1/billing/meter_events event_name=pair_minutes&payload[stripe_customer_id]={customer}&timestamp=1000 => param: timestamp
        "
    ))
    .await;

    emu.posted(&format!("/v1/billing/meters/{meter}/deactivate"), "")
        .await;
    emu.refuses(&format!(
        "
        /v1/billing/meter_events event_name=pair_minutes&payload[stripe_customer_id]={customer} => param: event_name
        "
    ))
    .await;
    assert_eq!(
        emu.get("/_emulator/state").await.body["meter_events"],
        json!([])
    );

    let err = emu
        .get(&format!(
            "/v1/billing/meters/{meter}/event_summaries?start_time=0&end_time=60"
        ))
        .await
        .err(400);
    assert_eq!(err["message"], "Missing required param: customer.");
    let err = emu
        .get(&format!("/v1/billing/meters/{meter}/event_summaries?customer={customer}&start_time=120&end_time=60"))
        .await
        .err(400);
    assert_eq!(err["param"], "end_time");
    let err = emu
        .get(&format!("/v1/billing/meters/mtr_nope/event_summaries?customer={customer}&start_time=0&end_time=60"))
        .await
        .err(404);
    assert_eq!(err["code"], "resource_missing");
}
