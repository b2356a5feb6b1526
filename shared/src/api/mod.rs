//! One handler per HTTP route: parse the request, call a rule, respond. The function
//! binaries under `functions/` run these; tests call them in-process with
//! `lambda_http` requests.

pub mod checkout;
pub mod get_user;
pub mod offerings;
pub mod portal;
pub mod schedule;
pub mod signup;
pub mod webhook;
