//! One module per `warden` command.

pub mod lifecycle;
pub mod simulate;
