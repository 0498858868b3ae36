//! Policy text → [`Policy`], validated the way AWS validates.
//!
//! IAM reports only the first failing check, in a fixed precedence (syntax → legacy parsing →
//! principal → Sid uniqueness → actions → resources → resource format → action vendor; captured
//! from the real service in MOTO's test table, restated in iam-semantics.md §5.2). The parser
//! collects every problem with its rank and returns the first of the highest-precedence rank, so
//! the error matches what AWS would say while still pointing at the exact element.

pub(crate) mod json;

use std::sync::Arc;

use crate::arn::{is_account_id, PARTITIONS};
use crate::ast::operator::{parse_cidr, Operator, ValueType};
use crate::ast::span::Span;
use crate::ast::{
    Clause, ConditionBlock, ConditionEntry, Effect, Loc, OneOrMany, Policy, PolicyKind, PrincipalClause, PrincipalType,
    PrincipalValue, Statement, Version,
};
use crate::error::{PolicyError, PolicyErrorKind as K};
use crate::limits::{MAX_POLICY_CHARS, MAX_REPOSITORY_POLICY_CHARS, MAX_STATEMENTS};
use json::{Kind, Member, Value};

/// Precedence of a check, lowest first (IAM reports the lowest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Legacy,
    Principal,
    Sid,
    Actions,
    Resources,
    ResourceFormat,
    ActionVendor,
}

struct Parser {
    kind: PolicyKind,
    source: Arc<str>,
    problems: Vec<(Rank, PolicyError)>,
    statement: Option<(usize, Option<String>)>,
}

/// A syntax error ends parsing at once.
type Fatal = PolicyError;

impl Parser {
    fn error(&self, kind: K, span: Span) -> PolicyError {
        PolicyError::new(kind, self.kind, Arc::clone(&self.source)).at(span, self.statement.clone())
    }

    fn fatal(&self, message: impl Into<String>, span: Span) -> Fatal {
        self.error(K::Syntax(message.into()), span)
    }

    fn report(&mut self, rank: Rank, kind: K, span: Span) {
        let e = self.error(kind, span);
        self.problems.push((rank, e));
    }
}
impl Policy {
    /// Parses and validates `text` as a policy of `kind`.
    pub fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        parse(text, kind)
    }
}

pub(crate) fn parse(text: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let source: Arc<str> = Arc::from(text);
    let limit = if kind == PolicyKind::Repository { MAX_REPOSITORY_POLICY_CHARS } else { MAX_POLICY_CHARS };
    let chars = text.chars().count();
    if chars > limit {
        return Err(PolicyError::new(K::TooLarge { actual: chars, limit }, kind, source));
    }
    let mut p = Parser { kind, source: Arc::clone(&source), problems: Vec::new(), statement: None };
    let doc = match json::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            return Err(PolicyError::new(K::Json(e.message), kind, source).at(e.span, None));
        }
    };
    let policy = document(&mut p, &doc)?;
    // The first problem of the highest-precedence rank; ties keep source order.
    let first = p.problems.into_iter().enumerate().min_by_key(|(i, (rank, _))| (*rank, *i));
    match first {
        Some((_, (_, e))) => Err(e),
        None => Ok(policy),
    }
}

