//! The validated form of a policy document: what each element says, with the span it came from.
//!
//! [`Policy::parse`] reads and validates; [`Policy::to_json`] writes the document back (one-or-many
//! lists keep their shape; an object's keys come back sorted, and equality ignores key order, so
//! parse → serialize → parse gives an equal policy).
//!
//! ```
//! use warden_policy::{Policy, PolicyKind};
//! let p = Policy::parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*"}}"#,
//!                       PolicyKind::Identity).unwrap();
//! assert_eq!(p.statements().len(), 1);
//! let again = Policy::parse(&p.to_json().to_string(), PolicyKind::Identity).unwrap();
//! assert_eq!(p, again);
//! ```

pub(crate) mod operator;
pub(crate) mod span;

pub use span::{Position, Span};

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

/// Which kind of policy a document is; it decides which elements are required or forbidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An identity-based policy (inline or managed, of a user, group or role).
    Identity,
    /// A permissions boundary (identity grammar; can only limit).
    Boundary,
    /// A session policy (identity grammar; can only limit).
    Session,
    /// A resource-based policy in general (`Principal` required, `Resource` optional).
    Resource,
    /// An Amazon ECR repository policy (`Principal` required; answers with ECR's exception).
    Repository,
}

impl PolicyKind {
    /// True for the kinds evaluated on the resource side (with `Principal`).
    pub fn is_resource_side(self) -> bool {
        matches!(self, PolicyKind::Resource | PolicyKind::Repository)
    }

    /// A phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Session => "session policy",
            PolicyKind::Resource => "resource-based policy",
            PolicyKind::Repository => "repository policy",
        }
    }
}

/// The `Version` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are expanded.
    V2012_10_17,
    /// `2008-10-17`: variables are literal text.
    V2008_10_17,
    /// No `Version`: legacy semantics, variables are literal text.
    Absent,
}

impl Version {
    /// True when `${…}` is expanded.
    pub fn expands_variables(self) -> bool {
        self == Version::V2012_10_17
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `Allow`
    Allow,
    /// `Deny`
    Deny,
}

impl Effect {
    /// `Allow` / `Deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// Where an element stood in the source. Two locations are equal when they are the same place;
/// the elements that carry one (clauses, values, condition blocks) compare what they say and
/// ignore where it was written, so two policies that say the same are equal wherever they were
/// written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loc(pub Span);

/// Equality of what an element says, not where: `$ty`'s fields `$($f),*`.
macro_rules! same_meaning {
    ($ty:ty: $($f:ident),*) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                $(self.$f == other.$f)&&*
            }
        }
        impl Eq for $ty {}
    };
}

same_meaning!(OneOrMany: values, single);
same_meaning!(Clause: negated, values);
impl PartialEq for PrincipalClause {
    /// What it says, in any order of the principal map's keys.
    fn eq(&self, other: &Self) -> bool {
        fn sorted(v: &PrincipalValue) -> Option<Vec<(&'static str, &OneOrMany)>> {
            match v {
                PrincipalValue::Any => None,
                PrincipalValue::Map(m) => {
                    let mut entries: Vec<_> = m.iter().map(|(t, v)| (t.as_str(), v)).collect();
                    entries.sort_by_key(|(t, _)| *t);
                    Some(entries)
                }
            }
        }
        self.negated == other.negated && sorted(&self.value) == sorted(&other.value)
    }
}

impl Eq for PrincipalClause {}
same_meaning!(ConditionBlock: operator, entries);
same_meaning!(ConditionEntry: key, values);

/// A list element that may be written as one string or an array.
#[derive(Debug, Clone)]
pub struct OneOrMany {
    /// The values.
    pub(crate) values: Vec<String>,
    /// Written as a bare string.
    pub(crate) single: bool,
    /// Where each value stands.
    pub(crate) spans: Vec<Loc>,
}

impl OneOrMany {
    fn to_json(&self) -> Json {
        match (self.single, self.values.as_slice()) {
            (true, [one]) => Json::String(one.clone()),
            _ => Json::Array(self.values.iter().cloned().map(Json::String).collect()),
        }
    }
}

/// `Action`/`NotAction` or `Resource`/`NotResource`.
#[derive(Debug, Clone)]
pub struct Clause {
    /// True for the `Not…` form.
    pub(crate) negated: bool,
    /// The patterns.
    pub(crate) values: OneOrMany,
    /// Where the element's key (`"Action"`, `"NotResource"`) stands.
    pub(crate) key: Loc,
}

/// `Principal`/`NotPrincipal`.
#[derive(Debug, Clone)]
pub struct PrincipalClause {
    /// True for `NotPrincipal`.
    pub(crate) negated: bool,
    /// The value.
    pub(crate) value: PrincipalValue,
    /// Where the value stands.
    pub(crate) span: Loc,
}

/// The value of a `Principal` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalValue {
    /// `"*"`
    Any,
    /// `{"AWS": …, "Service": …, "Federated": …, "CanonicalUser": …}`, in source order.
    Map(Vec<(PrincipalType, OneOrMany)>),
}

