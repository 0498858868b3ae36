//! Request throttling as the Amazon ECR User Guide describes it: token buckets ("each account
//! receives a bucket that can store up to N credits … replenished at the sustain rate"), one per
//! caller account and transaction class, and per repository where the guide's quota is per
//! repository. The buckets are [`governor`]'s GCRA limiters, which behave exactly as such a
//! bucket: `burst` requests at once, then one more every `1 / rate_per_second` seconds.
//!
//! | class ([`Class`]) | what counts | default | bucket key |
//! | --- | --- | --- | --- |
//! | `get_authorization_token` | `GetAuthorizationToken` | 20/s, burst 200 | account |
//! | `pull` | manifest reads: `BatchGetImage`, `/v2` manifest `GET`/`HEAD`, referrers `GET` | 200/s, burst 400 | account, repository |
//! | `pull_layer` | layer reads: `GetDownloadUrlForLayer`, `/v2` blob `GET`/`HEAD` | 200/s, burst 400 | account, repository |
//! | `push` | image-completing writes: `PutImage`, `/v2` manifest `PUT` | 10/s, burst 40 | account, repository |
//! | `other` | every other ECR API call and `/v2` request | 100/s, burst 200 | account, operation |
//!
//! The first four rows are the guide's quota table. A "docker push transaction" is counted as the
//! call that completes an image (the manifest write): a push of one image is one transaction
//! however many layers it has. Counting the layer-upload calls instead would throttle an ordinary
//! push of a multi-layer image at 40 requests; those calls fall under `other`, where each
//! operation (`InitiateLayerUpload`, `UploadLayerPart`, `CompleteLayerUpload`, …) has its own
//! bucket per account. `other` is warden's own default: the guide gives no number for it. The
//! registry mints tokens only through `GetAuthorizationToken` (`/v2` takes them over HTTP Basic
//! and has no token endpoint), so that call is the only login path throttled as one. `GET /v2/`
//! and `GET /v2/_catalog` count under `other` too (as `/v2/` and `ecr:DescribeRepositories`).
//!
//! **Whose bucket.** The account is the authenticated caller's (a role session's account is its
//! role's), never the registry's: a caller from another account pulling through a repository
//! policy spends its own account's credits. Only requests that were authenticated and allowed
//! spend credits; the throttle runs where the request's one description and its caller are both
//! known: in the handler, after the authorization decision and before the operation runs. A
//! request whose caller or repository cannot be established is refused (500), never let through
//! unthrottled. The region is the registry's one region, so "per account per region" is "per
//! account" here.
//!
//! **Per instance.** Buckets live in the memory of one `warden serve` process and are not shared.
//! Behind a load balancer, N instances each allow the full rate: a client spread evenly over them
//! gets N × the rate (three instances at the default push quota allow 3 × 10 = 30 sustained
//! pushes per second to a repository, with bursts up to 3 × 40 = 120). Divide the configured rates
//! by N (`--throttle-config`) to hold a fleet to the guide's numbers.
//!
//! **Memory.** A bucket that has refilled completely is indistinguishable from a new one, so every
//! [`HOUSEKEEPING_EVERY`] checks the limiters drop such buckets
//! ([`RateLimiter::retain_recent`]). What is kept is at most the keys used within the last
//! `burst / rate_per_second` seconds of their class (2 s for pulls, 10 s for tokens at the
//! defaults) plus the keys of [`HOUSEKEEPING_EVERY`] checks, however many repositories or
//! accounts pass by.
//!
//! Configured with [`ThrottleConfig`] (`warden serve --throttle off`, `--throttle-config FILE`);
//! the clock is a parameter so tests drive it ([`governor::clock::FakeRelativeClock`]).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use serde::Deserialize;

use crate::ecr::input::Input;
use crate::error::RegistryError;
use crate::names::RepoName;
use crate::oci::request::OciRequest;
use crate::route::Route;

/// Checks between two sweeps of buckets that have refilled.
pub const HOUSEKEEPING_EVERY: u64 = 1024;

/// The largest `rate_per_second` accepted (one credit per nanosecond).
const MAX_RATE: f64 = 1e9;

/// A transaction class of the guide's quota table, plus `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `GetAuthorizationToken`, per account.
    AuthorizationToken,
    /// docker pull transactions (manifest reads), per account and repository.
    Pull,
    /// docker pull layer transactions (layer reads), per account and repository.
    PullLayer,
    /// docker push transactions (manifest writes), per account and repository.
    Push,
    /// Every other call, per account and operation.
    Other,
}

