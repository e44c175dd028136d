//! Vectors for the `bimi` module.
