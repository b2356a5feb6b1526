//! The mail our functions sent, as moto server's SES holds it (`/moto-api/data.json`).

use serde_json::Value;

use crate::Stack;

/// One email as SES (moto server) accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

impl Stack {
    /// Every email SES (moto server) has accepted so far, oldest first.
    pub async fn sent_mail(&self) -> Vec<SentMail> {
        let data: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.dynamo))
            .send()
            .await
            .expect("moto server")
            .json()
            .await
            .expect("moto's data");
        let messages = data["ses"]["Message"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        messages
            .iter()
            .map(|m| SentMail {
                from: m["source"].as_str().unwrap_or_default().to_owned(),
                to: (m["destinations"]["ToAddresses"].as_array())
                    .map(|to| {
                        to.iter()
                            .filter_map(|a| a.as_str())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                subject: m["subject"].as_str().unwrap_or_default().to_owned(),
                body: m["body"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The emails sent to `address` so far, oldest first.
    pub async fn mail_to(&self, address: &str) -> Vec<SentMail> {
        let mut mail = self.sent_mail().await;
        mail.retain(|m| m.to.iter().any(|to| to == address));
        mail
    }

    /// The sign-in code in the latest email to `address` (panics when there is none).
    pub async fn latest_code(&self, address: &str) -> String {
        let mail = self.mail_to(address).await;
        let last = mail
            .last()
            .unwrap_or_else(|| panic!("no mail to {address}"));
        assert_eq!(last.subject, devchat::sign_in::SUBJECT, "{last:?}");
        code_in(&last.body).unwrap_or_else(|| panic!("no code in {last:?}"))
    }
}

/// The first run of exactly six digits in `text`.
pub fn code_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(5)).find_map(|i| {
        let run = &bytes[i..i + 6];
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 6).copied();
        let digit = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_digit());
        (run.iter().all(u8::is_ascii_digit) && !digit(before) && !digit(after))
            .then(|| String::from_utf8_lossy(run).into_owned())
    })
}
