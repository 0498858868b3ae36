//! Why a policy document was refused.
//!
//! Every error carries what a person needs (statement index and Sid, the element, a span into the
//! source for a line:column and an underline) and what a service would answer: the AWS exception
//! name and AWS's own message, which IAM and ECR keep deliberately terse
//! (`MalformedPolicyDocument: Syntax errors in policy.`).

use std::sync::Arc;

use crate::ast::span::{self, Position, Span};
use crate::ast::PolicyKind;

/// A policy document that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", self.location_prefix(), self.0.kind)]
pub struct PolicyError(Box<ErrorData>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorData {
    pub(crate) kind: PolicyErrorKind,
    pub(crate) policy_kind: PolicyKind,
    pub(crate) statement: Option<(usize, Option<String>)>,
    pub(crate) span: Option<Span>,
    pub(crate) source_text: Arc<str>,
}

/// What is wrong with a document. Each variant maps to the message IAM gives for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// Not JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// JSON, but not the policy grammar (wrong type, unknown element, missing `Statement`, ...).
    #[error("{0}")]
    Syntax(String),
    /// `Version` is not `2012-10-17` or `2008-10-17`.
    #[error("`Version` must be `2012-10-17` or `2008-10-17`, not `{0}`")]
    Version(String),
    /// `Effect` is `allow`/`deny` in the wrong case.
    #[error("`Effect` must be `Allow` or `Deny` (case matters), not `{0}`")]
    EffectCase(String),
    /// `Effect` is not a known word.
    #[error("`Effect` must be `Allow` or `Deny`, not `{0}`")]
    Effect(String),
    /// A condition value does not parse as its operator's type.
    #[error("`{value}` is not a valid {expected} value for `{operator}`")]
    ConditionValue {
        /// Operator name.
        operator: String,
        /// Offending value.
        value: String,
        /// What it should be (`date`, `number`, `IP address or CIDR`, `base64`).
        expected: &'static str,
    },
    /// An unknown operator with a non-empty body.
    #[error("unknown condition operator `{0}`")]
    UnknownOperator(String),
    /// An ARN with fewer than six fields and an empty one (`arn:aws:s3::bucket`), which IAM's
    /// legacy parser refuses. Shorter ARNs are otherwise accepted (`arn:aws:ecr:us-east-1:*`).
    #[error("`{0}` is not a valid ARN: with fewer than six colon-separated fields, none may be empty")]
    ArnFields(String),
    /// `arn:aws`-style: no service.
    #[error("`{0}` does not name a service")]
    ArnVendor(String),
    /// A `Principal` in a policy type that must not have one.
    #[error("a {0} must not specify `Principal` or `NotPrincipal`")]
    PrincipalNotAllowed(&'static str),
    /// A resource policy statement without `Principal`/`NotPrincipal`.
    #[error("a resource-based policy statement must specify `Principal` or `NotPrincipal`")]
    PrincipalRequired,
    /// An invalid principal entry.
    #[error("invalid principal `{0}`")]
    Principal(String),
    /// Two statements with the same non-empty Sid.
    #[error("duplicate `Sid` `{0}`: statement IDs must be unique within a policy")]
    DuplicateSid(String),
    /// No `Action`/`NotAction`, or an empty one.
    #[error("the statement must contain `Action` or `NotAction`, with at least one action")]
    MissingActions,
    /// No `Resource`/`NotResource`, or an empty one.
    #[error("the statement must contain `Resource` or `NotResource`, with at least one resource")]
    MissingResources,
    /// A resource that is neither `*` nor an ARN.
    #[error("resource `{0}` must be an ARN or `*`")]
    ResourceFormat(String),
    /// An ARN whose partition does not exist.
    #[error("partition `{partition}` is not valid for resource `{resource}`")]
    Partition {
        /// The partition.
        partition: String,
        /// The resource.
        resource: String,
    },
    /// An action without a service prefix.
    #[error("action `{0}` must be prefixed by a service, like `ecr:BatchGetImage`")]
    ActionVendor(String),
    /// An action with more than one colon.
    #[error("action `{0}` may contain only one colon")]
    ActionColons(String),
    /// An action whose service prefix has invalid characters.
    #[error("service prefix `{0}` is not valid")]
    ActionVendorChars(String),
    /// The text is longer than the limit.
    #[error("the policy has {actual} characters, more than the {limit} allowed")]
    TooLarge {
        /// Characters in the text.
        actual: usize,
        /// The limit.
        limit: usize,
    },
    /// More statements than [`crate::limits::MAX_STATEMENTS`].
    #[error("the policy has more than {0} statements")]
    TooManyStatements(usize),
}

impl PolicyError {
    pub(crate) fn new(kind: PolicyErrorKind, policy_kind: PolicyKind, source_text: Arc<str>) -> Self {
        PolicyError(Box::new(ErrorData { kind, policy_kind, statement: None, span: None, source_text }))
    }

    pub(crate) fn at(mut self, span: Span, statement: Option<(usize, Option<String>)>) -> Self {
        self.0.span = Some(span);
        self.0.statement = statement;
        self
    }

    /// What is wrong.
    pub fn kind(&self) -> &PolicyErrorKind {
        &self.0.kind
    }

    /// The 0-based statement index and its Sid, when the error is inside a statement.
    pub fn statement(&self) -> Option<(usize, Option<&str>)> {
        self.0.statement.as_ref().map(|(i, sid)| (*i, sid.as_deref()))
    }

    /// The offending span in the source.
    pub fn span(&self) -> Option<Span> {
        self.0.span
    }

    /// 1-based line and column of the offending text.
    pub fn position(&self) -> Option<Position> {
        self.0.span.map(|s| span::position(&self.0.source_text, s.start))
    }

    /// The AWS exception a service answers with: `MalformedPolicyDocument` from IAM, or
    /// `InvalidParameterException` from ECR's SetRepositoryPolicy.
    pub fn aws_exception(&self) -> &'static str {
        match self.0.policy_kind {
            PolicyKind::Repository => "InvalidParameterException",
            _ => "MalformedPolicyDocument",
        }
    }

    /// The message the AWS service gives (IAM's wording as captured from the real service; ECR
    /// gives one fixed message for every invalid repository policy).
    pub fn aws_message(&self) -> String {
        use PolicyErrorKind as K;
        if self.0.policy_kind == PolicyKind::Repository {
            return "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"
                .to_owned();
        }
        match &self.0.kind {
            K::Json(_) | K::Syntax(_) | K::Version(_) | K::Effect(_) | K::UnknownOperator(_) => {
                "Syntax errors in policy.".to_owned()
            }
            K::EffectCase(_) | K::ConditionValue { .. } | K::ArnFields(_) => {
                "The policy failed legacy parsing".to_owned()
            }
            K::ArnVendor(_) => "Resource vendor must be fully qualified and cannot contain regexes.".to_owned(),
            K::PrincipalNotAllowed(_) => "Policy document should not specify a principal.".to_owned(),
            K::PrincipalRequired => "Policy statement must contain a principal.".to_owned(),
            K::Principal(p) => format!("Invalid principal in policy: \"AWS\":\"{p}\""),
            K::DuplicateSid(_) => "Statement IDs (SID) in a single policy must be unique.".to_owned(),
            K::MissingActions => "Policy statement must contain actions.".to_owned(),
            K::MissingResources => "Policy statement must contain resources.".to_owned(),
            K::ResourceFormat(r) => format!("Resource {r} must be in ARN format or \"*\"."),
            K::Partition { partition, resource } => {
                format!("Partition \"{partition}\" is not valid for resource \"{resource}\".")
            }
            K::ActionVendor(_) => {
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".to_owned()
            }
            K::ActionColons(_) => "Actions/Condition can contain only one colon.".to_owned(),
            K::ActionVendorChars(v) => format!("Vendor {v} is not valid"),
            K::TooLarge { limit, .. } => format!("Cannot exceed quota for PolicySize: {limit}"),
            K::TooManyStatements(_) => "Syntax errors in policy.".to_owned(),
        }
    }

    fn location_prefix(&self) -> String {
        let mut out = String::new();
        if let Some(p) = self.position() {
            out.push_str(&format!("{}:{}: ", p.line, p.column));
        }
        if let Some((i, sid)) = &self.0.statement {
            match sid {
                Some(sid) => out.push_str(&format!("statement {i} (`{sid}`): ")),
                None => out.push_str(&format!("statement {i}: ")),
            }
        }
        out
    }
}

impl miette::Diagnostic for PolicyError {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.aws_exception()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!("AWS answers: {}", self.aws_message())))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.0.source_text as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.0.span?;
        Some(Box::new(std::iter::once(miette::LabeledSpan::new_with_span(Some("here".to_owned()), span))))
    }
}
