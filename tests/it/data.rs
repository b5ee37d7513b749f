//! Dataset readers and encoders on real files (N-MNIST sample, SHD-layout spikes,
//! scikit-learn digits) with known answers, round trips and encoder statistics.
use astroglia::data::encode::{self, NalsmRate};
use astroglia::data::events::{Neighbourhood, Rounding};
use astroglia::data::idx::{self, IdxArray, IdxData, IdxReader};
use astroglia::data::mnist::IdxDataset;
use astroglia::data::nmnist::{self, NmnistDataset};
use astroglia::data::shd::{ShdDataset, ShdLayout};
use astroglia::data::{SampleData, SampleSource, Split, digits::Digits};
use hdf5::types::VarLenArray;
use std::path::{Path, PathBuf};

/// A real file copied into tests/data.
pub fn real(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

pub const NMNIST: &str = "nmnist/tonic_sample_nmnist.bin";
pub const SHD: &str = "shd_like/lauscher_spoken_digit_shd_layout.h5";
pub const DIGITS: &str = "digits/sklearn_digits.csv.gz";

/// Writes an SHD-layout file: one vlen dataset per spike array, labels.
pub fn write_shd<T: hdf5::H5Type + Copy, U: hdf5::H5Type + Copy, L: hdf5::H5Type>(
    path: &Path,
    times: &[Vec<T>],
    units: &[Vec<U>],
    labels: &[L],
) {
    let f = hdf5::File::create(path).unwrap();
    let g = f.create_group("spikes").unwrap();
    let t: Vec<VarLenArray<T>> = times.iter().map(|v| VarLenArray::from_slice(v)).collect();
    let u: Vec<VarLenArray<U>> = units.iter().map(|v| VarLenArray::from_slice(v)).collect();
    g.new_dataset_builder()
        .with_data(&t[..])
        .create("times")
        .unwrap();
    g.new_dataset_builder()
        .with_data(&u[..])
        .create("units")
        .unwrap();
    f.new_dataset_builder()
        .with_data(labels)
        .create("labels")
        .unwrap();
}

#[test]
fn nmnist_real_sample_decodes_to_4325_events() {
    let ev = nmnist::read_file(real(NMNIST)).unwrap();
    assert_eq!(ev.len(), 4325);
    let first: Vec<_> = ev.events[..3]
        .iter()
        .map(|e| (e.x, e.y, e.p, e.t_us))
        .collect();
    assert_eq!(
        first,
        vec![(7, 15, 1, 654), (19, 18, 0, 2999), (21, 17, 0, 3017)]
    );
    let on = ev.events.iter().filter(|e| e.p == 1).count();
    assert_eq!((4325 - on, on), (2180, 2145));
    assert_eq!(ev.events.last().unwrap().t_us, 311_175);
    assert!(ev.events.windows(2).all(|w| w[0].t_us <= w[1].t_us));
    // The three saccades (tonic's 105-ms windows), from the data README.
    let windows = [(0, 105_000), (105_000, 210_000), (210_000, u64::MAX)];
    let counts: Vec<usize> = windows
        .iter()
        .map(|&(a, b)| ev.time_window(a, b).len())
        .collect();
    assert_eq!(counts, vec![1391, 1343, 1591]);
}

#[test]
fn nmnist_transforms_on_the_real_sample() {
    let ev = nmnist::read_file(real(NMNIST)).unwrap();
    // Reference counts computed with numpy from the raw bytes.
    assert_eq!(ev.crop(3, 3, 28, 28).unwrap().len(), 4283);
    let d4 = ev.denoise(10_000, Neighbourhood::Four);
    assert_eq!(d4.len(), 3998);
    // tonic's Denoise keeps 3996 events at t >= filter_time (it also keeps all 16
    // earlier ones; here 2 of them have support).
    assert_eq!(d4.time_window(10_000, u64::MAX).len(), 3996);
    assert_eq!(ev.denoise(10_000, Neighbourhood::Eight).len(), 4090);
    assert_eq!(ev.denoise(1_000, Neighbourhood::Four).len(), 1797);
    assert_eq!(ev.denoise(1_000, Neighbourhood::Eight).len(), 2442);
    // Downsampled by 2 and merged: 172 distinct pixels of 17 x 17.
    let small = ev.downsample(2).unwrap().merge_polarities();
    assert_eq!(small.sensor.n_channels(), 17 * 17);
    let per_step = small.bin(0, 1_000_000, 1, Rounding::Floor).unwrap();
    assert_eq!(per_step[0].len(), 172);
    // NALSM's input: 1-ms bins, rounded, binary, first 250 ms: 3223 spikes.
    let s = encode::nalsm_events(&ev, 250).unwrap();
    assert_eq!(
        (s.n_channels, s.steps.len(), s.n_spikes()),
        (2312, 250, 3223)
    );
    let floor = encode::events(&ev, 0, 1000, 250, Rounding::Floor).unwrap();
    assert_eq!(floor.n_spikes(), 3232);
    // The first event (7, 15, ON, 654 µs) is in step 1 when rounded, 0 when floored.
    let c = (34 + 15) * 34 + 7;
    assert!(s.steps[1].contains(&c) && floor.steps[0].contains(&c));
}

#[test]
fn nmnist_tree_reader_is_sorted_lazy_and_skips_bad_files() {
    let bytes = std::fs::read(real(NMNIST)).unwrap();
    let root = tempfile::tempdir().unwrap();
    let put = |rel: &str, data: &[u8]| {
        let p = root.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    put("Train/3/00002.bin", &bytes);
    put("Train/3/00001.bin", &bytes[..500]); // 100 events
    put("Train/0/00010.bin", &bytes[..50]);
    put("Train/0/notes.txt", b"ignored");
    put("Train/README", b"ignored");
    put("Train/.cache/x.bin", b"ignored");
    put("Test/7/00001.bin", &bytes);
    let mut train = NmnistDataset::open(root.path(), Split::Train).unwrap();
    assert_eq!(
        (train.len(), train.n_classes(), train.n_channels()),
        (3, 10, 2312)
    );
    let order: Vec<(String, usize)> = (0..3)
        .map(|i| {
            let (p, l) = train.entry(i).unwrap();
            (
                p.strip_prefix(root.path()).unwrap().display().to_string(),
                l,
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            ("Train/0/00010.bin".to_string(), 0),
            ("Train/3/00001.bin".to_string(), 3),
            ("Train/3/00002.bin".to_string(), 3)
        ]
    );
    let sizes: Vec<(usize, usize)> = train
        .iter(false)
        .map(|s| {
            let s = s.unwrap();
            let SampleData::Events(ev) = s.data else {
                panic!("events")
            };
            (s.label, ev.len())
        })
        .collect();
    assert_eq!(sizes, vec![(0, 10), (3, 100), (3, 4325)]);
    assert_eq!(train.load_all().unwrap().len(), 3);
    let test = NmnistDataset::open(root.path(), Split::Test).unwrap();
    assert_eq!((test.len(), test.entry(0).unwrap().1), (1, 7));

    // Listing is lazy: a file spoilt after opening fails only when read.
    put("Train/3/00001.bin", &bytes[..502]);
    let mut it = train.iter(true);
    let labels: Vec<usize> = it.by_ref().map(|s| s.unwrap().label).collect();
    assert_eq!(labels, vec![0, 3]);
    assert_eq!(it.skipped().len(), 1);
    assert_eq!(it.skipped()[0].0, 1);
    assert!(it.skipped()[0].1.contains("truncated: 502 bytes"));
    let strict: Vec<bool> = train.iter(false).map(|s| s.is_ok()).collect();
    assert_eq!(strict, vec![true, false]); // stops at the first failure
}

#[test]
fn shd_layout_real_file_decodes_to_7173_spikes() {
    let mut shd = ShdDataset::open(real(SHD), ShdLayout::SHD).unwrap();
    assert_eq!((shd.len(), shd.n_classes(), shd.n_channels()), (1, 20, 700));
    let s = shd.spikes(0).unwrap();
    assert_eq!((s.times_s.len(), s.units.len()), (7173, 7173));
    // Facts from the data README: t = 0.0045..0.793 s, units 1..698, 551 active.
    let (lo, hi) = (s.times_s[0], *s.times_s.last().unwrap());
    assert!(
        (lo - 0.00446).abs() < 1e-5 && (hi - 0.793).abs() < 5e-4,
        "{lo} {hi}"
    );
    assert!(s.times_s.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(s.units[..5], [489, 574, 324, 488, 698]);
    assert_eq!(
        (s.units.iter().min(), s.units.iter().max()),
        (Some(&1), Some(&698))
    );
    let mut active = s.units.clone();
    active.sort_unstable();
    active.dedup();
    assert_eq!(active.len(), 551);
    // The first time is float16 0.004459381... s, 4459 µs once rounded.
    let ev = shd.events(0).unwrap();
    assert_eq!((ev.len(), ev.sensor.n_channels()), (7173, 700));
    assert_eq!((ev.events[0].x, ev.events[0].t_us), (489, 4459));
    // The label is unknown (65535), so the sample itself is refused...
    let err = shd.get(0).unwrap_err().to_string();
    assert!(err.ends_with("dataset 'labels': labels[0] = 65535 is outside the 20 classes"));
    // ...and skipped with a warning when bad samples are skipped.
    let mut it = shd.iter(true);
    assert!(it.next().is_none());
    assert_eq!(it.skipped().len(), 1);
}

#[test]
fn shd_reader_converts_any_float_and_integer_width() {
    let real = ShdDataset::open(real(SHD), ShdLayout::SHD)
        .unwrap()
        .spikes(0)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t64: Vec<Vec<f64>> = vec![real.times_s.clone(), vec![], vec![0.5, 0.25]];
    let units: Vec<Vec<u32>> = vec![real.units.clone(), vec![], vec![699, 0]];
    let layout = ShdLayout::SSC;
    let check = |name: &str, n_spikes: usize| {
        let mut d = ShdDataset::open(dir.path().join(name), layout).unwrap();
        assert_eq!(d.len(), 3);
        for i in 0..3 {
            let s = d.spikes(i).unwrap();
            assert_eq!(s.units, units[i], "{name} sample {i}");
            assert_eq!(s.times_s, t64[i], "{name} sample {i}");
        }
        assert_eq!(d.spikes(0).unwrap().units.len(), n_spikes);
        assert_eq!(d.get(2).unwrap().label, 34);
    };
    // float16 (the real times are float16, so they survive the round trip), float32
    // and float64 times; u16, u32, i32, i64 and u8-label files.
    let to = |f: fn(f64) -> half::f16| -> Vec<Vec<half::f16>> {
        t64.iter()
            .map(|v| v.iter().map(|&t| f(t)).collect())
            .collect()
    };
    let u = |f: fn(u32) -> i64| -> Vec<Vec<i64>> {
        units
            .iter()
            .map(|v| v.iter().map(|&x| f(x)).collect())
            .collect()
    };
    let u16s: Vec<Vec<u16>> = units
        .iter()
        .map(|v| v.iter().map(|&x| x as u16).collect())
        .collect();
    write_shd(
        &dir.path().join("f16.h5"),
        &to(half::f16::from_f64),
        &u16s,
        &[0u16, 1, 34],
    );
    let t32: Vec<Vec<f32>> = t64
        .iter()
        .map(|v| v.iter().map(|&t| t as f32).collect())
        .collect();
    write_shd(&dir.path().join("f32.h5"), &t32, &units, &[0u8, 1, 34]);
    write_shd(
        &dir.path().join("f64.h5"),
        &t64,
        &u(i64::from),
        &[0i64, 1, 34],
    );
    let i32s: Vec<Vec<i32>> = units
        .iter()
        .map(|v| v.iter().map(|&x| x as i32).collect())
        .collect();
    write_shd(&dir.path().join("i32.h5"), &t64, &i32s, &[0i32, 1, 34]);
    for name in ["f16.h5", "f32.h5", "f64.h5", "i32.h5"] {
        check(name, 7173);
    }
}

#[test]
fn digits_embedded_copy_is_the_real_file() {
    assert_eq!(
        astroglia::data::digits::EMBEDDED_GZ,
        &std::fs::read(real(DIGITS)).unwrap()[..]
    );
    let mut d = Digits::load(real(DIGITS)).unwrap();
    let e = Digits::embedded().unwrap();
    assert!(d.images() == e.images() && d.labels() == e.labels());
    assert_eq!((d.len(), d.n_classes(), d.n_channels()), (1797, 10, 64));
    let mut per_class = [0usize; 10];
    d.labels().iter().for_each(|&l| per_class[l as usize] += 1);
    assert_eq!(
        per_class,
        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
    assert_eq!(d.labels()[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let first: Vec<f32> = [0., 0., 5., 13., 9., 1., 0., 0.]
        .iter()
        .map(|v| v / 16.0)
        .collect();
    assert_eq!(d.image(0).unwrap()[..8], first[..]);
    let total: f64 = d.images().iter().map(|&v| f64::from(v) * 16.0).sum();
    assert_eq!(total, 561_718.0);
    let s = d.get(1796).unwrap();
    assert_eq!((s.index, s.label), (1796, 8));
    assert!(d.get(1797).is_err());
}

#[test]
fn idx_round_trips_every_type_plain_and_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let arrays = [
        IdxData::U8(vec![0, 1, 254, 255, 7, 9]),
        IdxData::I8(vec![-128, -1, 0, 1, 127, 5]),
        IdxData::I16(vec![i16::MIN, -1, 0, 1, i16::MAX, 300]),
        IdxData::I32(vec![i32::MIN, -1, 0, 1, i32::MAX, 70_000]),
        IdxData::F32(vec![f32::MIN_POSITIVE, -0.5, 0.0, 1.5, f32::MAX, 1e-30]),
        IdxData::F64(vec![f64::MIN_POSITIVE, -0.5, 0.0, 1.5, f64::MAX, 1e-300]),
    ];
    for (k, data) in arrays.into_iter().enumerate() {
        let a = IdxArray {
            dims: vec![3, 2],
            data,
        };
        for name in [format!("a{k}.idx"), format!("a{k}.idx.gz")] {
            let p = dir.path().join(&name);
            idx::write(&p, &a).unwrap();
            assert_eq!(idx::read(&p).unwrap(), a, "{name}");
            let gz = std::fs::read(&p).unwrap().starts_with(&[0x1F, 0x8B]);
            assert_eq!(gz, name.ends_with(".gz"));
            let mut r = IdxReader::open(&p).unwrap();
            assert_eq!((r.dims(), r.len(), r.item_values()), (&[3, 2][..], 3, 2));
            assert_eq!(r.item(2).unwrap().to_f32(), a.data.to_f32()[4..]);
        }
    }
    // No temporary files are left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 12);
}

/// Random access into a gzipped file (backward jumps inflate it once into a
/// temporary file) gives the same items as the plain file, in any order.
#[test]
fn gzipped_idx_reads_items_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = IdxArray {
        dims: vec![500, 3],
        data: IdxData::I16((0..1500).map(|v| (v * 7 % 1000) as i16 - 500).collect()),
    };
    let (plain, gz) = (dir.path().join("a.idx"), dir.path().join("a.idx.gz"));
    idx::write(&plain, &a).unwrap();
    idx::write(&gz, &a).unwrap();
    let (mut p, mut g) = (
        IdxReader::open(&plain).unwrap(),
        IdxReader::open(&gz).unwrap(),
    );
    for i in [7, 3, 499, 0, 250, 250, 1, 498, 100] {
        let want = a.data.to_f32()[3 * i..3 * i + 3].to_vec();
        assert_eq!(p.item(i).unwrap().to_f32(), want, "plain item {i}");
        assert_eq!(g.item(i).unwrap().to_f32(), want, "gzipped item {i}");
    }
    assert!(g.item(500).is_err());
    // Nothing but the two files in the directory (the inflated copy is anonymous).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// The real digits as an MNIST-style IDX pair (pixels * 15, u8).
pub fn digits_as_idx(dir: &Path, gz: bool) -> (PathBuf, PathBuf) {
    let d = Digits::embedded().unwrap();
    let px: Vec<u8> = d.images().iter().map(|&v| (v * 16.0) as u8 * 15).collect();
    let ext = if gz { ".gz" } else { "" };
    let (ip, lp) = (
        dir.join(format!("train-images-idx3-ubyte{ext}")),
        dir.join(format!("train-labels-idx1-ubyte{ext}")),
    );
    let images = IdxArray {
        dims: vec![1797, 8, 8],
        data: IdxData::U8(px),
    };
    idx::write(&ip, &images).unwrap();
    let labels = IdxArray {
        dims: vec![1797],
        data: IdxData::U8(d.labels().to_vec()),
    };
    idx::write(&lp, &labels).unwrap();
    (ip, lp)
}

#[test]
fn idx_dataset_streams_the_real_digits_in_any_order() {
    let digits = Digits::embedded().unwrap();
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        digits_as_idx(dir.path(), gz);
        let mut set = IdxDataset::open_dir(dir.path(), Split::Train).unwrap();
        assert_eq!(
            (set.len(), set.n_channels(), set.image_dims()),
            (1797, 64, [8, 8])
        );
        // Forward, backward (gzip restarts) and repeated reads.
        for i in [0, 5, 1796, 3, 3, 900, 1] {
            let s = set.get(i).unwrap();
            assert_eq!(s.label, digits.labels()[i] as usize);
            let SampleData::Image { pixels, dims } = s.data else {
                panic!("image")
            };
            assert_eq!(dims, vec![8, 8]);
            let want: Vec<f32> = digits
                .image(i)
                .unwrap()
                .iter()
                .map(|&v| ((v * 16.0) * 15.0) / 255.0)
                .collect();
            for (a, b) in pixels.iter().zip(&want) {
                assert!((a - b).abs() < 1e-6, "gz {gz} image {i}");
            }
        }
        assert!(set.get(1797).is_err());
        assert!(IdxDataset::open_dir(dir.path(), Split::Test).is_err());
    }
}

/// |count - n p| within 5 standard deviations of a binomial.
fn assert_binomial(count: u64, n: u64, p: f64, what: &str) {
    let sd = (n as f64 * p * (1.0 - p)).sqrt().max(1e-9);
    let z = (count as f64 - n as f64 * p) / sd;
    assert!(
        z.abs() < 5.0,
        "{what}: {count} of {n}, expected p = {p}, z = {z}"
    );
}

#[test]
fn rate_encoders_match_their_probabilities() {
    let steps = 20_000;
    let p = [0.0f32, 0.001, 0.05, 0.3, 0.5, 0.97, 1.0];
    let s = encode::bernoulli(&p, steps, 11).unwrap();
    for (c, &q) in s.counts().iter().zip(&p) {
        assert_binomial(*c as u64, steps as u64, f64::from(q), "bernoulli");
    }
    assert_eq!((s.counts()[0], s.counts()[6]), (0, steps as u32));
    assert!(s.steps.iter().all(|st| st.windows(2).all(|w| w[0] < w[1])));
    // Poisson: 80 Hz at intensity 0.5 and dt 0.5 ms -> p = 0.02 per step.
    let x = [0.5f32, 1.0, 0.0, 0.25];
    let s = encode::poisson(&x, 80.0, 0.5, 100_000, 5).unwrap();
    for (c, &xi) in s.counts().iter().zip(&x) {
        assert_binomial(*c as u64, 100_000, f64::from(xi) * 0.04, "poisson");
    }
    // Rate in Hz over the 50 s simulated.
    let hz = s.counts()[1] as f64 / 50.0;
    assert!((hz - 80.0).abs() < 5.0 * (80.0f64 / 50.0).sqrt(), "{hz} Hz");
    assert!(encode::poisson(&x, 3000.0, 0.5, 10, 5).is_err()); // p > 1
    assert!(encode::poisson(&[1.5], 10.0, 1.0, 10, 5).is_err());
    // Regular: the same rates, counts within one spike of n·p, spikes evenly
    // spaced (gaps differ by at most one step), the phase set by the seed.
    let n = 1000;
    let r = encode::regular(&x, 80.0, 0.5, n, 5).unwrap();
    for (c, &xi) in r.counts().iter().zip(&x) {
        let expected = f64::from(xi) * 0.04 * n as f64;
        assert!((f64::from(*c) - expected).abs() <= 1.0, "{c} vs {expected}");
    }
    let times: Vec<usize> = (0..n).filter(|&k| r.steps[k].contains(&3)).collect();
    let gaps: Vec<usize> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| (99..=101).contains(g)), "{gaps:?}");
    assert_ne!(r, encode::regular(&x, 80.0, 0.5, n, 6).unwrap());
    assert!(encode::regular(&x, 3000.0, 0.5, 10, 5).is_err());
    assert!(encode::regular(&[-0.1], 10.0, 1.0, 10, 5).is_err());
}

#[test]
fn nalsm_rate_on_the_real_digits() {
    let d = Digits::embedded().unwrap();
    let enc = NalsmRate::fit((0..d.len()).map(|i| d.image(i).unwrap())).unwrap();
    // Largest normalised pixel of the set: image 1626, 15 / 185 (numpy).
    assert!(
        (f64::from(enc.set_max) - 15.0 / 185.0).abs() < 1e-7,
        "{}",
        enc.set_max
    );
    let p = enc.probabilities(d.image(1626).unwrap());
    assert!((p.iter().fold(0.0f32, |a, &b| a.max(b)) - 1.0).abs() < 1e-6);
    // Image 0: 294 / 16 units of ink, so p_k = x_k / 294 * 185 / 15.
    let img = d.image(0).unwrap();
    let sum: f32 = img.iter().sum();
    assert!((sum * 16.0 - 294.0).abs() < 1e-3);
    let p = enc.probabilities(img);
    let steps = 50_000;
    let s = enc.encode(img, steps, 99).unwrap();
    for (k, (&c, &q)) in s.counts().iter().zip(&p).enumerate() {
        let want = f64::from(img[k]) * 16.0 / 294.0 * 185.0 / 15.0;
        assert!((f64::from(q) - want).abs() < 1e-6);
        assert_binomial(u64::from(c), steps as u64, want, "nalsm");
    }
    // Expected spikes per step: sum of p = 185 / 15 = 12.33.
    let per_step = s.n_spikes() as f64 / steps as f64;
    assert!((per_step - 185.0 / 15.0).abs() < 0.05, "{per_step}");
}

#[test]
fn latency_orders_by_intensity_and_encoders_are_deterministic() {
    let d = Digits::embedded().unwrap();
    let img = d.image(7).unwrap();
    let s = encode::latency(img, 17, 0.0).unwrap();
    let first = s.first_spikes();
    assert_eq!(s.counts().iter().filter(|&&c| c > 1).count(), 0);
    for (i, &a) in img.iter().enumerate() {
        // Pixel value v of 16 fires at step 16 - v: one step per grey level.
        assert_eq!(first[i], (a > 0.0).then(|| 16 - (a * 16.0) as usize));
        for (j, &b) in img.iter().enumerate() {
            if a > b && b > 0.0 {
                assert!(first[i] < first[j]);
            }
        }
    }
    let x = d.image(3).unwrap();
    let a = encode::poisson(x, 100.0, 1.0, 300, 42).unwrap();
    assert_eq!(a, encode::poisson(x, 100.0, 1.0, 300, 42).unwrap());
    assert_ne!(a, encode::poisson(x, 100.0, 1.0, 300, 43).unwrap());
    let enc = NalsmRate::fit([x]).unwrap();
    assert_eq!(
        enc.encode(x, 300, 1).unwrap(),
        enc.encode(x, 300, 1).unwrap()
    );
    assert_ne!(
        enc.encode(x, 300, 1).unwrap(),
        enc.encode(x, 300, 2).unwrap()
    );
}
