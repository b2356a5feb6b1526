//! Logging with tracing: JSON lines in Lambda (CloudWatch, Logs Insights), readable
//! text locally. The level comes from `RUST_LOG` (default `info`). Secrets never
//! reach the log: [`crate::config::Config`] redacts them in `Debug`, async-stripe
//! marks the API key header sensitive, and we never log request bodies.
//!
//! `RUST_LOG` is read as [`Targets`] (`info`, `warn,devchat=info`: levels per target),
//! not as an `EnvFilter`: the same directives without span and field filters, and
//! without linking a regular-expression engine into every function (bench/NOTES.md).

use std::str::FromStr;

use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

const DEFAULT_FILTER: &str = "info,aws_config=warn,aws_smithy_runtime=warn,hyper=warn";

/// The filter `RUST_LOG` asks for; the default when it is unset or not understood.
pub fn filter(rust_log: Option<&str>) -> Targets {
    rust_log
        .and_then(|directives| Targets::from_str(directives).ok())
        .unwrap_or_else(|| Targets::from_str(DEFAULT_FILTER).unwrap_or_default())
}

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let format = tracing_subscriber::fmt::layer().with_target(false);
    let registry = tracing_subscriber::registry().with(filter);
    let _ = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        registry
            .with(format.json().flatten_event(true).with_current_span(false))
            .try_init()
    } else {
        registry.with(format).try_init()
    };
}

#[cfg(test)]
mod tests {
    use tracing::{Level, level_filters::LevelFilter};

    use super::*;

    #[test]
    fn rust_log_sets_levels_per_target_and_falls_back_to_info() {
        let default = filter(None);
        assert!(default.would_enable("devchat::sync", &Level::INFO));
        assert!(!default.would_enable("aws_smithy_runtime::client", &Level::INFO));
        assert!(default.would_enable("aws_smithy_runtime::client", &Level::WARN));
        let custom = filter(Some("warn,devchat=debug"));
        assert!(custom.would_enable("devchat::api", &Level::DEBUG));
        assert!(!custom.would_enable("hyper", &Level::INFO));
        // Not understood (an EnvFilter span directive): the default, not silence.
        let odd = filter(Some("[span{field=1}]=debug"));
        assert_eq!(odd.default_level(), Some(LevelFilter::INFO));
    }
}
