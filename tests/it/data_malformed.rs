//! Malformed data files, made from the real ones: each gives one error naming the
//! file and the problem (whole message compared); none panics.
use super::data::{DIGITS, NMNIST, SHD, digits_as_idx, real, write_shd};
use astroglia::data::digits::Digits;
use astroglia::data::idx::{self, IdxArray, IdxData, IdxReader};
use astroglia::data::mnist::IdxDataset;
use astroglia::data::nmnist::{self, NmnistDataset};
use astroglia::data::shd::{ShdDataset, ShdLayout};
use astroglia::data::{SampleSource, Split};
use std::io::{Read, Write};
use std::path::Path;

/// `err`'s message is exactly `<path>: <message>`.
fn assert_msg<T: std::fmt::Debug>(r: astroglia::Result<T>, path: &Path, message: &str) {
    let err = r.expect_err(message).to_string();
    assert_eq!(err, format!("{}: {message}", path.display()));
}

/// `err` is an [`astroglia::Error::Data`] at byte `offset` of `path`, and its
/// message is exactly `<path>: byte <offset>: <message>`.
fn assert_msg_at<T: std::fmt::Debug>(
    r: astroglia::Result<T>,
    path: &Path,
    offset: u64,
    message: &str,
) {
    let err = r.expect_err(message);
    assert!(
        matches!(&err, astroglia::Error::Data { offset: Some(o), .. } if *o == offset),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("{}: byte {offset}: {message}", path.display())
    );
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn malformed_nmnist_files() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(real(NMNIST)).unwrap();
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    assert_msg_at(
        nmnist::read_file(&cut),
        &cut,
        21620,
        "truncated: 21624 bytes is not a whole number of 5-byte event records (4324 records and 4 bytes over)",
    );
    let off = dir.path().join("off_sensor.bin");
    let mut b = bytes.clone();
    b[12 * 5] = 200; // x of event 12
    std::fs::write(&off, &b).unwrap();
    assert_msg_at(
        nmnist::read_file(&off),
        &off,
        60,
        &format!(
            "event 12 has address x 200, y {} outside the 34x34 N-MNIST sensor",
            b[61]
        ),
    );
    let missing = dir.path().join("missing.bin");
    let err = nmnist::read_file(&missing).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: cannot read: ", missing.display())),
        "{err}"
    );

    // Trees: a folder that is no class, a split without samples, no split at all.
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("Train/cats")).unwrap();
    std::fs::write(root.join("Train/cats/1.bin"), &bytes).unwrap();
    assert_msg(
        NmnistDataset::open(&root, Split::Train),
        &root.join("Train"),
        "folder 'cats' is not a class folder (expected 0 to 9)",
    );
    std::fs::create_dir_all(root.join("Test/4")).unwrap();
    std::fs::write(root.join("Test/4/00001.txt"), &bytes).unwrap();
    assert_msg(
        NmnistDataset::open(&root, Split::Test),
        &root.join("Test"),
        "no samples: expected <digit>/*.bin files below this folder",
    );
    assert_msg(
        NmnistDataset::open(dir.path(), Split::Test),
        &dir.path().join("Test"),
        "cannot list the folder: No such file or directory (os error 2)",
    );
}