fn document(p: &mut Parser, doc: &Value) -> Result<Policy, Fatal> {
    let Kind::Object(members) = &doc.kind else {
        return Err(p.fatal(format!("a policy must be a JSON object, not {}", doc.kind_name()), doc.span));
    };
    let mut version = Version::Absent;
    let mut id = None;
    let mut statement = None;
    for m in members {
        match m.key.as_str() {
            "Version" => {
                let text = string(p, &m.value, "Version")?;
                version = match text {
                    "2012-10-17" => Version::V2012_10_17,
                    "2008-10-17" => Version::V2008_10_17,
                    other => return Err(p.error(K::Version(other.to_owned()), m.value.span)),
                };
            }
            "Id" => id = Some(string(p, &m.value, "Id")?.to_owned()),
            "Statement" => statement = Some(&m.value),
            other => return Err(p.fatal(unknown_element(other, &["Version", "Id", "Statement"]), m.key_span)),
        }
    }
    let Some(statement) = statement else {
        return Err(p.fatal("a policy must contain `Statement`", doc.span));
    };
    let (items, is_array): (Vec<&Value>, bool) = match &statement.kind {
        Kind::Object(_) => (vec![statement], false),
        Kind::Array(items) if items.is_empty() => {
            return Err(p.fatal("`Statement` must not be empty", statement.span));
        }
        Kind::Array(items) => (items.iter().collect(), true),
        _ => {
            return Err(p.fatal(
                format!("`Statement` must be an object or an array of objects, not {}", statement.kind_name()),
                statement.span,
            ))
        }
    };
    if items.len() > MAX_STATEMENTS {
        return Err(p.error(K::TooManyStatements(MAX_STATEMENTS), statement.span));
    }
    let mut statements = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        p.statement = Some((i, None));
        statements.push(statement_of(p, item, version)?);
    }
    p.statement = None;
    // Sids must be unique (empty Sids are not compared).
    for (i, s) in statements.iter().enumerate() {
        let Some(sid) = s.sid.as_deref().filter(|s| !s.is_empty()) else { continue };
        if statements.iter().take(i).any(|prev| prev.sid.as_deref() == Some(sid)) {
            p.statement = Some((i, Some(sid.to_owned())));
            p.report(Rank::Sid, K::DuplicateSid(sid.to_owned()), s.span);
        }
    }
    p.statement = None;
    Ok(Policy { kind: p.kind, version, id, statements, statement_is_array: is_array, source: Arc::clone(&p.source) })
}

fn unknown_element(name: &str, known: &[&str]) -> String {
    format!("unknown element `{name}` (known: {}; names are case-sensitive)", known.join(", "))
}

fn string<'v>(p: &Parser, v: &'v Value, element: &str) -> Result<&'v str, Fatal> {
    match &v.kind {
        Kind::String(s) => Ok(s),
        _ => Err(p.fatal(format!("`{element}` must be a string, not {}", v.kind_name()), v.span)),
    }
}

/// A string or an array of strings.
fn one_or_many(p: &Parser, v: &Value, element: &str) -> Result<(OneOrMany, Vec<Span>), Fatal> {
    match &v.kind {
        Kind::String(s) => {
            Ok((OneOrMany { values: vec![s.clone()], single: true, spans: vec![Loc(v.span)] }, vec![v.span]))
        }
        Kind::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            let mut spans = Vec::with_capacity(items.len());
            for item in items {
                values.push(string(p, item, element)?.to_owned());
                spans.push(item.span);
            }
            Ok((OneOrMany { values, single: false, spans: spans.iter().map(|s| Loc(*s)).collect() }, spans))
        }
        _ => {
            Err(p.fatal(format!("`{element}` must be a string or an array of strings, not {}", v.kind_name()), v.span))
        }
    }
}

const STATEMENT_ELEMENTS: &[&str] =
    &["Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"];

fn statement_of(p: &mut Parser, v: &Value, version: Version) -> Result<Statement, Fatal> {
    let Kind::Object(members) = &v.kind else {
        return Err(p.fatal(format!("a statement must be an object, not {}", v.kind_name()), v.span));
    };
    let find = |name: &str| members.iter().find(|m| m.key == name);
    for m in members {
        if !STATEMENT_ELEMENTS.contains(&m.key.as_str()) {
            return Err(p.fatal(unknown_element(&m.key, STATEMENT_ELEMENTS), m.key_span));
        }
    }
    let (sid, sid_span) = match find("Sid") {
        Some(m) => (Some(string(p, &m.value, "Sid")?.to_owned()), Some(Loc(m.value.span))),
        None => (None, None),
    };
    p.statement = Some((p.statement.as_ref().map_or(0, |s| s.0), sid.clone()));
    for (a, b) in [("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")] {
        if let (Some(_), Some(second)) = (find(a), find(b)) {
            return Err(p.fatal(format!("a statement must not contain both `{a}` and `{b}`"), second.key_span));
        }
    }
    let effect = effect_of(p, find("Effect"), v.span)?;
    let principal = principal_of(p, find("Principal").or(find("NotPrincipal")), v.span)?;
    let action = action_of(p, find("Action").or(find("NotAction")), v.span)?;
    let resource = resource_of(p, find("Resource").or(find("NotResource")), v.span)?;
    let condition = match find("Condition") {
        Some(m) => condition_of(p, &m.value, version)?,
        None => Vec::new(),
    };
    Ok(Statement { sid, sid_span, effect, principal, action, resource, condition, span: v.span })
}

