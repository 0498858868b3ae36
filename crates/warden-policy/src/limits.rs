//! Size and depth limits of the engine, one named constant each. Hitting a limit is a typed error,
//! never a hang, an overflow or a panic.

/// Deepest JSON nesting a policy document may have. A valid policy needs five levels
/// (document → Statement → statement → Condition → operator → key → values); 64 leaves room for
/// any real document while keeping the reader's recursion shallow.
pub const MAX_JSON_DEPTH: usize = 64;

/// Largest policy text the engine reads, in characters: the IAM API's transport limit for a
/// policy string in SimulateCustomPolicy (`PolicyInputList` members, 131,072 characters).
///
/// A pattern inside a policy (a `Resource` entry, an action, a condition value) has no limit of
/// its own in AWS: the policy's size quota bounds it (IAM User Guide, "IAM and AWS STS quotas":
/// 6,144 characters for a managed policy, 10,240 for a role's inline policies; 10,240 for an ECR
/// repository policy). Matching costs no more than the pattern and the text together (see
/// [`crate::compile::wildcard`]), so nothing here needs a tighter bound.
pub const MAX_POLICY_CHARS: usize = 131_072;

/// Largest ECR repository policy, in characters (ECR API `SetRepositoryPolicy.policyText`;
/// whitespace counts).
pub const MAX_REPOSITORY_POLICY_CHARS: usize = 10_240;

/// Most statements one policy may hold. No AWS quota names a statement count (the character
/// quotas bind first); this bound keeps compiled sets and traces proportionate.
pub const MAX_STATEMENTS: usize = 4_096;

/// Longest action name in a request (`ActionNames` members are at most 128 characters).
pub const MAX_ACTION_CHARS: usize = 128;

/// Longest resource ARN in a simulation request, in characters: the IAM API's `ResourceNameType`
/// (1 to 2,048 characters), the type of SimulateCustomPolicy's and SimulatePrincipalPolicy's
/// `ResourceArns` members, `ResourceOwner` and `CallerArn`.
pub const MAX_RESOURCE_ARN_CHARS: usize = 2_048;
