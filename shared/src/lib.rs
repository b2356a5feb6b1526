//! /dev/chat billing: the crate every Lambda function shares.
