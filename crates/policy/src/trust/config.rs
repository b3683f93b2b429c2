//! Trust configuration: weights, thresholds and the value of each factor's outcomes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;

/// Trust scoring. Every number is a score in 0–1 unless its doc says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrustConfig {
    /// How much each factor counts (normalised by their sum). Seed 000: 0.3/0.2/0.2/0.3.
    pub weights: TrustWeights,
    /// Calls scoring below this are denied. Seed 000 uses 0.7. Default: none.
    pub deny_below: Option<f64>,
    /// Calls scoring below this need a step-up. Seed 000 uses 0.8. Default 0.5.
    pub step_up_below: Option<f64>,
    /// Reputation factor.
    pub reputation: ReputationConfig,
    /// Device factor.
    pub device: DeviceConfig,
    /// Location factor.
    pub location: LocationConfig,
    /// Behaviour factor.
    pub behaviour: BehaviourConfig,
    /// Most principals whose behaviour is remembered (least recently seen forgotten first).
    #[schemars(range(min = 1))]
    pub max_profiles: usize,
    /// Known devices, networks and countries per principal id.
    pub principals: BTreeMap<String, KnownConfig>,
}

impl Default for TrustConfig {
    fn default() -> Self {
        Self {
            weights: TrustWeights::default(),
            deny_below: None,
            step_up_below: Some(0.5),
            reputation: ReputationConfig::default(),
            device: DeviceConfig::default(),
            location: LocationConfig::default(),
            behaviour: BehaviourConfig::default(),
            max_profiles: 10_000,
            principals: BTreeMap::new(),
        }
    }
}

/// Factor weights (non-negative).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TrustWeights {
    /// Reputation weight.
    pub reputation: f64,
    /// Device weight.
    pub device: f64,
    /// Location weight.
    pub location: f64,
    /// Behaviour weight.
    pub behaviour: f64,
}

impl Default for TrustWeights {
    fn default() -> Self {
        Self {
            reputation: 0.3,
            device: 0.2,
            location: 0.2,
            behaviour: 0.3,
        }
    }
}

/// `base - min(violations × violation_penalty, max_penalty) + age bonus`, clamped to 0–1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReputationConfig {
    /// Starting reputation. Default 0.8 (seed 000 uses 0.5, which caps every score low).
    pub base: f64,
    /// Subtracted per recent violation. Default 0.1.
    pub violation_penalty: f64,
    /// Largest total penalty. Default 0.5.
    pub max_penalty: f64,
    /// Bonus for a fully aged account. Default 0.2.
    pub age_bonus: f64,
    /// Account age (days) that earns the full bonus, linearly. Default 365.
    pub full_age_days: f64,
}

impl Default for ReputationConfig {
    fn default() -> Self {
        Self {
            base: 0.8,
            violation_penalty: 0.1,
            max_penalty: 0.5,
            age_bonus: 0.2,
            full_age_days: 365.0,
        }
    }
}

/// Device outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// Device listed for the principal. Default 1.0.
    pub known: f64,
    /// Device seen before in the principal's profile. Default 0.7.
    pub seen: f64,
    /// First device ever seen for the principal. Default 0.5.
    pub first: f64,
    /// A device never seen while others have been. Default 0.2.
    pub new: f64,
    /// No device id at all. Default 0.3.
    pub missing: f64,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            known: 1.0,
            seen: 0.7,
            first: 0.5,
            new: 0.2,
            missing: 0.3,
        }
    }
}

/// Location outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LocationConfig {
    /// Source address in a network listed for the principal. Default 1.0.
    pub known_network: f64,
    /// Source /24 (IPv6 /64) seen before. Default 0.8.
    pub seen_network: f64,
    /// Country listed or seen before. Default 0.7.
    pub known_country: f64,
    /// First location ever seen for the principal. Default 0.5.
    pub first: f64,
    /// A network never seen, country unknown. Default 0.4.
    pub new_network: f64,
    /// A country never seen while others have been. Default 0.1.
    pub new_country: f64,
    /// No address and no country. Default 0.4.
    pub unknown: f64,
}

