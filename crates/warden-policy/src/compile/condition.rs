//! Compiled conditions: values parsed once, evaluated against a request context.
//!
//! Boolean structure (IAM User Guide, "Creating a condition with multiple context keys or values"):
//! operators in a block AND, keys under an operator AND, values of one key OR — except negated
//! operators, where several values are NOR (the request value must match none of them).
//!
//! Missing keys and set qualifiers (iam-semantics.md §3.4, §3.5):
//!
//! ```text
//! key state        Op (positive)  Op (negated)  ForAnyValue:Op  ForAllValues:Op  OpIfExists  Null "true"/"false"
//! absent           false          true          false           true             true        true / false
//! empty list       false          false         false           true             as Op       true / false
//! one value v      op(v)          op(v)         op(v)           op(v)            op(v)       false / true
//! several values   false          false         ∃v op(v)        ∀v op(v)         as Op       false / true
//! ```
//!
//! A policy variable that does not resolve makes that policy value null: it matches no request
//! value, so positive operators do not match and negated operators do.

use base64::Engine as _;
use ipnet::IpNet;

use crate::ast::operator::{parse_cidr, BaseOp, Operator, SetQualifier, ValueType};
use crate::compile::wildcard::{Case, Match, Pattern};
use crate::context::{Context, ContextValue};
use crate::date::{self, Instant};
use crate::number::Decimal;

/// Compiled policy values of one key.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// String and Arn operators: one pattern per value (ARN values: six field patterns).
    Patterns(Vec<Pattern>),
    Arns(Vec<ArnValue>),
    Numbers(Vec<Decimal>),
    Dates(Vec<Instant>),
    /// `None` where the policy value is not `true`/`false`: it matches nothing.
    Bools(Vec<Option<bool>>),
    Bytes(Vec<Box<[u8]>>),
    Nets(Vec<IpNet>),
    /// `Null`: `Some(true)` means "must be absent".
    Null(Vec<Option<bool>>),
}

/// An ARN condition value: six field patterns matched one by one (`*` and `?` stay inside their
/// field, except in the resource part), by the rules of [`crate::arn::pattern_fields`].
#[derive(Debug, Clone, PartialEq)]
enum ArnValue {
    /// `*`: any value.
    Any,
    Fields(Box<[Pattern; 6]>),
    /// Fewer than six fields and a policy variable (`${aws:PrincipalArn}`): where the fields fall
    /// is known only once the variable is substituted, so it is one pattern over the whole value
    /// (as before the trailing-`*` rule).
    Whole(Pattern),
    /// Fewer than six fields, no trailing `*` and no variable: matches no ARN.
    Never,
}

/// One compiled `"Operator": {"key": values}` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator.
    pub operator: Operator,
    /// Operator name as written.
    pub operator_name: Box<str>,
    /// Key as written.
    pub key: Box<str>,
    /// Key lower-cased, for lookups.
    pub(crate) key_lower: Box<str>,
    values: Values,
    /// The policy values as written, for explanations.
    pub raw_values: Box<[String]>,
    /// What matching costs, per character of the request value: the distinct values' characters,
    /// plus one per value. See [`Condition::work`].
    value_chars: u64,
    /// Policy variables in the distinct values (each stands for a request value's characters).
    variables: u64,
}

/// The result of one condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Whether it holds.
    pub holds: bool,
    /// The key was absent from the request.
    pub missing: bool,
}

