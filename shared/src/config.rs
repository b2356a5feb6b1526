//! Settings from the environment (STRIPE_SECRET_KEY, STRIPE_API_BASE, STRIPE_WEBHOOK_SECRET,
//! CHALLENGE_ID, APP_URL, TABLE_NAME, SESSION_SECRET, FROM_EMAIL, OWNER_EMAIL,
//! SIGN_IN_CODE_TTL_SECONDS). The DynamoDB and SES
//! endpoints are the AWS SDK's own `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL_SESV2`,
//! read in [`crate::aws`], not here.

use std::fmt;

use crate::{Error, Result};

/// What every function needs to know, read once per cold start.
#[derive(Clone)]
pub struct Config {
    /// `sk_test_…` / `sk_live_…`. Never logged (see the `Debug` impl).
    pub stripe_secret_key: String,
    /// Base URL of the Stripe API (`STRIPE_API_BASE`); `None` means api.stripe.com.
    pub stripe_api_base: Option<String>,
    /// `whsec_…`: only the webhook function needs it, so it is optional here and
    /// [`Config::webhook_secret`] fails clearly where it is missing. Never logged.
    pub stripe_webhook_secret: Option<String>,
    /// Tags every Stripe object we create (`metadata.challenge_id`) and names our
    /// lookup keys and meter event.
    pub challenge_id: String,
    /// Where the web client is served, without a trailing slash.
    pub app_url: String,
    /// The DynamoDB table.
    pub table_name: String,
    /// Signs the session cookies (`SESSION_SECRET`, at least 32 characters). Never logged.
    pub session_secret: String,
    /// The address our mail comes from (`FROM_EMAIL`): an identity SES may send from.
    pub from_email: String,
    /// How long a sign-in code works (`SIGN_IN_CODE_TTL_SECONDS`, default 600 = 10
    /// minutes, at most an hour). Tests set it short to see a code expire.
    pub sign_in_code_ttl_seconds: i64,
    /// Who runs /dev/chat (`OWNER_EMAIL`): every session request is emailed there.
    pub owner_email: String,
}

/// How long a sign-in code works unless `SIGN_IN_CODE_TTL_SECONDS` says otherwise.
pub const SIGN_IN_CODE_TTL_SECONDS: i64 = 600;

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    /// Every missing or invalid variable is named in one error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut required = |name: &str| {
            get(name).unwrap_or_else(|| {
                problems.push(format!("{name} is not set"));
                String::new()
            })
        };
        let stripe_secret_key = required("STRIPE_SECRET_KEY");
        let challenge_id = required("CHALLENGE_ID");
        let app_url = required("APP_URL").trim_end_matches('/').to_owned();
        let table_name = required("TABLE_NAME");
        let session_secret = required("SESSION_SECRET");
        let from_email = required("FROM_EMAIL");
        let owner_email = required("OWNER_EMAIL");
        let stripe_api_base =
            get("STRIPE_API_BASE").map(|base| base.trim_end_matches('/').to_owned());

        if !challenge_id.is_empty()
            && !challenge_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            problems.push("CHALLENGE_ID may only contain letters, digits, '_' and '-'".into());
        }
        for (name, url) in [
            ("APP_URL", Some(&app_url)),
            ("STRIPE_API_BASE", stripe_api_base.as_ref()),
        ] {
            if let Some(url) = url.filter(|u| !u.is_empty())
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                problems.push(format!("{name} must be an http(s) URL"));
            }
        }
        for (name, address) in [("FROM_EMAIL", &from_email), ("OWNER_EMAIL", &owner_email)] {
            if !address.is_empty() && !address.contains('@') {
                problems.push(format!("{name} must be an email address"));
            }
        }
        let sign_in_code_ttl_seconds = match get("SIGN_IN_CODE_TTL_SECONDS") {
            None => SIGN_IN_CODE_TTL_SECONDS,
            Some(value) => match value.parse::<i64>() {
                Ok(seconds) if (0..=3600).contains(&seconds) => seconds,
                _ => {
                    problems.push(
                        "SIGN_IN_CODE_TTL_SECONDS must be a whole number of seconds from 0 to 3600"
                            .into(),
                    );
                    SIGN_IN_CODE_TTL_SECONDS
                }
            },
        };
        if !session_secret.is_empty() && session_secret.chars().count() < 32 {
            problems.push("SESSION_SECRET must be at least 32 characters".into());
        }
        if !problems.is_empty() {
            return Err(Error::Internal(format!(
                "configuration: {}",
                problems.join("; ")
            )));
        }
        Ok(Config {
            stripe_secret_key,
            stripe_api_base,
            stripe_webhook_secret: get("STRIPE_WEBHOOK_SECRET"),
            challenge_id,
            app_url,
            table_name,
            session_secret,
            from_email,
            sign_in_code_ttl_seconds,
            owner_email,
        })
    }

    /// The webhook signing secret, or a clear error where it is not configured.
    pub fn webhook_secret(&self) -> Result<&str> {
        self.stripe_webhook_secret.as_deref().ok_or_else(|| {
            Error::Internal("configuration: STRIPE_WEBHOOK_SECRET is not set".into())
        })
    }

    /// `{APP_URL}/dashboard`: where Checkout and the portal send the customer back.
    pub fn dashboard_url(&self) -> String {
        format!("{}/dashboard", self.app_url)
    }
}