fn effect_of(p: &mut Parser, m: Option<&Member>, stmt_span: Span) -> Result<Effect, Fatal> {
    let Some(m) = m else {
        return Err(p.fatal("a statement must contain `Effect`", stmt_span));
    };
    let text = string(p, &m.value, "Effect")?;
    match text {
        "Allow" => Ok(Effect::Allow),
        "Deny" => Ok(Effect::Deny),
        t if t.eq_ignore_ascii_case("allow") => {
            p.report(Rank::Legacy, K::EffectCase(t.to_owned()), m.value.span);
            Ok(Effect::Allow)
        }
        t if t.eq_ignore_ascii_case("deny") => {
            p.report(Rank::Legacy, K::EffectCase(t.to_owned()), m.value.span);
            Ok(Effect::Deny)
        }
        t => Err(p.error(K::Effect(t.to_owned()), m.value.span)),
    }
}

fn principal_of(p: &mut Parser, m: Option<&Member>, stmt_span: Span) -> Result<Option<PrincipalClause>, Fatal> {
    let resource_side = p.kind.is_resource_side();
    let Some(m) = m else {
        if resource_side {
            p.report(Rank::Principal, K::PrincipalRequired, stmt_span);
        }
        return Ok(None);
    };
    let negated = m.key == "NotPrincipal";
    let value = match &m.value.kind {
        Kind::String(s) if s == "*" => PrincipalValue::Any,
        Kind::String(s) => {
            p.report(Rank::Principal, K::Principal(s.clone()), m.value.span);
            PrincipalValue::Map(Vec::new())
        }
        Kind::Object(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for e in entries {
                let ty = match e.key.as_str() {
                    "AWS" => PrincipalType::Aws,
                    "Service" => PrincipalType::Service,
                    "Federated" => PrincipalType::Federated,
                    "CanonicalUser" => PrincipalType::CanonicalUser,
                    other => {
                        return Err(p.fatal(
                            unknown_element(other, &["AWS", "Service", "Federated", "CanonicalUser"]),
                            e.key_span,
                        ))
                    }
                };
                let (values, spans) = one_or_many(p, &e.value, ty.as_str())?;
                if values.values.is_empty() {
                    p.report(Rank::Principal, K::Principal("[]".to_owned()), e.value.span);
                }
                for (value, span) in values.values.iter().zip(spans) {
                    if !valid_principal(ty, value) {
                        p.report(Rank::Principal, K::Principal(value.clone()), span);
                    }
                }
                out.push((ty, values));
            }
            if out.is_empty() {
                p.report(Rank::Principal, K::Principal("{}".to_owned()), m.value.span);
            }
            PrincipalValue::Map(out)
        }
        _ => {
            return Err(
                p.fatal(format!("`{}` must be `\"*\"` or an object, not {}", m.key, m.value.kind_name()), m.value.span)
            )
        }
    };
    if !resource_side {
        p.report(Rank::Principal, K::PrincipalNotAllowed(p.kind.describe()), m.key_span);
    }
    Ok(Some(PrincipalClause { negated, value, span: Loc(m.value.span) }))
}