impl Default for LocationConfig {
    fn default() -> Self {
        Self {
            known_network: 1.0,
            seen_network: 0.8,
            known_country: 0.7,
            first: 0.5,
            new_network: 0.4,
            new_country: 0.1,
            unknown: 0.4,
        }
    }
}

/// Behaviour: request rate and tool mix against the principal's own decayed baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Half-life of the short-term rate, seconds. Default 60.
    pub short_half_life_secs: f64,
    /// Half-life of the baseline rate and tool mix, seconds. Default 86400.
    pub baseline_half_life_secs: f64,
    /// History needed before behaviour is judged, seconds. Default 3600.
    pub min_history_secs: f64,
    /// Requests needed before behaviour is judged. Default 20.
    pub min_requests: u64,
    /// Score while learning. Default 0.6.
    pub neutral: f64,
    /// Short/baseline rate ratio still fully normal. Default 3.
    pub rate_tolerance: f64,
    /// Ratio at which the rate score reaches 0. Default 12.
    pub rate_zero_at: f64,
    /// Baseline floor, requests per minute (a quiet principal may still make a few calls).
    /// Default 1.
    pub min_baseline_per_minute: f64,
    /// Tool-mix score of a tool never used before. Default 0.3.
    pub new_tool: f64,
    /// Share of recent calls at which a tool counts as fully familiar. Default 0.02.
    pub familiar_share: f64,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        Self {
            short_half_life_secs: 60.0,
            baseline_half_life_secs: 86_400.0,
            min_history_secs: 3_600.0,
            min_requests: 20,
            neutral: 0.6,
            rate_tolerance: 3.0,
            rate_zero_at: 12.0,
            min_baseline_per_minute: 1.0,
            new_tool: 0.3,
            familiar_share: 0.02,
        }
    }
}

/// What is known in advance about one principal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KnownConfig {
    /// Device ids.
    pub devices: Vec<String>,
    /// Networks, as CIDR blocks or addresses.
    pub networks: Vec<String>,
    /// ISO country codes.
    pub countries: Vec<String>,
}

impl TrustConfig {
    /// Range checks; errors carry field paths.
    pub(crate) fn check(&self, origin: &str) -> Vec<PolicyError> {
        let mut errors = Vec::new();
        let mut unit = |path: &str, v: f64| {
            if !(0.0..=1.0).contains(&v) {
                errors.push(
                    PolicyError::new(origin, format!("{v} is outside 0–1"))
                        .at_path(format!("trust.{path}")),
                );
            }
        };
        let w = &self.weights;
        for (name, v) in [
            ("weights.reputation", w.reputation),
            ("weights.device", w.device),
            ("weights.location", w.location),
            ("weights.behaviour", w.behaviour),
            ("deny_below", self.deny_below.unwrap_or(0.0)),
            ("step_up_below", self.step_up_below.unwrap_or(0.0)),
            ("behaviour.neutral", self.behaviour.neutral),
            ("behaviour.new_tool", self.behaviour.new_tool),
        ] {
            unit(name, v);
        }
        let b = &self.behaviour;
        if b.short_half_life_secs <= 0.0
            || b.baseline_half_life_secs <= b.short_half_life_secs
            || b.rate_zero_at <= b.rate_tolerance
        {
            errors.push(
                PolicyError::new(
                    origin,
                    "need 0 < short_half_life_secs < baseline_half_life_secs and \
                     rate_tolerance < rate_zero_at",
                )
                .at_path("trust.behaviour"),
            );
        }
        if self.max_profiles == 0 {
            errors
                .push(PolicyError::new(origin, "must be at least 1").at_path("trust.max_profiles"));
        }
        errors
    }
}
