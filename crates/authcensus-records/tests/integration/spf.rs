//! Vectors for the `spf` module.
