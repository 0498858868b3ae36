//! Amazon Resource Names: `arn:partition:service:region:account-id:resource`.
//!
//! The resource part may itself contain `:` and `/`; only the first five colons split fields.
//!
//! ```text
//! arn:aws:ecr:us-east-1:111122223333:repository/team/app  ⇒ partition aws, service ecr, region us-east-1,
//!                                                           account 111122223333, resource repository/team/app
//! arn:aws:iam::111122223333:role/teams/ci                 ⇒ region "", resource role/teams/ci
//! arn:aws:s3:::bucket/a:b                                  ⇒ resource bucket/a:b
//! arn:aws:ecr                                              ⇒ not an ARN (too few fields)
//! ```

/// The six fields of an ARN, borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: &'a str,
    /// Service namespace (`ecr`, `iam`, `sts`).
    pub service: &'a str,
    /// Region, empty for global services.
    pub region: &'a str,
    /// 12-digit account id, empty for some services.
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `text` into its fields; `None` unless it starts with `arn:` and has all six fields.
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }
}

/// The partitions AWS has, for validating `Resource` ARNs.
pub const PARTITIONS: &[&str] =
    &["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"];

/// True for a 12-digit account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_table() {
        let a = Arn::parse("arn:aws:ecr:us-east-1:111122223333:repository/team/app").unwrap();
        assert_eq!(
            (a.partition, a.service, a.region, a.account, a.resource),
            ("aws", "ecr", "us-east-1", "111122223333", "repository/team/app")
        );
        let r = Arn::parse("arn:aws:iam::111122223333:role/teams/ci").unwrap();
        assert_eq!((r.region, r.resource), ("", "role/teams/ci"));
        assert_eq!(Arn::parse("arn:aws:s3:::bucket/a:b").unwrap().resource, "bucket/a:b");
        assert_eq!(Arn::parse("arn:aws:ecr"), None);
        assert_eq!(Arn::parse("urn:aws:ecr:r:a:x"), None);
    }

    #[test]
    fn account_ids() {
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333"));
        assert!(!is_account_id("11112222333x"));
    }
}
