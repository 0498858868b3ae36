//! Policy findings in the style of IAM Access Analyzer's policy validation: `ERROR`,
//! `SECURITY_WARNING`, `WARNING` and `SUGGESTION`, each with an issue code, details and the span
//! it is about.
//!
//! ```
//! use warden_policy::validate::{validate, FindingType};
//! use warden_policy::PolicyKind;
//! let findings = validate(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:GetImage","Resource":"*"}}"#,
//!                         PolicyKind::Identity);
//! assert_eq!(findings[0].finding_type, FindingType::Error);
//! assert_eq!(findings[0].issue_code, "INVALID_ACTION");
//! ```
//!
//! The ECR catalog backs the action checks, so actions of other services are not checked.

use serde::Serialize;

use crate::ast::operator::{BaseOp, Operator, SetQualifier, ValueType};
use crate::ast::span::{self, Position, Span};
use crate::ast::{Effect, Loc, Policy, PolicyKind, PrincipalType, PrincipalValue, Statement, Version};
use crate::catalog::{self, ResourceScope};
use crate::compile::wildcard::{Case, Pattern};
use crate::error::PolicyErrorKind as K;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingType {
    /// The policy is invalid or cannot work as written.
    Error,
    /// The policy grants more than it probably means to.
    SecurityWarning,
    /// The policy works, but part of it does nothing or is doubtful.
    Warning,
    /// A tidier way to write it.
    Suggestion,
}

impl FindingType {
    /// `error`, `security warning`, `warning`, `suggestion`.
    pub fn label(self) -> &'static str {
        match self {
            FindingType::Error => "error",
            FindingType::SecurityWarning => "security warning",
            FindingType::Warning => "warning",
            FindingType::Suggestion => "suggestion",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Seriousness.
    pub finding_type: FindingType,
    /// `INVALID_ACTION`, `ALLOW_WITH_NOT_ACTION`, ...
    pub issue_code: &'static str,
    /// What is wrong, in words.
    pub finding_details: String,
    /// The 0-based statement index, when the finding is about one statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    /// Where in the source.
    #[serde(skip)]
    pub span: Option<Span>,
    /// `span` as positions, filled by [`validate`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// A finding's place in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Start (1-based line and column).
    pub start: Position,
    /// One past the end.
    pub end: Position,
}

fn finding(
    finding_type: FindingType,
    issue_code: &'static str,
    details: String,
    statement: Option<usize>,
    span: Option<Span>,
) -> Finding {
    Finding { finding_type, issue_code, finding_details: details, statement, span, location: None }
}

/// Validates `text` as a policy of `kind`: an invalid document gives one `ERROR`; a valid one is
/// checked for the findings above. Sorted by seriousness, then position.
pub fn validate(text: &str, kind: PolicyKind) -> Vec<Finding> {
    let mut out = match Policy::parse(text, kind) {
        Err(e) => vec![finding(
            FindingType::Error,
            error_code(e.kind()),
            e.to_string(),
            e.statement().map(|(i, _)| i),
            e.span(),
        )],
        Ok(policy) => check(&policy),
    };
    for f in &mut out {
        f.location =
            f.span.map(|s| Location { start: span::position(text, s.start), end: span::position(text, s.end) });
    }
    out.sort_by_key(|f| (f.finding_type, f.span.map(|s| s.start)));
    out
}

fn error_code(kind: &K) -> &'static str {
    match kind {
        K::Json(_) => "JSON_SYNTAX_ERROR",
        K::Syntax(_) | K::TooManyStatements(_) => "SYNTAX_ERROR",
        K::Version(_) => "INVALID_VERSION",
        K::EffectCase(_) | K::Effect(_) => "INVALID_EFFECT",
        K::ConditionValue { .. } => "INVALID_CONDITION_DATA_TYPE",
        K::UnknownOperator(_) => "INVALID_CONDITION_OPERATOR",
        K::ArnFields(_) | K::ArnVendor(_) | K::ResourceFormat(_) | K::Partition { .. } => "INVALID_ARN",
        K::PrincipalNotAllowed(_) => "UNSUPPORTED_PRINCIPAL",
        K::PrincipalRequired => "MISSING_PRINCIPAL",
        K::Principal(_) => "INVALID_PRINCIPAL_FORMAT",
        K::DuplicateSid(_) => "UNIQUE_SIDS_REQUIRED",
        K::MissingActions => "MISSING_ACTION",
        K::MissingResources => "MISSING_RESOURCE",
        K::ActionVendor(_) | K::ActionColons(_) | K::ActionVendorChars(_) => "INVALID_SERVICE_IN_ACTION",
        K::TooLarge { .. } => "POLICY_SIZE_EXCEEDS_QUOTA",
    }
}

