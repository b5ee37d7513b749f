//! SHD/SSC HDF5 files: raw bytes -> `ShdDataset::open` (layout check, labels)
//! -> every sample's label, spikes and events.
#![no_main]
use astroglia::data::SampleSource;
use astroglia::data::shd::{ShdDataset, ShdLayout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // libhdf5 runs in a child process limited to what builds may take.
    astroglia::build::memory::set_max_memory(Some(astroglia_fuzz::MAX_MEMORY));
    let path = astroglia_fuzz::scratch_file("shd.h5", data);
    let Ok(ds) = ShdDataset::open(&path, ShdLayout::SHD) else {
        return;
    };
    // A corrupt header can claim many samples: read a bounded number.
    for i in 0..ds.len().min(64) {
        let _ = ds.label(i);
        let _ = ds.events(i);
    }
});
