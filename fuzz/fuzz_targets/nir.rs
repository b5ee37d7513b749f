//! NIR files: raw bytes -> HDF5 file -> `nir::read` (schema check) -> `nir::to_model`.
//! The bytes go through a scratch file: `nir::read` takes a path.
#![no_main]
use astroglia::nir::{ImportOptions, read, to_model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libhdf5 runs in a child process limited to what builds may take.
    astroglia::build::memory::set_max_memory(Some(astroglia_fuzz::MAX_MEMORY));
    let path = astroglia_fuzz::scratch_file("nir.nir", data);
    let Ok(nir) = read(&path) else {
        return;
    };
    if let Ok(imported) = to_model(&nir, &ImportOptions::default()) {
        let _ = imported.network.validate();
    }
});
