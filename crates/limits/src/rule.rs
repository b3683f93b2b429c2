//! Compiled rate-limit rules, shared by the local and the Redis limiter: which buckets a
//! subject draws on, in which order, under which key.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::ops::ControlFlow;
use std::time::Duration;

use sallyport_pipeline::glob::glob_match;

use crate::config::{ConfigError, RateLimitConfig, ToolLimitKey, WindowLimitConfig};
use crate::decision::LimitScope;
use crate::subject::{Subject, SubjectKind};

/// One GCRA bucket definition: `burst` calls at once, then one every `emission_interval`.
#[derive(Debug, Clone)]
pub(crate) struct RateRule {
    /// Stable name, e.g. `per_tool:execute_command:per_minute`.
    pub(crate) name: String,
    pub(crate) scope: LimitScope,
    pub(crate) key: BucketKeyKind,
    pub(crate) emission_interval: Duration,
    pub(crate) burst: NonZeroU32,
}

/// What a bucket is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BucketKeyKind {
    Global,
    Principal,
    Tool,
    PrincipalAndTool,
}

impl BucketKeyKind {
    /// The bucket key for `subject` (unambiguous: lengths prefix variable parts).
    pub(crate) fn key_for(self, subject: &Subject<'_>) -> String {
        let tool = subject.tool.unwrap_or_default();
        match self {
            Self::Global => String::new(),
            Self::Principal => subject.principal_id.to_owned(),
            Self::Tool => tool.to_owned(),
            Self::PrincipalAndTool => {
                format!(
                    "{}:{}{}",
                    subject.principal_id.len(),
                    subject.principal_id,
                    tool
                )
            }
        }
    }
}

/// The bucket keys of one subject, each built at most once per check.
pub(crate) struct SubjectKeys<'s, 'a> {
    subject: &'s Subject<'a>,
    built: [Option<String>; 4],
}

impl<'s, 'a> SubjectKeys<'s, 'a> {
    pub(crate) fn new(subject: &'s Subject<'a>) -> Self {
        Self {
            subject,
            built: Default::default(),
        }
    }

    /// The key of `kind` for this subject.
    pub(crate) fn get(&mut self, kind: BucketKeyKind) -> &String {
        let slot = match kind {
            BucketKeyKind::Global => 0,
            BucketKeyKind::Principal => 1,
            BucketKeyKind::Tool => 2,
            BucketKeyKind::PrincipalAndTool => 3,
        };
        let subject = self.subject;
        self.built[slot].get_or_insert_with(|| kind.key_for(subject))
    }
}

#[derive(Debug, Clone)]
struct ToolRules {
    pattern: String,
    key: ToolLimitKey,
    rules: Vec<usize>,
}

/// The daily quota of each tenant.
#[derive(Debug, Clone)]
pub(crate) struct QuotaRule {
    default_daily: Option<u64>,
    tenants: HashMap<String, u64>,
}

impl QuotaRule {
    /// The daily quota of `tenant`, if it has one.
    pub(crate) fn daily_limit(&self, tenant: &str) -> Option<u64> {
        self.tenants.get(tenant).copied().or(self.default_daily)
    }
}

/// Every rate rule of a config, indexed so that limiters can keep one bucket store per rule.
#[derive(Debug, Clone)]
pub(crate) struct RateRules {
    pub(crate) rules: Vec<RateRule>,
    user: Vec<usize>,
    service: Vec<usize>,
    tools: Vec<ToolRules>,
    global: Vec<usize>,
    pub(crate) quota: Option<QuotaRule>,
}

