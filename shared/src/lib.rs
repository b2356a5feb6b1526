//! /dev/chat billing: the crate every Lambda function shares.
//!
//! - [`config`]: settings from the environment.
//! - [`error`]: the one error type, mapped to HTTP in one place.
//! - [`model`]: users, subscriptions and the catalog as we store them.
//! - [`stripe`] and [`store`]: small traits for Stripe and storage, with the
//!   async-stripe and DynamoDB implementations.
//! - Business rules, named after what they do: [`catalog`] (provisioning),
//!   [`signup`], [`sign_in`] (codes by email), [`session`] (revocable cookies),
//!   [`checkout`], [`portal`], [`usage`], [`sync`] (webhooks).
//! - [`api`]: one handler per HTTP route (parse → rule → respond), which the
//!   function binaries under `functions/` run.

pub mod api;
mod aws;
pub mod billing;
pub mod catalog;
pub mod cfn;
pub mod checkout;
pub mod config;
pub mod error;
pub mod http;
pub mod mail;
pub mod model;
pub mod outbox;
pub mod portal;
pub mod session;
pub mod sign_in;
pub mod signup;
pub mod store;
pub mod stripe;
pub mod sync;
pub mod telemetry;
pub mod usage;

pub use error::{Error, Result};
