//! N-MNIST `.bin` event files: `nmnist::decode` on the bytes, and
//! `nmnist::read_file` (sensor check) on the same bytes as a file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = astroglia::data::nmnist::decode(data, "fuzz.bin".as_ref());
    let path = astroglia_fuzz::scratch_file("nmnist.bin", data);
    let _ = astroglia::data::nmnist::read_file(&path);
});
