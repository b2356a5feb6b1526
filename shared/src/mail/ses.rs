//! [`SesMailer`]: [`Mailer`] on Amazon SES v2 `SendEmail`, from one verified sender
//! (`FROM_EMAIL`). Every function's [`crate::api::App`] has one, but its SES client is
//! built on the first send: only the function that sends (sign-up, for sign-in codes)
//! pays for it, and not at its cold start.

use std::sync::OnceLock;

use aws_sdk_sesv2::{
    Client,
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    types::{Body, Content, Destination, EmailContent},
};

use super::{Mailer, Message};
use crate::{Error, Result, aws};

/// [`Mailer`] on SES, sending from `from`.
#[derive(Clone, Debug)]
pub struct SesMailer {
    /// The AWS configuration and endpoint the client is built from, when first needed.
    sdk: Option<(aws_config::SdkConfig, Option<String>)>,
    client: OnceLock<Client>,
    from: String,
}

fn client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Client {
    let mut config = aws_sdk_sesv2::config::Builder::from(sdk);
    config.set_endpoint_url(endpoint);
    Client::from_conf(config.build())
}

fn failed<E, R>(what: &str, err: SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::Mail(format!("{what}: {}", DisplayErrorContext(err)))
}

fn content(text: &str) -> Result<Content> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|err| Error::Internal(format!("mail content: {err}")))
}

impl SesMailer {
    /// A mailer sending from `from` with the AWS configuration Lambda provides
    /// ([`aws::from_env`]), at `AWS_ENDPOINT_URL_SESV2` (or `AWS_ENDPOINT_URL`) for a
    /// local SES.
    pub(crate) fn on(sdk: &aws_config::SdkConfig, from: &str) -> Self {
        SesMailer {
            sdk: Some((sdk.clone(), aws::endpoint_from_env("SESV2"))),
            client: OnceLock::new(),
            from: from.to_owned(),
        }
    }

    /// A mailer on a local SES (moto server) at `endpoint`, with dummy credentials and
    /// nothing read from the environment (tests, benchmarks).
    pub fn local(endpoint: &str, from: &str) -> Result<Self> {
        Ok(SesMailer::new(
            client(&aws::local()?, Some(endpoint.to_owned())),
            from,
        ))
    }

    pub fn new(client: Client, from: &str) -> Self {
        SesMailer {
            sdk: None,
            client: OnceLock::from(client),
            from: from.to_owned(),
        }
    }

    fn client(&self) -> &Client {
        self.client.get_or_init(|| match &self.sdk {
            Some((sdk, endpoint)) => client(sdk, endpoint.clone()),
            // `new` sets the client; this arm is never taken.
            None => client(&aws_config::SdkConfig::builder().build(), None),
        })
    }

    /// The sender address.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// Makes the sender a verified identity unless it is one: for the local stack and
    /// tests (SES, and moto, refuse mail from an unverified sender). In AWS the SAM
    /// template owns the identity.
    pub async fn ensure_sender(&self) -> Result<()> {
        match self
            .client()
            .create_email_identity()
            .email_identity(&self.from)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .is_some_and(|code| code == "AlreadyExistsException") =>
            {
                Ok(())
            }
            Err(err) => Err(failed("verifying the sender", err)),
        }
    }
}

impl Mailer for SesMailer {
    async fn send(&self, message: &Message) -> Result<()> {
        let body = Body::builder().text(content(&message.text)?).build();
        let email = aws_sdk_sesv2::types::Message::builder()
            .subject(content(&message.subject)?)
            .body(body)
            .build();
        self.client()
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&message.to).build())
            .content(EmailContent::builder().simple(email).build())
            .send()
            .await
            .map_err(|err| failed("sending an email", err))?;
        Ok(())
    }
}
