#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

//! Layout, inward: `ast` (what a policy says: [`Policy`], [`Statement`]) ← `parse` (text → AST,
//! validated as IAM does) ← `compile` (AST → matchers; [`PolicySet`]'s index) ← `evaluate` (the
//! decision, its full form, the trace) ← [`explain`]; [`validate`] adds Access Analyzer-style
//! findings. Around them:
//! [`arn`], [`context`], [`date`], [`principal`], [`variables`], [`limits`]. ECR's own knowledge
//! lives in [`catalog`] and [`request`]; the IAM simulator's wire types in [`simulate`].

pub mod analyze;
pub mod arn;
mod ast;
pub mod catalog;
mod compile;
pub mod context;
pub mod date;
mod error;
mod evaluate;
pub mod explain;
pub mod limits;
mod number;
mod parse;
pub mod principal;
pub mod request;
pub mod simulate;
pub mod validate;
pub mod variables;

pub use compile::wildcard;

pub use ast::{
    Clause, ConditionBlock, ConditionEntry, Effect, Loc, OneOrMany, Policy, PolicyKind, PrincipalClause, PrincipalType,
    PrincipalValue, Statement, Version,
};
pub use ast::{Position, Span};
pub use compile::{CompiledPolicy, PolicySet};
pub use context::{Context, ContextError, ContextKeyType};
pub use error::{PolicyError, PolicyErrorKind};
pub use evaluate::{evaluate, evaluate_all, trace, Policies, Request, StatementOutcome, Trace, TraceEntry};
pub use evaluate::{Decision, MatchedStatement, Outcome, PolicyRole, Reason, SideDetails};
pub use principal::{Principal, PrincipalError, PrincipalKind};
