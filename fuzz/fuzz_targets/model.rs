//! Model files: TOML text -> parse + validate (`parse_toml`) -> build.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(net) = astroglia::model::parse_toml(text, "fuzz.toml") else {
        return;
    };
    // A parsed model is valid: validating it again must agree.
    net.validate()
        .expect("parse_toml accepted a model that validate() refuses");
    astroglia::build::memory::set_max_memory(Some(astroglia_fuzz::MAX_MEMORY));
    if astroglia_fuzz::quick_enough(&net) {
        // Errors (e.g. connectivity the rule cannot draw) are fine; panics are not.
        let _ = astroglia::build::build(&net, net.seed);
    }
});
