//! Every worked example of the ECR user guide's "Examples of Lifecycle Policies" (and the
//! evaluation rules they illustrate), with the result the guide states.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests fail loudly

use warden_lifecycle::{evaluate, Image, LifecyclePolicy};

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

/// (name, tags, pushed N days ago, plus seconds to separate images pushed "the same day").
fn images(spec: &[(&str, &[&str], i64, i64)]) -> Vec<Image> {
    spec.iter()
        .map(|(name, tags, days, offset)| Image {
            digest: format!("sha256:{name}"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed_at: NOW - days * DAY + offset,
        })
        .collect()
}

/// The names of the expired images, in expiry order (oldest first), with their rule priorities.
fn expired(policy: &str, imgs: &[Image]) -> Vec<(String, i64)> {
    let policy = LifecyclePolicy::parse(policy).unwrap();
    evaluate(&policy, imgs, NOW)
        .into_iter()
        .map(|e| (imgs[e.image].digest.trim_start_matches("sha256:").to_owned(), e.rule_priority))
        .collect()
}

fn rule(priority: i64, selection: &str) -> String {
    format!(
        r#"{{"rulePriority": {priority}, "description": "Rule {priority}", "selection": {selection}, "action": {{"type": "expire"}}}}"#
    )
}

fn policy(rules: &[String]) -> String {
    format!(r#"{{"rules": [{}]}}"#, rules.join(","))
}

/// "Filtering on Image Age": expire untagged images older than 14 days.
#[test]
fn filtering_on_image_age() {
    let p = policy(&[rule(
        1,
        r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14}"#,
    )]);
    let imgs = images(&[("old", &[], 15, 0), ("edge", &[], 14, 0), ("new", &[], 2, 0), ("tagged-old", &["v1"], 30, 0)]);
    assert_eq!(expired(&p, &imgs), [("old".to_owned(), 1)]);
}

/// "Filtering on Image Count": keep only one untagged image, expire all others.
#[test]
fn filtering_on_image_count() {
    let p = policy(&[rule(1, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}"#)]);
    let imgs = images(&[("a", &[], 3, 0), ("b", &[], 2, 0), ("c", &[], 1, 0), ("t", &["v1"], 5, 0)]);
    assert_eq!(expired(&p, &imgs), [("a".to_owned(), 1), ("b".to_owned(), 1)]);
}

fn multiple_rules_repository() -> Vec<Image> {
    images(&[("A", &["beta-1", "prod-1"], 10, 0), ("B", &["beta-2", "prod-2"], 9, 0), ("C", &["beta-3"], 8, 0)])
}

/// "Filtering on Multiple Rules", Example A: result, Image A is expired.
#[test]
fn multiple_rules_example_a() {
    let p = policy(&[
        rule(
            1,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
        ),
        rule(
            2,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["beta"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
        ),
    ]);
    assert_eq!(expired(&p, &multiple_rules_repository()), [("A".to_owned(), 1)]);
}

/// "Filtering on Multiple Rules", Example B: result, Images A and B are expired.
#[test]
fn multiple_rules_example_b() {
    let p = policy(&[
        rule(
            1,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["beta"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
        ),
        rule(
            2,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["prod"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
        ),
    ]);
    assert_eq!(expired(&p, &multiple_rules_repository()), [("A".to_owned(), 1), ("B".to_owned(), 1)]);
}

/// "Filtering on Multiple Tags in a Single Rule", Example A: result, Image C is expired.
#[test]
fn multiple_tags_example_a() {
    let p = policy(&[rule(
        1,
        r#"{"tagStatus": "tagged", "tagPrefixList": ["alpha", "beta"], "countType": "sinceImagePushed", "countNumber": 5, "countUnit": "days"}"#,
    )]);
    let imgs = images(&[
        ("A", &["alpha-1"], 12, 0),
        ("B", &["beta-1"], 11, 0),
        ("C", &["alpha-2", "beta-2"], 10, 0),
        ("D", &["alpha-3"], 4, 0),
        ("E", &["beta-3"], 3, 0),
        ("F", &["alpha-4", "beta-4"], 2, 0),
    ]);
    assert_eq!(expired(&p, &imgs), [("C".to_owned(), 1)]);
}

/// "Filtering on Multiple Tags in a Single Rule", Example B: tags are not exclusive; result,
/// Images A and B are expired.
#[test]
fn multiple_tags_example_b() {
    let p = policy(&[rule(
        1,
        r#"{"tagStatus": "tagged", "tagPrefixList": ["alpha", "beta"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
    )]);
    let imgs = images(&[
        ("A", &["alpha-1", "beta-1", "gamma-1"], 10, 0),
        ("B", &["alpha-2", "beta-2"], 9, 0),
        ("C", &["alpha-3", "beta-3", "gamma-2"], 8, 0),
    ]);
    assert_eq!(expired(&p, &imgs), [("A".to_owned(), 1), ("B".to_owned(), 1)]);
}

/// "Filtering on All Images", Example A: result, Images A, B and C are expired.
#[test]
fn all_images_example_a() {
    let p = policy(&[rule(1, r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#)]);
    let imgs =
        images(&[("A", &["alpha-1"], 4, 0), ("B", &["beta-1"], 3, 0), ("C", &[], 2, 0), ("D", &["alpha-2"], 1, 0)]);
    assert_eq!(expired(&p, &imgs), [("A".to_owned(), 1), ("B".to_owned(), 1), ("C".to_owned(), 1)]);
}

/// "Filtering on All Images", Example B: all rule types in one policy; result, Images A, B and D
/// are expired. D and E were both pushed "1 day ago"; E is the newer (rule 3 keeps it, and rule 2
/// does not find it older than one day). The guide writes `"countUnit": "day"`.
#[test]
fn all_images_example_b() {
    let p = policy(&[
        rule(
            1,
            r#"{"tagStatus": "tagged", "tagPrefixList": ["alpha"], "countType": "imageCountMoreThan", "countNumber": 1}"#,
        ),
        rule(2, r#"{"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "day", "countNumber": 1}"#),
        rule(3, r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#),
    ]);
    let imgs = images(&[
        ("A", &["alpha-1", "beta-1"], 4, 0),
        ("B", &[], 3, 0),
        ("C", &["alpha-2"], 2, 0),
        ("D", &["git hash"], 1, 0),
        ("E", &[], 1, 60),
    ]);
    assert_eq!(expired(&p, &imgs), [("A".to_owned(), 1), ("B".to_owned(), 2), ("D".to_owned(), 3)]);
}

/// Validation as ECR does it, with the rule and field named.
#[test]
fn invalid_policies_are_refused_with_ecr_wording() {
    let cases: &[(String, &str)] = &[
        (policy(&[rule(1, r#"{"tagStatus": "tagged", "countType": "imageCountMoreThan", "countNumber": 1}"#)]), "rule with rulePriority 1: a rule with tagStatus `tagged` must specify `tagPrefixList`"),
        (policy(&[rule(1, r#"{"tagStatus": "untagged", "tagPrefixList": ["x"], "countType": "imageCountMoreThan", "countNumber": 1}"#)]), "must not specify `tagPrefixList`"),
        (policy(&[rule(1, r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 0}"#)]), "countNumber must be a positive integer"),
        (policy(&[rule(1, r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": "days", "countNumber": 3}"#)]), "`countUnit` is only used with countType `sinceImagePushed`"),
        (policy(&[rule(1, r#"{"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 3}"#)]), "requires `countUnit`"),
        (policy(&[rule(1, r#"{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}"#), rule(2, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}"#)]), "a rule with tagStatus `any` must have the highest rulePriority"),
        (policy(&[rule(1, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}"#), rule(2, r#"{"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 2}"#)]), "only one rule may select untagged images"),
        (policy(&[rule(1, r#"{"tagStatus": "tagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1}"#), rule(1, r#"{"tagStatus": "tagged", "tagPrefixList": ["b"], "countType": "imageCountMoreThan", "countNumber": 1}"#)]), "rulePriority must be unique"),
        (policy(&[rule(1, r#"{"tagStatus": "tagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1}"#), rule(2, r#"{"tagStatus": "tagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 5}"#)]), "unique sets of tag prefixes"),
        (policy(&[rule(1, r#"{"tagStatus": "tagged", "tagPrefixList": ["a"], "countType": "imageCountMoreThan", "countNumber": 1}"#).replace("expire", "archive")]), "action type `archive` is not supported"),
        (r#"{"rules": []}"#.to_owned(), "at least one rule"),
        (r#"{"rules": [{"rulePriority": 1}], "extra": 1}"#.to_owned(), "unknown field `extra`"),
        ("not json".to_owned(), "invalid policy JSON"),
    ];
    for (text, expected) in cases {
        let err = LifecyclePolicy::parse(text).unwrap_err();
        assert!(err.to_string().contains(expected), "{text}\n→ {err}");
        assert_eq!(err.aws_exception(), "InvalidParameterException");
        assert!(err.aws_message().starts_with("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "));
    }
    let many: Vec<String> = (1..=51).map(|i| rule(i, &format!(r#"{{"tagStatus": "tagged", "tagPrefixList": ["p{i}"], "countType": "imageCountMoreThan", "countNumber": 1}}"#))).collect();
    assert!(LifecyclePolicy::parse(&policy(&many)).unwrap_err().to_string().contains("at most 50 rules"));
    assert!(LifecyclePolicy::parse(&policy(&many[..50])).is_ok());
}
