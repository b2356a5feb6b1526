//! The app's mailer against moto server's SES: what it sends arrives, from FROM_EMAIL.

use devchat::mail::{Mailer, Message};
use devchat_kit::{FROM_EMAIL, Options, Stack};

#[tokio::test]
async fn mail_reaches_ses_from_the_configured_sender() {
    let stack = Stack::start(Options::default()).await;
    let message = Message {
        to: "ada@example.com".into(),
        subject: "Hello".into(),
        text: "One line.\nAnother.".into(),
    };
    stack.app.mail.send(&message).await.expect("sent");

    let mail = stack.mail_to("ada@example.com").await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].from, FROM_EMAIL);
    assert_eq!(mail[0].subject, "Hello");
    assert_eq!(mail[0].body, "One line.\nAnother.");
    assert!(stack.mail_to("bob@example.com").await.is_empty());
}

#[tokio::test]
async fn an_unverified_sender_is_a_mail_error() {
    let stack = Stack::start(Options::default()).await;
    let stranger = devchat::mail::SesMailer::local(&stack.dynamo, "someone@elsewhere.test")
        .expect("SES client");
    let message = Message {
        to: "ada@example.com".into(),
        subject: "Hello".into(),
        text: "Hi".into(),
    };
    let err = stranger.send(&message).await.expect_err("refused");
    assert!(matches!(err, devchat::Error::Mail(_)), "{err:?}");
    assert!(stack.sent_mail().await.is_empty());
}
