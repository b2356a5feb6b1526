//! The one error type. Every rule returns it; [`Error::status`] maps it to HTTP in
//! one place, and [`crate::http`] renders it as `{"error":{"message":…}}`.

use http::StatusCode;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or a parameter is invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// No session, or a bad one (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not touch this resource (403).
    #[error("{0}")]
    Forbidden(String),
    /// The user or object does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// Wrong HTTP method for the route (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The request conflicts with the current state, e.g. already subscribed (409).
    #[error("{0}")]
    Conflict(String),
    /// Body over the size limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Stripe failed, after retries (502). The cause is logged, not shown.
    #[error("Stripe request failed: {0}")]
    Stripe(String),
    /// Our storage is unavailable (503). The cause is logged, not shown.
    #[error("storage unavailable: {0}")]
    Storage(String),
    /// A bug or misconfiguration on our side (500). The cause is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Stripe(_) => StatusCode::BAD_GATEWAY,
            Error::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told. Server-side failures get a fixed, safe message;
    /// their cause goes to the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Stripe(_) => "Our payment provider is not answering; please try again.".into(),
            Error::Storage(_) => "Our database is not answering; please try again.".into(),
            Error::Internal(_) => "Something went wrong on our side.".into(),
            other => other.to_string(),
        }
    }
}
