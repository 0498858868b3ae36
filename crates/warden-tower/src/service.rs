//! [`Authorize`]: the service that authenticates, describes, evaluates and then calls the inner
//! service or answers the denial.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use http::{Request, Response};
use tower_service::Service;
use warden_policy::{evaluate, Decision, Outcome, Policies, PolicySet};

use crate::authenticate::Authenticate;
use crate::caller::Caller;
use crate::deny::{Denial, DenyResponse};
use crate::describe::{Check, DescribeRequest};
use crate::hook::{DecisionHook, DecisionRecord};
use crate::layer::Config;

/// Put into the request extensions of every request the inner service sees: who called and what
/// was allowed.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// The caller.
    pub caller: Caller,
    /// The checks that were allowed.
    pub checks: Vec<Check>,
}

/// The authorizing service; build it with [`crate::AuthorizeLayer`].
pub struct Authorize<S, A, D, H, R> {
    inner: S,
    config: Arc<Config<A, D, H, R>>,
}

impl<S: Clone, A, D, H, R> Clone for Authorize<S, A, D, H, R> {
    fn clone(&self) -> Self {
        Authorize { inner: self.inner.clone(), config: Arc::clone(&self.config) }
    }
}

impl<S, A, D, H, R> Authorize<S, A, D, H, R> {
    pub(crate) fn new(inner: S, config: Arc<Config<A, D, H, R>>) -> Self {
        Authorize { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Authorize`]: the inner service's future when the request was decided
    /// without waiting (the common case), a ready answer when it was refused, or a boxed future
    /// when the authenticator or describer had to wait (to read the body).
    #[project = Projected]
    pub enum ResponseFuture<F, T, E> {
        /// Allowed: the inner service runs.
        Inner { #[pin] future: F },
        /// Refused without calling the inner service.
        Ready { response: Option<T> },
        /// Authentication or description had to wait.
        Boxed { future: Pin<Box<dyn Future<Output = Result<T, E>> + Send>> },
    }
}

impl<F, T, E> Future for ResponseFuture<F, T, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Inner { future } => future.poll(cx),
            // Polled again after completion: there is nothing more to give.
            Projected::Ready { response } => response.take().map_or(Poll::Pending, |r| Poll::Ready(Ok(r))),
            Projected::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

impl<S, A, D, H, R, B, ResBody> Service<Request<B>> for Authorize<S, A, D, H, R>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    A: Authenticate<B>,
    D: DescribeRequest<B>,
    H: DecisionHook,
    R: DenyResponse<ResBody>,
    B: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, Response<ResBody>, S::Error>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let config = &*self.config;
        let ready = |response| ResponseFuture::Ready { response: Some(response) };
        // The fast path: authenticated and described from the head, decided here, and the inner
        // service (made ready by `poll_ready`) called at once.
        let mut known = None;
        if let Some(authenticated) = config.authenticator.authenticate_head(&req) {
            let caller = match authenticated {
                Ok(caller) => caller,
                Err(rejection) => return ready(config.deny.rejected(&rejection)),
            };
            match config.describer.describe_head(&req, &caller) {
                Some(Ok(checks)) => {
                    if let Err(denial) = decide(&config.hook, &caller, &checks) {
                        return ready(config.deny.denied(&denial));
                    }
                    insert_authorized(req.extensions_mut(), Authorized { caller, checks });
                    return ResponseFuture::Inner { future: self.inner.call(req) };
                }
                Some(Err(rejection)) => return ready(config.deny.rejected(&rejection)),
                None => known = Some(caller),
            }
        }
        // The waiting path. The inner service was driven to readiness by `poll_ready`; take that
        // one and leave a clone in its place, so the ready instance is the one that handles this
        // request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        ResponseFuture::Boxed {
            future: Box::pin(async move {
                let (req, caller) = match known {
                    Some(caller) => (req, caller),
                    None => match config.authenticator.authenticate(req).await {
                        Ok(ok) => ok,
                        Err(rejection) => return Ok(config.deny.rejected(&rejection)),
                    },
                };
                let (mut req, checks) = match config.describer.describe(req, &caller).await {
                    Ok(ok) => ok,
                    Err(rejection) => return Ok(config.deny.rejected(&rejection)),
                };
                if let Err(denial) = decide(&config.hook, &caller, &checks) {
                    return Ok(config.deny.denied(&denial));
                }
                insert_authorized(req.extensions_mut(), Authorized { caller, checks });
                inner.call(req).await
            }),
        }
    }
}

/// Puts `authorized` into `extensions`. A request that has no extensions yet gets a map with
/// room for eight: routers add theirs after this layer (axum adds three), and http's map, made
/// for one entry, would otherwise be rebuilt larger in the middle of the request.
fn insert_authorized(extensions: &mut http::Extensions, authorized: Authorized) {
    if extensions.is_empty() {
        *extensions = roomy_extensions();
    }
    extensions.insert(authorized);
}

/// An empty extension map with room for eight entries: made once (four entries in, four out; the
/// map keeps its size), then cloned, which copies the size and no entries.
fn roomy_extensions() -> http::Extensions {
    #[derive(Clone, Copy)]
    struct Room<const N: usize>;
    static ROOMY: OnceLock<http::Extensions> = OnceLock::new();
    ROOMY
        .get_or_init(|| {
            let mut e = http::Extensions::new();
            e.insert(Room::<0>);
            e.insert(Room::<1>);
            e.insert(Room::<2>);
            e.insert(Room::<3>);
            e.remove::<Room<0>>();
            e.remove::<Room<1>>();
            e.remove::<Room<2>>();
            e.remove::<Room<3>>();
            e
        })
        .clone()
}

/// Evaluates one check for `caller`, with `resource_policy` as the resource's policy (usually
/// `check.resource_policy`; another one asks "what if the resource had this policy").
pub fn evaluate_check<'a>(caller: &'a Caller, check: &Check, resource_policy: Option<&'a PolicySet>) -> Decision<'a> {
    let policies = Policies {
        identity: &caller.identity,
        boundary: caller.boundary.as_ref(),
        session: caller.session.as_ref(),
        resource: resource_policy,
    };
    let request = warden_policy::Request {
        principal: &caller.principal,
        action: &check.action,
        resource: &check.resource,
        resource_account: &check.resource_account,
        context: &check.context,
    };
    evaluate(&policies, &request)
}

/// Evaluates every check; the first that is not allowed is the denial.
fn decide<H: DecisionHook>(hook: &H, caller: &Caller, checks: &[Check]) -> Result<(), Denial> {
    let timed = hook.is_active();
    for check in checks {
        let start = timed.then(Instant::now);
        let decision = evaluate_check(caller, check, check.resource_policy.as_ref());
        if let Some(start) = start {
            hook.on_decision(&DecisionRecord { caller, check, decision: &decision, elapsed: start.elapsed() });
        }
        if decision.outcome != Outcome::Allowed {
            let arn = caller.principal.arn();
            let message = decision.denial_message(arn, &check.action, &check.resource).unwrap_or_default();
            return Err(Denial {
                caller_arn: arn.to_owned(),
                action: check.action.to_string(),
                resource: check.resource.clone(),
                message,
                outcome: decision.outcome,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::context::ClientAddr;
    use warden_policy::Principal;

    fn authorized() -> Authorized {
        let caller =
            Caller::new(Principal::parse("arn:aws:iam::111122223333:user/alice").unwrap(), PolicySet::default());
        Authorized { caller, checks: Vec::new() }
    }

    #[test]
    fn the_authorized_extension_keeps_what_was_there_and_takes_what_comes_after() {
        // A request with no extensions gets the roomy map: empty but for Authorized.
        let mut ext = http::Extensions::new();
        insert_authorized(&mut ext, authorized());
        assert_eq!(ext.len(), 1);
        assert_eq!(ext.get::<Authorized>().unwrap().caller.principal.arn(), "arn:aws:iam::111122223333:user/alice");
        // What a router adds afterwards lands beside it.
        ext.insert(1u8);
        ext.insert(2u16);
        ext.insert(3u32);
        ext.insert(4u64);
        assert_eq!((ext.len(), ext.get::<u64>(), ext.get::<u8>()), (5, Some(&4), Some(&1)));
        // A request that already carries extensions keeps them.
        let mut ext = http::Extensions::new();
        ext.insert(ClientAddr("203.0.113.7".parse().unwrap()));
        insert_authorized(&mut ext, authorized());
        assert_eq!(ext.len(), 2);
        assert!(ext.get::<ClientAddr>().is_some() && ext.get::<Authorized>().is_some());
        // The shared empty map stays empty.
        assert!(roomy_extensions().is_empty());
    }
}
