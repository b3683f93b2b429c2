//! The MLP head over a 384-dimensional sentence embedding: `dim -> hidden` (ReLU) `-> 1`
//! (sigmoid). Plain `f32` arithmetic; the weights are small enough to check in.
//!
//! File format (little endian): `SPMH`, u32 version (1), u32 `dim`, u32 `hidden`, f32 threshold,
//! then `w1` (`hidden` rows of `dim`), `b1` (`hidden`), `w2` (`hidden`), f32 `b2`, and a
//! trailing SHA-256 of everything before it, so a truncated or corrupted file is rejected.

use sha2::{Digest, Sha256};

use crate::tier3::Tier3Error;

const MAGIC: &[u8; 4] = b"SPMH";
const VERSION: u32 = 1;
/// Embedding size of all-MiniLM-L6-v2.
pub const EMBEDDING_DIM: usize = 384;
const MAX_HIDDEN: usize = 1024;

static HEAD_BYTES: &[u8] = include_bytes!("../../data/minilm_head.bin");

/// A two-layer perceptron scoring one embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpHead {
    /// Input size.
    pub dim: usize,
    /// Hidden units.
    pub hidden: usize,
    /// The threshold picked on the tune split at training time.
    pub threshold: f32,
    /// First layer, row-major `hidden x dim`.
    pub w1: Vec<f32>,
    /// First-layer bias.
    pub b1: Vec<f32>,
    /// Output weights.
    pub w2: Vec<f32>,
    /// Output bias.
    pub b2: f32,
}

impl MlpHead {
    /// An all-zero head of the given shape (scores 0.5 everywhere).
    pub fn zeros(dim: usize, hidden: usize) -> Self {
        Self {
            dim,
            hidden,
            threshold: 0.5,
            w1: vec![0.0; dim * hidden],
            b1: vec![0.0; hidden],
            w2: vec![0.0; hidden],
            b2: 0.0,
        }
    }

    /// The checked-in head (`data/minilm_head.bin`).
    pub fn checked_in() -> Result<Self, Tier3Error> {
        let head = Self::from_bytes(HEAD_BYTES)?;
        if head.dim != EMBEDDING_DIM {
            return Err(Tier3Error::BadHead("input size is not 384"));
        }
        Ok(head)
    }

    /// Parses the file format.
    pub fn from_bytes(b: &[u8]) -> Result<Self, Tier3Error> {
        let bad = Tier3Error::BadHead;
        let (body, digest) = b
            .split_at_checked(b.len().saturating_sub(32))
            .ok_or(bad("too short"))?;
        if body.len() < 20 || body.get(..4) != Some(MAGIC.as_slice()) {
            return Err(bad("not a head file (magic)"));
        }
        if Sha256::digest(body).as_slice() != digest {
            return Err(bad("checksum mismatch (corrupted or truncated)"));
        }
        let mut words = body[4..].chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]);
        let mut u32_at = || words.next().map(u32::from_le_bytes).ok_or(bad("truncated"));
        if u32_at()? != VERSION {
            return Err(bad("unsupported version"));
        }
        let (dim, hidden) = (u32_at()? as usize, u32_at()? as usize);
        if dim == 0 || dim > 4096 || hidden == 0 || hidden > MAX_HIDDEN {
            return Err(bad("implausible shape"));
        }
        let floats: Vec<f32> = body[16..].chunks_exact(4).map(f32_le).collect();
        if floats.len() != 1 + dim * hidden + 2 * hidden + 1 || body.len() % 4 != 0 {
            return Err(bad("size does not match its shape"));
        }
        if floats.iter().any(|f| !f.is_finite()) {
            return Err(bad("non-finite weight"));
        }
        let (w1, rest) = floats[1..].split_at(dim * hidden);
        let (b1, rest) = rest.split_at(hidden);
        let (w2, rest) = rest.split_at(hidden);
        Ok(Self {
            dim,
            hidden,
            threshold: floats[0],
            w1: w1.to_vec(),
            b1: b1.to_vec(),
            w2: w2.to_vec(),
            b2: rest[0],
        })
    }

    /// Serialises to the file format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(52 + 4 * (self.w1.len() + 2 * self.hidden));
        out.extend_from_slice(MAGIC);
        for word in [VERSION, self.dim as u32, self.hidden as u32] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        let floats = std::iter::once(&self.threshold)
            .chain(&self.w1)
            .chain(&self.b1)
            .chain(&self.w2)
            .chain(std::iter::once(&self.b2));
        for f in floats {
            out.extend_from_slice(&f.to_le_bytes());
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Hidden activations (after ReLU) for one embedding.
    pub fn hidden_layer(&self, x: &[f32]) -> Vec<f32> {
        self.w1
            .chunks_exact(self.dim)
            .zip(&self.b1)
            .map(|(row, b)| (b + dot(row, x)).max(0.0))
            .collect()
    }

    /// Logit for one embedding.
    pub fn logit(&self, x: &[f32]) -> f32 {
        self.b2 + dot(&self.w2, &self.hidden_layer(x))
    }

    /// Probability in `[0, 1]` that one embedding is an injection.
    pub fn predict(&self, x: &[f32]) -> f32 {
        crate::classifier::sigmoid(self.logit(x))
    }
}

fn f32_le(c: &[u8]) -> f32 {
    f32::from_le_bytes([c[0], c[1], c[2], c[3]])
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MlpHead {
        let mut h = MlpHead::zeros(4, 2);
        h.threshold = 0.7;
        h.w1 = vec![1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0];
        h.b1 = vec![0.0, 0.5];
        h.w2 = vec![2.0, -1.0];
        h.b2 = -0.25;
        h
    }

    #[test]
    fn head_file_round_trips_and_computes() {
        let h = sample();
        let back = MlpHead::from_bytes(&h.to_bytes()).unwrap();
        assert_eq!(back, h);
        // relu(1) * 2 + relu(0.5 - 0) * -1 - 0.25 = 1.25
        assert!((h.logit(&[1.0, 0.0, 0.0, 0.0]) - 1.25).abs() < 1e-6);
    }

    #[test]
    fn corrupted_or_truncated_head_is_rejected() {
        let good = sample().to_bytes();
        let mut flipped = good.clone();
        flipped[30] ^= 0x40;
        assert!(matches!(
            MlpHead::from_bytes(&flipped),
            Err(Tier3Error::BadHead(m)) if m.contains("checksum")
        ));
        assert!(MlpHead::from_bytes(&good[..good.len() - 5]).is_err());
        assert!(MlpHead::from_bytes(b"SPLR").is_err());
        assert!(MlpHead::from_bytes(&[]).is_err());
        let mut wrong_magic = sample().to_bytes();
        wrong_magic[0] = b'X';
        assert!(MlpHead::from_bytes(&wrong_magic).is_err());
    }

    #[test]
    fn checked_in_head_parses() {
        let h = MlpHead::checked_in().unwrap();
        assert_eq!(h.dim, EMBEDDING_DIM);
        assert!(h.threshold > 0.0 && h.threshold < 1.0, "{}", h.threshold);
    }
}
