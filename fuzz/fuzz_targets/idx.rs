//! IDX files (plain or gzipped): `idx::read` (whole file) and `IdxReader`
//! random access (last item first, which makes a gzipped reader inflate).
#![no_main]
use astroglia::data::idx::{IdxReader, read};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = astroglia_fuzz::scratch_file("data.idx", data);
    let _ = read(&path);
    let Ok(mut r) = IdxReader::open(&path) else {
        return;
    };
    let n = r.len();
    for i in [n.wrapping_sub(1), 0, n / 2, n] {
        let _ = r.item(i);
    }
});
