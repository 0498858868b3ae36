//! The one matcher: whether a statement applies to a request, and if not, why.
//!
//! [`check`] walks a statement in a fixed order — action, resource, principal, then each
//! condition — and reports every failure (and every condition key the request lacks) to the
//! caller, who decides whether to go on. The views differ only in that choice:
//!
//! | view | on a failure | used by |
//! |---|---|---|
//! | decision path | stop | [`super::evaluate`] |
//! | full evaluation | stop, but read every condition (all missing keys) | [`super::evaluate_all`], the simulator |
//! | trace | record the first failure, stop | [`super::trace()`] |
//! | explanation | record every failure | [`crate::explain`] |

use crate::ast::Effect;
use crate::compile::condition::{Condition, Outcome};
use crate::compile::{CompiledStatement, RequestArn};
use crate::context::Context;
use crate::evaluate::PolicyRole;
use crate::evaluate::Request;
use crate::principal::{MatchClass, Principal};

/// The request as every view matches it: action lower-cased and the resource ARN parsed, once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked<'r> {
    pub(crate) principal: &'r Principal,
    /// Lower-cased.
    pub(crate) action: &'r str,
    pub(crate) resource: &'r str,
    /// `resource` as an ARN; `None` for `*` and other non-ARNs.
    pub(crate) arn: Option<RequestArn<'r>>,
    pub(crate) context: &'r Context,
    /// The caller has a permissions boundary (see [`crate::principal`]: Deny + NotPrincipal).
    pub(crate) has_boundary: bool,
}

impl<'r> Asked<'r> {
    /// `req` with its action already lower-cased into `action`.
    pub(crate) fn new(req: &Request<'r>, action: &'r str, has_boundary: bool) -> Asked<'r> {
        Asked {
            principal: req.principal,
            action,
            resource: req.resource,
            arn: RequestArn::parse(req.resource),
            context: req.context,
            has_boundary,
        }
    }
}

/// Why a statement does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Miss {
    /// `Action`/`NotAction`.
    Action,
    /// `Resource`/`NotResource`.
    Resource,
    /// `Principal`/`NotPrincipal` does not name the caller (or a resource-policy statement has none).
    Principal,
    /// Condition `index` of the statement does not hold; `missing` when its key is absent.
    Condition { index: usize, missing: bool },
}

/// What [`check`] reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Event<'p> {
    /// A part of the statement does not match.
    Miss(Miss),
    /// A condition read a key the request does not carry (reported whether or not the condition
    /// holds: `…IfExists` holds without its key).
    MissingKey(&'p Condition),
}

/// Whether [`check`] goes on after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Stop,
}

/// Matches `stmt`, in a policy of `role`, against `asked`. Returns how strongly the statement
/// names the caller when every part matches, `None` otherwise. `check_action` is false when the
/// caller already knows the action matches (the index resolved it). `condition` evaluates the
/// statement's condition `i` (directly, or through a per-request memo).
pub(crate) fn check<'p>(
    stmt: &'p CompiledStatement,
    role: PolicyRole,
    asked: &Asked<'_>,
    check_action: bool,
    mut condition: impl FnMut(usize, &'p Condition) -> Outcome,
    mut on: impl FnMut(Event<'p>) -> Flow,
) -> Option<MatchClass> {
    let mut failed = false;
    macro_rules! miss {
        ($m:expr) => {{
            failed = true;
            if on(Event::Miss($m)) == Flow::Stop {
                return None;
            }
        }};
    }
    if check_action && !stmt.action_matches(asked.action) {
        miss!(Miss::Action);
    }
    if !stmt.resource_matches(asked.resource, asked.arn.as_ref(), asked.context) {
        miss!(Miss::Resource);
    }
    let class = match (&stmt.principal, role) {
        (Some(p), _) => p.class(asked.principal, stmt.effect == Effect::Deny, asked.has_boundary),
        // A resource policy statement without Principal names no one.
        (None, PolicyRole::Resource) => MatchClass::None,
        (None, _) => MatchClass::Direct,
    };
    if class == MatchClass::None {
        miss!(Miss::Principal);
    }
    for (index, c) in stmt.conditions.iter().enumerate() {
        let outcome = condition(index, c);
        if outcome.missing {
            on(Event::MissingKey(c));
        }
        if !outcome.holds {
            miss!(Miss::Condition { index, missing: outcome.missing });
        }
    }
    (!failed).then_some(class)
}

/// [`check`] of every part, conditions evaluated directly, stopping at the first failure: the
/// first reason a statement does not apply, or the class it names the caller with.
pub(crate) fn first_miss(stmt: &CompiledStatement, role: PolicyRole, asked: &Asked<'_>) -> Result<MatchClass, Miss> {
    let mut first = None;
    let class = check(
        stmt,
        role,
        asked,
        true,
        |_, c| c.evaluate(asked.context),
        |e| match e {
            Event::Miss(m) => {
                first = Some(m);
                Flow::Stop
            }
            Event::MissingKey(_) => Flow::Continue,
        },
    );
    match (class, first) {
        (Some(class), _) => Ok(class),
        (None, Some(m)) => Err(m),
        // `check` returns None only after reporting a miss.
        (None, None) => Err(Miss::Principal),
    }
}

/// [`check`] of every part, reporting every failure: what the statement lacks.
pub(crate) fn all_misses(stmt: &CompiledStatement, role: PolicyRole, asked: &Asked<'_>) -> Vec<Miss> {
    let mut misses = Vec::new();
    check(
        stmt,
        role,
        asked,
        true,
        |_, c| c.evaluate(asked.context),
        |e| {
            if let Event::Miss(m) = e {
                misses.push(m);
            }
            Flow::Continue
        },
    );
    misses
}
