//! Amazon ECR lifecycle policies: validation as PutLifecyclePolicy validates, and evaluation
//! exactly as the ECR user guide's "Lifecycle Policy Evaluation Rules" and worked examples say.
//! Pure logic, no I/O: the registry's scheduler and `warden lifecycle preview` both call it.
//!
//! ```
//! use warden_lifecycle::{evaluate, Image, LifecyclePolicy};
//! // The guide's "Filtering on Image Count": keep one untagged image.
//! let policy = LifecyclePolicy::parse(r#"{"rules": [{"rulePriority": 1,
//!     "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1},
//!     "action": {"type": "expire"}}]}"#).unwrap();
//! let image = |d: &str, t: i64| Image { digest: d.into(), tags: vec![], pushed_at: t };
//! let expired = evaluate(&policy, &[image("sha256:a", 100), image("sha256:b", 200)], 1_000);
//! assert_eq!(expired.len(), 1);
//! assert_eq!(expired[0].image, 0); // the older one
//! ```

mod evaluate;
mod policy;
mod preview;

pub use evaluate::{evaluate, Expiry, Image};
pub use policy::{Count, LifecycleError, LifecyclePolicy, Rule, TagSelection, MAX_POLICY_CHARS, MAX_RULES};
pub use preview::{
    parse_time, preview, DescribeImages, ImageDetail, ImageTimeError, PreviewAction, PreviewResponse, PreviewResult,
    Summary,
};
