//! The global condition keys an enforcing server (the middleware, the registry) fills for a
//! request, built from who is calling and how.
//!
//! Which keys are present follows AWS's global condition key reference
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html>):
//! `aws:username` only for IAM users; `aws:PrincipalArn` is the role ARN (with its path) for a
//! role session; `aws:MultiFactorAuthPresent` only for temporary credentials; `aws:TagKeys` only
//! when the request carries tags.
//!
//! ```
//! use std::net::IpAddr;
//! use warden_policy::{request::GlobalKeys, Principal};
//! let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
//! let ctx = GlobalKeys {
//!     source_ip: Some("203.0.113.7".parse::<IpAddr>().unwrap()),
//!     epoch_seconds: 1_795_694_400,
//!     secure_transport: Some(true),
//!     requested_region: "us-east-1".into(),
//!     user_agent: Some("docker/27.0".into()),
//!     user_id: Some("AIDAEXAMPLE".into()),
//!     ..GlobalKeys::default()
//! }
//! .into_context(&alice)
//! .unwrap();
//! assert_eq!(ctx.get("aws:username").unwrap().values[0].text.as_ref(), "alice");
//! assert_eq!(ctx.get("aws:CurrentTime").unwrap().values[0].text.as_ref(), "2026-11-26T12:00:00Z");
//! assert!(ctx.get("aws:MultiFactorAuthPresent").is_none()); // long-term keys
//! ```

use std::net::IpAddr;
use std::sync::Arc;

use crate::context::{Context, ContextError, ContextKeyType};
use crate::principal::{Principal, PrincipalKind};

/// What an enforcing server knows about a request, beyond the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalKeys {
    /// `aws:SourceIp`: the client address (absent through a VPC endpoint).
    pub source_ip: Option<IpAddr>,
    /// `aws:CurrentTime` and `aws:EpochTime`: the request time, in epoch seconds.
    pub epoch_seconds: i64,
    /// `aws:SecureTransport`: whether the request came over TLS; `None` leaves the key absent.
    pub secure_transport: Option<bool>,
    /// `aws:RequestedRegion`.
    pub requested_region: String,
    /// `aws:UserAgent`.
    pub user_agent: Option<String>,
    /// `aws:userid`: the unique id (`AIDA…` for users; `AROA…:session` for sessions; the account
    /// id for root).
    pub user_id: Option<String>,
    /// `aws:MultiFactorAuthPresent`: only for temporary credentials.
    pub mfa_present: Option<bool>,
    /// `aws:PrincipalTag/<key>`: tags of the caller (user or role, and session tags).
    pub principal_tags: Vec<(String, String)>,
    /// `aws:ResourceTag/<key>` and `ecr:ResourceTag/<key>`: tags of the target resource.
    pub resource_tags: Vec<(String, String)>,
    /// `aws:RequestTag/<key>`, and `aws:TagKeys` when non-empty: tags the request carries.
    pub request_tags: Vec<(String, String)>,
    /// Extra service keys, as `(key, type, values)`.
    pub extra: Vec<(String, ContextKeyType, Vec<String>)>,
}

/// The keys that depend only on the caller (`aws:PrincipalArn`, `aws:PrincipalAccount`,
/// `aws:PrincipalType`, `aws:username`, `aws:userid`, `aws:PrincipalTag/*`,
/// `aws:MultiFactorAuthPresent`): build them once per caller and share them as the base of each
/// request's context ([`GlobalKeys::on`]).
pub fn principal_context(
    principal: &Principal,
    user_id: Option<&str>,
    tags: &[(String, String)],
    mfa_present: Option<bool>,
) -> Result<Context, ContextError> {
    let mut ctx = Context::new();
    let keys = GlobalKeys {
        user_id: user_id.map(str::to_owned),
        mfa_present,
        principal_tags: tags.to_vec(),
        ..GlobalKeys::default()
    };
    keys.principal_keys(principal, &mut ctx)?;
    Ok(ctx)
}

/// `aws:CurrentTime` and `aws:EpochTime` for one second: servers build it once a second and
/// share it under every request's context.
pub fn time_context(epoch_seconds: i64) -> Result<Context, ContextError> {
    let mut ctx = Context::new();
    if let Some(t) = chrono::DateTime::from_timestamp(epoch_seconds, 0) {
        single(&mut ctx, "aws:CurrentTime", ContextKeyType::Date, &t.format("%Y-%m-%dT%H:%M:%SZ").to_string())?;
    }
    single(&mut ctx, "aws:EpochTime", ContextKeyType::Numeric, &epoch_seconds.to_string())?;
    Ok(ctx)
}