/// Principal values AWS accepts: `*`, an account id, an IAM/STS principal ARN without wildcards,
/// a unique id (`AIDA…`, `AROA…`), a service principal.
fn valid_principal(ty: PrincipalType, value: &str) -> bool {
    match ty {
        PrincipalType::Aws => {
            if value == "*" || is_account_id(value) {
                return true;
            }
            if value.contains(['*', '?']) {
                return false;
            }
            if value.len() == 21 && value.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
                return true;
            }
            let Some(arn) = crate::arn::Arn::parse(value) else { return false };
            if !is_account_id(arn.account) || !arn.region.is_empty() {
                return false;
            }
            match arn.service {
                "iam" => {
                    arn.resource == "root"
                        || arn.resource.strip_prefix("user/").is_some_and(|r| !r.is_empty())
                        || arn.resource.strip_prefix("role/").is_some_and(|r| !r.is_empty())
                }
                "sts" => {
                    arn.resource.strip_prefix("assumed-role/").is_some_and(|r| r.split('/').count() == 2)
                        || arn.resource.strip_prefix("federated-user/").is_some_and(|r| !r.is_empty())
                }
                _ => false,
            }
        }
        PrincipalType::Service => value == "*" || (!value.is_empty() && !value.contains(['*', '?', ' '])),
        PrincipalType::Federated | PrincipalType::CanonicalUser => !value.is_empty(),
    }
}

fn action_of(p: &mut Parser, m: Option<&Member>, stmt_span: Span) -> Result<Clause, Fatal> {
    let Some(m) = m else {
        p.report(Rank::Actions, K::MissingActions, stmt_span);
        return Ok(Clause {
            negated: false,
            values: OneOrMany { values: Vec::new(), single: false, spans: Vec::new() },
            key: Loc(stmt_span),
        });
    };
    let (values, spans) = one_or_many(p, &m.value, &m.key)?;
    if values.values.is_empty() {
        p.report(Rank::Actions, K::MissingActions, m.value.span);
    }
    for (a, span) in values.values.iter().zip(spans) {
        if a == "*" {
            continue;
        }
        match a.split_once(':') {
            None => p.report(Rank::ActionVendor, K::ActionVendor(a.clone()), span),
            Some((_, rest)) if rest.contains(':') => p.report(Rank::ActionVendor, K::ActionColons(a.clone()), span),
            Some((vendor, _)) => {
                let ok = !vendor.is_empty()
                    && vendor
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'*' | b'?' | b'_' | b'.'));
                if !ok {
                    p.report(Rank::ActionVendor, K::ActionVendorChars(vendor.to_owned()), span);
                }
            }
        }
    }
    Ok(Clause { negated: m.key == "NotAction", values, key: Loc(m.key_span) })
}

fn resource_of(p: &mut Parser, m: Option<&Member>, stmt_span: Span) -> Result<Option<Clause>, Fatal> {
    let identity_grammar = !p.kind.is_resource_side();
    let Some(m) = m else {
        if identity_grammar {
            p.report(Rank::Resources, K::MissingResources, stmt_span);
        }
        return Ok(None);
    };
    let (values, spans) = one_or_many(p, &m.value, &m.key)?;
    // ECR once refused `Resource` in repository policies; its current user guide prints them with
    // `"Resource": "*"`, so they are accepted and evaluated against the repository ARN.
    if values.values.is_empty() {
        p.report(Rank::Resources, K::MissingResources, m.value.span);
    }
    for (r, span) in values.values.iter().zip(spans) {
        check_resource(p, r, span);
    }
    Ok(Some(Clause { negated: m.key == "NotResource", values, key: Loc(m.key_span) }))
}