/// Global condition keys (AWS global condition context keys), lower-cased; a trailing `/` is a
/// tag-key family.
const GLOBAL_KEYS: &[&str] = &[
    "aws:currenttime",
    "aws:epochtime",
    "aws:sourceip",
    "aws:securetransport",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:userid",
    "aws:username",
    "aws:principaltag/",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalisawsservice",
    "aws:principalservicename",
    "aws:principalservicenameslist",
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:tokenissuetime",
    "aws:requestedregion",
    "aws:useragent",
    "aws:referer",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:vpcsourceip",
    "aws:calledvia",
    "aws:calledviafirst",
    "aws:calledvialast",
    "aws:viaawsservice",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "aws:resourcetag/",
    "aws:requesttag/",
    "aws:tagkeys",
    "aws:sourceidentity",
    "aws:federatedprovider",
    "aws:ec2instancesourcevpc",
    "aws:ec2instancesourceprivateipv4",
    "aws:rolesessionname",
];

/// ECR's own condition keys, lower-cased.
const ECR_KEYS: &[&str] = &["ecr:resourcetag/", "ecr:accountsetting"];

/// Multi-valued keys (the only ones where `ForAllValues` means something).
const MULTI_VALUED: &[&str] = &[
    "aws:tagkeys",
    "aws:principalorgpaths",
    "aws:resourceorgpaths",
    "aws:sourceorgpaths",
    "aws:calledvia",
    "aws:principalservicenameslist",
];

fn known_key(lower: &str, list: &[&str]) -> bool {
    list.iter().any(|k| if k.ends_with('/') { lower.starts_with(k) && lower.len() > k.len() } else { lower == *k })
}

/// The value type of a global key, when it is not a plain string.
fn key_type(lower: &str) -> Option<&'static [ValueType]> {
    Some(match lower {
        "aws:sourceip" | "aws:vpcsourceip" | "aws:ec2instancesourceprivateipv4" => &[ValueType::Ip],
        "aws:currenttime" | "aws:tokenissuetime" => &[ValueType::Date],
        "aws:epochtime" => &[ValueType::Date, ValueType::Number],
        "aws:multifactorauthage" => &[ValueType::Number],
        "aws:securetransport" | "aws:multifactorauthpresent" | "aws:viaawsservice" | "aws:principalisawsservice" => {
            &[ValueType::Bool]
        }
        "aws:principalarn" | "aws:sourcearn" => &[ValueType::Arn, ValueType::String],
        _ => return None,
    })
}

/// The ECR actions a statement's `Action` patterns name; `None` when they name other services
/// too (or any service).
fn ecr_actions(s: &Statement) -> Option<Vec<&'static catalog::ActionInfo>> {
    if s.action.negated {
        return None;
    }
    let mut out = Vec::new();
    for a in &s.action.values.values {
        let (service, _) = a.split_once(':')?;
        if !service.eq_ignore_ascii_case("ecr") {
            return None;
        }
        let p = Pattern::new(a, Case::Insensitive, true, false);
        out.extend(catalog::ecr_actions().iter().filter(|info| p.matches_plain(&format!("ecr:{}", info.name))));
    }
    Some(out)
}