impl Condition {
    /// Compiles one entry. `variables` is true under Version 2012-10-17; variables are expanded
    /// only in String and Arn values. Values that do not parse compile to "matches nothing"
    /// (validation has already reported them).
    pub fn compile(
        operator: Operator,
        operator_name: &str,
        key: &str,
        raw_values: &[String],
        variables: bool,
    ) -> Condition {
        use BaseOp::*;
        // A value written twice matches what it matches once (values OR; negated, NOR).
        let mut seen = rustc_hash::FxHashSet::default();
        let raw: Vec<&String> = raw_values.iter().filter(|v| seen.insert(v.as_str())).collect();
        let value_chars = raw.iter().map(|v| v.len() as u64 + 1).sum();
        let variable_count = if variables { raw.iter().map(|v| v.matches("${").count() as u64).sum() } else { 0 };
        let values = match operator.value_type() {
            ValueType::String => {
                let wildcards = matches!(operator.base, StringLike | StringNotLike);
                let case = match operator.base {
                    StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => Case::Insensitive,
                    _ => Case::Sensitive,
                };
                Values::Patterns(raw.iter().map(|v| Pattern::new(v, case, wildcards, variables)).collect())
            }
            ValueType::Arn => Values::Arns(raw.iter().map(|v| arn_value(v, variables)).collect()),
            ValueType::Number => Values::Numbers(raw.iter().filter_map(|v| Decimal::parse(v)).collect()),
            ValueType::Date => Values::Dates(raw.iter().filter_map(|v| date::parse(v)).collect()),
            ValueType::Bool => Values::Bools(raw.iter().map(|v| parse_bool(v)).collect()),
            ValueType::Binary => Values::Bytes(
                raw.iter()
                    .filter_map(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
                    .map(Vec::into_boxed_slice)
                    .collect(),
            ),
            ValueType::Ip => Values::Nets(raw.iter().filter_map(|v| parse_cidr(v)).collect()),
            ValueType::Null => Values::Null(raw.iter().map(|v| parse_bool(v)).collect()),
        };
        Condition {
            operator,
            operator_name: operator_name.into(),
            key: key.into(),
            key_lower: key.to_lowercase().into(),
            values,
            raw_values: raw_values.into(),
            value_chars,
            variables: variable_count,
        }
    }

    /// A bound on the character comparisons one evaluation of this condition makes against
    /// `ctx`: (the policy values' characters, each variable counted as the longest request value)
    /// × (the request values' characters). Matching is linear in pattern and text
    /// ([`crate::wildcard`]), but every policy value meets every request value of the key.
    pub(crate) fn work(&self, ctx: &Context) -> u64 {
        let longest = ctx.longest_value() as u64;
        let pattern = self.value_chars.saturating_add(self.variables.saturating_mul(longest));
        let text = ctx
            .get_lower(&self.key_lower)
            .map_or(1, |e| e.values.iter().map(|v| v.text.len() as u64 + 1).sum::<u64>().max(1));
        pattern.saturating_mul(text)
    }

    /// Evaluates against the request context.
    pub fn evaluate(&self, ctx: &Context) -> Outcome {
        let entry = ctx.get_lower(&self.key_lower);
        let op = self.operator;
        if let Values::Null(wanted) = &self.values {
            let present = entry.is_some_and(|e| !e.values.is_empty());
            let holds = match op.set {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => wanted.contains(&Some(!present)),
            };
            return Outcome { holds, missing: false };
        }
        let Some(entry) = entry else {
            let holds = op.if_exists
                || match op.set {
                    Some(SetQualifier::ForAnyValue) => false,
                    Some(SetQualifier::ForAllValues) => true,
                    None => op.base.is_negated(),
                };
            return Outcome { holds, missing: true };
        };
        let holds = match op.set {
            None => match entry.values.as_slice() {
                [one] => self.test(one, ctx),
                _ => false,
            },
            Some(SetQualifier::ForAnyValue) => entry.values.iter().any(|v| self.test(v, ctx)),
            Some(SetQualifier::ForAllValues) => entry.values.iter().all(|v| self.test(v, ctx)),
        };
        Outcome { holds, missing: false }
    }

    /// The operator applied to one request value: for positive operators "matches some policy
    /// value", for negated ones "matches none".
    fn test(&self, v: &ContextValue, ctx: &Context) -> bool {
        let any = self.matches_any(v, ctx);
        if self.operator.base.is_negated() {
            !any
        } else {
            any
        }
    }

    fn matches_any(&self, v: &ContextValue, ctx: &Context) -> bool {
        use BaseOp::*;
        let base = self.operator.base;
        match &self.values {
            Values::Patterns(ps) => ps.iter().any(|p| p.matches(&v.text, ctx) == Match::Yes),
            Values::Arns(arns) => arns.iter().any(|a| arn_matches(a, &v.text, ctx)),
            Values::Numbers(ns) => v.number.is_some_and(|x| {
                ns.iter().any(|n| match base {
                    NumericLessThan => x < *n,
                    NumericLessThanEquals => x <= *n,
                    NumericGreaterThan => x > *n,
                    NumericGreaterThanEquals => x >= *n,
                    _ => x == *n,
                })
            }),
            Values::Dates(ds) => v.instant.is_some_and(|x| {
                ds.iter().any(|d| match base {
                    DateLessThan => x < *d,
                    DateLessThanEquals => x <= *d,
                    DateGreaterThan => x > *d,
                    DateGreaterThanEquals => x >= *d,
                    _ => x == *d,
                })
            }),
            Values::Bools(bs) => v.boolean.is_some_and(|x| bs.contains(&Some(x))),
            Values::Bytes(bs) => bs.iter().any(|b| **b == *v.bytes()),
            Values::Nets(nets) => v.ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            Values::Null(_) => false,
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn arn_value(text: &str, variables: bool) -> ArnValue {
    if text == "*" {
        return ArnValue::Any;
    }
    if variables && crate::variables::has_variable(text) && crate::arn::split_fields(text, true).len() < 6 {
        return ArnValue::Whole(Pattern::new(text, Case::Sensitive, true, variables));
    }
    match crate::arn::pattern_fields(text, variables) {
        Some(fields) => {
            ArnValue::Fields(Box::new(fields.map(|field| Pattern::new(field, Case::Sensitive, true, variables))))
        }
        None => ArnValue::Never,
    }
}

/// `ArnLike` (and `ArnEquals`, which honours wildcards too: the condition operators page gives
/// both the same description): field by field; a request value that is not six colon-separated
/// fields matches nothing.
fn arn_matches(value: &ArnValue, text: &str, ctx: &Context) -> bool {
    match value {
        ArnValue::Any => true,
        ArnValue::Never => false,
        ArnValue::Whole(p) => p.matches(text, ctx) == Match::Yes,
        ArnValue::Fields(patterns) => {
            let mut fields = text.splitn(6, ':');
            let all = patterns.iter().all(|p| fields.next().is_some_and(|f| p.matches(f, ctx) == Match::Yes));
            all && fields.next().is_none()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::context::ContextKeyType;

    fn cond(op: &str, key: &str, values: &[&str]) -> Condition {
        let raw: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        Condition::compile(Operator::parse(op).unwrap(), op, key, &raw, true)
    }

    fn ctx(entries: &[(&str, ContextKeyType, &[&str])]) -> Context {
        let mut c = Context::new();
        for (k, t, v) in entries {
            c.insert(k, *t, v).unwrap();
        }
        c
    }

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAnyValue:StringLikeIfExists").unwrap();
        assert_eq!((op.base, op.set, op.if_exists), (BaseOp::StringLike, Some(SetQualifier::ForAnyValue), true));
        assert_eq!(Operator::parse("ForAnyValue::StringEquals"), None);
        assert_eq!(Operator::parse("stringequals"), None);
        assert_eq!(Operator::parse("NullIfExists"), None);
    }

    #[test]
    fn missing_key_table() {
        let empty = Context::new();
        assert!(!cond("StringEquals", "k", &["a"]).evaluate(&empty).holds);
        assert!(cond("StringNotEquals", "k", &["a"]).evaluate(&empty).holds);
        assert!(cond("StringEqualsIfExists", "k", &["a"]).evaluate(&empty).holds);
        assert!(!cond("ForAnyValue:StringEquals", "k", &["a"]).evaluate(&empty).holds);
        assert!(cond("ForAllValues:StringEquals", "k", &["a"]).evaluate(&empty).holds);
        assert!(cond("Null", "k", &["true"]).evaluate(&empty).holds);
        assert!(!cond("Null", "k", &["false"]).evaluate(&empty).holds);
        assert!(cond("StringEquals", "k", &["a"]).evaluate(&empty).missing);
    }

    #[test]
    fn negated_values_are_nor() {
        let c = cond("StringNotEquals", "aws:PrincipalAccount", &["111122223333", "444455556666"]);
        let t = |acct: &str| c.evaluate(&ctx(&[("aws:PrincipalAccount", ContextKeyType::String, &[acct])])).holds;
        assert!(!t("444455556666"));
        assert!(t("777788889999"));
    }

    #[test]
    fn several_values_need_a_set_operator() {
        let c = ctx(&[("aws:TagKeys", ContextKeyType::StringList, &["env", "team"])]);
        assert!(!cond("StringEquals", "aws:TagKeys", &["env"]).evaluate(&c).holds);
        assert!(!cond("StringNotEquals", "aws:TagKeys", &["x"]).evaluate(&c).holds);
        assert!(cond("ForAnyValue:StringEquals", "aws:TagKeys", &["env"]).evaluate(&c).holds);
        assert!(!cond("ForAllValues:StringEquals", "aws:TagKeys", &["env"]).evaluate(&c).holds);
        assert!(cond("ForAllValues:StringEquals", "aws:TagKeys", &["env", "team", "x"]).evaluate(&c).holds);
    }

    #[test]
    fn arn_like_stays_in_fields_string_like_does_not() {
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        let c = ctx(&[("k", ContextKeyType::String, &[value])]);
        let pattern = "arn:aws:someservice:*:111122223333:finance/*";
        assert!(cond("StringLike", "k", &[pattern]).evaluate(&c).holds);
        assert!(!cond("ArnLike", "k", &[pattern]).evaluate(&c).holds);
        assert!(cond("ArnEquals", "k", &["arn:aws:someservice:*:999999999999:store/*"]).evaluate(&c).holds);
    }

    #[test]
    fn arn_operators_follow_the_trailing_star_rule() {
        // The Resource page's rule ("If the `*` wildcard is the last character of a resource ARN
        // segment, it can expand to match beyond the colon boundaries", IAM User Guide, "IAM JSON
        // policy elements: Resource"), applied to ARN condition values like to Resource entries.
        // ArnEquals and ArnLike are the same operator (the condition operators page describes both
        // as matching each colon-delimited field, wildcards included).
        let holds = |op: &str, pattern: &str, value: &str| {
            cond(op, "aws:SourceArn", &[pattern])
                .evaluate(&ctx(&[("aws:SourceArn", ContextKeyType::String, &[value])]))
                .holds
        };
        let a_east = "arn:aws:ecr:us-east-1:111122223333:repository/team/app";
        let b_east = "arn:aws:ecr:us-east-1:444455556666:repository/app";
        let a_west = "arn:aws:ecr:us-west-2:111122223333:repository/team/app";
        let s3 = "arn:aws:s3:::bucket";
        for op in ["ArnLike", "ArnEquals"] {
            assert!(holds(op, "arn:aws:ecr:us-east-1:*", a_east));
            assert!(holds(op, "arn:aws:ecr:us-east-1:*", b_east));
            assert!(!holds(op, "arn:aws:ecr:us-east-1:*", a_west));
            assert!(!holds(op, "arn:aws:ecr:us-east-1:*", s3));
            assert!(holds(op, "arn:aws:ecr:us-east-1:1111*", a_east));
            assert!(!holds(op, "arn:aws:ecr:us-east-1:1111*", b_east));
            assert!(!holds(op, "arn:aws:ecr:us-east-1:1111*", a_west));
            // Not ARNs at all.
            assert!(!holds(op, "arn:aws:ecr:us-east-1:*", "arn:aws:ecr:us-east-1"));
            assert!(!holds(op, "arn:aws:ecr:us-east-1:*", "repository/team/app"));
            // Without a trailing `*`, a short value matches no ARN.
            assert!(!holds(op, "arn:aws:ecr:us-east-1", a_east));
            assert!(!holds(op, "arn:aws:ecr:us-east-1", "arn:aws:ecr:us-east-1"));
        }
        for op in ["ArnNotLike", "ArnNotEquals"] {
            assert!(!holds(op, "arn:aws:ecr:us-east-1:*", a_east));
            assert!(holds(op, "arn:aws:ecr:us-east-1:*", a_west));
            assert!(holds(op, "arn:aws:ecr:us-east-1:1111*", b_east));
            assert!(holds(op, "arn:aws:ecr:us-east-1", a_east));
        }
        // `*` alone is any value.
        assert!(holds("ArnLike", "*", "not-an-arn"));
    }

    #[test]
    fn arn_values_keep_variables_whole() {
        let c = ctx(&[
            ("aws:PrincipalArn", ContextKeyType::String, &["arn:aws:iam::111122223333:role/teams/ci"]),
            ("aws:PrincipalAccount", ContextKeyType::String, &["111122223333"]),
            ("aws:SourceArn", ContextKeyType::String, &["arn:aws:iam::111122223333:role/teams/ci"]),
        ]);
        // A variable in the account field: its colon does not split the value's fields.
        let in_field = cond("ArnLike", "aws:PrincipalArn", &["arn:aws:iam::${aws:PrincipalAccount}:role/*"]);
        assert!(in_field.evaluate(&c).holds);
        // A value that is one variable: its fields are known once it is substituted.
        assert!(cond("ArnEquals", "aws:SourceArn", &["${aws:PrincipalArn}"]).evaluate(&c).holds);
        assert!(cond("ArnLike", "aws:SourceArn", &["${aws:PrincipalArn}*"]).evaluate(&c).holds);
    }

    #[test]
    fn typed_comparisons() {
        let c = ctx(&[
            ("n", ContextKeyType::Numeric, &["10.0"]),
            ("d", ContextKeyType::Date, &["2024-06-01T00:00:00Z"]),
            ("ip", ContextKeyType::Ip, &["2001:db8:1234:5678::9"]),
            ("b", ContextKeyType::Binary, &["QmluYXJ5"]),
            ("t", ContextKeyType::Boolean, &["TRUE"]),
        ]);
        assert!(cond("NumericEquals", "n", &["10"]).evaluate(&c).holds);
        assert!(cond("NumericLessThan", "n", &["10.5"]).evaluate(&c).holds);
        assert!(cond("DateGreaterThan", "d", &["1704067200"]).evaluate(&c).holds);
        assert!(!cond("DateEquals", "d", &["2024-06-01T00:00:01Z"]).evaluate(&c).holds);
        assert!(cond("IpAddress", "ip", &["2001:DB8:1234:5678::/64"]).evaluate(&c).holds);
        assert!(cond("NotIpAddress", "ip", &["203.0.113.0/24"]).evaluate(&c).holds);
        assert!(cond("BinaryEquals", "b", &["QmluYXJ5"]).evaluate(&c).holds);
        assert!(cond("Bool", "t", &["true"]).evaluate(&c).holds);
    }

    #[test]
    fn unresolved_variables_are_null() {
        let c = ctx(&[("ecr:ResourceTag/owner", ContextKeyType::String, &["ci"])]);
        assert!(!cond("StringEquals", "ecr:ResourceTag/owner", &["${aws:username}"]).evaluate(&c).holds);
        assert!(cond("StringNotEquals", "ecr:ResourceTag/owner", &["${aws:username}"]).evaluate(&c).holds);
        let with_user = ctx(&[
            ("ecr:ResourceTag/owner", ContextKeyType::String, &["ci"]),
            ("aws:username", ContextKeyType::String, &["ci"]),
        ]);
        assert!(cond("StringEquals", "ecr:ResourceTag/owner", &["${aws:username}"]).evaluate(&with_user).holds);
    }
}
