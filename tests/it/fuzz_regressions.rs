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

/// libhdf5 (1.10 and 2.2 alike) loops forever on these `.nir` files (a corrupt
/// global heap under the `/version` string): the read is stopped after its time
/// limit and reported, naming the file.
#[test]
fn nir_files_that_hang_libhdf5_are_refused() {
    let reads: Vec<_> = inputs("nir")
        .into_iter()
        .map(|path| std::thread::spawn(move || (astroglia::nir::read(&path), path)))
        .collect();
    for r in reads {
        let (result, path) = r.join().unwrap();
        let e = result.unwrap_err().to_string();
        assert!(
            e.contains(&*path.to_string_lossy()) && e.contains("libhdf5 did not finish reading it"),
            "{e}"
        );
    }
}

/// libhdf5 crashes (a global-heap object longer than its heap) or allocates
/// without bound (a corrupt variable-length size) on these SHD files: every
/// sample either reads or fails with an error naming the file.
#[test]
fn shd_files_that_crash_libhdf5_are_refused() {
    use astroglia::data::SampleSource;
    use astroglia::data::shd::{ShdDataset, ShdLayout};
    for path in inputs("shd") {
        let ds = ShdDataset::open(&path, ShdLayout::SHD).unwrap();
        let errors: Vec<String> = (0..ds.len().min(64))
            .filter_map(|i| ds.spikes(i).err().map(|e| e.to_string()))
            .collect();
        // The crash is reported as one; the allocation meets the reading
        // process's memory limit and libhdf5 reports it.
        let name = path.file_name().unwrap().to_string_lossy();
        let expected = if name.starts_with("crash") {
            "libhdf5 crashed reading it (signal 11, SIGSEGV)"
        } else {
            "memory allocation failed"
        };
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{}: {errors:?}",
            path.display()
        );
        for e in &errors {
            assert!(e.contains(&*path.to_string_lossy()), "{e}");
        }
    }
}