/// The keys of a principal map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    /// `AWS`: accounts, users, roles, sessions.
    Aws,
    /// `Service`: AWS service principals.
    Service,
    /// `Federated`: identity providers.
    Federated,
    /// `CanonicalUser`: S3 canonical ids.
    CanonicalUser,
}

impl PrincipalType {
    /// The JSON key.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Aws => "AWS",
            PrincipalType::Service => "Service",
            PrincipalType::Federated => "Federated",
            PrincipalType::CanonicalUser => "CanonicalUser",
        }
    }
}

/// One `"Operator": {"key": values}` block of a `Condition`.
#[derive(Debug, Clone)]
pub struct ConditionBlock {
    /// Operator as written (`ForAnyValue:StringLikeIfExists`).
    pub(crate) operator: String,
    /// Where the operator stands.
    pub(crate) operator_span: Loc,
    /// Keys with their values, in source order.
    pub(crate) entries: Vec<ConditionEntry>,
}

/// One key of a condition block.
#[derive(Debug, Clone)]
pub struct ConditionEntry {
    /// Key as written.
    pub(crate) key: String,
    /// Where the key stands.
    pub(crate) key_span: Loc,
    /// Values (unquoted numbers and booleans are kept as their text).
    pub(crate) values: OneOrMany,
}

/// One statement.
#[derive(Debug, Clone)]
pub struct Statement {
    /// `Sid`, when given.
    pub(crate) sid: Option<String>,
    /// Where the Sid's value stands.
    pub(crate) sid_span: Option<Loc>,
    /// `Effect`.
    pub(crate) effect: Effect,
    /// `Principal`/`NotPrincipal`.
    pub(crate) principal: Option<PrincipalClause>,
    /// `Action`/`NotAction`.
    pub(crate) action: Clause,
    /// `Resource`/`NotResource`.
    pub(crate) resource: Option<Clause>,
    /// `Condition` blocks (an absent or empty `Condition` is an empty list).
    pub(crate) condition: Vec<ConditionBlock>,
    /// Span of the statement object in the source.
    pub(crate) span: Span,
}

impl PartialEq for Statement {
    /// Two statements are equal when they say the same; where they were written does not matter,
    /// nor the order of the keys of a JSON object (`Condition`'s operators and keys).
    fn eq(&self, other: &Self) -> bool {
        self.sid == other.sid
            && self.effect == other.effect
            && self.principal == other.principal
            && self.action == other.action
            && self.resource == other.resource
            && same_conditions(&self.condition, &other.condition)
    }
}

/// Condition blocks compared as the JSON objects they are: in any order of operators and keys.
fn same_conditions(a: &[ConditionBlock], b: &[ConditionBlock]) -> bool {
    fn sorted(blocks: &[ConditionBlock]) -> Vec<(&str, Vec<(&str, &OneOrMany)>)> {
        let mut out: Vec<_> = blocks
            .iter()
            .map(|b| {
                let mut entries: Vec<_> = b.entries.iter().map(|e| (e.key.as_str(), &e.values)).collect();
                entries.sort_by_key(|(k, _)| *k);
                (b.operator.as_str(), entries)
            })
            .collect();
        out.sort_by(|x, y| x.0.cmp(y.0));
        out
    }
    a.len() == b.len() && sorted(a) == sorted(b)
}

impl OneOrMany {
    /// The values, in source order.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// True when written as a bare string rather than an array.
    pub fn is_single(&self) -> bool {
        self.single
    }
}

impl Clause {
    /// True for `NotAction` / `NotResource`.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// The patterns.
    pub fn values(&self) -> &[String] {
        &self.values.values
    }

    /// Where the element's key (`"Action"`, `"NotResource"`) stands.
    pub fn key_span(&self) -> Span {
        self.key.0
    }
}

impl PrincipalClause {
    /// True for `NotPrincipal`.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// The value.
    pub fn value(&self) -> &PrincipalValue {
        &self.value
    }
}

impl ConditionBlock {
    /// The operator as written (`ForAnyValue:StringLikeIfExists`).
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Its keys with their values, in source order.
    pub fn entries(&self) -> &[ConditionEntry] {
        &self.entries
    }

    /// Where the operator stands.
    pub fn operator_span(&self) -> Span {
        self.operator_span.0
    }
}

impl ConditionEntry {
    /// The key as written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Its values (unquoted numbers and booleans as their text).
    pub fn values(&self) -> &[String] {
        &self.values.values
    }

    /// Where the key stands.
    pub fn key_span(&self) -> Span {
        self.key_span.0
    }
}

impl Statement {
    /// `Sid`, when given.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// `Effect`.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// `Principal` / `NotPrincipal`, when present.
    pub fn principal(&self) -> Option<&PrincipalClause> {
        self.principal.as_ref()
    }

    /// `Action` / `NotAction`.
    pub fn action(&self) -> &Clause {
        &self.action
    }

    /// `Resource` / `NotResource`, when present.
    pub fn resource(&self) -> Option<&Clause> {
        self.resource.as_ref()
    }

