//! all-MiniLM-L6-v2 on CPU with candle: tokenise, run BERT over token windows, mean-pool over
//! the attention mask and L2-normalise, as sentence-transformers does for this model.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use super::window::{WINDOW_TOKENS, windows};
use crate::tier3::Tier3Error;

/// The files tier 3 reads from the model directory.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// The sentence encoder.
pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}

/// Every model file exists in `dir` (the first missing one is named).
pub fn check_files(dir: &Path) -> Result<(), Tier3Error> {
    for name in MODEL_FILES {
        model_file(dir, name)?;
    }
    Ok(())
}

fn model_file(dir: &Path, name: &str) -> Result<PathBuf, Tier3Error> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Tier3Error::MissingFile { path })
    }
}

fn bad(path: &Path, e: impl std::fmt::Display) -> Tier3Error {
    Tier3Error::BadFile {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn inference(e: candle_core::Error) -> Tier3Error {
    Tier3Error::Inference(e.to_string())
}

impl Encoder {
    /// Loads the tokenizer and weights from `dir` (CPU, f32).
    pub fn load(dir: &Path) -> Result<Self, Tier3Error> {
        check_files(dir)?;
        let config_path = model_file(dir, "config.json")?;
        let config_bytes = std::fs::read(&config_path).map_err(|e| bad(&config_path, e))?;
        let config: Config =
            serde_json::from_slice(&config_bytes).map_err(|e| bad(&config_path, e))?;
        let tok_path = model_file(dir, "tokenizer.json")?;
        let mut tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| bad(&tok_path, e))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| bad(&tok_path, e))?;
        tokenizer.with_padding(None);
        let special = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| bad(&tok_path, format!("no {t} token")))
        };
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        let weights_path = model_file(dir, "model.safetensors")?;
        let weights = std::fs::read(&weights_path).map_err(|e| bad(&weights_path, e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| bad(&weights_path, e))?;
        let model = BertModel::load(vb, &config).map_err(|e| bad(&weights_path, e))?;
        Ok(Self {
            model,
            tokenizer,
            cls,
            sep,
        })
    }

    /// Content token ids of `text` (no special tokens).
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, Tier3Error> {
        let enc = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| Tier3Error::Inference(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// One unit-length embedding per window of `text` (see `window.rs` for the cap); none for
    /// a text without tokens.
    pub fn embed(&self, text: &str) -> Result<Vec<Vec<f32>>, Tier3Error> {
        let ids = self.token_ids(text)?;
        let seqs: Vec<Vec<u32>> = windows(ids.len())
            .into_iter()
            .map(|r| {
                let mut s = Vec::with_capacity(WINDOW_TOKENS);
                s.push(self.cls);
                s.extend_from_slice(&ids[r]);
                s.push(self.sep);
                s
            })
            .collect();
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        self.embed_sequences(&seqs).map_err(inference)
    }

    /// Runs BERT over a padded batch and mean-pools each sequence over its real tokens.
    fn embed_sequences(&self, seqs: &[Vec<u32>]) -> candle_core::Result<Vec<Vec<f32>>> {
        let len = seqs.iter().map(Vec::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(seqs.len() * len);
        let mut mask = Vec::with_capacity(seqs.len() * len);
        for s in seqs {
            ids.extend(
                s.iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, len - s.len())),
            );
            mask.extend((0..len).map(|i| u32::from(i < s.len())));
        }
        let dev = Device::Cpu;
        let ids = Tensor::from_vec(ids, (seqs.len(), len), &dev)?;
        let mask = Tensor::from_vec(mask, (seqs.len(), len), &dev)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let maskf = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&maskf)?.sum(1)?;
        let pooled = summed.broadcast_div(&maskf.sum(1)?)?;
        let norm = pooled
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12, f32::MAX)?;
        pooled.broadcast_div(&norm)?.to_vec2::<f32>()
    }
}