/// The type a global condition key's values have (`aws:SourceIp` is an IP address,
/// `aws:CurrentTime` a date, `aws:SecureTransport` a boolean, ...): what a context built from
/// `key=value` text should declare. Unknown keys are strings.
pub fn global_key_type(key: &str) -> ContextKeyType {
    match key.to_ascii_lowercase().as_str() {
        "aws:sourceip" | "aws:vpcsourceip" | "aws:ec2instancesourceprivateipv4" => ContextKeyType::Ip,
        "aws:currenttime" | "aws:tokenissuetime" => ContextKeyType::Date,
        "aws:epochtime" | "aws:multifactorauthage" => ContextKeyType::Numeric,
        "aws:securetransport" | "aws:multifactorauthpresent" | "aws:viaawsservice" | "aws:principalisawsservice" => {
            ContextKeyType::Boolean
        }
        _ => ContextKeyType::String,
    }
}

/// The list form of a single-valued type (`ip` → `ipList`).
pub fn list_type(ty: ContextKeyType) -> ContextKeyType {
    match ty {
        ContextKeyType::String => ContextKeyType::StringList,
        ContextKeyType::Numeric => ContextKeyType::NumericList,
        ContextKeyType::Boolean => ContextKeyType::BooleanList,
        ContextKeyType::Ip => ContextKeyType::IpList,
        ContextKeyType::Binary => ContextKeyType::BinaryList,
        ContextKeyType::Date => ContextKeyType::DateList,
        list => list,
    }
}

fn single(ctx: &mut Context, key: &str, ty: ContextKeyType, value: &str) -> Result<(), ContextError> {
    ctx.insert(key, ty, &[value])
}

impl GlobalKeys {
    /// The whole context for `principal` making this request.
    pub fn into_context(self, principal: &Principal) -> Result<Context, ContextError> {
        let mut ctx = Context::new();
        self.principal_keys(principal, &mut ctx)?;
        self.request_keys(&mut ctx)?;
        Ok(ctx)
    }

    /// This request's keys on top of a shared [`principal_context`]; the caller fields of `self`
    /// (`user_id`, `mfa_present`, `principal_tags`) are not used.
    pub fn on(self, base: Arc<Context>) -> Result<Context, ContextError> {
        let mut ctx = Context::layered(base);
        self.request_keys(&mut ctx)?;
        Ok(ctx)
    }

    fn principal_keys(&self, principal: &Principal, ctx: &mut Context) -> Result<(), ContextError> {
        if principal.kind() != PrincipalKind::Unspecified {
            single(ctx, "aws:PrincipalArn", ContextKeyType::String, principal.principal_arn())?;
            if !principal.account().is_empty() {
                single(ctx, "aws:PrincipalAccount", ContextKeyType::String, principal.account())?;
            }
            single(ctx, "aws:PrincipalType", ContextKeyType::String, principal.kind().principal_type())?;
            let is_service = principal.kind() == PrincipalKind::Service;
            single(ctx, "aws:PrincipalIsAWSService", ContextKeyType::Boolean, &is_service.to_string())?;
            if is_service {
                single(ctx, "aws:PrincipalServiceName", ContextKeyType::String, principal.arn())?;
            }
        }
        if let Some(name) = principal.user_name() {
            single(ctx, "aws:username", ContextKeyType::String, name)?;
        }
        let user_id = match (&self.user_id, principal.kind()) {
            (Some(id), _) => Some(id.clone()),
            (None, PrincipalKind::Root) => Some(principal.account().to_owned()),
            _ => None,
        };
        if let Some(id) = user_id {
            single(ctx, "aws:userid", ContextKeyType::String, &id)?;
        }
        if let Some(mfa) = self.mfa_present {
            single(ctx, "aws:MultiFactorAuthPresent", ContextKeyType::Boolean, &mfa.to_string())?;
        }
        for (k, v) in &self.principal_tags {
            single(ctx, &format!("aws:PrincipalTag/{k}"), ContextKeyType::String, v)?;
        }
        Ok(())
    }

