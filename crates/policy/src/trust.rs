//! The trust score: seed 000's `TrustEvaluator`, made real. A 0–1 score per call from four
//! weighted factors (reputation, device, location, behaviour), each reported in the
//! decision record. Pure given its inputs, the profiles and the time passed in.

mod config;
mod net;
mod profile;

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

pub use config::{
    BehaviourConfig, DeviceConfig, KnownConfig, LocationConfig, ReputationConfig, TrustConfig,
    TrustWeights,
};
pub use net::Cidr;
pub use profile::TrustProfiles;

use crate::error::PolicyError;
use crate::subject::Subject;
use crate::time::Timestamp;
use profile::{HalfLives, Observation, Profile};

/// The score and every factor behind it, for the decision record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustBreakdown {
    /// The weighted score, 0–1.
    pub score: f64,
    /// Reputation factor, 0–1 (violations, account age).
    pub reputation: f64,
    /// Device factor, 0–1 (known, seen, new or missing device id).
    pub device: f64,
    /// Location factor, 0–1 (known network, seen country, new country).
    pub location: f64,
    /// Behaviour factor, 0–1 (request rate and tool mix against the baseline).
    pub behaviour: f64,
    /// Short-term request rate over the baseline rate, when a baseline exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_ratio: Option<f64>,
    /// This tool's share of the principal's recent calls, when a baseline exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_share: Option<f64>,
    /// Short notes on what lowered a factor (`new device`, `new country DE`, …).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Known {
    devices: Vec<String>,
    networks: Vec<Cidr>,
    countries: Vec<String>,
}

/// A compiled trust configuration.
#[derive(Debug, Clone)]
pub struct TrustModel {
    config: TrustConfig,
    known: HashMap<String, Known>,
}