fn check(policy: &Policy) -> Vec<Finding> {
    let mut out = Vec::new();
    if policy.version() == Version::Absent {
        out.push(finding(
            FindingType::Warning,
            "MISSING_VERSION",
            "the policy has no `Version`: policy variables are not expanded; add `\"Version\": \"2012-10-17\"`".into(),
            None,
            None,
        ));
    }
    let statements = policy.statements();
    for (i, s) in statements.iter().enumerate() {
        check_statement(policy, i, s, &mut out);
    }
    // Redundant and mergeable statements.
    for (i, a) in statements.iter().enumerate() {
        for (j, b) in statements.iter().enumerate().skip(i + 1) {
            let same_but_sid = a.effect == b.effect
                && a.principal == b.principal
                && a.action == b.action
                && a.resource == b.resource
                && a.condition == b.condition;
            if same_but_sid {
                out.push(finding(
                    FindingType::Warning,
                    "REDUNDANT_STATEMENT",
                    format!("statement {j} repeats statement {i}"),
                    Some(j),
                    Some(b.span),
                ));
            } else if a.effect == b.effect
                && a.principal == b.principal
                && a.resource == b.resource
                && a.condition == b.condition
                && !a.action.negated
                && !b.action.negated
            {
                out.push(finding(
                    FindingType::Suggestion,
                    "STATEMENTS_COULD_MERGE",
                    format!("statements {i} and {j} differ only in their actions and could be one statement"),
                    Some(j),
                    Some(b.span),
                ));
            }
        }
    }
    out
}

fn check_statement(policy: &Policy, i: usize, s: &Statement, out: &mut Vec<Finding>) {
    let at = |loc: &Loc| Some(loc.0);
    let stmt = Some(i);
    if s.sid.as_deref() == Some("") {
        out.push(finding(
            FindingType::Suggestion,
            "EMPTY_SID_VALUE",
            "the `Sid` is empty: remove it or name the statement".into(),
            stmt,
            s.sid_span.map(|l| l.0),
        ));
    }
    // Actions that do not exist in ECR.
    if !s.action.negated {
        for (a, loc) in s.action.values.values.iter().zip(&s.action.values.spans) {
            let Some((service, _)) = a.split_once(':') else { continue };
            if !service.eq_ignore_ascii_case("ecr") {
                continue;
            }
            let p = Pattern::new(a, Case::Insensitive, true, false);
            if !catalog::ecr_actions().iter().any(|info| p.matches_plain(&format!("ecr:{}", info.name))) {
                out.push(finding(
                    FindingType::Error,
                    "INVALID_ACTION",
                    format!("the action `{a}` does not exist in Amazon ECR"),
                    stmt,
                    at(loc),
                ));
            }
        }
    }
    // Specific resources for actions that only take "*".
    if let (Some(actions), Some(res)) = (ecr_actions(s), &s.resource) {
        let star = res.values.values.iter().any(|r| r == "*");
        if !res.negated && !star && !actions.is_empty() {
            let wildcard_only: Vec<&str> =
                actions.iter().filter(|a| a.resource == ResourceScope::Wildcard).map(|a| a.name).collect();
            if wildcard_only.len() == actions.len() {
                out.push(finding(
                    FindingType::Error,
                    "UNSUPPORTED_RESOURCE_ARN_IN_POLICY",
                    format!(
                        "`ecr:{}` only accepts `\"*\"` as its resource: this statement never matches",
                        wildcard_only.join("`, `ecr:")
                    ),
                    stmt,
                    at(&res.key),
                ));
            } else if !wildcard_only.is_empty() && s.action.values.values.iter().all(|a| !a.contains('*')) {
                out.push(finding(
                    FindingType::Warning,
                    "ACTIONS_NEVER_MATCH_RESOURCE",
                    format!(
                        "`ecr:{}` only accepts `\"*\"` as its resource: with these resources they never match",
                        wildcard_only.join("`, `ecr:")
                    ),
                    stmt,
                    at(&res.key),
                ));
            }
        }
    }
    // Statements that can never match.
    if let Some(res) = &s.resource {
        if res.negated && res.values.values.iter().any(|r| r == "*") {
            out.push(finding(
                FindingType::Warning,
                "STATEMENT_NEVER_MATCHES",
                "`NotResource: \"*\"` excludes every resource: the statement never matches".into(),
                stmt,
                at(&res.key),
            ));
        }
    }
    if s.action.negated && s.action.values.values.iter().any(|a| a == "*") {
        out.push(finding(
            FindingType::Warning,
            "STATEMENT_NEVER_MATCHES",
            "`NotAction: \"*\"` excludes every action: the statement never matches".into(),
            stmt,
            at(&s.action.key),
        ));
    }
    // Broad allows.
    if s.effect == Effect::Allow {
        if s.action.negated {
            out.push(finding(
                FindingType::SecurityWarning,
                "ALLOW_WITH_NOT_ACTION",
                "`Allow` with `NotAction` grants every other action, of every service".into(),
                stmt,
                at(&s.action.key),
            ));
        }
        if let Some(res) = s.resource.as_ref().filter(|r| r.negated) {
            out.push(finding(
                FindingType::SecurityWarning,
                "ALLOW_WITH_NOT_RESOURCE",
                "`Allow` with `NotResource` grants every other resource, of every service".into(),
                stmt,
                at(&res.key),
            ));
        }
        if let Some(p) = &s.principal {
            if p.negated {
                out.push(finding(
                    FindingType::SecurityWarning,
                    "ALLOW_WITH_NOT_PRINCIPAL",
                    "`Allow` with `NotPrincipal` grants everyone else, in every account".into(),
                    stmt,
                    at(&p.span),
                ));
            } else if s.condition.is_empty() && is_public(&p.value) {
                out.push(finding(
                    FindingType::SecurityWarning,
                    "ALLOW_WITH_PUBLIC_PRINCIPAL",
                    "`Allow` to every principal (`\"*\"`) with no condition: any AWS account's principals may be granted access".into(),
                    stmt,
                    at(&p.span),
                ));
            }
        }
    }
    check_conditions(policy, i, s, out);
}

