//! NIR import, structure-aware: a graph as JSON (the serde form of
//! `astroglia::nir::Nir`) -> `nir::check` -> `nir::to_model`. Reaches the
//! conversion (flattening, convolutions, pools, delays) without going through
//! HDF5, whose byte-level parser the `nir` target fuzzes.
#![no_main]
use astroglia::nir::{ImportOptions, Nir, to_model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(nir) = serde_json::from_slice::<Nir>(data) else {
        return;
    };
    if let Ok(imported) = to_model(&nir, &ImportOptions::default()) {
        let _ = imported.network.validate();
    }
});
