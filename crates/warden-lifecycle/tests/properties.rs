//! Properties of the evaluator on generated repositories and policies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use proptest::prelude::*;
use warden_lifecycle::{evaluate, Count, Image, LifecyclePolicy, TagSelection};

const NOW: i64 = 1_800_000_000;
const PREFIXES: &[&str] = &["prod", "beta", "dev", "v"];

fn image() -> impl Strategy<Value = (Vec<String>, i64)> {
    (
        proptest::collection::vec(
            (proptest::sample::select(PREFIXES), 0u8..4).prop_map(|(p, n)| format!("{p}-{n}")),
            0..3,
        ),
        -40i64 * 86_400..86_400, // up to 40 days ago, some in the future (pushed during the run)
    )
}

fn repo() -> impl Strategy<Value = Vec<Image>> {
    proptest::collection::vec(image(), 0..25).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (tags, age))| Image { digest: format!("sha256:{i:04}"), tags, pushed_at: NOW + age })
            .collect()
    })
}

fn rule_json(priority: usize, status: usize, prefixes: &[&str], count: (bool, u64)) -> String {
    let selection = match status {
        0 => format!(r#""tagStatus": "tagged", "tagPrefixList": {:?}"#, prefixes),
        1 => r#""tagStatus": "untagged""#.to_owned(),
        _ => r#""tagStatus": "any""#.to_owned(),
    };
    let count = if count.0 {
        format!(r#""countType": "imageCountMoreThan", "countNumber": {}"#, count.1)
    } else {
        format!(r#""countType": "sinceImagePushed", "countUnit": "days", "countNumber": {}"#, count.1)
    };
    format!(r#"{{"rulePriority": {priority}, "selection": {{{selection}, {count}}}, "action": {{"type": "expire"}}}}"#)
}

/// Valid policies: tagged rules with distinct prefix sets, at most one untagged rule, an optional
/// `any` rule last.
fn policy() -> impl Strategy<Value = LifecyclePolicy> {
    (
        proptest::sample::subsequence(PREFIXES, 0..PREFIXES.len()),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec((any::<bool>(), 1u64..6), 6),
    )
        .prop_filter_map("at least one rule", |(tagged, untagged, any_rule, counts)| {
            let mut rules = Vec::new();
            for (i, p) in tagged.iter().enumerate() {
                rules.push(rule_json(rules.len() + 1, 0, &[p], counts[i]));
            }
            if untagged {
                rules.push(rule_json(rules.len() + 1, 1, &[], counts[4]));
            }
            if any_rule {
                rules.push(rule_json(rules.len() + 1, 2, &[], counts[5]));
            }
            if rules.is_empty() {
                return None;
            }
            Some(LifecyclePolicy::parse(&format!(r#"{{"rules": [{}]}}"#, rules.join(","))).unwrap())
        })
}

fn selects(rule: &warden_lifecycle::Rule, img: &Image) -> bool {
    match &rule.selection {
        TagSelection::Any => true,
        TagSelection::Untagged => img.tags.is_empty(),
        TagSelection::Prefixes(p) => {
            !img.tags.is_empty() && p.iter().all(|p| img.tags.iter().any(|t| t.starts_with(p.as_str())))
        }
        TagSelection::Patterns(_) => unreachable!(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// An image selected by a higher-priority rule that did not expire it is never expired by a
    /// lower one; every expiry names the first rule that could expire the image.
    #[test]
    fn higher_priority_matches_are_never_expired_by_lower_rules(p in policy(), imgs in repo()) {
        for e in evaluate(&p, &imgs, NOW) {
            let img = &imgs[e.image];
            for rule in p.rules().iter().filter(|r| r.priority < e.rule_priority) {
                prop_assert!(!selects(rule, img), "{} was selected by rule {} but expired by rule {}", img.digest, rule.priority, e.rule_priority);
            }
        }
    }

    /// Applying a policy, then again to what is left, expires nothing more.
    #[test]
    fn applying_twice_expires_nothing_more(p in policy(), imgs in repo()) {
        let first = evaluate(&p, &imgs, NOW);
        let gone: Vec<usize> = first.iter().map(|e| e.image).collect();
        let left: Vec<Image> = imgs.iter().enumerate().filter(|(i, _)| !gone.contains(i)).map(|(_, im)| im.clone()).collect();
        prop_assert!(evaluate(&p, &left, NOW).is_empty());
    }

    /// A single count rule leaves exactly N of the images it selects (or all, when fewer), and the
    /// ones it leaves are the newest.
    #[test]
    fn a_count_rule_leaves_exactly_n(imgs in repo(), n in 1u64..6, status in 0usize..3) {
        let p = LifecyclePolicy::parse(&format!(r#"{{"rules": [{}]}}"#, rule_json(1, status, &["prod"], (true, n)))).unwrap();
        let rule = &p.rules()[0];
        prop_assert_eq!(rule.count, Count::MoreThan(n));
        let now_selected: Vec<&Image> = imgs.iter().filter(|im| im.pushed_at <= NOW && selects(rule, im)).collect();
        let expired = evaluate(&p, &imgs, NOW);
        let kept = now_selected.len() - expired.len();
        prop_assert_eq!(kept, now_selected.len().min(n as usize));
        let oldest_kept = now_selected.iter().filter(|im| !expired.iter().any(|e| imgs[e.image].digest == im.digest)).map(|im| im.pushed_at).min();
        for e in &expired {
            prop_assert!(oldest_kept.is_none_or(|k| imgs[e.image].pushed_at <= k));
        }
    }

    /// An image pushed after the run started is never expired by that run.
    #[test]
    fn images_pushed_during_the_run_are_never_expired(p in policy(), imgs in repo()) {
        for e in evaluate(&p, &imgs, NOW) {
            prop_assert!(imgs[e.image].pushed_at <= NOW);
        }
    }
}
