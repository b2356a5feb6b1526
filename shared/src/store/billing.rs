//! What the dashboard and "Arrange session" store beside the user: session requests,
//! invoices, and whether the user is on the outbox (has requests that may still have
//! work to send, [`crate::outbox`]). A trait of its own, beside
//! [`super::Store`], implemented by [`super::DynamoStore`] in `dynamo/billing.rs`.

use crate::{
    Result,
    model::{Invoice, SessionRequest},
};

/// What [`BillingStore::add_session`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionAdded {
    /// Stored now.
    New,
    /// A request with this id was already stored (a retried click): here it is.
    Existing(SessionRequest),
    /// The period's one included session is taken (monthly).
    PeriodTaken,
}

/// What was sent for a stored request, marked on it in one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionMarks {
    /// Stripe accepted its meter event.
    pub metered: bool,
    /// SES accepted the owner's email (the sender's claim goes with it).
    pub notified: bool,
}

pub trait BillingStore: Send + Sync {
    /// Stores `session` on the user's record in one conditional write, unless one
    /// with its id is there (a `session` carrying a mail claim is stored claimed); with `one_per_period`, only if no other request holds its
    /// period (`period_start`) yet. The same write puts the user on the outbox and
    /// counts the request in [`crate::model::User::outbox_adds`], and drops the
    /// requests `drop` names (pruning, [`crate::billing::stale_sessions`]).
    fn add_session(
        &self,
        user_id: &str,
        session: &SessionRequest,
        one_per_period: bool,
        drop: &[String],
    ) -> impl Future<Output = Result<SessionAdded>> + Send;
    /// Sets what `marks` says was sent (both in one write). With `clear`, the same
    /// write takes the user off the outbox if `outbox_adds` is still `clear` (no
    /// request was stored since the caller's view); otherwise it only marks.
    fn mark_session(
        &self,
        user_id: &str,
        id: &str,
        marks: SessionMarks,
        clear: Option<u64>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Claims the sending of the request's email at `now` for the sender `token`,
    /// unless it is sent, or claimed since `stale_before` by another sender. Returns
    /// whether the claim is ours.
    fn claim_session_mail(
        &self,
        user_id: &str,
        id: &str,
        token: &str,
        now: i64,
        stale_before: i64,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Gives up the claim of `token`, if it holds one (the send failed, or the claim
    /// may have gone through unanswered), so the next drain tries at once; another
    /// sender's claim stays.
    fn release_session_mail(
        &self,
        user_id: &str,
        id: &str,
        token: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Writes the invoice unless the stored one is newer by (`as_of`, `rank`), and
    /// drops the invoices `drop` names in the same write (pruning,
    /// [`crate::billing::invoices_to_drop`]). Returns whether it was written.
    fn save_invoice(
        &self,
        user_id: &str,
        invoice: &Invoice,
        drop: &[String],
    ) -> impl Future<Output = Result<bool>> + Send;
    /// The outbox: up to `limit` ids of users whose requests may still have work to
    /// send (an index of the users' items; eventually consistent).
    fn outbox_pending(&self, limit: usize) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Takes the user off the outbox if `outbox_adds` is still `adds` (no request was
    /// stored since the caller read it); returns whether it did.
    fn outbox_clear(&self, user_id: &str, adds: u64) -> impl Future<Output = Result<bool>> + Send;
}
