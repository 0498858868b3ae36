#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod arn;
pub mod catalog;
mod compile;
mod condition;
pub mod context;
pub mod date;
mod decision;
mod error;
mod evaluate;
pub mod explain;
pub mod findings;
mod json;
pub mod limits;
mod number;
mod parse;
mod policy;
pub mod principal;
pub mod request;
pub mod simulate;
mod span;
pub mod variables;
pub mod wildcard;

pub use compile::{CompiledPolicy, PolicySet};
pub use context::{Context, ContextError, ContextKeyType};
pub use decision::{Decision, MatchedStatement, Outcome, PolicyRole, Reason, SideDetails};
pub use error::{PolicyError, PolicyErrorKind};
pub use evaluate::{evaluate, evaluate_all, trace, Policies, Request, StatementOutcome, Trace, TraceEntry};
pub use policy::{
    Clause, ConditionBlock, ConditionEntry, Effect, Loc, OneOrMany, Policy, PolicyKind, PrincipalClause, PrincipalType,
    PrincipalValue, Statement, Version,
};
pub use principal::{Principal, PrincipalError, PrincipalKind};
pub use span::{Position, Span};