impl RateRules {
    /// Compile `config`, collecting every error.
    pub(crate) fn compile(config: &RateLimitConfig) -> Result<Self, Vec<ConfigError>> {
        let mut builder = RulesBuilder::default();
        let principal = config.per_principal.as_ref();
        let user = builder.add(
            principal,
            "per_principal",
            "per_principal",
            LimitScope::Principal,
            BucketKeyKind::Principal,
        );
        let service = match &config.service_accounts {
            Some(limit) => builder.add(
                Some(limit),
                "service_accounts",
                "service_accounts",
                LimitScope::Principal,
                BucketKeyKind::Principal,
            ),
            None => user.clone(),
        };
        let mut tools = Vec::new();
        for (pattern, limit) in &config.per_tool {
            let key = match limit.key {
                ToolLimitKey::Tool => BucketKeyKind::Tool,
                ToolLimitKey::PrincipalAndTool => BucketKeyKind::PrincipalAndTool,
            };
            let name = format!("per_tool:{pattern}");
            let path = format!("per_tool.{pattern}");
            let rules = builder.add(Some(&limit.windows()), &name, &path, LimitScope::Tool, key);
            tools.push(ToolRules {
                pattern: pattern.clone(),
                key: limit.key,
                rules,
            });
        }
        let global = builder.add(
            config.global.as_ref(),
            "global",
            "global",
            LimitScope::Global,
            BucketKeyKind::Global,
        );
        let quota = config.quotas.as_ref().map(|quotas| QuotaRule {
            default_daily: quotas.per_tenant_daily,
            tenants: quotas.tenants.clone().into_iter().collect(),
        });
        if !builder.errors.is_empty() {
            return Err(builder.errors);
        }
        Ok(Self {
            rules: builder.rules,
            user,
            service,
            tools,
            global,
            quota,
        })
    }

    /// Call `visit` with each rule that applies to `subject`, narrowest first: the caller's
    /// own budgets (principal, then per-principal tool budgets), then shared tool budgets,
    /// then the global budget. Stops when `visit` breaks.
    pub(crate) fn for_each_matching<B>(
        &self,
        subject: &Subject<'_>,
        mut visit: impl FnMut(usize, &RateRule) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        let own = match subject.kind {
            SubjectKind::User => &self.user,
            SubjectKind::Service => &self.service,
        };
        for &index in own {
            visit(index, &self.rules[index])?;
        }
        for wanted in [ToolLimitKey::PrincipalAndTool, ToolLimitKey::Tool] {
            for tool in self.matching_tools(subject, wanted) {
                for &index in &tool.rules {
                    visit(index, &self.rules[index])?;
                }
            }
        }
        for &index in &self.global {
            visit(index, &self.rules[index])?;
        }
        ControlFlow::Continue(())
    }

    fn matching_tools<'s>(
        &'s self,
        subject: &Subject<'_>,
        wanted: ToolLimitKey,
    ) -> impl Iterator<Item = &'s ToolRules> {
        let name = subject.tool;
        self.tools.iter().filter(move |tool| {
            tool.key == wanted && name.is_some_and(|name| glob_match(&tool.pattern, name))
        })
    }
}

/// Accumulates rules and errors while compiling.
#[derive(Default)]
struct RulesBuilder {
    rules: Vec<RateRule>,
    errors: Vec<ConfigError>,
}

impl RulesBuilder {
    /// Add the windows of `limit` (configured at `path`) as rules named `{name}:per_minute`
    /// and `{name}:per_hour`; returns their indices (shortest window first).
    fn add(
        &mut self,
        limit: Option<&WindowLimitConfig>,
        name: &str,
        path: &str,
        scope: LimitScope,
        key: BucketKeyKind,
    ) -> Vec<usize> {
        let Some(limit) = limit else {
            return Vec::new();
        };
        let windows = [
            (
                "per_minute",
                limit.requests_per_minute,
                Duration::from_secs(60),
            ),
            (
                "per_hour",
                limit.requests_per_hour,
                Duration::from_secs(3600),
            ),
        ];
        if windows.iter().all(|(_, count, _)| count.is_none()) {
            self.errors.push(ConfigError::new(
                path,
                "set requests_per_minute or requests_per_hour",
            ));
        }
        let mut burst = limit.burst_size;
        if burst == Some(0) {
            self.errors.push(ConfigError::new(
                format!("{path}.burst_size"),
                "must be at least 1",
            ));
        }
        let mut indices = Vec::new();
        for (window, count, length) in windows {
            let Some(count) = count else { continue };
            let Some(count) = NonZeroU32::new(count) else {
                self.errors.push(ConfigError::new(
                    format!("{path}.requests_{window}"),
                    "must be at least 1 (remove the window to leave it unlimited)",
                ));
                continue;
            };
            // The burst applies to the shortest window; longer windows allow their count.
            let rule_burst = burst.take().and_then(NonZeroU32::new).unwrap_or(count);
            indices.push(self.rules.len());
            self.rules.push(RateRule {
                name: format!("{name}:{window}"),
                scope,
                key,
                emission_interval: length / count.get(),
                burst: rule_burst,
            });
        }
        indices
    }
}
