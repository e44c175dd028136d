//! Vectors for the `mta_sts` module.
