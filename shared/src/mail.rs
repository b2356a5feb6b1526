//! Mail, behind a small trait ([`Mailer`]), and its Amazon SES implementation
//! ([`SesMailer`]; moto server's SES locally).

mod ses;

pub use ses::SesMailer;

use crate::Result;

/// One plain-text email to one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Sends mail. A failure is [`crate::Error::Mail`]; the caller decides whether it fails
/// the request.
pub trait Mailer: Send + Sync {
    fn send(&self, message: &Message) -> impl Future<Output = Result<()>> + Send;
}
