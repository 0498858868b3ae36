//! One module per `warden` command.

pub mod check;
mod common;
pub mod explain;
pub mod lifecycle;
pub mod policy_test;
pub mod serve;
pub mod simulate;
pub mod trail;
pub mod validate;
pub mod who;
