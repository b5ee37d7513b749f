//! Inputs found by the fuzz targets of `fuzz/` (tests/data/fuzz/, one folder
//! per target): each once crashed a reader and must now be refused with an error.
use astroglia::data::idx::{IdxReader, read};
use astroglia::nir::{ImportOptions, Nir, to_model};

fn inputs(target: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs for {target}");
    files
}

#[test]
fn idx_inputs_found_by_fuzzing_are_refused() {
    for path in inputs("idx") {
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("describe more than 2^40 bytes of data"), "{e}");
        assert!(IdxReader::open(&path).is_err());
    }
}

#[test]
fn nir_graphs_found_by_fuzzing_are_refused() {
    for path in inputs("nir_json") {
        let nir: Nir = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let e = to_model(&nir, &ImportOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("does not hold the 397 elements stored"),
            "{}: {e}",
            path.display()
        );
    }
}