impl Class {
    /// The class's name in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            Class::AuthorizationToken => "get_authorization_token",
            Class::Pull => "pull",
            Class::PullLayer => "pull_layer",
            Class::Push => "push",
            Class::Other => "other",
        }
    }
}

/// A sustained rate and a burst: a bucket of `burst` credits refilled at `rate_per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    rate_per_second: f64,
    burst: NonZeroU32,
    quota: Quota,
}

/// Why a rate is not valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateError {
    /// Not a positive number, or more than one credit a nanosecond.
    #[error("rate_per_second must be a number above 0 and at most 1e9, not {0}")]
    Rate(f64),
    /// A bucket holds at least one credit.
    #[error("burst must be at least 1")]
    Burst,
}

impl Rate {
    /// `rate_per_second` credits a second (fractions allowed: 0.5 is one every two seconds), at
    /// most `burst` at once.
    pub fn new(rate_per_second: f64, burst: u32) -> Result<Rate, RateError> {
        if !(rate_per_second.is_finite() && rate_per_second > 0.0 && rate_per_second <= MAX_RATE) {
            return Err(RateError::Rate(rate_per_second));
        }
        let burst = NonZeroU32::new(burst).ok_or(RateError::Burst)?;
        let period =
            Duration::try_from_secs_f64(1.0 / rate_per_second).map_err(|_| RateError::Rate(rate_per_second))?;
        let quota = Quota::with_period(period).ok_or(RateError::Rate(rate_per_second))?.allow_burst(burst);
        Ok(Rate { rate_per_second, burst, quota })
    }

    /// Credits a second.
    pub fn rate_per_second(&self) -> f64 {
        self.rate_per_second
    }

    /// Credits the bucket holds.
    pub fn burst(&self) -> u32 {
        self.burst.get()
    }

    /// A rate known to be valid (the defaults).
    fn known(rate_per_second: u32, burst: u32) -> Rate {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let rate = NonZeroU32::new(rate_per_second).unwrap_or(NonZeroU32::MIN);
        Rate { rate_per_second: f64::from(rate.get()), burst, quota: Quota::per_second(rate).allow_burst(burst) }
    }
}

/// How the registry throttles; [`ThrottleConfig::default`] is the guide's table (and 100/s,
/// burst 200 for `other`).
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleConfig {
    /// Off: nothing is throttled (`--throttle off`).
    pub enabled: bool,
    /// `GetAuthorizationToken`, per account.
    pub get_authorization_token: Rate,
    /// Manifest reads, per account and repository.
    pub pull: Rate,
    /// Layer reads, per account and repository.
    pub pull_layer: Rate,
    /// Manifest writes, per account and repository.
    pub push: Rate,
    /// Everything else, per account and operation.
    pub other: Rate,
}

impl Default for ThrottleConfig {
    fn default() -> ThrottleConfig {
        ThrottleConfig {
            enabled: true,
            get_authorization_token: Rate::known(20, 200),
            pull: Rate::known(200, 400),
            pull_layer: Rate::known(200, 400),
            push: Rate::known(10, 40),
            other: Rate::known(100, 200),
        }
    }
}

