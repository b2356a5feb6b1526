//! What a session request still has to send, and sending it: the meter event (on
//! demand) and the owner's email, each done once and marked on the request.
//!
//! # Why an outbox, and not a DynamoDB stream to a `notify` function
//!
//! The request is stored before anything is sent ([`crate::usage::arrange_session`]),
//! so nothing can be sent for a request we do not hold, and what is left to send is
//! written on the request itself (`metered`, `notified`). The outbox says where to
//! look: the same write that stores a request puts its user on it (a sparse index of
//! the users' items, [`BillingStore::outbox_pending`]), and the write that marks the
//! click's request settled takes the user off again when nothing else of theirs is
//! waiting, so a click costs no call of its own for the outbox. That write checks
//! [`User::outbox_adds`], the count of requests ever stored for the user: a request
//! stored after the writer read the user keeps them on. Whatever is left is drained by
//! the user's next click (their earlier unsettled requests) and by a scheduled function
//! (`outbox`, every 5 minutes in AWS: [`crate::api::outbox`]; `make up` invokes it
//! every minute under `cargo lambda watch`), so a failed email waits minutes at most;
//! each failure is logged. No customer waits for a drain: webhook deliveries do not
//! drain, and a click settles only its own user's requests.
//!
//! A stream would deliver every write to a small `notify` function with retries built
//! in, but locally the stack is `cargo lambda watch` + moto server: moto keeps a
//! stream's records yet nothing invokes a function from them, so the path customers
//! take in AWS would be one no local test runs. The outbox works the same in both; the
//! tests call the scheduled function's handler.
//!
//! # Once, and not twice
//!
//! - The meter event carries the request's id as its `identifier`: Stripe counts an
//!   identifier once in 24 hours, so a drain racing the click, or a retried click,
//!   cannot bill twice. A request whose event is still unsent after
//!   [`METER_WINDOW_SECONDS`] is not sent again (Stripe might count it twice): it is
//!   logged as an error for the owner.
//! - The email is sent by whoever holds the request's claim: the click that stores a
//!   request stores it claimed (no write of its own), a retry or a drain claims it
//!   with a conditional write ([`BillingStore::claim_session_mail`]), so concurrent
//!   senders send it once. The meter event and the email go out at once, and are
//!   marked in one write. A click whose store write failed gives up the claim it may
//!   have written. A sender that dies after
//!   SES accepted the mail but before marking it leaves a claim that goes stale after
//!   [`MAIL_CLAIM_SECONDS`], and the mail is sent again: at least once, twice only then.
//!   Each claim carries a token of its own, so when the SDK retries a claim whose
//!   first attempt went through (its answer lost), the claim is still ours; a claim
//!   that failed (perhaps written, unanswered) or whose send failed is given up by that
//!   token, so the next drain need not wait for it to go stale. Once SES took the
//!   mail, marking it is tried [`MARK_TRIES`] times: unmarked, it would be sent again.
//!   `tests/hardening/session_faults.rs` fails each DynamoDB call of a click in turn.
//! - Neither ever fails the customer's click: a failure is logged and left to the next drain.

use aws_sdk_sesv2::primitives::{DateTime, DateTimeFormat};

use crate::{
    Result,
    config::Config,
    mail::{Mailer, Message},
    model::{SessionRequest, SubscriptionType, User},
    store::{BillingStore, SessionMarks, Store},
    stripe::StripeApi,
};

/// How long a sender's claim on an email holds before another may send it.
pub const MAIL_CLAIM_SECONDS: i64 = 60;
/// Stripe counts a meter event identifier once within 24 hours: past this, we do not resend.
pub const METER_WINDOW_SECONDS: i64 = 23 * 3_600;
/// How often a sender tries to mark an email that SES accepted.
pub const MARK_TRIES: u32 = 3;
/// Users one drain settles at most (each a few calls; well inside a function's
/// timeout). What is left waits for the next run.
pub const DRAIN_LIMIT: usize = 100;

/// The Unix time now (our clock).
pub fn now() -> i64 {
    crate::session::now()
}

/// Where the outbox's work goes: Stripe, the store, the mailer and who to tell.
pub struct Senders<'a, S, D, M> {
    pub stripe: &'a S,
    pub store: &'a D,
    pub mail: &'a M,
    pub config: &'a Config,
}

