//! [`AuthorizeLayer`]: the configuration, cheap to clone, that wraps services in [`Authorize`].

use std::sync::Arc;

use tower_layer::Layer;

use crate::deny::JsonProtocolDeny;
use crate::service::Authorize;

pub(crate) struct Config<A, D, H, R> {
    pub(crate) authenticator: A,
    pub(crate) describer: D,
    pub(crate) hook: H,
    pub(crate) deny: R,
}

/// Wraps a service so that every request is authenticated by `A`, described by `D`, evaluated by
/// the engine, reported to the hook `H`, and answered by `R` when not allowed.
///
/// With axum, wrapping the whole router (`layer.layer(router)`, or `ServiceBuilder`) is the cheaper
/// placement: `Router::layer` wraps every route, and axum boxes each wrapped route again, so each
/// request pays for a second boxed service clone and a second boxed future.
pub struct AuthorizeLayer<A, D, H = (), R = JsonProtocolDeny> {
    config: Arc<Config<A, D, H, R>>,
}

impl<A, D, H, R> Clone for AuthorizeLayer<A, D, H, R> {
    fn clone(&self) -> Self {
        AuthorizeLayer { config: Arc::clone(&self.config) }
    }
}

impl<A, D> AuthorizeLayer<A, D> {
    /// A layer with no decision hook, answering denials in the AWS JSON protocol.
    pub fn new(authenticator: A, describer: D) -> Self {
        AuthorizeLayer { config: Arc::new(Config { authenticator, describer, hook: (), deny: JsonProtocolDeny }) }
    }
}

impl<A: Clone, D: Clone, H: Clone, R: Clone> AuthorizeLayer<A, D, H, R> {
    /// Sets the decision hook.
    pub fn with_hook<H2>(self, hook: H2) -> AuthorizeLayer<A, D, H2, R> {
        let c = &self.config;
        AuthorizeLayer {
            config: Arc::new(Config {
                authenticator: c.authenticator.clone(),
                describer: c.describer.clone(),
                hook,
                deny: c.deny.clone(),
            }),
        }
    }

    /// Sets how denials are answered ([`crate::JsonProtocolDeny`], [`crate::RegistryDeny`], or
    /// your own).
    pub fn with_deny<R2>(self, deny: R2) -> AuthorizeLayer<A, D, H, R2> {
        let c = &self.config;
        AuthorizeLayer {
            config: Arc::new(Config {
                authenticator: c.authenticator.clone(),
                describer: c.describer.clone(),
                hook: c.hook.clone(),
                deny,
            }),
        }
    }
}

impl<S, A, D, H, R> Layer<S> for AuthorizeLayer<A, D, H, R> {
    type Service = Authorize<S, A, D, H, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize::new(inner, Arc::clone(&self.config))
    }
}
