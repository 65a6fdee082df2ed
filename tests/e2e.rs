//! End-to-end tests of the kpledger binary.
