//! Vectors for the `dmarc` module.