impl TrustModel {
    /// Compiles `config` (CIDRs, weights).
    pub fn new(config: &TrustConfig, origin: &str) -> Result<Self, Vec<PolicyError>> {
        let mut errors = config.check(origin);
        let mut known = HashMap::new();
        for (id, k) in &config.principals {
            let mut networks = Vec::new();
            for (i, n) in k.networks.iter().enumerate() {
                match Cidr::parse(n) {
                    Some(c) => networks.push(c),
                    None => errors.push(
                        PolicyError::new(origin, format!("{n:?} is not an IP address or CIDR"))
                            .at_path(format!("trust.principals.{id}.networks[{i}]")),
                    ),
                }
            }
            let entry = Known {
                devices: k.devices.clone(),
                networks,
                countries: k.countries.iter().map(|c| c.to_ascii_uppercase()).collect(),
            };
            known.insert(id.clone(), entry);
        }
        if errors.is_empty() {
            Ok(Self {
                config: config.clone(),
                known,
            })
        } else {
            Err(errors)
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TrustConfig {
        &self.config
    }

    fn half_lives(&self) -> HalfLives {
        let b = &self.config.behaviour;
        HalfLives {
            short_ms: b.short_half_life_secs * 1000.0,
            baseline_ms: b.baseline_half_life_secs * 1000.0,
        }
    }

    /// Scores a call and records it in the principal's profile.
    pub fn evaluate(
        &self,
        profiles: &TrustProfiles,
        subject: &Subject,
        tool: &str,
        now: Timestamp,
    ) -> TrustBreakdown {
        let network = subject.attributes.source_ip.map(network_key);
        let country = subject
            .attributes
            .country
            .as_ref()
            .map(|c| c.to_ascii_uppercase());
        let obs = Observation {
            tool,
            device: subject.attributes.device_id.as_deref(),
            network: network.as_deref(),
            country: country.as_deref(),
        };
        profiles.observe(&subject.id, &obs, now, self.half_lives(), |p| {
            self.score(subject, &obs, p, now)
        })
    }

    /// Scores a call without recording it (explain, dry runs).
    pub fn peek(
        &self,
        profiles: &TrustProfiles,
        subject: &Subject,
        tool: &str,
        now: Timestamp,
    ) -> TrustBreakdown {
        let network = subject.attributes.source_ip.map(network_key);
        let country = subject
            .attributes
            .country
            .as_ref()
            .map(|c| c.to_ascii_uppercase());
        let obs = Observation {
            tool,
            device: subject.attributes.device_id.as_deref(),
            network: network.as_deref(),
            country: country.as_deref(),
        };
        profiles.peek(&subject.id, |p| self.score(subject, &obs, p, now))
    }

    fn score(
        &self,
        subject: &Subject,
        obs: &Observation<'_>,
        profile: Option<&Profile>,
        now: Timestamp,
    ) -> TrustBreakdown {
        let mut notes = Vec::new();
        let known = self.known.get(&subject.id);
        let reputation = self.reputation(subject, now, &mut notes);
        let device = self.device(subject, obs, known, profile, &mut notes);
        let location = self.location(subject, obs, known, profile, &mut notes);
        let (behaviour, rate_ratio, tool_share) = self.behaviour(obs, profile, now, &mut notes);
        let w = &self.config.weights;
        let total = w.reputation + w.device + w.location + w.behaviour;
        let weighted = w.reputation * reputation
            + w.device * device
            + w.location * location
            + w.behaviour * behaviour;
        let score = if total > 0.0 { weighted / total } else { 0.0 };
        TrustBreakdown {
            score: round4(score.clamp(0.0, 1.0)),
            reputation: round4(reputation),
            device: round4(device),
            location: round4(location),
            behaviour: round4(behaviour),
            rate_ratio: rate_ratio.map(round4),
            tool_share: tool_share.map(round4),
            notes,
        }
    }

    fn reputation(&self, subject: &Subject, now: Timestamp, notes: &mut Vec<String>) -> f64 {
        let r = &self.config.reputation;
        let violations = f64::from(subject.attributes.recent_violations);
        let penalty = (violations * r.violation_penalty).min(r.max_penalty);
        if violations > 0.0 {
            notes.push(format!("{violations} recent violation(s)"));
        }
        let bonus = subject.attributes.account_created.map_or(0.0, |created| {
            let days = (now.secs() - created).max(0) as f64 / 86_400.0;
            (days / r.full_age_days.max(1.0)).min(1.0) * r.age_bonus
        });
        (r.base - penalty + bonus).clamp(0.0, 1.0)
    }

    fn device(
        &self,
        subject: &Subject,
        obs: &Observation<'_>,
        known: Option<&Known>,
        profile: Option<&Profile>,
        notes: &mut Vec<String>,
    ) -> f64 {
        let d = &self.config.device;
        let Some(id) = obs.device else {
            notes.push("no device id".into());
            return d.missing;
        };
        let configured = known.is_some_and(|k| k.devices.iter().any(|x| x == id))
            || subject.attributes.known_devices.iter().any(|x| x == id);
        if configured {
            return d.known;
        }
        match profile {
            Some(p) if p.devices.iter().any(|x| x == id) => d.seen,
            Some(p) if !p.devices.is_empty() => {
                notes.push("new device".into());
                d.new
            }
            _ => d.first,
        }
    }

    fn location(
        &self,
        subject: &Subject,
        obs: &Observation<'_>,
        known: Option<&Known>,
        profile: Option<&Profile>,
        notes: &mut Vec<String>,
    ) -> f64 {
        let l = &self.config.location;
        if let Some(ip) = subject.attributes.source_ip
            && known.is_some_and(|k| k.networks.iter().any(|n| n.contains(ip)))
        {
            return l.known_network;
        }
        if let (Some(net), Some(p)) = (obs.network, profile)
            && p.networks.iter().any(|x| x == net)
        {
            return l.seen_network;
        }
        let Some(country) = obs.country else {
            return match (obs.network, profile) {
                (None, _) => l.unknown,
                (Some(_), Some(p)) if !p.networks.is_empty() => {
                    notes.push("new network".into());
                    l.new_network
                }
                (Some(_), _) => l.first,
            };
        };
        let configured = known.is_some_and(|k| k.countries.iter().any(|c| c == country));
        let seen = profile.is_some_and(|p| p.countries.iter().any(|c| c == country));
        let has_history = known.is_some_and(|k| !k.countries.is_empty())
            || profile.is_some_and(|p| !p.countries.is_empty());
        if configured || seen {
            l.known_country
        } else if has_history {
            notes.push(format!("new country {country}"));
            l.new_country
        } else {
            l.first
        }
    }

    fn behaviour(
        &self,
        obs: &Observation<'_>,
        profile: Option<&Profile>,
        now: Timestamp,
        notes: &mut Vec<String>,
    ) -> (f64, Option<f64>, Option<f64>) {
        let b = &self.config.behaviour;
        let hl = self.half_lives();
        let Some(p) = profile else {
            return (b.neutral, None, None);
        };
        let age_ms = (now.0 - p.first_seen).max(0) as f64;
        if p.requests < b.min_requests || age_ms < b.min_history_secs * 1000.0 {
            return (b.neutral, None, None);
        }
        let short = rate_per_sec(p.short.value_at(now, hl.short_ms), hl.short_ms, age_ms);
        let base = rate_per_sec(
            p.baseline.value_at(now, hl.baseline_ms),
            hl.baseline_ms,
            age_ms,
        )
        .max(b.min_baseline_per_minute / 60.0);
        let ratio = if base > 0.0 { short / base } else { 0.0 };
        let rate_score = if ratio <= b.rate_tolerance {
            1.0
        } else if ratio >= b.rate_zero_at {
            0.0
        } else {
            1.0 - (ratio - b.rate_tolerance) / (b.rate_zero_at - b.rate_tolerance)
        };
        if rate_score < 1.0 {
            notes.push(format!("request rate {ratio:.1}x baseline"));
        }
        let share = p.tool_share(obs.tool, now, hl);
        let familiarity = if b.familiar_share > 0.0 {
            (share / b.familiar_share).min(1.0)
        } else {
            1.0
        };
        if familiarity < 1.0 {
            notes.push("unusual tool".into());
        }
        let mix_score = b.new_tool + (1.0 - b.new_tool) * familiarity;
        ((rate_score + mix_score) / 2.0, Some(ratio), Some(share))
    }
}

/// Events per second from a decayed count, corrected for a history shorter than the
/// half-life (so a young profile's rate is not underestimated).
fn rate_per_sec(count: f64, half_life_ms: f64, age_ms: f64) -> f64 {
    if half_life_ms <= 0.0 {
        return 0.0;
    }
    let filled = 1.0 - (-age_ms / half_life_ms).exp2();
    if filled <= 0.0 {
        return 0.0;
    }
    count * std::f64::consts::LN_2 / (half_life_ms / 1000.0) / filled
}

/// The network a profile remembers an address by: its /24 (IPv4) or /64 (IPv6).
fn network_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