/// Why a throttle configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleConfigError {
    /// Not JSON of the expected shape (an unknown class or member, a wrong type).
    #[error("not a throttle configuration: {0}")]
    Json(#[from] serde_json::Error),
    /// A class's rate is not valid.
    #[error("`{class}`: {source}")]
    Rate {
        /// The class.
        class: &'static str,
        /// Why.
        #[source]
        source: RateError,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRate {
    rate_per_second: f64,
    burst: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    get_authorization_token: Option<RawRate>,
    pull: Option<RawRate>,
    pull_layer: Option<RawRate>,
    push: Option<RawRate>,
    other: Option<RawRate>,
}

impl ThrottleConfig {
    /// Nothing throttled.
    pub fn off() -> ThrottleConfig {
        ThrottleConfig { enabled: false, ..ThrottleConfig::default() }
    }

    /// Reads `{"pull": {"rate_per_second": 50, "burst": 100}, …}`: any of the classes
    /// `get_authorization_token`, `pull`, `pull_layer`, `push`, `other`; a class left out keeps
    /// its default.
    pub fn from_json(text: &str) -> Result<ThrottleConfig, ThrottleConfigError> {
        let raw: RawConfig = serde_json::from_str(text)?;
        let mut config = ThrottleConfig::default();
        let slots = [
            (Class::AuthorizationToken, raw.get_authorization_token, &mut config.get_authorization_token),
            (Class::Pull, raw.pull, &mut config.pull),
            (Class::PullLayer, raw.pull_layer, &mut config.pull_layer),
            (Class::Push, raw.push, &mut config.push),
            (Class::Other, raw.other, &mut config.other),
        ];
        for (class, raw, slot) in slots {
            if let Some(r) = raw {
                *slot = Rate::new(r.rate_per_second, r.burst)
                    .map_err(|source| ThrottleConfigError::Rate { class: class.name(), source })?;
            }
        }
        Ok(config)
    }

    /// The rate of a class.
    pub fn rate(&self, class: Class) -> Rate {
        match class {
            Class::AuthorizationToken => self.get_authorization_token,
            Class::Pull => self.pull,
            Class::PullLayer => self.pull_layer,
            Class::Push => self.push,
            Class::Other => self.other,
        }
    }
}

/// What a request is to the throttle: its class and what its bucket is keyed by besides the
/// account (the repository, the operation, or nothing for tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction<'a> {
    /// The class.
    class: Class,
    /// The operation, as logged (`ecr:BatchGetImage`).
    action: &'static str,
    /// The repository, when the request names one (logged).
    repository: Option<&'a str>,
    /// What the bucket is keyed by besides the account: the repository for the classes keyed by
    /// one (never absent: [`Transaction::new`] refuses that), the operation for `other`, nothing
    /// for tokens.
    scope: &'a str,
}

impl<'a> Transaction<'a> {
    /// A `/v2` request, classified by the ECR action it is authorized as (a blob `HEAD`, authorized
    /// as `BatchCheckLayerAvailability`, is a layer read all the same).
    pub fn of_oci(request: &'a OciRequest) -> Result<Transaction<'a>, RegistryError> {
        let repository = request.route.repo().map(RepoName::as_str);
        let (class, action) = match (&request.route, request.method.as_str()) {
            (Route::Base, _) => (Class::Other, "/v2/"),
            (Route::Catalog, _) => (Class::Other, "ecr:DescribeRepositories"),
            (Route::Manifest { .. } | Route::Referrers { .. }, "GET" | "HEAD") => (Class::Pull, "ecr:BatchGetImage"),
            (Route::Blob { .. }, "GET") => (Class::PullLayer, "ecr:GetDownloadUrlForLayer"),
            (Route::Blob { .. }, "HEAD") => (Class::PullLayer, "ecr:BatchCheckLayerAvailability"),
            (Route::Manifest { .. }, "PUT") => (Class::Push, "ecr:PutImage"),
            _ => {
                let action = request.action()?.ok_or(RegistryError::Internal("a /v2 request without its action"))?;
                (Class::Other, action)
            }
        };
        Transaction::new(class, action, repository)
    }

    /// An ECR API call, addressing repository `repo` (validated by the describer).
    pub fn of_ecr(
        input: &Input,
        action: &'static str,
        repo: Option<&'a RepoName>,
    ) -> Result<Transaction<'a>, RegistryError> {
        let class = match input {
            Input::GetAuthorizationToken(_) => Class::AuthorizationToken,
            Input::BatchGetImage(_) => Class::Pull,
            Input::GetDownloadUrlForLayer(_) => Class::PullLayer,
            Input::PutImage(_) => Class::Push,
            _ => Class::Other,
        };
        Transaction::new(class, action, repo.map(RepoName::as_str))
    }

    /// A call of the console's own tools (`iam:SimulatePrincipalPolicy`, `cloudtrail:LookupEvents`,
    /// …): the `other` class, a bucket per tool.
    pub fn of_console(action: &'static str) -> Result<Transaction<'a>, RegistryError> {
        Transaction::new(Class::Other, action, None)
    }

    /// Fails closed: a class keyed by repository without one is an error, not a shared bucket.
    fn new(class: Class, action: &'static str, repository: Option<&'a str>) -> Result<Transaction<'a>, RegistryError> {
        let scope = match class {
            Class::AuthorizationToken => "",
            Class::Pull | Class::PullLayer | Class::Push => {
                repository.ok_or(RegistryError::Internal("a repository transaction without its repository"))?
            }
            Class::Other => action,
        };
        Ok(Transaction { class, action, repository, scope })
    }

    /// What the bucket is keyed by besides the account.
    fn scope(&self) -> &str {
        self.scope
    }
}

/// A bucket's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    account: Box<str>,
    scope: Box<str>,
}