impl<S: StripeApi, D: Store + BillingStore, M: Mailer> Senders<'_, S, D, M> {
    /// Sends what `session` still needs, the meter event (on demand) and the owner's
    /// email at once, then marks both in one write; returns whether it is settled.
    /// `held`: the token of the mail claim `session` was stored with (a click's new
    /// request), else the claim is taken here first. `clear`: the user's
    /// [`User::outbox_adds`] when nothing else of theirs waits, so the marking write
    /// takes them off the outbox once this request is settled. A failed or refused
    /// meter event is returned (the click answers it); every other failure is logged
    /// and left to the next drain.
    pub async fn settle(
        &self,
        user: &User,
        session: &SessionRequest,
        held: Option<&str>,
        clear: Option<u64>,
    ) -> Result<bool> {
        let mut meter = !session.metered && session.kind == SubscriptionType::Ondemand;
        if meter && now() - session.requested_at > METER_WINDOW_SECONDS {
            tracing::error!(customer = %user.id, session = %session.id, "a session's meter event was never accepted and is too old to resend safely: bill it by hand");
            meter = false;
        }
        let token = match (session.notified, held) {
            (true, _) => None,
            (false, Some(token)) => Some(token.to_owned()),
            (false, None) => self.claim(user, session).await,
        };
        let (metered, sent) = tokio::join!(
            async {
                match meter {
                    true => self.record_meter_event(user, session).await.map(|()| true),
                    false => Ok(false),
                }
            },
            async {
                let Some(token) = token.as_deref() else {
                    return false;
                };
                let message = owner_message(self.config, user, session);
                match self.mail.send(&message).await {
                    Ok(()) => true,
                    Err(err) => {
                        tracing::warn!(customer = %user.id, session = %session.id, error = %err, "the owner's email was not sent; the next drain retries");
                        self.release(user, session, token).await;
                        false
                    }
                }
            },
        );
        let marks = SessionMarks {
            metered: matches!(metered, Ok(true)),
            notified: sent,
        };
        if marks.notified {
            tracing::info!(customer = %user.id, session = %session.id, "owner told of a session request");
        }
        let settled =
            (session.metered || marks.metered || session.kind == SubscriptionType::Monthly)
                && (session.notified || marks.notified);
        let clear = clear.filter(|_| settled);
        let settled = self.mark(user, session, marks, clear).await && settled;
        metered.map(|_| settled)
    }

    /// The meter event of an on-demand request, under its id as the identifier.
    async fn record_meter_event(&self, user: &User, session: &SessionRequest) -> Result<()> {
        let catalog = (self.store.get_catalog().await?)
            .ok_or_else(|| crate::Error::Internal("no catalog to name the meter".into()))?;
        self.stripe
            .record_meter_event(&catalog.meter_event_name, &user.id, &session.id)
            .await?;
        tracing::info!(customer = %user.id, identifier = %session.id, "session recorded on the meter");
        Ok(())
    }

    /// Claims the request's email for a new token; `None` when it is sent, another
    /// sender holds a fresh claim, or the claim failed (logged, and given up).
    async fn claim(&self, user: &User, session: &SessionRequest) -> Option<String> {
        let at = now();
        let token = uuid::Uuid::new_v4().to_string();
        match (self.store)
            .claim_session_mail(&user.id, &session.id, &token, at, at - MAIL_CLAIM_SECONDS)
            .await
        {
            Ok(true) => Some(token),
            Ok(false) => None,
            Err(err) => {
                tracing::warn!(customer = %user.id, session = %session.id, error = %err, "claiming the owner's email; the next drain retries");
                // The claim may have been written with its answer lost: give it up,
                // or the next drain would wait for it to go stale.
                self.release(user, session, &token).await;
                None
            }
        }
    }

    /// Gives up this sender's claim on the request's email; a failure is logged (the
    /// claim then goes stale after [`MAIL_CLAIM_SECONDS`]).
    pub async fn release(&self, user: &User, session: &SessionRequest, token: &str) {
        if let Err(err) = (self.store)
            .release_session_mail(&user.id, &session.id, token)
            .await
        {
            tracing::warn!(error = %err, "releasing a mail claim");
        }
    }

    /// Marks what was sent, in one write; returns whether the request's marks are
    /// stored. Tried [`MARK_TRIES`] times (each one the SDK's own retries) when it
    /// marks an email: left unmarked, the claim would go stale and the owner be
    /// emailed twice. An unmarked meter event is sent again by the next drain under
    /// the same identifier, which Stripe counts once.
    async fn mark(
        &self,
        user: &User,
        session: &SessionRequest,
        marks: SessionMarks,
        clear: Option<u64>,
    ) -> bool {
        let tries = if marks.notified { MARK_TRIES } else { 1 };
        let mut pause = std::time::Duration::from_millis(100);
        for attempt in 1..=tries {
            match (self.store)
                .mark_session(&user.id, &session.id, marks, clear)
                .await
            {
                Ok(()) => return true,
                Err(err) if attempt < tries => {
                    tracing::warn!(error = %err, "marking a session request; trying again");
                    tokio::time::sleep(pause).await;
                    pause *= 4;
                }
                Err(err) if marks.notified => {
                    tracing::error!(customer = %user.id, session = %session.id, error = %err, "the owner's email was sent but could not be marked: it may be sent again");
                }
                Err(err) => {
                    tracing::warn!(customer = %user.id, session = %session.id, error = %err, "marking a session request; the next drain retries");
                }
            }
        }
        false
    }

    /// [`Self::settle`] for each of `sessions` (claims taken here); returns whether
    /// all are settled. Failures are logged, never returned.
    pub async fn settle_all(&self, user: &User, sessions: &[&SessionRequest]) -> bool {
        let mut all = true;
        for session in sessions {
            match self.settle(user, session, None, None).await {
                Ok(settled) => all &= settled,
                Err(err) => {
                    all = false;
                    tracing::warn!(customer = %user.id, session = %session.id, error = %err, "a session request is not settled yet; the next drain retries");
                }
            }
        }
        all
    }

    /// Settles the unsettled requests of up to [`DRAIN_LIMIT`] users on the outbox, and
    /// takes each user whose requests are all settled off it (unless one was stored
    /// since it was read); returns how many users it looked at. Never fails: a failure
    /// is logged.
    pub async fn drain(&self) -> usize {
        let limit = DRAIN_LIMIT;
        let pending = match self.store.outbox_pending(limit).await {
            Ok(pending) => pending,
            Err(err) => {
                tracing::warn!(error = %err, "reading the outbox");
                return 0;
            }
        };
        for user_id in &pending {
            let user = match self.store.get_user(user_id).await {
                Ok(Some(user)) => user,
                Ok(None) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "reading a user for the outbox");
                    continue;
                }
            };
            let waiting: Vec<&SessionRequest> =
                user.sessions.values().filter(|s| !s.is_settled()).collect();
            if self.settle_all(&user, &waiting).await
                && let Err(err) = self.store.outbox_clear(&user.id, user.outbox_adds).await
            {
                tracing::warn!(customer = %user.id, error = %err, "taking a user off the outbox");
            }
        }
        pending.len()
    }
}

