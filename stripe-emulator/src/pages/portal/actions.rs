//! The portal's actions: cancelling a subscription (a step to confirm it) and adding
//! a payment method. The page's script sends the forms and gets JSON (where to go next,
//! or what to show inline); without scripts they are plain form posts.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

use super::{CancelMode, Portal};
use crate::{
    app::App,
    billing,
    error::ApiError,
    pages::{
        Refusal, accepted,
        card_form::{CardForm, EmailField, FieldErrors, Posted, alert},
        date, esc, message_page, missing, not_found, wants_json,
    },
};

pub async fn cancel_step(
    State(app): State<App>,
    Path((id, sub)): Path<(String, String)>,
) -> Response {
    let Some(portal) = app.read(|db| Portal::load(db, &id)) else {
        return not_found();
    };
    render_cancel(&portal, &sub, None, StatusCode::OK)
}

fn render_cancel(
    portal: &Portal,
    sub_id: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    if !portal.features.subscription_cancel {
        return feature_disabled(portal, "Cancelling subscriptions", false);
    }
    let Some(sub) = portal.subscription(sub_id) else {
        return not_found();
    };
    let period_end = sub["items"]["data"][0]["current_period_end"]
        .as_i64()
        .or_else(|| sub["trial_end"].as_i64())
        .unwrap_or(0);
    let explanation = match portal.cancel_mode {
        CancelMode::Immediately => "Your subscription will be canceled immediately. You will lose access right away and will not be charged again.".to_string(),
        CancelMode::AtPeriodEnd => format!(
            "Your subscription will be canceled, but it is still available until the end of your billing period on {}.",
            date(period_end)
        ),
    };
    let name = sub["items"]["data"][0]["price"]["nickname"]
        .as_str()
        .unwrap_or("your subscription");
    let main = format!(
        r#"<section class="portal-section cancel-step">
<h2>Cancel your subscription</h2>
{alert}
<p class="sub-name">{name}</p>
<p id="cancel-explanation">{explanation}</p>
<form method="post" action="{home}/subscriptions/{sub}/cancel">
  <button type="submit" class="pay danger" data-testid="confirm">Cancel subscription</button>
</form>
<a class="text-link" data-testid="go-back" href="{home}">Go back</a>
</section>"#,
        alert = alert(error),
        name = esc(name),
        explanation = esc(&explanation),
        home = esc(&portal.home_url()),
        sub = esc(sub_id),
    );
    portal.page(status, "Cancel subscription", &main)
}

pub async fn cancel(
    State(app): State<App>,
    Path((id, sub)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let json = wants_json(&headers);
    let Some(portal) = app.read(|db| Portal::load(db, &id)) else {
        return missing(json, "billing portal session", &id, "session");
    };
    if !portal.features.subscription_cancel {
        return feature_disabled(&portal, "Cancelling subscriptions", json);
    }
    if portal.subscription(&sub).is_none() {
        return missing(json, "subscription", &sub, "subscription");
    }
    let mode = portal.cancel_mode;
    let result = app.write(|db| match mode {
        CancelMode::Immediately => billing::cancel_now(db, &sub),
        CancelMode::AtPeriodEnd => billing::cancel_at_period_end(db, &sub),
    });
    match result {
        Ok(_) => {
            let notice = match mode {
                CancelMode::Immediately => "canceled",
                CancelMode::AtPeriodEnd => "cancel_scheduled",
            };
            accepted(json, &format!("{}?notice={notice}", portal.home_url()))
        }
        Err(e) => {
            let refusal = Refusal::error(e);
            if json {
                refusal.json()
            } else {
                render_cancel(
                    &portal,
                    &sub,
                    Some(&refusal.error.message),
                    refusal.status(),
                )
            }
        }
    }
}

pub async fn payment_method_step(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Some(portal) = app.read(|db| Portal::load(db, &id)) else {
        return not_found();
    };
    render_payment_method(
        &portal,
        &CardForm::default(),
        &Vec::new(),
        None,
        StatusCode::OK,
    )
}

fn render_payment_method(
    portal: &Portal,
    form: &CardForm,
    errors: &FieldErrors,
    banner: Option<&str>,
    status: StatusCode,
) -> Response {
    if !portal.features.payment_method_update {
        return feature_disabled(portal, "Updating the payment method", false);
    }
    let main = format!(
        r#"<section class="portal-section">
<h2>Add payment method</h2>
<form method="post" action="{home}/payment-method" class="payment-form" novalidate>
  {banner}
  {fields}
  <button type="submit" class="pay" data-testid="payment-method-submit">Add</button>
</form>
<a class="text-link" data-testid="go-back" href="{home}">Go back</a>
</section>"#,
        home = esc(&portal.home_url()),
        banner = alert(banner),
        fields = form.fields_html(EmailField::Hidden, errors),
    );
    portal.page(status, "Add payment method", &main)
}

pub async fn update_payment_method(
    State(app): State<App>,
    Path(id): Path<String>,
    Posted { json, form }: Posted,
) -> Response {
    let Some(portal) = app.read(|db| Portal::load(db, &id)) else {
        return missing(json, "billing portal session", &id, "session");
    };
    if !portal.features.payment_method_update {
        return feature_disabled(&portal, "Updating the payment method", json);
    }
    let updated = form.parse(false).map_err(Refusal::fields).and_then(|card| {
        app.write(|db| billing::replace_payment_method(db, &portal.customer, &card))
            .map_err(Refusal::error)
    });
    match updated {
        Ok(_) => accepted(
            json,
            &format!("{}?notice=payment_method_updated", portal.home_url()),
        ),
        Err(refusal) if json => refusal.json(),
        Err(refusal) => render_payment_method(
            &portal,
            &form,
            &refusal.fields,
            refusal.banner.as_deref(),
            refusal.status(),
        ),
    }
}

fn feature_disabled(portal: &Portal, what: &str, json: bool) -> Response {
    let e = ApiError::new(
        StatusCode::FORBIDDEN,
        "invalid_request_error",
        format!("{what} is not enabled for this portal."),
    );
    if json {
        return e.into_response();
    }
    message_page(
        e.status,
        "Not available",
        &e.message,
        Some((&portal.home_url(), "Back to billing")),
    )
}
