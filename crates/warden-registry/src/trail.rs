//! The registry's audit trail in CloudTrail's format; [`lookup`] reads it back.

pub mod lookup;
