//! Server-Sent Events: an incremental decoder and an encoder. (Being written.)
