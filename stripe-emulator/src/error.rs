//! Stripe-shaped errors: `{"error":{"type","code","message","param"}}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// Extra fields merged into the error object (e.g. `decline_code`); boxed to
    /// keep `ApiResult` small.
    pub extra: Option<Box<serde_json::Value>>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            extra: None,
        }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 400 `parameter_unknown`, worded as Stripe words it.
    pub fn unknown_param(param: &str) -> Self {
        Self::invalid(format!("Received unknown parameter: {param}"))
            .code("parameter_unknown")
            .param(param)
    }

    /// 400 `parameter_missing`.
    pub fn missing_param(param: &str) -> Self {
        Self::invalid(format!("Missing required param: {param}."))
            .code("parameter_missing")
            .param(param)
    }

    /// 400 `parameter_invalid_*` for a wrong type or value.
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Self::invalid(message)
            .code("parameter_invalid")
            .param(param)
    }

    /// 404 `resource_missing`.
    pub fn no_such(what: &str, id: &str, param: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("No such {what}: '{id}'"),
        )
        .code("resource_missing")
        .param(param)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
    }

    /// 402 `card_error`.
    pub fn card_declined(message: impl Into<String>, decline_code: &str) -> Self {
        let mut e =
            Self::new(StatusCode::PAYMENT_REQUIRED, "card_error", message).code("card_declined");
        e.extra = Some(Box::new(json!({ "decline_code": decline_code })));
        e
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let mut err = json!({
            "type": self.kind,
            "message": self.message,
        });
        if let Some(code) = self.code {
            err["code"] = json!(code);
        }
        if let Some(param) = &self.param {
            err["param"] = json!(param);
        }
        if let Some(serde_json::Value::Object(extra)) = self.extra.as_deref() {
            for (k, v) in extra {
                err[k] = v.clone();
            }
        }
        json!({ "error": err })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
