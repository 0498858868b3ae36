//! Who is asking (the caller), and how a resource policy's `Principal` entries match it.
//!
//! The way an entry names the caller decides what a resource-policy Allow can bypass (IAM User
//! Guide, "Policy evaluation logic", resource-based policies; iam-semantics.md §1.4, §2.6):
//!
//! ```text
//! entry                                   caller                                class
//! "*"  /  {"AWS": "*"}                    anyone                                Direct
//! {"AWS": "111122223333"} or …:root       anyone in 111122223333                Account   (only delegates)
//! {"AWS": "arn:aws:iam::A:user/alice"}    exactly that user (case-sensitive)    Direct
//! {"AWS": "arn:aws:iam::A:role/teams/ci"} any session of role ci in A           Role      (boundary and session policy still apply)
//! {"AWS": "arn:aws:sts::A:assumed-role/ci/s1"} exactly that session             Direct
//! {"Service": "codebuild.amazonaws.com"}  that service principal                Direct
//! ```

use std::sync::Arc;

use crate::arn::{is_account_id, Arn};
use crate::ast::{PrincipalClause, PrincipalType, PrincipalValue};

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::A:root`).
    Root,
    /// An IAM user.
    User,
    /// A role session (`arn:aws:sts::A:assumed-role/role/session`).
    AssumedRole,
    /// A federated-user session (`arn:aws:sts::A:federated-user/name`).
    FederatedUser,
    /// An AWS service principal (`codebuild.amazonaws.com`).
    Service,
    /// Nobody in particular: a simulation without a caller.
    Unspecified,
}

impl PrincipalKind {
    /// The value of `aws:PrincipalType` for this kind.
    pub fn principal_type(self) -> &'static str {
        match self {
            PrincipalKind::Root => "Account",
            PrincipalKind::User => "User",
            PrincipalKind::AssumedRole => "AssumedRole",
            PrincipalKind::FederatedUser => "FederatedUser",
            PrincipalKind::Service => "Service",
            PrincipalKind::Unspecified => "Anonymous",
        }
    }
}

/// Why a caller ARN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("`{0}` is not a principal: expected an IAM user, role, root or STS session ARN, or a service principal")]
pub struct PrincipalError(pub String);

/// The caller of a request. Cheap to clone (shared strings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    arn: Arc<str>,
    kind: PrincipalKind,
    partition: Arc<str>,
    account: Arc<str>,
    /// For role sessions: the role name.
    role_name: Option<Arc<str>>,
    /// For role sessions: the role ARN with its path (the value of `aws:PrincipalArn`).
    role_arn: Option<Arc<str>>,
}

impl Principal {
    /// Parses a caller ARN. A role ARN (`arn:aws:iam::A:role/path/name`) stands for a session of that
    /// role; a 12-digit account id for the account's root user; a name with a dot for a service
    /// principal.
    pub fn parse(text: &str) -> Result<Principal, PrincipalError> {
        let err = || PrincipalError(text.to_owned());
        if is_account_id(text) {
            return Ok(Principal {
                arn: format!("arn:aws:iam::{text}:root").into(),
                kind: PrincipalKind::Root,
                partition: "aws".into(),
                account: text.into(),
                role_name: None,
                role_arn: None,
            });
        }
        let Some(arn) = Arn::parse(text) else {
            if !text.is_empty() && text.contains('.') && !text.contains([':', '/', '*', ' ']) {
                return Ok(Principal {
                    arn: text.into(),
                    kind: PrincipalKind::Service,
                    partition: "aws".into(),
                    account: "".into(),
                    role_name: None,
                    role_arn: None,
                });
            }
            return Err(err());
        };
        if !is_account_id(arn.account) || text.contains(['*', '?']) {
            return Err(err());
        }
        let mut p = Principal {
            arn: text.into(),
            kind: PrincipalKind::User,
            partition: arn.partition.into(),
            account: arn.account.into(),
            role_name: None,
            role_arn: None,
        };
        match (arn.service, arn.resource.split_once('/')) {
            ("iam", None) if arn.resource == "root" => p.kind = PrincipalKind::Root,
            ("iam", Some(("user", rest))) if !rest.is_empty() => p.kind = PrincipalKind::User,
            ("iam", Some(("role", rest))) if !rest.is_empty() => {
                p.kind = PrincipalKind::AssumedRole;
                p.role_name = rest.rsplit('/').next().map(Into::into);
                p.role_arn = Some(text.into());
            }
            ("sts", Some(("assumed-role", rest))) => {
                let (role, session) = rest.split_once('/').ok_or_else(err)?;
                if role.is_empty() || session.is_empty() || session.contains('/') {
                    return Err(err());
                }
                p.kind = PrincipalKind::AssumedRole;
                p.role_name = Some(role.into());
                p.role_arn = Some(format!("arn:{}:iam::{}:role/{}", arn.partition, arn.account, role).into());
            }
            ("sts", Some(("federated-user", rest))) if !rest.is_empty() => p.kind = PrincipalKind::FederatedUser,
            _ => return Err(err()),
        }
        Ok(p)
    }

    /// A simulation caller that is nobody in particular, in `account`.
    pub fn unspecified(account: &str) -> Principal {
        Principal {
            arn: "".into(),
            kind: PrincipalKind::Unspecified,
            partition: "aws".into(),
            account: account.into(),
            role_name: None,
            role_arn: None,
        }
    }

    /// Sets the role ARN of a role session, for roles with a path (session ARNs drop the path:
    /// `arn:aws:sts::A:assumed-role/ci/s1` belongs to `arn:aws:iam::A:role/teams/ci`).
    pub fn with_role_arn(mut self, role_arn: &str) -> Result<Principal, PrincipalError> {
        let role = Principal::parse(role_arn)?;
        let same_role = role.role_arn.is_some()
            && role.account == self.account
            && self.kind == PrincipalKind::AssumedRole
            && role.role_name == self.role_name;
        if !same_role {
            return Err(PrincipalError(role_arn.to_owned()));
        }
        self.role_arn = role.role_arn;
        Ok(self)
    }

    /// The caller's ARN (the session ARN for a role session).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The kind of caller.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }

    /// The caller's account id (empty for service principals).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The ARN `aws:PrincipalArn` carries: the role ARN (with path) for role sessions, the caller's
    /// ARN otherwise.
    pub fn principal_arn(&self) -> &str {
        self.role_arn.as_deref().unwrap_or(&self.arn)
    }

    /// The role name of a role session.
    pub fn role_name(&self) -> Option<&str> {
        self.role_name.as_deref()
    }

    /// The IAM user name (last path segment) of an IAM user: the value of `aws:username`.
    pub fn user_name(&self) -> Option<&str> {
        match self.kind {
            PrincipalKind::User => self.arn.rsplit('/').next(),
            _ => None,
        }
    }
}

/// How strongly a matched `Principal` entry names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchClass {
    /// No entry names the caller.
    None,
    /// The caller's account (id or root ARN): delegates to the account's IAM.
    Account,
    /// The caller's role: grants, but boundary and session policy still limit.
    Role,
    /// The caller itself (user, session, federated user, service) or `*`.
    Direct,
}

/// A compiled `Principal`/`NotPrincipal`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrincipalMatcher {
    negated: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
enum Entry {
    Any,
    Account(Box<str>),
    /// Matches the caller's own ARN exactly.
    Exact(Box<str>),
    Role {
        partition: Box<str>,
        account: Box<str>,
        name: Box<str>,
    },
    Service(Box<str>),
    /// Federated / CanonicalUser / unique ids: never a caller here.
    Never,
}

impl PrincipalMatcher {
    pub(crate) fn compile(clause: &PrincipalClause) -> PrincipalMatcher {
        let entries = match &clause.value {
            PrincipalValue::Any => vec![Entry::Any],
            PrincipalValue::Map(map) => {
                map.iter().flat_map(|(ty, values)| values.values.iter().map(move |v| entry(*ty, v))).collect()
            }
        };
        PrincipalMatcher { negated: clause.negated, entries }
    }

    /// The class of the match for `caller`. `has_boundary` implements the documented trap:
    /// `Deny` + `NotPrincipal` always applies to a caller with a permissions boundary.
    pub(crate) fn class(&self, caller: &Principal, deny: bool, has_boundary: bool) -> MatchClass {
        if self.negated {
            if deny && has_boundary {
                return MatchClass::Direct;
            }
            let exempt = self.entries.iter().any(|e| exempts(e, caller));
            return if exempt { MatchClass::None } else { MatchClass::Direct };
        }
        self.entries.iter().map(|e| class_of(e, caller)).max().unwrap_or(MatchClass::None)
    }
}

fn entry(ty: PrincipalType, value: &str) -> Entry {
    match ty {
        PrincipalType::Service if value == "*" => Entry::Any,
        PrincipalType::Service => Entry::Service(value.into()),
        PrincipalType::Federated | PrincipalType::CanonicalUser => Entry::Never,
        PrincipalType::Aws => {
            if value == "*" {
                return Entry::Any;
            }
            if is_account_id(value) {
                return Entry::Account(value.into());
            }
            match Arn::parse(value) {
                Some(arn) if arn.service == "iam" && arn.resource == "root" => Entry::Account(arn.account.into()),
                Some(arn) if arn.service == "iam" && arn.resource.starts_with("role/") => Entry::Role {
                    partition: arn.partition.into(),
                    account: arn.account.into(),
                    name: arn.resource.rsplit('/').next().unwrap_or_default().into(),
                },
                Some(_) => Entry::Exact(value.into()),
                None => Entry::Never,
            }
        }
    }
}

fn class_of(e: &Entry, caller: &Principal) -> MatchClass {
    let hit = |b: bool, class: MatchClass| if b { class } else { MatchClass::None };
    match e {
        Entry::Any => MatchClass::Direct,
        Entry::Account(a) => hit(caller.kind != PrincipalKind::Service && **a == *caller.account, MatchClass::Account),
        Entry::Exact(arn) => hit(**arn == *caller.arn, MatchClass::Direct),
        Entry::Role { partition, account, name } => hit(
            caller.kind == PrincipalKind::AssumedRole
                && **partition == *caller.partition
                && **account == *caller.account
                // IAM role names are unique ignoring case.
                && caller.role_name.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(name)),
            MatchClass::Role,
        ),
        Entry::Service(s) => hit(caller.kind == PrincipalKind::Service && **s == *caller.arn, MatchClass::Direct),
        Entry::Never => MatchClass::None,
    }
}

/// A `NotPrincipal` entry exempts the caller only when it names the caller itself (its own ARN, or
/// the root ARN / account id for the root user). Account and role entries never exempt other
/// users or sessions (IAM User Guide, NotPrincipal; iam-semantics.md §1.8).
fn exempts(e: &Entry, caller: &Principal) -> bool {
    match e {
        Entry::Any => true,
        Entry::Account(a) => caller.kind == PrincipalKind::Root && **a == *caller.account,
        Entry::Exact(arn) => **arn == *caller.arn,
        Entry::Service(s) => caller.kind == PrincipalKind::Service && **s == *caller.arn,
        Entry::Role { .. } | Entry::Never => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ast::OneOrMany;

    fn aws(values: &[&str]) -> PrincipalClause {
        PrincipalClause {
            negated: false,
            value: PrincipalValue::Map(vec![(
                PrincipalType::Aws,
                OneOrMany { values: values.iter().map(|s| s.to_string()).collect(), single: false, spans: Vec::new() },
            )]),
            span: Default::default(),
        }
    }

    fn class(values: &[&str], caller: &str) -> MatchClass {
        PrincipalMatcher::compile(&aws(values)).class(&Principal::parse(caller).unwrap(), false, false)
    }

    #[test]
    fn parses_callers() {
        let s = Principal::parse("arn:aws:sts::111122223333:assumed-role/ci/s1").unwrap();
        assert_eq!(s.kind(), PrincipalKind::AssumedRole);
        assert_eq!(s.principal_arn(), "arn:aws:iam::111122223333:role/ci");
        let s = s.with_role_arn("arn:aws:iam::111122223333:role/teams/ci").unwrap();
        assert_eq!(s.principal_arn(), "arn:aws:iam::111122223333:role/teams/ci");
        assert_eq!(Principal::parse("arn:aws:iam::111122223333:user/a/b").unwrap().user_name(), Some("b"));
        assert_eq!(Principal::parse("111122223333").unwrap().kind(), PrincipalKind::Root);
        assert_eq!(Principal::parse("codebuild.amazonaws.com").unwrap().kind(), PrincipalKind::Service);
        assert!(Principal::parse("arn:aws:iam::111122223333:group/g").is_err());
        assert!(Principal::parse("bob").is_err());
    }

    #[test]
    fn the_documented_table() {
        let alice = "arn:aws:iam::111122223333:user/alice";
        let s1 = "arn:aws:sts::111122223333:assumed-role/ci/s1";
        assert_eq!(class(&["*"], alice), MatchClass::Direct);
        assert_eq!(class(&["111122223333"], alice), MatchClass::Account);
        assert_eq!(class(&["arn:aws:iam::111122223333:root"], alice), MatchClass::Account);
        assert_eq!(class(&[alice], alice), MatchClass::Direct);
        assert_eq!(class(&["arn:aws:iam::111122223333:user/Alice"], alice), MatchClass::None);
        assert_eq!(class(&["arn:aws:iam::111122223333:role/teams/ci"], s1), MatchClass::Role);
        assert_eq!(class(&[s1], s1), MatchClass::Direct);
        assert_eq!(class(&["arn:aws:sts::111122223333:assumed-role/ci/s2"], s1), MatchClass::None);
        assert_eq!(class(&["444455556666", alice], alice), MatchClass::Direct);
    }

    #[test]
    fn not_principal_exempts_only_the_named_caller() {
        let mut clause = aws(&["arn:aws:iam::111122223333:user/alice", "arn:aws:iam::111122223333:root"]);
        clause.negated = true;
        let m = PrincipalMatcher::compile(&clause);
        let alice = Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap();
        let carol = Principal::parse("arn:aws:iam::111122223333:user/carol").unwrap();
        assert_eq!(m.class(&alice, true, false), MatchClass::None);
        assert_eq!(m.class(&carol, true, false), MatchClass::Direct);
        assert_eq!(m.class(&alice, true, true), MatchClass::Direct, "boundary trap");
    }
}
