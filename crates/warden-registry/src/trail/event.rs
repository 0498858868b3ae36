//! One CloudTrail record, shaped as the Amazon ECR User Guide's example entry ("Understanding
//! Amazon ECR Log File Entries") and the CloudTrail record contents reference: an `AwsApiCall` for
//! every ECR API call and `/v2` action (named as the ECR action it was authorized as), an
//! `AwsServiceEvent` (`PolicyExecutionEvent`) for each lifecycle expiry.
//!
//! What is never in a record: credentials (the `Authorization` header, registry tokens,
//! `GetAuthorizationToken`'s answer), layer bytes (`UploadLayerPart`'s `layerPartBlob`), and the
//! answers of read-only calls (`responseElements` is `null` for them, as CloudTrail records
//! them).

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use warden_policy::PrincipalKind;
use warden_tower::Caller;

/// The version of the record format written.
pub const EVENT_VERSION: &str = "1.08";
/// `eventSource` of every record.
pub const EVENT_SOURCE: &str = "ecr.amazonaws.com";
/// The resource type of a repository.
pub const REPOSITORY_TYPE: &str = "AWS::ECR::Repository";

/// A CloudTrail record. Fields serialize in CloudTrail's order; `requestParameters` and
/// `responseElements` are always present (`null` when empty), the error fields only on failures.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// `1.08`.
    pub event_version: &'static str,
    /// Who made the call.
    pub user_identity: UserIdentity,
    /// When, `2026-12-06T10:11:12Z`.
    pub event_time: String,
    /// `ecr.amazonaws.com`.
    pub event_source: &'static str,
    /// The ECR action (`PutImage`), or `PolicyExecutionEvent`.
    pub event_name: String,
    /// The registry's region.
    pub aws_region: String,
    /// The client's address (`AWS Internal` for service events).
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// The exception, on a failed or denied call (`AccessDenied` for a denial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Its message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The call's parameters, without secrets or layer bytes (`null` when none), serialized once
    /// where the call was described.
    pub request_parameters: Option<Box<RawValue>>,
    /// The answer of a mutating call that succeeded; `null` otherwise.
    pub response_elements: Option<Box<RawValue>>,
    /// The request's id (`x-amzn-RequestId` of the answer).
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// This record's id.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// Whether the call only reads.
    pub read_only: bool,
    /// The repositories the call was about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Resource>,
    /// `AwsApiCall` or `AwsServiceEvent`.
    pub event_type: &'static str,
    /// `true`: every ECR call is a management event.
    pub management_event: bool,
    /// The registry's account.
    pub recipient_account_id: String,
    /// What a service event did (lifecycle: the rules and the images expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_event_details: Option<Value>,
    /// `Management`.
    pub event_category: &'static str,
}

/// `userIdentity`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `IAMUser`, `AssumedRole`, `Root`, `FederatedUser`, `AWSService`; absent for service events.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The unique id (`AIDA…`, `AROA…:session`, the account for root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    /// The caller's ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The caller's account.
    pub account_id: String,
    /// The access key the call was signed with (SigV4 calls).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// An IAM user's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// A role session's issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<Value>,
    /// `AWS Internal` for service events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<&'static str>,
}

/// An entry of `resources`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// The ARN.
    #[serde(rename = "ARN")]
    pub arn: String,
    /// Its account.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// `AWS::ECR::Repository`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

impl Resource {
    /// A repository, from its ARN (`arn:aws:ecr:REGION:ACCOUNT:repository/NAME`); `None` for
    /// anything else (`*` of GetAuthorizationToken).
    pub fn repository(arn: &str) -> Option<Resource> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_), Some("ecr"), Some(_), Some(account), Some(rest)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        rest.starts_with("repository/").then(|| Resource {
            arn: arn.to_owned(),
            account_id: account.to_owned(),
            kind: REPOSITORY_TYPE,
        })
    }
}

/// `eventTime` of a time in seconds since the epoch.
pub fn event_time(secs: i64) -> String {
    // Formatted once per second per thread: every record of a busy second shares it.
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((0, String::new())) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs || last.1.is_empty() {
            *last = (
                secs,
                chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            );
        }
        last.1.clone()
    })
}

/// Sixteen random bytes; without randomness, the time in nanoseconds (ids and file names need to
/// be unique, not secret, and a record is never refused for want of one).
pub(crate) fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        b = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            .to_le_bytes();
    }
    b
}