type Limiter<C> = RateLimiter<Key, DashMapStateStore<Key>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A request that found its bucket empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Its class.
    pub class: Class,
    /// How long until the bucket holds a credit again.
    pub wait: Duration,
}

impl Throttled {
    /// `Retry-After`: whole seconds until a credit, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.wait.as_secs() + u64::from(self.wait.subsec_nanos() > 0);
        secs.max(1)
    }
}

/// The registry's token buckets; state is this process's own (see the module documentation).
pub struct Throttle<C: Clock + Clone = MonotonicClock> {
    limiters: Option<[Limiter<C>; 5]>,
    clock: C,
    checks: AtomicU64,
}

impl<C: Clock + Clone> std::fmt::Debug for Throttle<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").field("enabled", &self.limiters.is_some()).finish_non_exhaustive()
    }
}

const CLASSES: [Class; 5] = [Class::AuthorizationToken, Class::Pull, Class::PullLayer, Class::Push, Class::Other];

impl Throttle<MonotonicClock> {
    /// Buckets on the monotonic clock.
    pub fn new(config: &ThrottleConfig) -> Throttle<MonotonicClock> {
        Throttle::with_clock(config, MonotonicClock)
    }
}

impl<C: Clock + Clone> Throttle<C> {
    /// Buckets on `clock`.
    pub fn with_clock(config: &ThrottleConfig, clock: C) -> Throttle<C> {
        let limiters = config
            .enabled
            .then(|| CLASSES.map(|class| RateLimiter::dashmap_with_clock(config.rate(class).quota, clock.clone())));
        Throttle { limiters, clock, checks: AtomicU64::new(0) }
    }

    /// Takes a credit from `account`'s bucket for `transaction`, or says how long until there is
    /// one.
    pub fn check(&self, account: &str, transaction: &Transaction<'_>) -> Result<(), Throttled> {
        let Some(limiters) = &self.limiters else { return Ok(()) };
        let class = transaction.class;
        let index = CLASSES.iter().position(|c| *c == class).unwrap_or(CLASSES.len() - 1);
        let Some(limiter) = limiters.get(index) else { return Err(Throttled { class, wait: Duration::from_secs(1) }) };
        if self.checks.fetch_add(1, Ordering::Relaxed) % HOUSEKEEPING_EVERY == HOUSEKEEPING_EVERY - 1 {
            self.sweep();
        }
        let key = Key { account: account.into(), scope: transaction.scope().into() };
        limiter
            .check_key(&key)
            .map_err(|not_until| Throttled { class, wait: not_until.wait_time_from(self.clock.now()) })
    }

