//! The integration-test binary (one binary, modules per contract).
mod it;
