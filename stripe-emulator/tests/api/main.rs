//! Integration tests of the emulator's resources over HTTP: each test starts its
//! own emulator in-process on a free port.

mod customers;
mod events;
mod meters;
mod portal_configurations;
mod prices;
mod retention;
mod sdk;
mod spec;
#[path = "../support/mod.rs"]
mod support;
mod webhook_endpoints;
mod wire;
