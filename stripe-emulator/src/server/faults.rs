//! Fault injection (`/_emulator/faults`): the next matching requests wait, fail
//! with a Stripe-shaped error, or drop the connection.

use axum::{
    body::{Body, Bytes},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};

use crate::{
    app::{App, Fault, lock},
    error::ApiError,
};

/// Takes one use of the first fault that matches the request, if any.
pub fn take_fault(app: &App, method: &Method, path: &str) -> Option<Fault> {
    let mut faults = lock(&app.faults);
    let idx = faults.iter().position(|f| {
        path.starts_with(&f.path_prefix)
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    })?;
    let fault = faults[idx].clone();
    if faults[idx].count <= 1 {
        faults.remove(idx);
    } else {
        faults[idx].count -= 1;
    }
    Some(fault)
}

/// The answer a fault gives.
pub fn fault_response(fault: &Fault) -> Response {
    if fault.drop {
        // Headers go out, then the body fails: the client sees the connection cut.
        let stream = futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected fault: connection dropped",
            ))
        });
        return Response::new(Body::from_stream(stream));
    }
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (kind, message) = match status.as_u16() {
        429 => (
            "rate_limit_error",
            "Too many requests hit the API too quickly.",
        ),
        409 => (
            "idempotency_error",
            "There is currently another in-progress request using this Stripe API key.",
        ),
        s if s >= 500 => ("api_error", "An unknown error occurred (injected fault)."),
        _ => ("invalid_request_error", "Injected fault."),
    };
    ApiError::new(status, kind, message).into_response()
}