    /// Drops the buckets that have refilled (they are the same as new ones).
    pub fn sweep(&self) {
        for limiter in self.limiters.iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Buckets held, over every class.
    pub fn buckets(&self) -> usize {
        self.limiters.iter().flatten().map(RateLimiter::len).sum()
    }
}

/// Throttles a request of `caller`: `Ok` to go on, [`RegistryError::Throttled`] when its bucket
/// is empty (logged), and an internal error when the caller or the repository is not known.
pub fn admit<C: Clock + Clone>(
    throttle: &Throttle<C>,
    caller: Option<&warden_tower::Caller>,
    transaction: &Transaction<'_>,
) -> Result<(), RegistryError> {
    let caller = caller.ok_or(RegistryError::Internal("the caller of a request to throttle is unknown"))?;
    let account = caller.principal.account();
    throttle.check(account, transaction).map_err(|t| {
        tracing::warn!(
            target: "warden::throttle",
            caller = caller.principal.arn(),
            account,
            action = transaction.action,
            repository = transaction.repository.unwrap_or("-"),
            class = t.class.name(),
            retry_after = t.retry_after_secs(),
            "throttled: Rate exceeded"
        );
        RegistryError::Throttled { retry_after: t.retry_after_secs() }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn token() -> Transaction<'static> {
        Transaction::new(Class::AuthorizationToken, "ecr:GetAuthorizationToken", None).unwrap()
    }

    fn repo(class: Class, name: &'static str) -> Transaction<'static> {
        Transaction::new(class, "ecr:Test", Some(name)).unwrap()
    }

    fn passes<C: Clock + Clone>(t: &Throttle<C>, account: &str, tx: &Transaction<'_>, n: usize) -> usize {
        (0..n).filter(|_| t.check(account, tx).is_ok()).count()
    }

    #[test]
    fn authorization_tokens_burst_200_then_20_a_second() {
        let clock = FakeRelativeClock::default();
        let t = Throttle::with_clock(&ThrottleConfig::default(), clock.clone());
        assert_eq!(passes(&t, "111122223333", &token(), 200), 200);
        let refused = t.check("111122223333", &token()).unwrap_err();
        assert_eq!(refused.class, Class::AuthorizationToken);
        assert_eq!(refused.wait, Duration::from_millis(50));
        assert_eq!(refused.retry_after_secs(), 1);
        clock.advance(Duration::from_millis(50));
        assert_eq!(passes(&t, "111122223333", &token(), 5), 1, "one credit in 50 ms");
        clock.advance(Duration::from_secs(1));
        assert_eq!(passes(&t, "111122223333", &token(), 40), 20, "twenty credits in a second");
        // Another account has its own bucket.
        assert_eq!(passes(&t, "444455556666", &token(), 200), 200);
        assert!(t.check("444455556666", &token()).is_err());
    }

    #[test]
    fn repository_buckets_are_per_account_and_repository() {
        for (class, burst, rate) in [(Class::Pull, 400, 200), (Class::PullLayer, 400, 200), (Class::Push, 40, 10)] {
            let clock = FakeRelativeClock::default();
            let t = Throttle::with_clock(&ThrottleConfig::default(), clock.clone());
            let (a, b) = (repo(class, "team/a"), repo(class, "team/b"));
            assert_eq!(passes(&t, "111122223333", &a, burst + 10), burst, "{class:?}");
            assert!(t.check("111122223333", &a).is_err());
            assert_eq!(passes(&t, "111122223333", &b, burst), burst, "{class:?}: another repository");
            assert_eq!(passes(&t, "444455556666", &a, burst), burst, "{class:?}: another account");
            clock.advance(Duration::from_secs(1));
            assert_eq!(passes(&t, "111122223333", &a, burst), rate, "{class:?}: refilled at the sustained rate");
        }
    }

    #[test]
    fn classes_do_not_share_buckets() {
        let t = Throttle::with_clock(&ThrottleConfig::default(), FakeRelativeClock::default());
        assert_eq!(passes(&t, "1", &repo(Class::Push, "x"), 41), 40);
        assert!(t.check("1", &repo(Class::Pull, "x")).is_ok());
        assert!(t.check("1", &repo(Class::PullLayer, "x")).is_ok());
        let other = |action| Transaction::new(Class::Other, action, Some("x")).unwrap();
        assert_eq!(passes(&t, "1", &other("ecr:ListImages"), 201), 200);
        assert!(t.check("1", &other("ecr:DescribeImages")).is_ok(), "other operations have their own");
    }

    #[test]
    fn retry_after_counts_whole_seconds_to_the_next_credit() {
        let config = ThrottleConfig { push: Rate::new(0.25, 1).unwrap(), ..ThrottleConfig::default() };
        let clock = FakeRelativeClock::default();
        let t = Throttle::with_clock(&config, clock.clone());
        t.check("1", &repo(Class::Push, "x")).unwrap();
        assert_eq!(t.check("1", &repo(Class::Push, "x")).unwrap_err().retry_after_secs(), 4);
        clock.advance(Duration::from_millis(2500));
        assert_eq!(t.check("1", &repo(Class::Push, "x")).unwrap_err().retry_after_secs(), 2);
        clock.advance(Duration::from_millis(1500));
        assert!(t.check("1", &repo(Class::Push, "x")).is_ok());
    }

    #[test]
    fn off_throttles_nothing() {
        let t = Throttle::with_clock(&ThrottleConfig::off(), FakeRelativeClock::default());
        assert_eq!(passes(&t, "1", &token(), 1000), 1000);
        assert_eq!(t.buckets(), 0);
    }

    #[test]
    fn refilled_buckets_are_dropped() {
        let clock = FakeRelativeClock::default();
        let t = Throttle::with_clock(&ThrottleConfig::default(), clock.clone());
        let names: Vec<String> = (0..5000).map(|i| format!("r{i}")).collect();
        for name in &names {
            let tx = Transaction::new(Class::Pull, "ecr:BatchGetImage", Some(name)).unwrap();
            t.check("1", &tx).unwrap();
        }
        assert!(t.buckets() > 4000, "{}", t.buckets());
        // A pull bucket refills in 400 / 200 = 2 s; the next sweep drops every one.
        clock.advance(Duration::from_secs(3));
        for _ in 0..HOUSEKEEPING_EVERY {
            let _ = t.check("1", &token());
        }
        assert!(t.buckets() <= 1, "{}", t.buckets());
    }

    #[test]
    fn configuration_files() {
        let c = ThrottleConfig::from_json(r#"{"pull": {"rate_per_second": 5, "burst": 2}}"#).unwrap();
        assert_eq!((c.pull.rate_per_second(), c.pull.burst()), (5.0, 2));
        assert_eq!(c.push, ThrottleConfig::default().push);
        assert!(c.enabled);
        let c = ThrottleConfig::from_json(r#"{"other": {"rate_per_second": 0.5, "burst": 1}}"#).unwrap();
        assert_eq!(c.other.rate_per_second(), 0.5);
        for bad in [
            r#"{"pul": {"rate_per_second": 5, "burst": 2}}"#,
            r#"{"pull": {"rate_per_second": 5}}"#,
            r#"{"pull": {"rate_per_second": 5, "burst": 2, "x": 1}}"#,
            r#"{"pull": {"rate_per_second": "5", "burst": 2}}"#,
            "not json",
        ] {
            assert!(matches!(ThrottleConfig::from_json(bad), Err(ThrottleConfigError::Json(_))), "{bad}");
        }
        for (bad, class) in [
            (r#"{"push": {"rate_per_second": 0, "burst": 2}}"#, "push"),
            (r#"{"push": {"rate_per_second": -1, "burst": 2}}"#, "push"),
            (r#"{"pull_layer": {"rate_per_second": 1, "burst": 0}}"#, "pull_layer"),
            (r#"{"get_authorization_token": {"rate_per_second": 2e9, "burst": 1}}"#, "get_authorization_token"),
        ] {
            let e = ThrottleConfig::from_json(bad).unwrap_err();
            assert!(matches!(&e, ThrottleConfigError::Rate { class: c, .. } if *c == class), "{bad}: {e}");
        }
    }

    #[test]
    fn requests_are_classified_by_what_they_are() {
        let parse = |m: &str, p: &str| OciRequest::parse(&m.parse().unwrap(), &p.parse().unwrap()).unwrap();
        let d = format!("sha256:{}", "a".repeat(64));
        let cases = [
            ("GET", "/v2/team/app/manifests/v1".to_owned(), Class::Pull, Some("team/app")),
            ("HEAD", "/v2/team/app/manifests/v1".to_owned(), Class::Pull, Some("team/app")),
            ("GET", format!("/v2/team/app/blobs/{d}"), Class::PullLayer, Some("team/app")),
            ("HEAD", format!("/v2/team/app/blobs/{d}"), Class::PullLayer, Some("team/app")),
            ("PUT", "/v2/team/app/manifests/v1".to_owned(), Class::Push, Some("team/app")),
            ("POST", "/v2/team/app/blobs/uploads/".to_owned(), Class::Other, Some("team/app")),
            ("GET", "/v2/".to_owned(), Class::Other, None),
            ("GET", "/v2/_catalog".to_owned(), Class::Other, None),
        ];
        for (method, path, class, repository) in cases {
            let request = parse(method, &path);
            let tx = Transaction::of_oci(&request).unwrap();
            assert_eq!((tx.class, tx.repository), (class, repository), "{method} {path}");
        }
        let upload = parse("POST", "/v2/team/app/blobs/uploads/");
        assert_eq!(Transaction::of_oci(&upload).unwrap().scope(), "ecr:InitiateLayerUpload");
        let unsupported = parse("POST", "/v2/team/app/tags/list");
        assert!(matches!(Transaction::of_oci(&unsupported), Err(RegistryError::Unsupported(_))));
        assert!(Transaction::new(Class::Pull, "ecr:BatchGetImage", None).is_err(), "no repository, no pass");
    }
}