fn check_resource(p: &mut Parser, r: &str, span: Span) {
    if r == "*" {
        return;
    }
    if !r.contains(':') {
        p.report(Rank::ResourceFormat, K::ResourceFormat(r.to_owned()), span);
        return;
    }
    let fields: Vec<&str> = r.splitn(6, ':').collect();
    if fields.first() != Some(&"arn") {
        p.report(Rank::ResourceFormat, K::ResourceFormat(r.to_owned()), span);
        return;
    }
    if fields.len() == 2 {
        p.report(Rank::ResourceFormat, K::ArnVendor(r.to_owned()), span);
    }
    if let Some(partition) = fields.get(1) {
        if !partition.contains(['*', '?']) && !PARTITIONS.contains(partition) {
            p.report(
                Rank::ResourceFormat,
                K::Partition { partition: (*partition).to_owned(), resource: r.to_owned() },
                span,
            );
            return;
        }
    }
    // IAM's legacy parser refuses a resource with fewer than five colons that holds an empty field
    // (`arn:aws:s3::bucket`: "The policy failed legacy parsing"; MOTO's validator asserts
    // `count(":") >= 5 or "::" not in resource`, and runs that check only on a statement whose
    // resources have no format error). Other short forms are accepted: `arn:aws:fdsasf`,
    // `arn:aws:ecr:*` (the ECR user guide's "all Amazon ECR resources"), and the User Guide's
    // trailing-`*` ARNs such as `arn:aws:ecr:us-east-1:*` and `arn:aws:ecr:us-east-1:1111*`
    // ("IAM JSON policy elements: Resource": "If the `*` wildcard is the last character of a
    // resource ARN segment, it can expand to match beyond the colon boundaries"). How short forms
    // match: [`crate::arn::pattern_fields`].
    if (3..6).contains(&fields.len()) && r.contains("::") {
        p.report(Rank::Legacy, K::ArnFields(r.to_owned()), span);
    }
}

fn condition_of(p: &mut Parser, v: &Value, version: Version) -> Result<Vec<ConditionBlock>, Fatal> {
    let Kind::Object(blocks) = &v.kind else {
        return Err(p.fatal(format!("`Condition` must be an object, not {}", v.kind_name()), v.span));
    };
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let Kind::Object(entries) = &b.value.kind else {
            return Err(p.fatal(
                format!("the body of condition operator `{}` must be an object, not {}", b.key, b.value.kind_name()),
                b.value.span,
            ));
        };
        let operator = Operator::parse(&b.key);
        if operator.is_none() && !entries.is_empty() {
            return Err(p.error(K::UnknownOperator(b.key.clone()), b.key_span));
        }
        let mut block = ConditionBlock {
            operator: b.key.clone(),
            operator_span: Loc(b.key_span),
            entries: Vec::with_capacity(entries.len()),
        };
        for e in entries {
            if block.entries.iter().any(|prev| prev.key.eq_ignore_ascii_case(&e.key)) {
                return Err(p.fatal(
                    format!("condition key `{}` appears twice under `{}` (keys are case-insensitive)", e.key, b.key),
                    e.key_span,
                ));
            }
            let (values, spans) = condition_values(p, &e.value, &e.key)?;
            if let Some(op) = &operator {
                for (value, span) in values.values.iter().zip(spans) {
                    if !op.value_type().accepts(value, version) {
                        let expected = op.value_type().describe();
                        p.report(
                            Rank::Legacy,
                            K::ConditionValue { operator: b.key.clone(), value: value.clone(), expected },
                            span,
                        );
                    }
                }
            }
            block.entries.push(ConditionEntry { key: e.key.clone(), key_span: Loc(e.key_span), values });
        }
        out.push(block);
    }
    Ok(out)
}

/// Condition values: a scalar or an array of scalars; numbers and booleans count as their text.
fn condition_values(p: &Parser, v: &Value, key: &str) -> Result<(OneOrMany, Vec<Span>), Fatal> {
    let bad =
        |v: &Value| p.fatal(format!("values of condition key `{key}` must be strings, not {}", v.kind_name()), v.span);
    match &v.kind {
        Kind::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                values.push(item.scalar_text().ok_or_else(|| bad(item))?);
            }
            let spans: Vec<Span> = items.iter().map(|i| i.span).collect();
            Ok((OneOrMany { values, single: false, spans: spans.iter().map(|s| Loc(*s)).collect() }, spans))
        }
        _ => Ok((
            OneOrMany { values: vec![v.scalar_text().ok_or_else(|| bad(v))?], single: true, spans: vec![Loc(v.span)] },
            vec![v.span],
        )),
    }
}

