//! [`trace`]: a decision with the fate of every statement, for explanations.

use super::{evaluate_all, first_miss, Asked, Miss, Policies, Request};
use crate::ast::Effect;
use crate::compile::lowercase_action;
use crate::evaluate::{Decision, MatchedStatement, PolicyRole};

/// What became of one statement during a traced evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementOutcome<'p> {
    /// A resource-based policy does not take part in a request for no resource (`*`).
    NotApplicable,
    /// `Action`/`NotAction` did not match.
    ActionNotMatched,
    /// `Resource`/`NotResource` did not match.
    ResourceNotMatched,
    /// `Principal`/`NotPrincipal` did not name the caller.
    PrincipalNotMatched,
    /// The first condition that did not hold.
    ConditionFailed {
        /// Operator as written.
        operator: &'p str,
        /// Key as written.
        key: &'p str,
        /// The policy values.
        values: &'p [String],
        /// The key was absent from the request.
        missing: bool,
    },
    /// Everything matched; the statement takes part with its effect.
    Matched(Effect),
}

/// One statement of a traced evaluation.
#[derive(Debug, Clone, Copy)]
pub struct TraceEntry<'p> {
    /// The statement.
    pub statement: MatchedStatement<'p>,
    /// What became of it.
    pub outcome: StatementOutcome<'p>,
}

/// A decision with the fate of every statement considered: the slow, explaining path.
#[derive(Debug, Clone)]
pub struct Trace<'p> {
    /// The decision ([`evaluate_all`]'s).
    pub decision: Decision<'p>,
    /// Every statement of every policy, in policy order.
    pub statements: Vec<TraceEntry<'p>>,
}

/// Evaluates like [`evaluate_all`] and records, for every statement of every policy, whether it
/// matched and if not the first reason why. Allocates; meant for explanations, not for the request
/// path.
pub fn trace<'p>(policies: &Policies<'p>, req: &Request<'_>) -> Trace<'p> {
    let decision = evaluate_all(policies, req);
    let mut buf = [0u8; 128];
    let action = lowercase_action(req.action, &mut buf);
    let asked = Asked::new(req, &action, policies.boundary.is_some());
    let mut statements = Vec::new();
    let groups = [
        (Some(policies.identity), PolicyRole::Identity),
        (policies.resource, PolicyRole::Resource),
        (policies.boundary, PolicyRole::Boundary),
        (policies.session, PolicyRole::Session),
    ];
    for (set, role) in groups {
        let Some(set) = set else { continue };
        for policy in set.policies() {
            for (index, stmt) in policy.compiled_statements().iter().enumerate() {
                let outcome = if role == PolicyRole::Resource && req.resource == "*" {
                    StatementOutcome::NotApplicable
                } else {
                    match first_miss(stmt, role, &asked) {
                        Ok(_) => StatementOutcome::Matched(stmt.effect),
                        Err(Miss::Action) => StatementOutcome::ActionNotMatched,
                        Err(Miss::Resource) => StatementOutcome::ResourceNotMatched,
                        Err(Miss::Principal) => StatementOutcome::PrincipalNotMatched,
                        Err(Miss::Condition { index: i, missing }) => match stmt.conditions.get(i) {
                            Some(c) => StatementOutcome::ConditionFailed {
                                operator: &c.operator_name,
                                key: &c.key,
                                values: &c.raw_values,
                                missing,
                            },
                            None => StatementOutcome::PrincipalNotMatched,
                        },
                    }
                };
                statements.push(TraceEntry { statement: MatchedStatement { policy, role, index }, outcome });
            }
        }
    }
    Trace { decision, statements }
}

impl std::fmt::Display for Trace<'_> {
    /// One line per statement, then the decision.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for e in &self.statements {
            let s = &e.statement;
            let sid = s.sid().map(|x| format!(" ({x})")).unwrap_or_default();
            let at = s.positions().map(|(p, _)| format!(" at {}:{}", p.line, p.column)).unwrap_or_default();
            write!(f, "{:?} policy `{}` statement {}{sid}{at}: ", s.role, s.policy.id(), s.index)?;
            match e.outcome {
                StatementOutcome::NotApplicable => writeln!(f, "not applicable (the request names no resource)")?,
                StatementOutcome::ActionNotMatched => writeln!(f, "action does not match")?,
                StatementOutcome::ResourceNotMatched => writeln!(f, "resource does not match")?,
                StatementOutcome::PrincipalNotMatched => writeln!(f, "principal does not name the caller")?,
                StatementOutcome::ConditionFailed { operator, key, values, missing } => {
                    let why = if missing { "key absent from the request" } else { "value does not satisfy it" };
                    writeln!(f, "condition `{operator}` on `{key}` {values:?} fails: {why}")?
                }
                StatementOutcome::Matched(effect) => writeln!(f, "matches ({})", effect.as_str())?,
            }
        }
        write!(f, "decision: {} ({:?})", self.decision.outcome.as_str(), self.decision.reason)
    }
}