    fn request_keys(&self, ctx: &mut Context) -> Result<(), ContextError> {
        if let Some(ip) = self.source_ip {
            single(ctx, "aws:SourceIp", ContextKeyType::Ip, &ip.to_string())?;
        }
        let time = chrono::DateTime::from_timestamp(self.epoch_seconds, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        if !time.is_empty() {
            single(ctx, "aws:CurrentTime", ContextKeyType::Date, &time)?;
        }
        single(ctx, "aws:EpochTime", ContextKeyType::Numeric, &self.epoch_seconds.to_string())?;
        if let Some(tls) = self.secure_transport {
            single(ctx, "aws:SecureTransport", ContextKeyType::Boolean, &tls.to_string())?;
        }
        if !self.requested_region.is_empty() {
            single(ctx, "aws:RequestedRegion", ContextKeyType::String, &self.requested_region)?;
        }
        if let Some(ua) = &self.user_agent {
            single(ctx, "aws:UserAgent", ContextKeyType::String, ua)?;
        }
        for (k, v) in &self.resource_tags {
            single(ctx, &format!("aws:ResourceTag/{k}"), ContextKeyType::String, v)?;
            single(ctx, &format!("ecr:ResourceTag/{k}"), ContextKeyType::String, v)?;
        }
        for (k, v) in &self.request_tags {
            single(ctx, &format!("aws:RequestTag/{k}"), ContextKeyType::String, v)?;
        }
        if !self.request_tags.is_empty() {
            let keys: Vec<&str> = self.request_tags.iter().map(|(k, _)| k.as_str()).collect();
            ctx.insert("aws:TagKeys", ContextKeyType::StringList, &keys)?;
        }
        for (k, ty, values) in &self.extra {
            ctx.insert(k, *ty, values)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn text(ctx: &Context, key: &str) -> Option<String> {
        ctx.get(key).map(|e| e.values.iter().map(|v| v.text.to_string()).collect::<Vec<_>>().join(","))
    }

    #[test]
    fn role_sessions_carry_the_role_arn_and_no_username() {
        let s = Principal::parse("arn:aws:sts::111122223333:assumed-role/ci/s1")
            .unwrap()
            .with_role_arn("arn:aws:iam::111122223333:role/teams/ci")
            .unwrap();
        let ctx = GlobalKeys { mfa_present: Some(false), ..GlobalKeys::default() }.into_context(&s).unwrap();
        assert_eq!(text(&ctx, "aws:PrincipalArn").as_deref(), Some("arn:aws:iam::111122223333:role/teams/ci"));
        assert_eq!(text(&ctx, "aws:PrincipalType").as_deref(), Some("AssumedRole"));
        assert_eq!(text(&ctx, "aws:username"), None);
        assert_eq!(text(&ctx, "aws:MultiFactorAuthPresent").as_deref(), Some("false"));
    }

    #[test]
    fn tags_fill_both_resource_tag_keys_and_tag_keys() {
        let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let ctx = GlobalKeys {
            resource_tags: vec![("env".into(), "prod".into())],
            request_tags: vec![("team".into(), "a".into()), ("cost".into(), "1".into())],
            principal_tags: vec![("Team".into(), "platform".into())],
            ..GlobalKeys::default()
        }
        .into_context(&alice)
        .unwrap();
        assert_eq!(text(&ctx, "ecr:ResourceTag/env").as_deref(), Some("prod"));
        assert_eq!(text(&ctx, "aws:ResourceTag/env").as_deref(), Some("prod"));
        assert_eq!(text(&ctx, "aws:TagKeys").as_deref(), Some("team,cost"));
        assert_eq!(text(&ctx, "aws:principaltag/team").as_deref(), Some("platform"));
        assert_eq!(text(&ctx, "aws:CurrentTime").as_deref(), Some("1970-01-01T00:00:00Z"));
        let untagged = GlobalKeys::default().into_context(&alice).unwrap();
        assert_eq!(text(&untagged, "aws:TagKeys"), None);
        assert_eq!(text(&untagged, "aws:SecureTransport"), None);
    }

    #[test]
    fn root_user_id_is_the_account() {
        let root = Principal::parse("arn:aws:iam::111122223333:root").unwrap();
        let ctx = GlobalKeys::default().into_context(&root).unwrap();
        assert_eq!(text(&ctx, "aws:userid").as_deref(), Some("111122223333"));
        assert_eq!(text(&ctx, "aws:PrincipalType").as_deref(), Some("Account"));
    }
}
