//! Newline-delimited JSON framing for stdio. (Being written.)
