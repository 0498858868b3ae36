//! The audit trail: a CloudTrail record for every ECR API call and `/v2` action, written durably
//! ([`writer`]) as CloudTrail log files, and read back ([`lookup`]) with the filters of
//! `aws cloudtrail lookup-events`.
//!
//! Records are built by the request observer ([`crate::access`]) from what the request's one
//! description named (the ECR action, its parameters, its repositories), who the caller was, and
//! how the call ended; lifecycle expiries are recorded by the lifecycle service as service events.

pub mod event;
pub mod lookup;
pub mod writer;

pub use event::Event;
pub use writer::{OnFailure, Trail, TrailConfig, TrailError, TrailStats};
