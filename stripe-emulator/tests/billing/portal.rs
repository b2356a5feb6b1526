//! `POST /v1/billing_portal/sessions`.

use serde_json::json;

use crate::support::{Emu, id, parses_as};

#[tokio::test]
async fn portal_sessions_link_a_customer_to_a_configuration() {
    let emu = Emu::start().await;
    let customer = emu.posted("/v1/customers", "email=p@example.com").await;
    let cus = id(&customer);
    // No configuration yet: Stripe asks for one.
    emu.refuses(&format!(
        "
        /v1/billing_portal/sessions customer={cus}&return_url=https://app.test/dashboard => message ~ portal settings
        "
    ))
    .await;

    let config = emu.posted(
            "/v1/billing_portal/configurations",
            "business_profile[headline]=%2Fdev%2Fchat&features[subscription_cancel][enabled]=true&features[subscription_cancel][mode]=immediately&features[payment_method_update][enabled]=true&features[invoice_history][enabled]=true&default_return_url=https://app.test/dashboard",
        ).await;
    let s = emu
        .posted(
            "/v1/billing_portal/sessions",
            &format!("customer={cus}&configuration={}", id(&config)),
        )
        .await;
    parses_as::<stripe_billing::BillingPortalSession>(&s);
    let sid = id(&s);
    assert!(sid.starts_with("bps_"));
    assert_eq!(s["object"], "billing_portal.session");
    assert_eq!(s["customer"], json!(cus));
    assert_eq!(s["configuration"], config["id"]);
    assert_eq!(
        s["return_url"], "https://app.test/dashboard",
        "the configuration's default"
    );
    assert_eq!(s["url"], json!(format!("{}/p/session/{sid}", emu.base)));
    assert_eq!(s["livemode"], false);

    // Without `configuration`, the default one is used; return_url is honoured.
    let s = emu
        .posted(
            "/v1/billing_portal/sessions",
            &format!("customer={cus}&return_url=https://app.test/elsewhere"),
        )
        .await;
    assert_eq!(s["configuration"], config["id"]);
    assert_eq!(s["return_url"], "https://app.test/elsewhere");

    for (body, param) in [
        ("return_url=https://x.test".to_string(), "customer"),
        ("customer=cus_nope".to_string(), "customer"),
        (
            format!("customer={cus}&configuration=bpc_nope"),
            "configuration",
        ),
        (
            format!("customer={cus}&flow_data[type]=subscription_cancel"),
            "flow_data",
        ),
        (format!("customer={cus}&colour=red"), "colour"),
    ] {
        let err = emu.refused("/v1/billing_portal/sessions", &body).await;
        assert_eq!(err["param"], param, "{body}: {err}");
    }
}
