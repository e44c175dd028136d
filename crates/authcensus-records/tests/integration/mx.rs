//! Vectors for the `mx` module.
