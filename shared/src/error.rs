//! The one error type. Every rule returns it; [`crate::http`] maps it to an HTTP status
//! and renders it as `{"error":{"message":…}}`, in one place.

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or a parameter is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// No session, or a bad one.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not touch this resource.
    #[error("{0}")]
    Forbidden(String),
    /// The user or object does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Wrong HTTP method for the route.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with the current state, e.g. already subscribed.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts (sign-in codes): try again after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// Body over the size limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Stripe failed, after retries. The cause is logged, not shown.
    #[error("Stripe request failed: {0}")]
    Stripe(String),
    /// Our storage is unavailable. The cause is logged, not shown.
    #[error("storage unavailable: {0}")]
    Storage(String),
    /// Mail could not be sent (SES). The cause is logged, not shown.
    #[error("mail unavailable: {0}")]
    Mail(String),
    /// A bug or misconfiguration on our side. The cause is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}