#[test]
fn malformed_shd_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    let s = ShdDataset::open(real(SHD), ShdLayout::SHD)
        .unwrap()
        .spikes(0)
        .unwrap();
    let t = vec![s.times_s.clone(), vec![0.1, 0.2]];
    let u = vec![s.units.clone(), vec![3, 4]];

    // A dataset missing.
    let p = path("no_units.h5");
    {
        let f = hdf5::File::create(&p).unwrap();
        let g = f.create_group("spikes").unwrap();
        let tv: Vec<hdf5::types::VarLenArray<f64>> = t
            .iter()
            .map(|v| hdf5::types::VarLenArray::from_slice(v))
            .collect();
        g.new_dataset_builder()
            .with_data(&tv[..])
            .create("times")
            .unwrap();
        f.new_dataset_builder()
            .with_data(&[1u8, 2])
            .create("labels")
            .unwrap();
    }
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD),
        &p,
        "missing dataset 'spikes/units'",
    );

    // Wrong element types.
    let p = path("int_times.h5");
    let ti: Vec<Vec<i32>> = vec![vec![1, 2], vec![3]];
    write_shd(&p, &ti, &[vec![1u16, 2], vec![3]], &[0u8, 1]);
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD),
        &p,
        "dataset 'spikes/times': expected variable-length arrays of floats (seconds), found [int32] (var len)",
    );
    let p = path("float_units.h5");
    write_shd(&p, &t, &[vec![1.0f32; 7173], vec![3.0, 4.0]], &[0u8, 1]);
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD),
        &p,
        "dataset 'spikes/units': expected variable-length arrays of integers, found [float32] (var len)",
    );
    let p = path("float_labels.h5");
    write_shd(&p, &t, &u, &[0.0f64, 1.0]);
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD),
        &p,
        "dataset 'labels': expected integers, found float64",
    );
    // A dense 2-D array instead of variable-length rows.
    let p = path("dense_times.h5");
    {
        let f = hdf5::File::create(&p).unwrap();
        let g = f.create_group("spikes").unwrap();
        g.new_dataset::<f64>()
            .shape((2, 3))
            .create("times")
            .unwrap();
    }
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD),
        &p,
        "dataset 'spikes/times': expected 1-D, found shape [2, 3]",
    );

    // Counts that disagree: between datasets, and within a sample.
    let p = path("three_labels.h5");
    write_shd(&p, &t, &u, &[0u8, 1, 2]);
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD),
        &p,
        "sample counts differ: spikes/times has 2, spikes/units 2, labels 3",
    );
    let p = path("short_units.h5");
    let mut u_short = u.clone();
    u_short[0].pop();
    write_shd(&p, &t, &u_short, &[0u8, 1]);
    let d = ShdDataset::open(&p, ShdLayout::SHD).unwrap();
    assert_msg(
        d.spikes(0),
        &p,
        "sample 0: spikes/times[0] has 7173 spikes but spikes/units[0] has 7172",
    );
    assert_eq!(d.spikes(1).unwrap().units, vec![3, 4]);

    // Values out of range: units past the channels, negative units, NaN times, labels.
    let real_shd = real(SHD);
    let narrow = ShdLayout {
        n_channels: 698,
        n_classes: 20,
    };
    assert_msg(
        ShdDataset::open(&real_shd, narrow).unwrap().spikes(0),
        &real_shd,
        "dataset 'spikes/units': spikes/units[0] holds unit 698 at spike 4, outside the 698 channels",
    );
    let p = path("negative_unit.h5");
    write_shd(&p, &[vec![0.5f32]], &[vec![-1i64]], &[0u8]);
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD).unwrap().spikes(0),
        &p,
        "dataset 'spikes/units': spikes/units[0] holds unit -1 at spike 0, outside the 700 channels",
    );
    let p = path("nan_time.h5");
    write_shd(
        &p,
        &[vec![0.1f32], vec![0.1, 0.2, f32::NAN]],
        &[vec![1u16], vec![1, 2, 3]],
        &[0u8, 1],
    );
    assert_msg(
        ShdDataset::open(&p, ShdLayout::SHD).unwrap().spikes(1),
        &p,
        "dataset 'spikes/times': spikes/times[1] holds time NaN s at spike 2; times must be finite and >= 0",
    );
    let mut d = ShdDataset::open(&real_shd, ShdLayout::SHD).unwrap();
    assert_msg(
        d.get(0),
        &real_shd,
        "dataset 'labels': labels[0] = 65535 is outside the 20 classes",
    );
    assert_msg(
        d.get(1),
        &real_shd,
        "sample index 1 is out of range (1 samples)",
    );

    // Not HDF5 at all, and no file.
    let nm = real(NMNIST);
    let err = ShdDataset::open(&nm, ShdLayout::SHD)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{}: cannot open as HDF5: ", nm.display())),
        "{err}"
    );
    let p = path("absent.h5");
    assert_msg(ShdDataset::open(&p, ShdLayout::SHD), &p, "no such file");
}

#[test]
fn malformed_idx_files() {
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = digits_as_idx(dir.path(), false);
    let images = std::fs::read(&ip).unwrap();
    let labels = std::fs::read(&lp).unwrap();
    let put = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };

    let mut b = labels.clone();
    b[2] = 0x07;
    let p = put("bad_magic", &b);
    assert_msg_at(
        IdxReader::open(&p),
        &p,
        0,
        "bad magic number 0x00000701: IDX files start 00 00, a type code (08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64) and the number of dimensions (at least 1)",
    );
    let p = put("cut_images", &images[..images.len() - 1]);
    assert_msg_at(
        IdxReader::open(&p),
        &p,
        115023,
        "truncated: the header (u8 x [1797, 8, 8]) needs 115024 bytes, the file has 115023",
    );
    let mut b = labels.clone();
    b.push(0);
    let p = put("long_labels", &b);
    assert_msg_at(
        idx::read(&p),
        &p,
        1805,
        "too long: the header (u8 x [1797]) needs 1805 bytes, the file has 1806",
    );
    let p = put("cut_header", &images[..10]);
    assert_msg_at(
        IdxReader::open(&p),
        &p,
        10,
        "truncated: the header of 3 dimensions needs 16 bytes, the file has 10",
    );

    // Gzipped data that ends 64 bytes early: found when the last image is read.
    let p = put("cut_images.gz", &gzip(&images[..images.len() - 64]));
    let mut set = IdxDataset::open(&p, &lp, 10).unwrap();
    let want = set.labels()[1795] as usize;
    assert_eq!(set.get(1795).unwrap().label, want);
    assert_msg_at(
        set.get(1796),
        &p,
        114960,
        "truncated: the header (u8 x [1797, 8, 8]) needs 115008 data bytes, the data ends after 114944",
    );
    // The same after a backward jump (the data inflated into a temporary file).
    assert_eq!(set.get(10).unwrap().label, set.labels()[10] as usize);
    assert_msg_at(
        set.get(1796),
        &p,
        114960,
        "truncated: the header (u8 x [1797, 8, 8]) needs 115008 data bytes, the data ends after 114944",
    );
    // A gzip stream cut short (its end and checksum missing).
    let gz = gzip(&images);
    let p = put("cut_stream.gz", &gz[..gz.len() / 2]);
    let err = idx::read(&p).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: ", p.display())), "{err}");
    assert!(
        err.contains("truncated") || err.contains("corrupt gzip data"),
        "{err}"
    );

    // Images and labels that disagree.
    let mut b = labels.clone();
    b[4..8].copy_from_slice(&1796u32.to_be_bytes());
    b.pop();
    let short = put("short_labels", &b);
    assert_msg(
        IdxDataset::open(&ip, &short, 10),
        &short,
        &format!("holds 1796 labels but {} holds 1797 images", ip.display()),
    );
    let mut b = labels.clone();
    b[8 + 5] = 10;
    let p = put("label_10", &b);
    assert_msg(
        IdxDataset::open(&ip, &p, 10),
        &p,
        "label 5 is 10, outside the 10 classes",
    );
    assert_msg(
        IdxDataset::open(&lp, &lp, 10),
        &lp,
        "expected u8 images of dims [n, rows, cols], found U8 of dims [1797]",
    );
    let f = dir.path().join("float_labels");
    idx::write(
        &f,
        &IdxArray {
            dims: vec![1797],
            data: IdxData::F32(vec![0.0; 1797]),
        },
    )
    .unwrap();
    assert_msg(
        IdxDataset::open(&ip, &f, 10),
        &f,
        "expected u8 labels of dims [n], found F32 of dims [1797]",
    );
}