/// A UUID in version 4's format, for `eventID` and `requestID`: unique, not secret. The high half
/// is random per process; the low half is a bijective mix of a per-process counter, so ids never
/// repeat within a process and no system call is made per id.
pub fn uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static SEED: OnceLock<(u64, u64)> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (hi, lo_seed) = *SEED.get_or_init(|| {
        let b = random_bytes();
        let (h, l) = b.split_at(8);
        (u64::from_le_bytes(h.try_into().unwrap_or_default()), u64::from_le_bytes(l.try_into().unwrap_or_default()))
    });
    // splitmix64's finalizer: a bijection of u64, so distinct counters give distinct values.
    let mut z = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_add(lo_seed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let hi = (hi & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000; // version 4
    let lo = (z & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // RFC 4122 variant
    let mut out = String::with_capacity(36);
    for (i, byte) in hi.to_be_bytes().iter().chain(lo.to_be_bytes().iter()).enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0x0f), 16).unwrap_or('0'));
    }
    out
}

impl UserIdentity {
    /// The identity of an authenticated caller, as CloudTrail's `userIdentity` element describes
    /// each kind.
    pub fn of(caller: &Caller) -> UserIdentity {
        let p = &caller.principal;
        let mut id = UserIdentity {
            kind: None,
            principal_id: caller.unique_id.as_deref().map(str::to_owned),
            arn: Some(p.arn().to_owned()),
            account_id: p.account().to_owned(),
            access_key_id: caller.access_key_id.as_deref().map(str::to_owned),
            ..UserIdentity::default()
        };
        match p.kind() {
            PrincipalKind::User => {
                id.kind = Some("IAMUser");
                id.user_name = p.user_name().map(str::to_owned);
            }
            PrincipalKind::Root => {
                id.kind = Some("Root");
                id.principal_id = Some(p.account().to_owned());
            }
            PrincipalKind::AssumedRole => {
                id.kind = Some("AssumedRole");
                let role_id = caller.unique_id.as_deref().and_then(|u| u.split(':').next()).map(str::to_owned);
                id.session_context = Some(serde_json::json!({
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": p.principal_arn(),
                        "accountId": p.account(),
                        "userName": p.role_name(),
                    },
                    "attributes": {
                        "mfaAuthenticated": if caller.mfa == Some(true) { "true" } else { "false" },
                    }
                }));
            }
            PrincipalKind::FederatedUser => id.kind = Some("FederatedUser"),
            PrincipalKind::Service => {
                id.kind = Some("AWSService");
                id.arn = None;
            }
            PrincipalKind::Unspecified => id.kind = Some("Unknown"),
        }
        id
    }

    /// The identity of a service event: the account, `invokedBy: AWS Internal`.
    pub fn service(account: &str) -> UserIdentity {
        UserIdentity { account_id: account.to_owned(), invoked_by: Some("AWS Internal"), ..UserIdentity::default() }
    }
}

/// Whether an operation only reads (CloudTrail's `readOnly`): ECR's reads, and the console's
/// `SimulatePrincipalPolicy` and `LookupEvents`.
pub fn is_read_only(operation: &str) -> bool {
    ["Get", "Describe", "List", "BatchGet", "BatchCheck", "Lookup", "Simulate"].iter().any(|p| operation.starts_with(p))
}

/// `value` as the JSON text a record embeds (`None`, written `null`, if it cannot be written).
pub fn raw(value: &impl Serialize) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn repository_resources_are_taken_from_arns() {
        let r = Resource::repository("arn:aws:ecr:us-east-1:111122223333:repository/team/app").unwrap();
        assert_eq!(r.account_id, "111122223333");
        assert_eq!(r.kind, REPOSITORY_TYPE);
        assert!(Resource::repository("*").is_none());
        assert!(Resource::repository("arn:aws:s3:::bucket/repository/x").is_none());
    }

    #[test]
    fn ids_are_version_4_uuids_and_never_repeat() {
        let a = uuid();
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert_eq!(&a[14..15], "4");
        assert!(["8", "9", "a", "b"].contains(&&a[19..20]));
        let many: std::collections::HashSet<String> = (0..100_000).map(|_| uuid()).collect();
        assert_eq!(many.len(), 100_000);
    }

    #[test]
    fn times_are_utc_seconds() {
        assert_eq!(event_time(1_531_347_463), "2018-07-11T22:17:43Z");
    }

    #[test]
    fn read_only_operations() {
        for op in ["BatchGetImage", "GetDownloadUrlForLayer", "DescribeImages", "ListImages", "GetAuthorizationToken"] {
            assert!(is_read_only(op), "{op}");
        }
        for op in ["PutImage", "CompleteLayerUpload", "BatchDeleteImage", "SetRepositoryPolicy", "UploadLayerPart"] {
            assert!(!is_read_only(op), "{op}");
        }
    }
}
