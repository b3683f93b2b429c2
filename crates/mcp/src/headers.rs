//! Streamable HTTP header rules. (Being written.)
