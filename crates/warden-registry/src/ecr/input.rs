//! The ECR API's request shapes, one serde struct per operation (the members warden reads; others
//! are ignored, as AWS ignores them), decoded once from the JSON body by the describer.
//!
//! ```
//! use warden_registry::ecr::input::Input;
//! let input = Input::parse("DescribeImages", br#"{"repositoryName":"team/app","maxResults":1}"#).unwrap();
//! assert_eq!(input.name(), "DescribeImages");
//! assert_eq!(input.target().and_then(|t| t.repository_name.as_deref()), Some("team/app"));
//! assert!(Input::parse("DescribeImages", br#"{"maxResults":"one"}"#).is_err());
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{EcrError, Result};

/// The registry and repository most operations address.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `registryId` (the account); this registry's own when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    /// `repositoryName`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_name: Option<String>,
}

/// `{Key, Value}` of a resource tag.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TagInput {
    /// Key.
    #[serde(rename = "Key")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Value.
    #[serde(rename = "Value")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `{imageDigest, imageTag}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageId {
    /// Digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_tag: Option<String>,
}

/// `imageScanningConfiguration`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanningConfiguration {
    /// `scanOnPush`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_on_push: Option<bool>,
}

/// `filter` of ListImages / DescribeImages.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageFilter {
    /// `TAGGED`, `UNTAGGED` or `ANY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_status: Option<String>,
}

/// `nextToken` / `maxResults`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    /// Where the previous page ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// Page size, 1 to 1,000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_results: Option<u64>,
}

macro_rules! operation {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// The registry and repository.
            #[serde(flatten)]
            pub target: Target,
            $($(#[$fdoc])* #[serde(skip_serializing_if = "absent")] pub $field: $ty,)*
        }
    };
}

macro_rules! untargeted {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, Deserialize, Serialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fdoc])* #[serde(skip_serializing_if = "absent")] pub $field: $ty,)*
        }
    };
}

/// A member the audit trail leaves out: an absent optional one. (Flattened groups are written
/// member by member.)
trait Absent {
    fn absent(&self) -> bool;
}

impl<T> Absent for Option<T> {
    fn absent(&self) -> bool {
        self.is_none()
    }
}

impl Absent for Paging {
    fn absent(&self) -> bool {
        false
    }
}

fn absent<T: Absent>(value: &T) -> bool {
    value.absent()
}

untargeted!(
    /// GetAuthorizationToken.
    GetAuthorizationToken {
        /// Registries to get tokens for.
        registry_ids: Option<Vec<String>>,
    }
);
operation!(
    /// CreateRepository.
    CreateRepository {
        /// Resource tags.
        tags: Option<Vec<TagInput>>,
        /// `MUTABLE` / `IMMUTABLE`.
        image_tag_mutability: Option<String>,
        /// Scanning configuration.
        image_scanning_configuration: Option<ScanningConfiguration>,
    }
);
untargeted!(
    /// DescribeRepositories.
    DescribeRepositories {
        /// The registry.
        registry_id: Option<String>,
        /// Which repositories (all when absent).
        repository_names: Option<Vec<String>>,
        /// Paging.
        #[serde(flatten)]
        paging: Paging,
    }
);
operation!(
    /// DeleteRepository.
    DeleteRepository {
        /// Delete the images too.
        force: Option<bool>,
    }
);
operation!(
    /// PutImageTagMutability.
    PutImageTagMutability {
        /// `MUTABLE` / `IMMUTABLE`.
        image_tag_mutability: Option<String>,
    }
);
operation!(
    /// PutImageScanningConfiguration.
    PutImageScanningConfiguration {
        /// Scanning configuration.
        image_scanning_configuration: Option<ScanningConfiguration>,
    }
);
operation!(
    /// SetRepositoryPolicy.
    SetRepositoryPolicy {
        /// The policy.
        policy_text: Option<String>,
        /// Apply even if it locks the caller out.
        force: Option<bool>,
    }
);
operation!(
    /// GetRepositoryPolicy.
    GetRepositoryPolicy {}
);
operation!(
    /// DeleteRepositoryPolicy.
    DeleteRepositoryPolicy {}
);
untargeted!(
    /// TagResource.
    TagResource {
        /// The repository's ARN.
        resource_arn: Option<String>,
        /// Tags to add.
        tags: Option<Vec<TagInput>>,
    }
);
untargeted!(
    /// UntagResource.
    UntagResource {
        /// The repository's ARN.
        resource_arn: Option<String>,
        /// Keys to remove.
        tag_keys: Option<Vec<String>>,
    }
);
untargeted!(
    /// ListTagsForResource.
    ListTagsForResource {
        /// The repository's ARN.
        resource_arn: Option<String>,
    }
);
operation!(
    /// ListImages.
    ListImages {
        /// Tag status filter.
        filter: Option<ImageFilter>,
        /// Paging.
        #[serde(flatten)]
        paging: Paging,
    }
);
operation!(
    /// DescribeImages.
    DescribeImages {
        /// Which images (all when absent).
        image_ids: Option<Vec<ImageId>>,
        /// Tag status filter.
        filter: Option<ImageFilter>,
        /// Paging.
        #[serde(flatten)]
        paging: Paging,
    }
);
operation!(
    /// BatchGetImage.
    BatchGetImage {
        /// Which images.
        image_ids: Option<Vec<ImageId>>,
        /// Manifest formats the caller accepts.
        accepted_media_types: Option<Vec<String>>,
    }
);
operation!(
    /// PutImage.
    PutImage {
        /// The manifest.
        image_manifest: Option<String>,
        /// Its media type.
        image_manifest_media_type: Option<String>,
        /// The tag to point at it.
        image_tag: Option<String>,
        /// The digest it must have.
        image_digest: Option<String>,
    }
);
operation!(
    /// BatchDeleteImage.
    BatchDeleteImage {
        /// Which images.
        image_ids: Option<Vec<ImageId>>,
    }
);
operation!(
    /// BatchCheckLayerAvailability.
    BatchCheckLayerAvailability {
        /// Which layers.
        layer_digests: Option<Vec<String>>,
    }
);
operation!(
    /// GetDownloadUrlForLayer.
    GetDownloadUrlForLayer {
        /// Which layer.
        layer_digest: Option<String>,
    }
);
operation!(
    /// InitiateLayerUpload.
    InitiateLayerUpload {}
);
operation!(
    /// UploadLayerPart.
    UploadLayerPart {
        /// The session.
        upload_id: Option<String>,
        /// First byte of the part in the layer.
        part_first_byte: Option<u64>,
        /// Last byte of the part in the layer.
        part_last_byte: Option<u64>,
        /// The part, base64 (never in the audit trail).
        #[serde(skip_serializing)]
        layer_part_blob: Option<String>,
    }
);
operation!(
    /// CompleteLayerUpload.
    CompleteLayerUpload {
        /// The session.
        upload_id: Option<String>,
        /// The layer's digest (exactly one).
        layer_digests: Option<Vec<String>>,
    }
);
operation!(
    /// PutLifecyclePolicy.
    PutLifecyclePolicy {
        /// The policy.
        lifecycle_policy_text: Option<String>,
    }
);
operation!(
    /// GetLifecyclePolicy.
    GetLifecyclePolicy {}
);
operation!(
    /// DeleteLifecyclePolicy.
    DeleteLifecyclePolicy {}
);
operation!(
    /// StartLifecyclePolicyPreview.
    StartLifecyclePolicyPreview {
        /// The policy to preview (the stored one when absent).
        lifecycle_policy_text: Option<String>,
    }
);
operation!(
    /// GetLifecyclePolicyPreview.
    GetLifecyclePolicyPreview {
        /// Which images.
        image_ids: Option<Vec<ImageId>>,
        /// Paging.
        #[serde(flatten)]
        paging: Paging,
    }
);