fn is_public(v: &PrincipalValue) -> bool {
    match v {
        PrincipalValue::Any => true,
        PrincipalValue::Map(entries) => {
            entries.iter().any(|(t, v)| *t == PrincipalType::Aws && v.values.iter().any(|x| x == "*"))
        }
    }
}

fn check_conditions(policy: &Policy, i: usize, s: &Statement, out: &mut Vec<Finding>) {
    let stmt = Some(i);
    let actions = ecr_actions(s);
    for block in &s.condition {
        let Some(op) = Operator::parse(&block.operator) else { continue };
        for entry in &block.entries {
            let lower = entry.key.to_ascii_lowercase();
            let at = Some(entry.key_span.0);
            if entry.values.values.is_empty() {
                out.push(finding(
                    FindingType::Suggestion,
                    "EMPTY_ARRAY_CONDITION",
                    format!("`{}` has no values: the condition never holds", entry.key),
                    stmt,
                    at,
                ));
            }
            let known = if lower.starts_with("aws:") {
                known_key(&lower, GLOBAL_KEYS)
            } else if lower.starts_with("ecr:") {
                known_key(&lower, ECR_KEYS)
            } else {
                true
            };
            if !known {
                out.push(finding(
                    FindingType::Warning,
                    "UNKNOWN_CONDITION_KEY",
                    format!("`{}` is not a known condition key: the request never carries it", entry.key),
                    stmt,
                    at,
                ));
            }
            let types = key_type(&lower).or(if known && (lower.starts_with("aws:") || lower.starts_with("ecr:")) {
                Some(&[ValueType::String][..])
            } else {
                None
            });
            if let (Some(types), Some(family)) = (types, comparable(op)) {
                if !types.contains(&family) {
                    out.push(finding(
                        FindingType::Error,
                        "DATA_TYPE_MISMATCH",
                        format!(
                            "`{}` compares {} values, but `{}` is {}",
                            block.operator,
                            describe(family),
                            entry.key,
                            describe(types.first().copied().unwrap_or(ValueType::String))
                        ),
                        stmt,
                        at,
                    ));
                }
            }
            if op.set == Some(SetQualifier::ForAllValues)
                && known
                && !MULTI_VALUED.contains(&lower.as_str())
                && op.base.value_type() != ValueType::Null
            {
                out.push(finding(
                    FindingType::SecurityWarning,
                    "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
                    format!("`ForAllValues` with the single-valued key `{}` holds when the key is absent", entry.key),
                    stmt,
                    at,
                ));
            }
            if matches!(op.base, BaseOp::StringEquals | BaseOp::StringNotEquals)
                && entry.values.values.iter().any(|v| v.contains(['*', '?']))
            {
                out.push(finding(
                    FindingType::Warning,
                    "WILDCARD_WITHOUT_LIKE_OPERATOR",
                    format!("`{}` compares `*` and `?` literally: use `StringLike` for wildcards", block.operator),
                    stmt,
                    at,
                ));
            }
            if op.base.value_type() == ValueType::Bool
                && policy.version().expands_variables()
                && entry.values.values.iter().any(|v| crate::variables::has_variable(v))
            {
                out.push(finding(
                    FindingType::Warning,
                    "VARIABLE_WITH_BOOL",
                    "policy variables are not expanded in `Bool` values".into(),
                    stmt,
                    at,
                ));
            }
            // Request-tag keys on ECR actions that carry no tags.
            if let Some(actions) = &actions {
                let request_tag_key = lower.starts_with("aws:requesttag/") || lower == "aws:tagkeys";
                let supported = actions.iter().any(|a| {
                    a.condition_keys.iter().any(|k| {
                        let k = k.to_ascii_lowercase();
                        k == lower || (k.ends_with("${tagkey}") && lower.starts_with(k.trim_end_matches("${tagkey}")))
                    })
                });
                if request_tag_key && !actions.is_empty() && !supported {
                    out.push(finding(
                        FindingType::Warning,
                        "CONDITION_KEY_NOT_SUPPORTED_BY_ACTION",
                        format!("none of this statement's actions carries `{}` (only CreateRepository, TagResource, UntagResource and ListTagsForResource do)", entry.key),
                        stmt,
                        at,
                    ));
                }
            }
        }
    }
}

