//! Lifecycle policy text → validated rules, as ECR's PutLifecyclePolicy validates it.
//!
//! Rules (ECR User Guide, "Lifecycle Policy Parameters"): `rulePriority` a unique positive
//! integer; `selection.tagStatus` `tagged` | `untagged` | `any`; a tagged rule names
//! `tagPrefixList` (or `tagPatternList`), an untagged or any rule names neither; `countType`
//! `imageCountMoreThan` | `sinceImagePushed`; `countUnit` (`days`) only with `sinceImagePushed`,
//! where it is required; `countNumber` a positive integer; `action.type` `expire`; the `any` rule
//! has the highest priority; at most one rule selects untagged images; tag prefix sets are unique;
//! at most 50 rules; at most 30,720 characters.

use std::collections::BTreeSet;

use serde::Deserialize;
use warden_policy::wildcard::{Case, Pattern};

/// Most rules in one policy.
pub const MAX_RULES: usize = 50;
/// Longest policy text, in characters.
pub const MAX_POLICY_CHARS: usize = 30_720;

/// Why a lifecycle policy was refused; [`LifecycleError::aws_message`] gives ECR's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", rule.map(|p| format!("rule with rulePriority {p}: ")).unwrap_or_default())]
pub struct LifecycleError {
    /// The rule's priority, when the problem is in one rule.
    pub rule: Option<i64>,
    /// The field (`selection.countNumber`), when one field is wrong.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl LifecycleError {
    fn new(rule: Option<i64>, field: Option<&str>, message: impl Into<String>) -> Self {
        LifecycleError { rule, field: field.map(str::to_owned), message: message.into() }
    }

    /// The exception ECR answers with.
    pub fn aws_exception(&self) -> &'static str {
        "InvalidParameterException"
    }

    /// ECR's message: `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint:
    /// 'Lifecycle policy validation failure: …'`.
    pub fn aws_message(&self) -> String {
        format!("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: {self}'")
    }
}

/// Which images a rule selects by tag.
#[derive(Debug, Clone, PartialEq)]
pub enum TagSelection {
    /// Images with at least one tag, every listed prefix matching one of them.
    Prefixes(Vec<String>),
    /// Images with at least one tag, every listed pattern (`*` wildcards) matching one of them.
    Patterns(Vec<(String, Pattern)>),
    /// Images without tags.
    Untagged,
    /// Every image.
    Any,
}

/// How a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Keep the `n` most recently pushed selected images; expire the rest.
    MoreThan(u64),
    /// Expire selected images pushed more than `days` days ago.
    SincePushedDays(u64),
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// `rulePriority`: lower is evaluated first.
    pub priority: i64,
    /// `description`.
    pub description: Option<String>,
    /// The tag selection.
    pub selection: TagSelection,
    /// The count.
    pub count: Count,
}