#[test]
fn malformed_digits_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = String::from_utf8(gunzip(&std::fs::read(real(DIGITS)).unwrap())).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let put = |name: &str, b: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };
    // The plain CSV loads like the gzipped one.
    let plain = put("digits.csv", text.as_bytes());
    let (a, b) = (Digits::load(&plain).unwrap(), Digits::embedded().unwrap());
    assert!(a.images() == b.images() && a.labels() == b.labels());

    let row0 = lines[0].clone();
    lines[0] = row0.replacen("0,0,5,", "0,0,17,", 1);
    let p = put("pixel_17.csv.gz", &gzip(lines.join("\n").as_bytes()));
    assert_msg(
        Digits::load(&p),
        &p,
        "line 1, column 3: pixel 17 is outside 0..=16",
    );
    lines[0] = row0.replacen("0,0,5,", "0,x,5,", 1);
    let p = put("not_a_number.csv", lines.join("\n").as_bytes());
    assert_msg(
        Digits::load(&p),
        &p,
        "line 1, column 2: 'x' is not a non-negative integer",
    );
    lines[0] = row0;
    let mut short = lines.clone();
    short[1] = short[1].rsplit_once(',').unwrap().0.to_string();
    let p = put("short_row.csv", short.join("\n").as_bytes());
    assert_msg(
        Digits::load(&p),
        &p,
        "line 2: expected 65 comma-separated values (64 pixels, then the label), found 64",
    );
    let gz = std::fs::read(real(DIGITS)).unwrap();
    let p = put("cut.csv.gz", &gz[..gz.len() / 2]);
    let err = Digits::load(&p).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: corrupt gzip data or not UTF-8 text: ",
            p.display()
        )),
        "{err}"
    );
    let p = put("empty.csv", b"\n\n");
    assert_msg(Digits::load(&p), &p, "no samples");
}

#[test]
fn corrupted_headers_and_truncations_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (ip, _) = digits_as_idx(dir.path(), false);
    let images = std::fs::read(&ip).unwrap();
    let nm = std::fs::read(real(NMNIST)).unwrap();
    let p = dir.path().join("fuzz");
    let pgz = dir.path().join("fuzz.gz");
    let mut n_err = 0;
    for pos in 0..24 {
        for v in [0u8, 1, 3, 8, 0x0E, 0x1F, 0x80, 0xFF] {
            let mut b = images.clone();
            b[pos] = v;
            std::fs::write(&p, &b).unwrap();
            std::fs::write(&pgz, gzip(&b)).unwrap();
            for f in [&p, &pgz] {
                // Either an error or a consistent reader; never a panic.
                match IdxReader::open(f) {
                    Ok(mut r) => {
                        if !r.is_empty() {
                            let _ = r.item(r.len() - 1);
                        }
                        let _ = idx::read(f);
                    }
                    Err(_) => n_err += 1,
                }
            }
            let _ = nmnist::decode(&nm[..(pos * 7).min(nm.len())], &p);
        }
    }
    assert!(n_err > 100, "{n_err}");
    for len in [0, 1, 3, 4, 5, 15, 16, 17, 100] {
        std::fs::write(&p, &images[..len]).unwrap();
        assert!(IdxReader::open(&p).is_err(), "length {len}");
    }
}