impl ValueType {
    /// Whether IAM accepts `value` for an operator of this type when saving the policy.
    fn accepts(self, value: &str, _version: Version) -> bool {
        match self {
            ValueType::Number => crate::number::Decimal::parse(value).is_some(),
            ValueType::Date => crate::date::parse(value).is_some(),
            ValueType::Ip => parse_cidr(value).is_some(),
            ValueType::Binary => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(value).is_ok()
            }
            ValueType::String | ValueType::Arn | ValueType::Bool | ValueType::Null => true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn err(text: &str, kind: PolicyKind) -> PolicyError {
        parse(text, kind).unwrap_err()
    }

    const OK: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"ecr:*","Resource":"*"}]}"#;

    #[test]
    fn accepts_a_plain_identity_policy() {
        let p = parse(OK, PolicyKind::Identity).unwrap();
        assert_eq!(p.statements()[0].sid.as_deref(), Some("A"));
        assert_eq!(p.version(), Version::V2012_10_17);
    }

    #[test]
    fn syntax_errors_name_the_element_and_position() {
        let e =
            err(r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Bogus":1}}"#, PolicyKind::Identity);
        assert_eq!(e.aws_message(), "Syntax errors in policy.");
        assert_eq!(e.statement(), Some((0, None)));
        assert!(e.to_string().contains("unknown element `Bogus`"), "{e}");
        assert_eq!(e.position().unwrap().column, 64);
    }

    #[test]
    fn effect_case_is_legacy_parsing() {
        let e = err(r#"{"Statement":{"Effect":"allow","Action":"ecr:*","Resource":"*"}}"#, PolicyKind::Identity);
        assert_eq!(e.aws_message(), "The policy failed legacy parsing");
        let e = err(r#"{"Statement":{"Effect":"Permit","Action":"ecr:*","Resource":"*"}}"#, PolicyKind::Identity);
        assert_eq!(e.aws_message(), "Syntax errors in policy.");
    }

    #[test]
    fn precedence_follows_iam() {
        // Both a missing resource and a bad action vendor: IAM names the resources first.
        let e = err(r#"{"Statement":{"Effect":"Allow","Action":"ecr"}}"#, PolicyKind::Identity);
        assert_eq!(e.aws_message(), "Policy statement must contain resources.");
        let e = err(
            r#"{"Statement":[{"Sid":"a","Effect":"Allow","Action":"x:y","Resource":"*"},{"Sid":"a","Effect":"Allow","Action":[],"Resource":"*"}]}"#,
            PolicyKind::Identity,
        );
        assert_eq!(e.aws_message(), "Statement IDs (SID) in a single policy must be unique.");
        assert_eq!(e.statement(), Some((1, Some("a"))));
    }

    #[test]
    fn repository_policies_answer_like_ecr() {
        let ok = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}}"#;
        assert!(parse(ok, PolicyKind::Repository).is_ok(), "the current ECR user guide prints Resource: *");
        let e = err(r#"{"Statement":{"Effect":"Allow","Action":"ecr:*"}}"#, PolicyKind::Repository);
        assert_eq!(e.aws_exception(), "InvalidParameterException");
        assert_eq!(*e.kind(), K::PrincipalRequired);
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/*"},"Action":"ecr:*"}}"#,
            PolicyKind::Repository,
        );
        assert_eq!(*e.kind(), K::Principal("arn:aws:iam::111122223333:user/*".into()));
        assert_eq!(
            e.aws_message(),
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"
        );
    }

    #[test]
    fn principal_in_identity_policy() {
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"*"}}"#,
            PolicyKind::Identity,
        );
        assert_eq!(e.aws_message(), "Policy document should not specify a principal.");
    }

    #[test]
    fn conditions_are_checked_by_operator_type() {
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"yesterday"}}}}"#,
            PolicyKind::Identity,
        );
        assert_eq!(e.aws_message(), "The policy failed legacy parsing");
        let ok = r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"NotAnOperator":{}}}}"#;
        assert!(parse(ok, PolicyKind::Identity).is_ok());
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*","Resource":"*","Condition":{"ForAnyValue::StringEquals":{"a:b":"c"}}}}"#,
            PolicyKind::Identity,
        );
        assert_eq!(e.aws_message(), "Syntax errors in policy.");
    }

    #[test]
    fn duplicate_json_keys_are_syntax_errors() {
        let e = err(
            r#"{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"a:b","Resource":"*"}}"#,
            PolicyKind::Identity,
        );
        assert_eq!(e.aws_message(), "Syntax errors in policy.");
    }

    fn identity_with_resource(element: &str, resource: &str) -> Result<Policy, PolicyError> {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"ecr:*","{element}":"{resource}"}}}}"#
        );
        parse(&text, PolicyKind::Identity)
    }

    #[test]
    fn trailing_star_arns_are_valid_resources() {
        // IAM User Guide, "IAM JSON policy elements: Resource", Using wildcards in resource ARNs
        // (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html):
        // "If the `*` wildcard is the last character of a resource ARN segment, it can expand to
        // match beyond the colon boundaries."
        for element in ["Resource", "NotResource"] {
            for r in ["arn:aws:ecr:us-east-1:*", "arn:aws:ecr:us-east-1:1111*", "arn:aws:ecr:*", "arn:aws:ecr:us-*"] {
                assert!(identity_with_resource(element, r).is_ok(), "{element} {r}");
            }
            // Short forms without a trailing `*` are accepted too (they match nothing).
            assert!(identity_with_resource(element, "arn:aws:fdsasf").is_ok());
        }
    }

    #[test]
    fn things_that_are_not_arns_are_still_refused() {
        let kind = |r: &str| identity_with_resource("Resource", r).unwrap_err().kind().clone();
        // A short ARN with an empty field fails IAM's legacy parser.
        for r in ["arn:aws:s3::example_bucket", "arn:aws:iam::1111*", "arn:aws:ecr::*"] {
            assert_eq!(kind(r), K::ArnFields(r.into()), "{r}");
            assert_eq!(
                identity_with_resource("Resource", r).unwrap_err().aws_message(),
                "The policy failed legacy parsing"
            );
        }
        assert_eq!(kind("arn:aws"), K::ArnVendor("arn:aws".into()));
        assert_eq!(kind("bucket"), K::ResourceFormat("bucket".into()));
        assert_eq!(kind("urn:aws:ecr:us-east-1:*"), K::ResourceFormat("urn:aws:ecr:us-east-1:*".into()));
        assert_eq!(
            kind("arn:awz:ecr:us-east-1:*"),
            K::Partition { partition: "awz".into(), resource: "arn:awz:ecr:us-east-1:*".into() }
        );
        // An unknown partition is reported as such, not as legacy parsing (MOTO skips its legacy
        // check when a resource has a format error).
        assert!(matches!(kind("arn:awz:s3::bucket"), K::Partition { .. }));
    }

    #[test]
    fn principals_still_take_no_partial_wildcards() {
        // The trailing-`*` rule is for resource ARNs. IAM User Guide, "AWS JSON policy elements:
        // Principal" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
        // a wildcard cannot match part of a principal name or ARN; only `"*"` is a wildcard there.
        for value in ["arn:aws:iam::111122223333:*", "arn:aws:iam::1111*", "arn:aws:iam::111122223333:role/*"] {
            let text = format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{value}"}},"Action":"ecr:*"}}}}"#
            );
            assert_eq!(*err(&text, PolicyKind::Repository).kind(), K::Principal(value.into()), "{value}");
        }
    }

    #[test]
    fn size_limits() {
        let big = format!(r#"{{"Id":"{}","Statement":[]}}"#, "x".repeat(MAX_REPOSITORY_POLICY_CHARS));
        assert!(matches!(err(&big, PolicyKind::Repository).kind(), K::TooLarge { limit: 10_240, .. }));
    }
}