/// A validated lifecycle policy: rules sorted by priority.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecyclePolicy {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    rules: Vec<RuleDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleDoc {
    rule_priority: Option<serde_json::Value>,
    description: Option<String>,
    selection: Option<SelectionDoc>,
    action: Option<ActionDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SelectionDoc {
    tag_status: Option<String>,
    tag_prefix_list: Option<Vec<String>>,
    tag_pattern_list: Option<Vec<String>>,
    count_type: Option<String>,
    count_unit: Option<String>,
    count_number: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionDoc {
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn positive(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().filter(|n| *n >= 1)
}

impl LifecyclePolicy {
    /// Parses and validates policy text.
    pub fn parse(text: &str) -> Result<LifecyclePolicy, LifecycleError> {
        let chars = text.chars().count();
        if chars > MAX_POLICY_CHARS {
            return Err(LifecycleError::new(
                None,
                None,
                format!("the policy has {chars} characters, more than {MAX_POLICY_CHARS}"),
            ));
        }
        let doc: Doc = serde_json::from_str(text)
            .map_err(|e| LifecycleError::new(None, None, format!("invalid policy JSON: {e}")))?;
        if doc.rules.is_empty() {
            return Err(LifecycleError::new(None, Some("rules"), "`rules` must hold at least one rule"));
        }
        if doc.rules.len() > MAX_RULES {
            return Err(LifecycleError::new(
                None,
                Some("rules"),
                format!("at most {MAX_RULES} rules, not {}", doc.rules.len()),
            ));
        }
        let mut rules = Vec::with_capacity(doc.rules.len());
        for (i, r) in doc.rules.into_iter().enumerate() {
            rules.push(rule(i, r)?);
        }
        let mut priorities = BTreeSet::new();
        for r in &rules {
            if !priorities.insert(r.priority) {
                return Err(LifecycleError::new(Some(r.priority), Some("rulePriority"), "rulePriority must be unique"));
            }
        }
        rules.sort_by_key(|r| r.priority);
        let highest = rules.last().map(|r| r.priority);
        for r in &rules {
            if r.selection == TagSelection::Any && Some(r.priority) != highest {
                return Err(LifecycleError::new(
                    Some(r.priority),
                    Some("selection.tagStatus"),
                    "a rule with tagStatus `any` must have the highest rulePriority",
                ));
            }
        }
        if rules.iter().filter(|r| r.selection == TagSelection::Untagged).count() > 1 {
            return Err(LifecycleError::new(
                None,
                Some("selection.tagStatus"),
                "only one rule may select untagged images",
            ));
        }
        let mut seen: Vec<Vec<String>> = Vec::new();
        for r in &rules {
            let key = match &r.selection {
                TagSelection::Prefixes(p) => p.clone(),
                TagSelection::Patterns(p) => p.iter().map(|(t, _)| format!("pattern:{t}")).collect(),
                _ => continue,
            };
            let mut key = key;
            key.sort();
            if seen.contains(&key) {
                return Err(LifecycleError::new(
                    Some(r.priority),
                    Some("selection.tagPrefixList"),
                    "the rules must have unique sets of tag prefixes",
                ));
            }
            seen.push(key);
        }
        Ok(LifecyclePolicy { rules })
    }

    /// The rules, by ascending priority.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

fn rule(index: usize, r: RuleDoc) -> Result<Rule, LifecycleError> {
    let priority = r
        .rule_priority
        .as_ref()
        .ok_or_else(|| LifecycleError::new(None, Some("rulePriority"), format!("rule {index} has no rulePriority")))
        .and_then(|v| {
            positive(v).ok_or_else(|| {
                LifecycleError::new(
                    None,
                    Some("rulePriority"),
                    format!("rule {index}: rulePriority must be a positive integer, not {v}"),
                )
            })
        })?;
    let p = Some(priority);
    let err = |field: &str, message: String| LifecycleError::new(p, Some(field), message);
    let sel = r.selection.ok_or_else(|| err("selection", "`selection` is required".into()))?;
    let action = r.action.ok_or_else(|| err("action", "`action` is required".into()))?;
    match action.kind.as_deref() {
        Some("expire") => {}
        Some(other) => return Err(err("action.type", format!("action type `{other}` is not supported: use `expire`"))),
        None => return Err(err("action.type", "`action.type` is required".into())),
    }
    let status =
        sel.tag_status.as_deref().ok_or_else(|| err("selection.tagStatus", "`tagStatus` is required".into()))?;
    let selection = match status {
        "tagged" => match (sel.tag_prefix_list, sel.tag_pattern_list) {
            (Some(prefixes), None) => {
                if prefixes.is_empty() || prefixes.iter().any(String::is_empty) {
                    return Err(err("selection.tagPrefixList", "`tagPrefixList` must hold non-empty prefixes".into()));
                }
                TagSelection::Prefixes(prefixes)
            }
            (None, Some(patterns)) => {
                if patterns.is_empty() || patterns.iter().any(|t| t.is_empty() || t.matches('*').count() > 4) {
                    return Err(err(
                        "selection.tagPatternList",
                        "`tagPatternList` must hold non-empty patterns with at most 4 wildcards".into(),
                    ));
                }
                TagSelection::Patterns(
                    patterns
                        .into_iter()
                        .map(|t| {
                            let pattern = Pattern::new(&t, Case::Sensitive, true, false);
                            (t, pattern)
                        })
                        .collect(),
                )
            }
            (Some(_), Some(_)) => {
                return Err(err("selection", "give `tagPrefixList` or `tagPatternList`, not both".into()))
            }
            (None, None) => {
                return Err(err(
                    "selection.tagPrefixList",
                    "a rule with tagStatus `tagged` must specify `tagPrefixList`".into(),
                ))
            }
        },
        "untagged" | "any" => {
            if sel.tag_prefix_list.is_some() || sel.tag_pattern_list.is_some() {
                return Err(err(
                    "selection.tagPrefixList",
                    format!("a rule with tagStatus `{status}` must not specify `tagPrefixList`"),
                ));
            }
            if status == "untagged" {
                TagSelection::Untagged
            } else {
                TagSelection::Any
            }
        }
        other => {
            return Err(err(
                "selection.tagStatus",
                format!("tagStatus `{other}` is not one of `tagged`, `untagged`, `any`"),
            ))
        }
    };
    let number = sel
        .count_number
        .as_ref()
        .ok_or_else(|| err("selection.countNumber", "`countNumber` is required".into()))
        .and_then(|v| {
            positive(v)
                .ok_or_else(|| err("selection.countNumber", format!("countNumber must be a positive integer, not {v}")))
        })?;
    let number = u64::try_from(number).unwrap_or(u64::MAX);
    let count = match sel.count_type.as_deref() {
        Some("imageCountMoreThan") => {
            if sel.count_unit.is_some() {
                return Err(err(
                    "selection.countUnit",
                    "`countUnit` is only used with countType `sinceImagePushed`".into(),
                ));
            }
            Count::MoreThan(number)
        }
        Some("sinceImagePushed") => match sel.count_unit.as_deref() {
            // The user guide's own example writes `"day"`; ECR's API documents `days`.
            Some("days" | "day") => Count::SincePushedDays(number),
            Some(other) => {
                return Err(err("selection.countUnit", format!("countUnit `{other}` is not supported: use `days`")))
            }
            None => return Err(err("selection.countUnit", "countType `sinceImagePushed` requires `countUnit`".into())),
        },
        Some(other) => {
            return Err(err(
                "selection.countType",
                format!("countType `{other}` is not one of `imageCountMoreThan`, `sinceImagePushed`"),
            ))
        }
        None => return Err(err("selection.countType", "`countType` is required".into())),
    };
    Ok(Rule { priority, description: r.description, selection, count })
}
