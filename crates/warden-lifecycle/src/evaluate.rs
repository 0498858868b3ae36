//! Which images a policy expires, exactly per the user guide's "Lifecycle Policy Evaluation
//! Rules":
//!
//! - an image is expired by exactly one or zero rules;
//! - an image that matches the tagging requirements of a rule cannot be expired by a rule with a
//!   lower priority — yet lower rules still see it when they count;
//! - expiry goes oldest first by push time;
//! - a tag prefix list matches an image when every prefix matches one of its tags;
//! - `imageCountMoreThan`: selected images sorted youngest to oldest, all past the count expire;
//! - `sinceImagePushed`: selected images pushed more than N days ago expire.
//!
//! An image pushed after `now` (during the run) takes no part: it is neither counted nor expired.

use crate::policy::{Count, LifecyclePolicy, Rule, TagSelection};

/// An image as the evaluator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// `sha256:…` digest.
    pub digest: String,
    /// Its tags (empty: untagged).
    pub tags: Vec<String>,
    /// Push time, epoch seconds.
    pub pushed_at: i64,
}

/// An image the policy expires, and the rule that does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    /// Index into the images given.
    pub image: usize,
    /// `rulePriority` of the rule that expires it.
    pub rule_priority: i64,
}

const DAY: i64 = 86_400;

fn selects(rule: &Rule, image: &Image) -> bool {
    match &rule.selection {
        TagSelection::Any => true,
        TagSelection::Untagged => image.tags.is_empty(),
        TagSelection::Prefixes(prefixes) => {
            !image.tags.is_empty() && prefixes.iter().all(|p| image.tags.iter().any(|t| t.starts_with(p.as_str())))
        }
        TagSelection::Patterns(patterns) => {
            !image.tags.is_empty() && patterns.iter().all(|(_, p)| image.tags.iter().any(|t| p.matches_plain(t)))
        }
    }
}

/// The images `policy` expires at `now` (epoch seconds), oldest first.
pub fn evaluate(policy: &LifecyclePolicy, images: &[Image], now: i64) -> Vec<Expiry> {
    // Youngest first; ties by digest so the outcome never depends on input order.
    let mut order: Vec<usize> =
        (0..images.len()).filter(|&i| images.get(i).is_some_and(|im| im.pushed_at <= now)).collect();
    order.sort_by(|&a, &b| match (images.get(a), images.get(b)) {
        (Some(x), Some(y)) => y.pushed_at.cmp(&x.pushed_at).then_with(|| x.digest.cmp(&y.digest)),
        _ => std::cmp::Ordering::Equal,
    });
    let mut expired: Vec<Option<i64>> = vec![None; images.len()];
    // Images a higher-priority rule selected: protected from lower rules.
    let mut claimed = vec![false; images.len()];
    for rule in policy.rules() {
        let selected: Vec<usize> =
            order.iter().copied().filter(|&i| images.get(i).is_some_and(|im| selects(rule, im))).collect();
        let marked: Vec<usize> = match rule.count {
            Count::MoreThan(n) => selected.iter().copied().skip(usize::try_from(n).unwrap_or(usize::MAX)).collect(),
            Count::SincePushedDays(days) => {
                let limit = now.saturating_sub(i64::try_from(days).unwrap_or(i64::MAX).saturating_mul(DAY));
                selected.iter().copied().filter(|&i| images.get(i).is_some_and(|im| im.pushed_at < limit)).collect()
            }
        };
        for i in marked {
            if let (Some(slot), Some(false)) = (expired.get_mut(i), claimed.get(i)) {
                if slot.is_none() {
                    *slot = Some(rule.priority);
                }
            }
        }
        for i in selected {
            if let Some(c) = claimed.get_mut(i) {
                *c = true;
            }
        }
    }
    // Oldest first.
    let mut out: Vec<Expiry> = order
        .iter()
        .rev()
        .filter_map(|&i| expired.get(i).copied().flatten().map(|p| Expiry { image: i, rule_priority: p }))
        .collect();
    out.dedup();
    out
}