/// How many of the user's requests share `session`'s period.
pub fn sessions_in_period(user: &User, period_start: Option<i64>) -> usize {
    user.sessions
        .values()
        .filter(|s| s.period_start == period_start)
        .count()
}

/// The owner's email about one request: the customer's email, the plan, the number
/// of sessions arranged this period, and when they asked.
pub fn owner_message(config: &Config, user: &User, session: &SessionRequest) -> Message {
    let plan = crate::billing::plan_text(session.kind);
    let count = sessions_in_period(user, session.period_start).max(1);
    let asked = DateTime::from_secs(session.requested_at)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| session.requested_at.to_string());
    Message {
        to: config.owner_email.clone(),
        subject: format!("Session request from {}", user.email),
        text: format!(
            "{email} asks for a pair-coding session.\n\n\
             Customer: {email}\n\
             Plan: {plan}\n\
             Sessions arranged this period: {count}\n\
             Asked at: {asked}\n\
             Request: {id}\n",
            email = user.email,
            id = session.id,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_is_told_who_what_how_many_and_when() {
        let config = Config::example();
        let request = |id: &str, period: i64| SessionRequest {
            id: id.into(),
            requested_at: 1_764_547_200,
            kind: SubscriptionType::Ondemand,
            period_start: Some(period),
            metered: false,
            notified: false,
            mail_claim: None,
            mail_claim_by: None,
        };
        let user = User {
            id: "cus_1".into(),
            email: "ada@example.com".into(),
            subscription: None,
            session_epoch: 0,
            outbox_adds: 0,
            sessions: [request("a", 10), request("b", 10), request("c", 5)]
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect(),
            invoices: Default::default(),
        };
        let message = owner_message(&config, &user, &user.sessions["b"]);
        assert_eq!(message.to, "owner@app.test");
        assert!(message.subject.contains("ada@example.com"));
        for expected in [
            "Customer: ada@example.com",
            "Plan: on demand, $80.00 per session",
            "Sessions arranged this period: 2",
            "Asked at: 2025-12-01T00:00:00Z",
        ] {
            assert!(
                message.text.contains(expected),
                "{expected}: {}",
                message.text
            );
        }
    }
}