    /// The `Condition` blocks (empty when there is none).
    pub fn condition(&self) -> &[ConditionBlock] {
        &self.condition
    }

    /// Where the statement object stands in the source.
    pub fn span(&self) -> Span {
        self.span
    }
}

/// A parsed and validated policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) kind: PolicyKind,
    pub(crate) version: Version,
    pub(crate) id: Option<String>,
    pub(crate) statements: Vec<Statement>,
    pub(crate) statement_is_array: bool,
    pub(crate) source: Arc<str>,
}

impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.version == other.version
            && self.id == other.id
            && self.statements == other.statements
            && self.statement_is_array == other.statement_is_array
    }
}

impl Policy {
    /// The policy kind it was validated as.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// `Version`.
    pub fn version(&self) -> Version {
        self.version
    }

    /// `Id`.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements, in source order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Start and end position of statement `i` (1-based; the end is one past its closing brace).
    pub fn statement_positions(&self, i: usize) -> Option<(Position, Position)> {
        let s = self.statements.get(i)?;
        Some((span::position(&self.source, s.span.start), span::position(&self.source, s.span.end)))
    }

    /// The document as JSON.
    pub fn to_json(&self) -> Json {
        let mut doc = Map::new();
        match self.version {
            Version::V2012_10_17 => {
                doc.insert("Version".into(), json!("2012-10-17"));
            }
            Version::V2008_10_17 => {
                doc.insert("Version".into(), json!("2008-10-17"));
            }
            Version::Absent => {}
        }
        if let Some(id) = &self.id {
            doc.insert("Id".into(), json!(id));
        }
        let statements: Vec<Json> = self.statements.iter().map(statement_json).collect();
        let statement = match (self.statement_is_array, statements.as_slice()) {
            (false, [one]) => one.clone(),
            _ => Json::Array(statements),
        };
        doc.insert("Statement".into(), statement);
        Json::Object(doc)
    }
}

fn statement_json(s: &Statement) -> Json {
    let mut m = Map::new();
    if let Some(sid) = &s.sid {
        m.insert("Sid".into(), json!(sid));
    }
    m.insert("Effect".into(), json!(s.effect.as_str()));
    if let Some(p) = &s.principal {
        let key = if p.negated { "NotPrincipal" } else { "Principal" };
        let value = match &p.value {
            PrincipalValue::Any => json!("*"),
            PrincipalValue::Map(entries) => {
                Json::Object(entries.iter().map(|(t, v)| (t.as_str().to_owned(), v.to_json())).collect())
            }
        };
        m.insert(key.into(), value);
    }
    let action_key = if s.action.negated { "NotAction" } else { "Action" };
    m.insert(action_key.into(), s.action.values.to_json());
    if let Some(r) = &s.resource {
        let key = if r.negated { "NotResource" } else { "Resource" };
        m.insert(key.into(), r.values.to_json());
    }
    if !s.condition.is_empty() {
        let blocks: Map<String, Json> = s
            .condition
            .iter()
            .map(|b| {
                let entries: Map<String, Json> =
                    b.entries.iter().map(|e| (e.key.clone(), e.values.to_json())).collect();
                (b.operator.clone(), Json::Object(entries))
            })
            .collect();
        m.insert("Condition".into(), Json::Object(blocks));
    }
    Json::Object(m)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn locations_compare_honestly_and_policies_by_what_they_say() {
        let a = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"*"}]}"#,
            PolicyKind::Identity,
        )
        .unwrap();
        let b = Policy::parse(
            r#"{ "Version": "2012-10-17",
                 "Statement": [ { "Effect": "Allow", "Action": "ecr:*", "Resource": "*" } ] }"#,
            PolicyKind::Identity,
        )
        .unwrap();
        let (sa, sb) = (&a.statements()[0], &b.statements()[0]);
        assert_ne!(sa.action.key, sb.action.key, "written in different places");
        assert_eq!(sa.action.key, sa.action.key);
        assert_eq!(sa.action, sb.action);
        assert_eq!(a, b);
        let c = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:Get*","Resource":"*"}]}"#,
            PolicyKind::Identity,
        )
        .unwrap();
        assert_ne!(a, c);
    }

    /// JSON objects have no key order: a policy written back (keys sorted) is equal to the one
    /// read (found by the `parse_policy` fuzz target).
    #[test]
    fn object_key_order_does_not_matter() {
        let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ecs.amazonaws.com","AWS":"*"},
            "Action":"ecr:*","Condition":{"StringLike":{"b":"1","a":"2"},"Bool":{"aws:SecureTransport":"true"}}}}"#;
        let p = Policy::parse(text, PolicyKind::Repository).unwrap();
        let again = Policy::parse(&p.to_json().to_string(), PolicyKind::Repository).unwrap();
        assert_eq!(p, again);
        let other = text.replace(r#""a":"2""#, r#""a":"3""#);
        assert_ne!(p, Policy::parse(&other, PolicyKind::Repository).unwrap());
    }
}
