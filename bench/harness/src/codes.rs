//! Sign-in codes for the sign-in action, from where a user gets one: a known email
//! asks `POST /users` from a browser without a session, the function emails a code
//! (moto's SES), and the bench reads it in the mail, as the user would. The table holds
//! only the code's HMAC, so the mail is the one honest source.
//!
//! A code works once, and an email gets at most 5 an hour and a source IP 30, so each
//! code is for a user of its own, asked for from an address of its own. Topping up
//! happens outside every measurement (the calls it makes are drained before the
//! measured ones).

use std::collections::HashMap;

use crate::{
    Result,
    actions::{Fixtures, signup},
    scenario::Fleet,
    stack::Stack,
};

/// A source IP for the `n`th code request (10.0.0.0/8, one per request).
fn source_ip(n: usize) -> String {
    format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
}

/// Makes sure `fx` holds at least `need` unused codes: for each one missing, a new
/// user signs up, asks for a code as a known email, and the code is read from the mail.
pub async fn top_up(stack: &Stack, fleet: &mut Fleet, fx: &Fixtures, need: usize) -> Result<()> {
    let missing = need.saturating_sub(fx.codes_left());
    if missing == 0 {
        return Ok(());
    }
    crate::progress(format_args!(
        "  sign-in codes: asking for {missing} by email"
    ));
    let mut asked = Vec::with_capacity(missing);
    for _ in 0..missing {
        let n = fx.next();
        let email = format!("bench-{}-signin-{n}@example.com", fx.tag);
        fleet.call("signup", &signup(&email)).await?;
        let answer = fleet
            .call("signup", &signup(&email).with_source_ip(&source_ip(n)))
            .await?;
        if answer.status() != 202 {
            return Err(format!("a known email got {} instead of a code", answer.status()).into());
        }
        asked.push(email);
    }
    let mut latest: HashMap<String, String> = HashMap::new();
    for mail in stack.sent_mail().await {
        if let (Some(to), Some(code)) = (mail.to.first(), devchat_kit::code_in(&mail.body)) {
            latest.insert(to.clone(), code);
        }
    }
    let mut codes = fx.codes.lock().map_err(|_| "the code pool is poisoned")?;
    for email in asked {
        let code = latest
            .remove(&email)
            .ok_or_else(|| format!("no code was emailed to {email}"))?;
        codes.push_back((email, code));
    }
    stack.drain();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_request_comes_from_its_own_address() {
        let ips: std::collections::HashSet<String> = (0..70_000).map(super::source_ip).collect();
        assert_eq!(ips.len(), 70_000);
        assert_eq!(super::source_ip(258), "10.0.1.2");
    }
}
