//! A hook that sees every decision, for audit logs and metrics.

use std::time::Duration;

use warden_policy::Decision;

use crate::caller::Caller;
use crate::describe::Check;

/// One decision as the hook sees it.
#[derive(Debug)]
pub struct DecisionRecord<'a, 'p> {
    /// Who asked.
    pub caller: &'a Caller,
    /// What was checked.
    pub check: &'a Check,
    /// The decision and its reasons.
    pub decision: &'a Decision<'p>,
    /// How long evaluating took.
    pub elapsed: Duration,
}

impl DecisionRecord<'_, '_> {
    /// The full structured explanation of this decision (every statement, what each lacks, what
    /// would allow a denied request), as JSON-serializable data. It re-evaluates with tracing:
    /// call it for the decisions you log in detail, not on every request.
    pub fn explanation(&self) -> warden_policy::explain::Explanation {
        let policies = warden_policy::Policies {
            identity: &self.caller.identity,
            boundary: self.caller.boundary.as_ref(),
            session: self.caller.session.as_ref(),
            resource: self.check.resource_policy.as_ref(),
        };
        let request = warden_policy::Request {
            principal: &self.caller.principal,
            action: &self.check.action,
            resource: &self.check.resource,
            resource_account: &self.check.resource_account,
            context: &self.check.context,
        };
        warden_policy::explain::explain(&policies, &request)
    }
}

/// Receives every decision the layer makes. Keep it fast: it runs on the request path.
pub trait DecisionHook: Clone + Send + Sync + 'static {
    /// Called once per check.
    fn on_decision(&self, record: &DecisionRecord<'_, '_>);

    /// False when the hook ignores decisions, so the layer neither times nor reports them.
    fn is_active(&self) -> bool {
        true
    }
}

/// No hook.
impl DecisionHook for () {
    fn on_decision(&self, _: &DecisionRecord<'_, '_>) {}

    fn is_active(&self) -> bool {
        false
    }
}

impl<F> DecisionHook for F
where
    F: Fn(&DecisionRecord<'_, '_>) + Clone + Send + Sync + 'static,
{
    fn on_decision(&self, record: &DecisionRecord<'_, '_>) {
        self(record)
    }
}
