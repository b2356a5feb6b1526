//! Logging with tracing: JSON lines in Lambda (CloudWatch, Logs Insights), readable
//! text locally. The level comes from `RUST_LOG` (default `info`). Secrets never
//! reach the log: [`crate::config::Config`] redacts them in `Debug`, async-stripe
//! marks the API key header sensitive, and we never log request bodies.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
