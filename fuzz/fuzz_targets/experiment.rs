//! Experiment files: TOML text -> LSM experiment and continual-learning
//! experiment parse + check.
#![no_main]
use astroglia::experiment::{continual::Continual, lsm::Experiment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Experiment::parse(text, "fuzz.toml");
    let _ = Continual::parse(text, "fuzz.toml");
});