/// The family of values an operator compares, for type checks (`Null` checks nothing).
fn comparable(op: Operator) -> Option<ValueType> {
    match op.base.value_type() {
        ValueType::Null | ValueType::Binary => None,
        t => Some(t),
    }
}

fn describe(t: ValueType) -> &'static str {
    match t {
        ValueType::String => "string",
        ValueType::Number => "numeric",
        ValueType::Date => "date",
        ValueType::Bool => "boolean",
        ValueType::Binary => "binary",
        ValueType::Ip => "IP address",
        ValueType::Arn => "ARN",
        ValueType::Null => "null",
    }
}

/// A policy kind for the common names (`identity`, `resource`, `repository`, `boundary`).
pub fn kind_from_name(name: &str) -> Option<PolicyKind> {
    Some(match name {
        "identity" => PolicyKind::Identity,
        "resource" => PolicyKind::Resource,
        "repository" => PolicyKind::Repository,
        "boundary" => PolicyKind::Boundary,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn codes(text: &str, kind: PolicyKind) -> Vec<(FindingType, &'static str)> {
        validate(text, kind).into_iter().map(|f| (f.finding_type, f.issue_code)).collect()
    }

    fn stmt(body: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{body}]}}"#)
    }

    #[test]
    fn errors() {
        assert_eq!(codes("{", PolicyKind::Identity), [(FindingType::Error, "JSON_SYNTAX_ERROR")]);
        assert_eq!(
            codes(&stmt(r#"{"Effect":"Allow","Action":"ecr:GetImage","Resource":"*"}"#), PolicyKind::Identity),
            [(FindingType::Error, "INVALID_ACTION")]
        );
        assert_eq!(
            codes(&stmt(r#"{"Effect":"Allow","Action":"ecr:Nope*","Resource":"*"}"#), PolicyKind::Identity),
            [(FindingType::Error, "INVALID_ACTION")]
        );
        assert_eq!(
            codes(
                &stmt(
                    r#"{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/*"}"#
                ),
                PolicyKind::Identity
            ),
            [(FindingType::Error, "UNSUPPORTED_RESOURCE_ARN_IN_POLICY")]
        );
        assert_eq!(
            codes(
                &stmt(
                    r#"{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"IpAddress":{"aws:username":"10.0.0.0/8"}}}"#
                ),
                PolicyKind::Identity
            ),
            [(FindingType::Error, "DATA_TYPE_MISMATCH")]
        );
    }

    #[test]
    fn warnings_and_suggestions() {
        let c = codes(
            &stmt(
                r#"{"Effect":"Allow","NotAction":"ecr:DeleteRepository","NotResource":"arn:aws:ecr:*:*:repository/prod/*"}"#,
            ),
            PolicyKind::Identity,
        );
        assert_eq!(
            c,
            [
                (FindingType::SecurityWarning, "ALLOW_WITH_NOT_ACTION"),
                (FindingType::SecurityWarning, "ALLOW_WITH_NOT_RESOURCE")
            ]
        );
        let c = codes(
            &stmt(r#"{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}"#),
            PolicyKind::Repository,
        );
        assert_eq!(c, [(FindingType::SecurityWarning, "ALLOW_WITH_PUBLIC_PRINCIPAL")]);
        let c = codes(
            &stmt(
                r#"{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:PrincipalTag/team":"a"},"StringEquals":{"aws:UserAgent":"docker*","ecr:Nope":"x"}}}"#,
            ),
            PolicyKind::Identity,
        );
        assert!(c.contains(&(FindingType::SecurityWarning, "FORALLVALUES_WITH_SINGLE_VALUED_KEY")), "{c:?}");
        assert!(c.contains(&(FindingType::Warning, "WILDCARD_WITHOUT_LIKE_OPERATOR")), "{c:?}");
        assert!(c.contains(&(FindingType::Warning, "UNKNOWN_CONDITION_KEY")), "{c:?}");
        let c = codes(
            &stmt(
                r#"{"Effect":"Allow","Action":"ecr:PutImage","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/env":"dev"}}}"#,
            ),
            PolicyKind::Identity,
        );
        assert_eq!(c, [(FindingType::Warning, "CONDITION_KEY_NOT_SUPPORTED_BY_ACTION")]);
        let two = r#"{"Effect":"Allow","Action":"ecr:PutImage","Resource":"*"},{"Effect":"Allow","Action":"ecr:PutImage","Resource":"*"},{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}"#;
        let c = codes(&stmt(two), PolicyKind::Identity);
        assert!(c.contains(&(FindingType::Warning, "REDUNDANT_STATEMENT")), "{c:?}");
        assert!(c.contains(&(FindingType::Suggestion, "STATEMENTS_COULD_MERGE")), "{c:?}");
        let c = codes(
            r#"{"Statement":{"Sid":"","Effect":"Allow","Action":"ecr:PutImage","Resource":"*"}}"#,
            PolicyKind::Identity,
        );
        assert_eq!(c, [(FindingType::Warning, "MISSING_VERSION"), (FindingType::Suggestion, "EMPTY_SID_VALUE")]);
    }

    #[test]
    fn clean_policies_have_no_findings() {
        for (name, doc) in catalog::MANAGED_POLICIES {
            let f = validate(doc, PolicyKind::Identity);
            assert!(f.iter().all(|f| f.finding_type != FindingType::Error), "{name}: {f:?}");
        }
        assert!(validate(&stmt(r#"{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-east-1:111122223333:repository/team/*"}"#), PolicyKind::Identity).is_empty());
    }

    #[test]
    fn trailing_star_arns_are_not_errors() {
        // `warden validate`: the User Guide's trailing-`*` ARNs ("If the `*` wildcard is the last
        // character of a resource ARN segment, it can expand to match beyond the colon
        // boundaries", IAM JSON policy elements: Resource) are valid resources.
        for r in ["arn:aws:ecr:us-east-1:*", "arn:aws:ecr:us-east-1:1111*"] {
            for element in ["Resource", "NotResource"] {
                let f = validate(
                    &stmt(&format!(r#"{{"Effect":"Deny","Action":"ecr:BatchGetImage","{element}":"{r}"}}"#)),
                    PolicyKind::Identity,
                );
                assert!(f.iter().all(|f| f.finding_type != FindingType::Error), "{element} {r}: {f:?}");
            }
        }
        assert_eq!(
            codes(
                &stmt(r#"{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"arn:aws:s3::bucket"}"#),
                PolicyKind::Identity
            ),
            [(FindingType::Error, "INVALID_ARN")]
        );
    }

    #[test]
    fn locations_point_at_the_element() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {\"Effect\": \"Allow\", \"Action\": \"ecr:GetImage\", \"Resource\": \"*\"}\n}";
        let f = &validate(text, PolicyKind::Identity)[0];
        let loc = f.location.unwrap();
        assert_eq!((loc.start.line, loc.start.column), (3, 46));
        assert_eq!(loc.end.column - loc.start.column, "\"ecr:GetImage\"".len());
    }
}