macro_rules! inputs {
    (targeted: $($t:ident),* ; untargeted: $($u:ident),* $(,)?) => {
        /// An ECR call: the operation and its input.
        #[derive(Debug, Clone)]
        #[allow(missing_docs)]
        pub enum Input { $($t($t),)* $($u($u),)* }

        impl Input {
            /// Decodes the body of operation `name` (an empty body is `{}`). A body that is not
            /// JSON of the operation's shape is a `SerializationException`, as AWS answers.
            pub fn parse(name: &str, body: &[u8]) -> Result<Input> {
                match name {
                    $(stringify!($t) => Ok(Input::$t(decode(body)?)),)*
                    $(stringify!($u) => Ok(Input::$u(decode(body)?)),)*
                    other => Err(EcrError::new(
                        "UnknownOperationException",
                        format!("{} is not supported by this registry", other.chars().take(64).collect::<String>()),
                    )),
                }
            }

            /// The operation named `name`, when this registry has it.
            pub fn operation(name: &str) -> Option<&'static str> {
                match name {
                    $(stringify!($t) => Some(stringify!($t)),)*
                    $(stringify!($u) => Some(stringify!($u)),)*
                    _ => None,
                }
            }

            /// The operation's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Input::$t(_) => stringify!($t),)*
                    $(Input::$u(_) => stringify!($u),)*
                }
            }

            /// The call's parameters as the audit trail records them (`requestParameters`):
            /// the members given, without layer bytes.
            pub fn parameters(&self) -> Option<Box<serde_json::value::RawValue>> {
                let value = match self {
                    $(Input::$t(i) => serde_json::value::to_raw_value(i),)*
                    $(Input::$u(i) => serde_json::value::to_raw_value(i),)*
                };
                value.ok()
            }

            /// The registry and repository, for the operations that address one.
            pub fn target(&self) -> Option<&Target> {
                match self {
                    $(Input::$t(i) => Some(&i.target),)*
                    _ => None,
                }
            }
        }
    };
}

inputs! {
    targeted: CreateRepository, DeleteRepository, PutImageTagMutability, PutImageScanningConfiguration,
        SetRepositoryPolicy, GetRepositoryPolicy, DeleteRepositoryPolicy, ListImages, DescribeImages,
        BatchGetImage, PutImage, BatchDeleteImage, BatchCheckLayerAvailability, GetDownloadUrlForLayer,
        InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, PutLifecyclePolicy, GetLifecyclePolicy,
        DeleteLifecyclePolicy, StartLifecyclePolicyPreview, GetLifecyclePolicyPreview;
    untargeted: GetAuthorizationToken, DescribeRepositories, TagResource, UntagResource, ListTagsForResource,
}

fn decode<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        EcrError::new("SerializationException", format!("the request body does not match the operation's shape: {e}"))
    })
}