/// Secrets are shown only as "set"/"unset", so a `{:?}` in a log line cannot leak them.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |set: bool| if set { "<redacted>" } else { "<unset>" };
        f.debug_struct("Config")
            .field(
                "stripe_secret_key",
                &redacted(!self.stripe_secret_key.is_empty()),
            )
            .field("stripe_api_base", &self.stripe_api_base)
            .field(
                "stripe_webhook_secret",
                &redacted(self.stripe_webhook_secret.is_some()),
            )
            .field("challenge_id", &self.challenge_id)
            .field("app_url", &self.app_url)
            .field("table_name", &self.table_name)
            .field("session_secret", &redacted(!self.session_secret.is_empty()))
            .field("from_email", &self.from_email)
            .field("sign_in_code_ttl_seconds", &self.sign_in_code_ttl_seconds)
            .field("owner_email", &self.owner_email)
            .finish()
    }
}

/// A complete configuration for the unit tests of other modules (challenge `c1`,
/// app at `http://app.test`, mail from `no-reply@app.test` to `owner@app.test`).
#[cfg(test)]
impl Config {
    pub(crate) fn example() -> Config {
        Config::from_lookup(|name| {
            let value = match name {
                "STRIPE_SECRET_KEY" => "sk_test_x",
                "CHALLENGE_ID" => "c1",
                "APP_URL" => "http://app.test",
                "TABLE_NAME" => "t",
                "SESSION_SECRET" => "a-session-secret-of-32-characters",
                "FROM_EMAIL" => "no-reply@app.test",
                "OWNER_EMAIL" => "owner@app.test",
                _ => return None,
            };
            Some(value.to_owned())
        })
        .expect("the example configuration")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const FULL: &[(&str, &str)] = &[
        ("STRIPE_SECRET_KEY", "sk_test_123"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_abc"),
        ("CHALLENGE_ID", "local"),
        ("APP_URL", "http://127.0.0.1:9000/"),
        ("TABLE_NAME", "devchat"),
        ("SESSION_SECRET", "a-session-secret-of-32-characters"),
        ("FROM_EMAIL", "no-reply@devchat.example"),
        ("OWNER_EMAIL", "owner@devchat.example"),
    ];

    #[test]
    fn reads_every_variable() {
        let c = config(FULL).unwrap();
        assert_eq!(c.app_url, "http://127.0.0.1:9000");
        assert_eq!(c.dashboard_url(), "http://127.0.0.1:9000/dashboard");
        assert_eq!(c.stripe_api_base, None);
        assert_eq!(c.webhook_secret().unwrap(), "whsec_abc");
        assert_eq!(c.sign_in_code_ttl_seconds, 600);
        let mut vars = FULL.to_vec();
        vars.push(("SIGN_IN_CODE_TTL_SECONDS", "0"));
        assert_eq!(config(&vars).unwrap().sign_in_code_ttl_seconds, 0);
    }

    #[test]
    fn names_every_missing_variable() {
        let err = config(&[("STRIPE_SECRET_KEY", "sk_test_1"), ("TABLE_NAME", " ")]).unwrap_err();
        let msg = err.to_string();
        for name in [
            "CHALLENGE_ID",
            "APP_URL",
            "TABLE_NAME",
            "SESSION_SECRET",
            "FROM_EMAIL",
            "OWNER_EMAIL",
        ] {
            assert!(msg.contains(&format!("{name} is not set")), "{msg}");
        }
        assert!(!msg.contains("STRIPE_SECRET_KEY"), "{msg}");
    }

    #[test]
    fn rejects_bad_values() {
        let mut vars = FULL.to_vec();
        vars.push(("STRIPE_API_BASE", "127.0.0.1:12111"));
        vars.retain(|(k, _)| *k != "CHALLENGE_ID");
        vars.push(("CHALLENGE_ID", "bad id!"));
        vars.retain(|(k, _)| *k != "FROM_EMAIL");
        vars.push(("FROM_EMAIL", "devchat"));
        vars.push(("SIGN_IN_CODE_TTL_SECONDS", "ten minutes"));
        let msg = config(&vars).unwrap_err().to_string();
        assert!(msg.contains("SIGN_IN_CODE_TTL_SECONDS must be"), "{msg}");
        assert!(
            msg.contains("STRIPE_API_BASE must be an http(s) URL"),
            "{msg}"
        );
        assert!(msg.contains("CHALLENGE_ID may only contain"), "{msg}");
        assert!(msg.contains("FROM_EMAIL must be an email address"), "{msg}");
    }

    #[test]
    fn debug_never_shows_secrets() {
        let shown = format!("{:?}", config(FULL).unwrap());
        assert!(
            !shown.contains("sk_test_123")
                && !shown.contains("whsec_abc")
                && !shown.contains("a-session-secret"),
            "{shown}"
        );
    }

    #[test]
    fn webhook_secret_missing_is_a_clear_error() {
        let vars: Vec<_> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "STRIPE_WEBHOOK_SECRET")
            .collect();
        let err = config(&vars).unwrap().webhook_secret().unwrap_err();
        assert!(err.to_string().contains("STRIPE_WEBHOOK_SECRET is not set"));
    }
}
