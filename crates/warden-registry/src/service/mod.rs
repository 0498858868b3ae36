//! What both APIs do the same way, below their handlers: storing manifests (one metadata
//! transaction), upload sessions, garbage collection and the lifecycle scheduler. Handlers of the
//! distribution API (`crate::oci`) and of the ECR API (`crate::ecr`) call in here; nothing here
//! calls back into them.

pub mod gc;
pub mod images;
pub mod lifecycle;
pub mod manifests;
pub mod uploads;
