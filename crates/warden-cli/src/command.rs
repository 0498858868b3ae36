//! One module per `warden` command.

pub mod simulate;
