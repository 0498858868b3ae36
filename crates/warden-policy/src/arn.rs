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

use smallvec::SmallVec;

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
        Arn::parse_noting_case(text).map(|(arn, _)| arn)
    }

    /// [`Arn::parse`], and whether partition, service, region and account are ASCII without
    /// upper-case letters (as AWS writes them), found in the same pass over the text.
    pub(crate) fn parse_noting_case(text: &'a str) -> Option<(Arn<'a>, bool)> {
        let rest = text.strip_prefix("arn:")?;
        // The next four colons, by one byte scan (a request resource is parsed once per decision).
        let mut cuts = [0usize; 4];
        let mut found = 0;
        let mut unusual = 0u8;
        for (i, b) in rest.bytes().enumerate() {
            unusual |= u8::from(b.is_ascii_uppercase()) | (b >> 7);
            if b == b':' {
                let Some(cut) = cuts.get_mut(found) else { break };
                *cut = i;
                found += 1;
                if found == cuts.len() {
                    break;
                }
            }
        }
        if found < cuts.len() {
            return None;
        }
        let [a, b, c, d] = cuts;
        let arn = Arn {
            partition: rest.get(..a)?,
            service: rest.get(a + 1..b)?,
            region: rest.get(b + 1..c)?,
            account: rest.get(c + 1..d)?,
            resource: rest.get(d + 1..)?,
        };
        Some((arn, unusual == 0))
    }
}

/// The six fields an ARN *pattern* (a `Resource`/`NotResource` entry, an `ArnLike`/`ArnEquals`
/// value) is matched with, field by field, or `None` when it can match no ARN.
///
/// IAM User Guide, "IAM JSON policy elements: Resource", Using wildcards in resource ARNs
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html>):
/// "You can use wildcard characters (`*` and `?`) within the individual segments of an ARN (the
/// parts separated by colons) … If the `*` wildcard is the last character of a resource ARN
/// segment, it can expand to match beyond the colon boundaries."
///
/// - Six fields: as written; wildcards in the first five stay inside their field (the condition
///   operators page: ArnLike "checks each of the six colon-delimited components separately", and
///   its example `arn:aws:someservice:*:111122223333:finance/*` does not match an ARN whose
///   resource part holds `:111122223333:finance/…`). The sixth field, the resource part, keeps its
///   colons and is one pattern.
/// - Fewer fields, the last ending in `*`: that `*` expands beyond the colons over the fields that
///   are not written, which become `*`. `arn:aws:ecr:us-east-1:*` is every ECR ARN in us-east-1;
///   `arn:aws:ecr:us-east-1:1111*` every one in accounts starting 1111.
/// - Fewer fields and no trailing `*`: nothing in it can cross a colon, so it matches no ARN.
///
/// With `variables`, a colon inside a policy variable (`${aws:username}`) does not split fields.
///
/// ```text
/// pattern                                   fields
/// arn:aws:ecr:*:111122223333:repository/*   arn | aws | ecr | * | 111122223333 | repository/*
/// arn:aws:ecr:us-east-1:1111*               arn | aws | ecr | us-east-1 | 1111* | *
/// arn:aws:ecr:*                             arn | aws | ecr | * | * | *
/// arn:aws:ecr:us-east-1                     (none: matches nothing)
/// ```
pub fn pattern_fields(text: &str, variables: bool) -> Option<[&str; 6]> {
    let fields = split_fields(text, variables);
    if let [a, b, c, d, e, f] = fields.as_slice() {
        return Some([*a, *b, *c, *d, *e, *f]);
    }
    if !fields.last().is_some_and(|last| last.ends_with('*')) {
        return None;
    }
    let mut out = ["*"; 6];
    for (slot, field) in out.iter_mut().zip(fields) {
        *slot = field;
    }
    Some(out)
}

/// `text` split at its first five colons (fewer when it has fewer), skipping colons inside a
/// policy variable when `variables`.
pub(crate) fn split_fields(text: &str, variables: bool) -> SmallVec<[&str; 6]> {
    let mut fields = SmallVec::new();
    let mut start = 0;
    let mut i = 0;
    while fields.len() < 5 && i < text.len() {
        let byte = text.as_bytes().get(i).copied();
        if variables && byte == Some(b'$') {
            if let Some(n) = text.get(i..).and_then(crate::variables::variable_len) {
                i += n;
                continue;
            }
        }
        if byte == Some(b':') {
            fields.push(text.get(start..i).unwrap_or_default());
            start = i + 1;
        }
        i += 1;
    }
    fields.push(text.get(start..).unwrap_or_default());
    fields
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
    fn pattern_fields_follow_the_trailing_star_rule() {
        // IAM User Guide, "IAM JSON policy elements: Resource": "If the `*` wildcard is the last
        // character of a resource ARN segment, it can expand to match beyond the colon
        // boundaries."
        assert_eq!(
            pattern_fields("arn:aws:ecr:us-east-1:*", false),
            Some(["arn", "aws", "ecr", "us-east-1", "*", "*"])
        );
        assert_eq!(
            pattern_fields("arn:aws:ecr:us-east-1:1111*", false),
            Some(["arn", "aws", "ecr", "us-east-1", "1111*", "*"])
        );
        assert_eq!(pattern_fields("arn:aws:ecr:*", false), Some(["arn", "aws", "ecr", "*", "*", "*"]));
        assert_eq!(pattern_fields("*", false), Some(["*"; 6]));
        // No trailing `*`: nothing can cross a colon.
        assert_eq!(pattern_fields("arn:aws:ecr:us-east-1", false), None);
        assert_eq!(pattern_fields("arn:aws:ecr:us-east-1:1111?", false), None);
        assert_eq!(pattern_fields("arn:aws:ecr:us-east-1:${*}", true), None);
        // Six fields: as written, the resource part keeps its colons.
        assert_eq!(
            pattern_fields("arn:aws:logs:*:1:log-group:g:*", false),
            Some(["arn", "aws", "logs", "*", "1", "log-group:g:*"])
        );
        // A variable's colon does not split.
        assert_eq!(
            pattern_fields("arn:aws:iam::${aws:PrincipalAccount}:role/*", true),
            Some(["arn", "aws", "iam", "", "${aws:PrincipalAccount}", "role/*"])
        );
        assert_eq!(split_fields("arn:aws:iam::${aws:PrincipalAccount}:role/*", false).len(), 6);
        assert_eq!(split_fields("arn:aws:iam::${aws:PrincipalAccount}:role/*", false)[4], "${aws");
    }

    #[test]
    fn account_ids() {
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333"));
        assert!(!is_account_id("11112222333x"));
    }
}
