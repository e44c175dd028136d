//! Vectors for the `tlsrpt` module.
