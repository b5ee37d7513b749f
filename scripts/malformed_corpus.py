#!/usr/bin/env python3
"""Writes the malformed-input corpus of the hardening issue.

Usage: scripts/malformed_corpus.py OUT_DIR

Writes input files under OUT_DIR and OUT_DIR/cases.json, a list of
{"name", "class", "args", "exit"[, "stderr_excludes"]}: "args" are the
arguments of the `astroglia` binary, every path in them absolute (so the
runner's working directory does not matter); "exit" lists the exit codes
allowed; "stderr_excludes", where present, lists texts stderr must not hold
(a refusal for the wrong reason). No input may panic, crash, hang or abort on
allocation (tests/it/malformed_corpus.rs runs them all under a memory cap).

Python standard library only. The output is deterministic: every sample is
drawn from random.Random with a fixed seed, and files are written in a fixed
order, so a failing case name means the same input on every machine.
"""
import gzip
import json
import os
import random
import re
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
DATA = ROOT / "tests" / "data"

# Values put in place of a number; strings are TOML source text.
VALUES = [
    "nan", "inf", "-inf", "-1", "0", "1e300", "-1e300", "1e-300", "4294967296",
    "18446744073709551616", '"x"', "true", "[1, 2]", "{}",
]
VALUE_NAMES = {
    "nan": "nan", "inf": "inf", "-inf": "neginf", "-1": "neg1", "0": "zero",
    "1e300": "1e300", "-1e300": "neg1e300", "1e-300": "1em300",
    "4294967296": "2p32", "18446744073709551616": "2p64", '"x"': "str",
    "true": "bool", "[1, 2]": "array", "{}": "table",
}
# `key = number`, also inside inline tables; the lookbehind keeps `e` of 1e-3 out.
NUMBER = re.compile(r"(?<![\w.])([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(-?[0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)")

cases = []


def case(name, cls, args, exit_codes, stderr_excludes=None):
    assert not any(c["name"] == name for c in cases), name
    c = {"name": name, "class": cls, "args": [str(a) for a in args], "exit": exit_codes}
    if stderr_excludes:
        c["stderr_excludes"] = stderr_excludes
    cases.append(c)


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def number_sites(text):
    """(line index, match) of every `key = number` outside comments."""
    sites = []
    for i, line in enumerate(text.split("\n")):
        code = line.split("#", 1)[0]
        for m in NUMBER.finditer(code):
            sites.append((i, m))
    return sites


def replace_site(text, site, value):
    i, m = site
    lines = text.split("\n")
    line = lines[i]
    lines[i] = line[: m.start(3)] + value + line[m.end(3):]
    return "\n".join(lines)


def mutate_numbers(text, rng, count, names=None):
    """`count` distinct (site, value) mutations drawn with `rng`: (label, text)."""
    sites = number_sites(text)
    if names is not None:
        sites = [s for s in sites if s[1].group(1) in names]
    pairs = [(s, v) for s in sites for v in VALUES]
    rng.shuffle(pairs)
    out = []
    for (s, v) in pairs[:count]:
        label = f"l{s[0] + 1}_{s[1].group(1)}_{VALUE_NAMES[v]}"
        out.append((label, replace_site(text, s, v)))
    return sorted(out)


# ---------------------------------------------------------------- a. models
def models(out):
    d = out / "models"
    rng = random.Random(1)
    bases = [MODELS / f"{n}.toml" for n in ("cuba", "coba", "izhikevich2003", "liquid", "nalsm_liquid")]
    bases = [b for b in bases if b.is_file()]
    bad = sorted((DATA / "bad_models").glob("*.toml"))

    def check(name, path, codes=(0, 2), excludes=None):
        case(f"model/{name}", "model", ["check", path], list(codes), excludes)

    # Number mutations: ~22 per shipped model, 2 per bad model (about 150).
    for b in bases:
        text = b.read_text()
        for label, t in mutate_numbers(text, rng, 22):
            check(f"{b.stem}/{label}", write(d / b.stem / f"{label}.toml", t))
    for b in bad:
        text = b.read_text()
        for label, t in mutate_numbers(text, rng, 2):
            check(f"bad_{b.stem}/{label}", write(d / f"bad_{b.stem}" / f"{label}.toml", t))

    for b in bases:
        text = b.read_text()
        lines = text.split("\n")
        raw = text.encode()
        # Deleted lines: four spread over the file.
        for k in range(4):
            i = (k * 2 + 1) * len(lines) // 8
            t = "\n".join(lines[:i] + lines[i + 1:])
            check(f"{b.stem}/del_line{i + 1}", write(d / b.stem / f"del_line{i + 1}.toml", t))
        # A [[table]] header twice: an empty entry, then the whole entry twice.
        heads = [i for i, l in enumerate(lines) if l.startswith("[[")]
        if heads:
            i = heads[0]
            t = "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
            check(f"{b.stem}/dup_header", write(d / b.stem / "dup_header.toml", t))
            end = next((j for j in heads if j > i), len(lines))
            t = "\n".join(lines[:end] + lines[i:end] + lines[end:])
            check(f"{b.stem}/dup_table", write(d / b.stem / "dup_table.toml", t))
        # Truncations.
        for frac in (1, 10, 33, 50, 90, 99):
            n = len(raw) * frac // 100
            check(f"{b.stem}/trunc{frac}", write(d / b.stem / f"trunc{frac}.toml", raw[:n]))
        # Invalid UTF-8: in a comment, in a string, a lone lead byte at the end.
        check(f"{b.stem}/utf8_comment", write(d / b.stem / "utf8_comment.toml", b"# \xff\xfe\n" + raw))
        q = raw.index(b'"') + 1
        check(f"{b.stem}/utf8_string", write(d / b.stem / "utf8_string.toml", raw[:q] + b"\xc3\x28" + raw[q:]))
        check(f"{b.stem}/utf8_tail", write(d / b.stem / "utf8_tail.toml", raw + b"\xc3"))
        check(f"{b.stem}/bom", write(d / b.stem / "bom.toml", b"\xef\xbb\xbf" + raw))
        check(f"{b.stem}/nul", write(d / b.stem / "nul.toml", raw[: len(raw) // 2] + b"\0" + raw[len(raw) // 2:]))

    check("empty_0_bytes", write(d / "empty.toml", b""))
    check("only_comments", write(d / "comments.toml", "# nothing\n\n   \n"))
    check("only_name", write(d / "only_name.toml", 'name = "x"\n'))
    (d / "a_directory.toml").mkdir(parents=True, exist_ok=True)
    check("directory", d / "a_directory.toml", [2])
    check("missing_file", d / "no_such_file.toml", [2])
    # A device must be refused, not read until memory runs out.
    # Under the test's memory cap, reading /dev/zero to the end fails with "out
    # of memory" after seconds; without the cap the kernel kills the process.
    check("dev_zero", "/dev/zero", [2], ["out of memory"])
    check("dev_null", "/dev/null", [2])
    # A FIFO with no writer: opening it blocks forever unless refused first.
    os.mkfifo(d / "fifo.toml")
    check("fifo", d / "fifo.toml", [2])
    # 1000 nested arrays / inline tables: the parser must not overflow its stack.
    check("deep_arrays", write(d / "deep_arrays.toml", "x = " + "[" * 1000 + "]" * 1000 + "\n"))
    check("deep_tables", write(d / "deep_tables.toml", "x = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n"))
    # A 20 MB string value.
    check("huge_string", write(d / "huge_string.toml", 'name = "' + "a" * 20_000_000 + '"\n'))


# ----------------------------------------------------------- b. experiments
QUICK_LSM = """name = "quick_lsm"
model = "liquid.toml"
seed = 1
batch = 8

[data]
source = "digits"
test_fraction = 0.2
val_fraction = 0.2
max_train = 30
max_test = 10

[input]
population = "input"
encoding = "nalsm_rate"
sample_ms = 20.0

[features]
populations = ["exc", "inh"]

[readout]
kind = "softmax"
normalisation = "nalsm"
epochs = 5
batch_size = 10
"""


def quick_continual():
    """models/continual_digits.toml with every size cut down (~0.1 s)."""
    t = (MODELS / "continual_digits.toml").read_text()
    for a, b in [
        ("count = 3", "count = 2"),
        ("epochs = 2\n", "epochs = 1\ntrain_samples = 30\ntest_samples = 10\n"),
        ("sample_ms = 40.0", "sample_ms = 20.0"),
        ("hidden = [200]", "hidden = [20]"),
        ("initial = [30, 40]", "initial = [10, 5]"),
        ("growth = [15, 40]", "growth = [5, 5]"),
        ("samples = 1000", "samples = 20"),
        ("epochs = 60", "epochs = 2"),
        ("batch = 50", "batch = 10"),
    ]:
        assert a in t, a
        t = t.replace(a, b, 1)
    return t


# Counts of work: values like 4294967296 there ask for a long valid run, not
# a malformed one, so only the small and non-numeric replacements are used.
WORK_KEYS = {"epochs", "max_train", "max_test", "sample_ms", "samples", "train_samples",
             "test_samples", "count", "batch", "batch_size", "duration_ms", "size",
             "hidden", "iterations", "initial", "growth"}
BIG = {"1e300", "4294967296", "18446744073709551616", "inf"}


def work_safe(pairs):
    return [(l, t) for (l, t) in pairs
            if not (l.split("_", 1)[1].rsplit("_", 1)[0] in WORK_KEYS
                    and l.rsplit("_", 1)[1] in {VALUE_NAMES[v] for v in BIG})]


def experiments(out):
    d = out / "experiments"
    rng = random.Random(2)
    liquid = (MODELS / "digits_liquid.toml").read_text()
    write(d / "liquid.toml", liquid)

    def exp(name, path, cmd="experiment", codes=(0, 2), excludes=None):
        case(f"{cmd}/{name}", cmd, [cmd, path, "--quiet", "--threads", "1",
                                     "--out", out / "out" / cmd / name], list(codes), excludes)

    exp("valid", write(d / "valid.toml", QUICK_LSM), codes=[0])
    # Experiment fields (all sites, then sampled), then the liquid's.
    pairs = work_safe(mutate_numbers(QUICK_LSM, rng, 10_000))
    rng.shuffle(pairs)
    for label, t in sorted(pairs[:28]):
        exp(label, write(d / f"{label}.toml", t))
    pairs = work_safe(mutate_numbers(liquid, rng, 10_000))
    rng.shuffle(pairs)
    for label, t in sorted(pairs[:8]):
        write(d / f"liquid_{label}.toml", t)
        t = QUICK_LSM.replace('"liquid.toml"', f'"liquid_{label}.toml"')
        exp(f"liquid_{label}", write(d / f"with_liquid_{label}.toml", t))
    lines = QUICK_LSM.split("\n")
    for i in (1, 5, 12, 17, 20):
        exp(f"del_line{i + 1}", write(d / f"del_line{i + 1}.toml", "\n".join(lines[:i] + lines[i + 1:])))
    for a, b, label in [
        ('"liquid.toml"', '"no_such_liquid.toml"', "missing_model"),
        ('"liquid.toml"', '"."', "model_is_dir"),
        ('"liquid.toml"', '"/dev/zero"', "model_dev_zero"),
        ('"liquid.toml"', '"valid.toml"', "model_is_experiment"),
        ('population = "input"', 'population = "exc"', "input_not_source"),
        ('population = "input"', 'population = "nope"', "input_unknown"),
        ('["exc", "inh"]', "[]", "no_features"),
        ('["exc", "inh"]', '["nope"]', "feature_unknown"),
        ('"digits"', '"nmnist"', "nmnist_no_path"),
        ('source = "digits"', 'source = "digits"\npath = "no_such_dir"', "digits_missing_path"),
        ('"nalsm_rate"', '"events"', "events_on_images"),
    ]:
        exp(label, write(d / f"{label}.toml", QUICK_LSM.replace(a, b, 1)),
            excludes=["out of memory"] if "dev_zero" in label else None)
    exp("trunc50", write(d / "trunc50.toml", QUICK_LSM[: len(QUICK_LSM) // 2]))

    cont = quick_continual()
    exp("valid", write(d / "continual" / "valid.toml", cont), "continual", [0])
    pairs = work_safe(mutate_numbers(cont, rng, 10_000))
    rng.shuffle(pairs)
    for label, t in sorted(pairs[:17]):
        exp(label, write(d / "continual" / f"{label}.toml", t), "continual")
    exp("trunc50", write(d / "continual" / "trunc50.toml", cont[: len(cont) // 2]), "continual")
    exp("no_hlop", write(d / "continual" / "no_hlop.toml", cont.split("[hlop]")[0]), "continual")
    exp("idx_no_path", write(d / "continual" / "idx_no_path.toml", cont.replace('"digits"', '"idx"')), "continual")


# ------------------------------------------------- shared by c, d and f
def tiny_model(channels):
    """A spike source of `channels` onto 30 LIF neurons, fixed in-degree 20."""
    return f"""dt_ms = 1.0
duration_ms = 10.0
seed = 1

[[populations]]
name = "stim"
size = {channels}
spike_source = {{}}

[[populations]]
name = "liq"
size = 30
lif = {{ tau_m_ms = 20.0, v_th_mv = -55.0, v_reset_mv = -65.0 }}

[[projections]]
from = "stim"
to = "liq"
connect = {{ fixed_indegree = {{ k = {min(20, channels)} }} }}
weight = 300.0
"""


def data_experiment(source, model, encoding, sample_ms, skip_bad=False):
    return f"""name = "{source}_case"
model = "{model}"
seed = 1
batch = 4

[data]
source = "{source}"
path = "."
val_fraction = 0.3
skip_bad = {"true" if skip_bad else "false"}

[input]
population = "stim"
encoding = "{encoding}"
sample_ms = {sample_ms}

[features]
populations = ["liq"]

[readout]
kind = "ridge"
"""


# ---------------------------------------------------------------- c. N-MNIST
def nmnist(out):
    d = out / "nmnist"
    write(d / "tiny.toml", tiny_model(2312))
    rec = (DATA / "nmnist" / "tonic_sample_nmnist.bin").read_bytes()
    # Six training and two test files: prefixes of the real recording.
    files = {}
    for k in range(8):
        split = "Train" if k < 6 else "Test"
        files[f"{split}/{k % 2}/{k:05}.bin"] = rec[: 5 * (200 + 50 * k)]
    victim = "Train/1/00003.bin"
    good = files[victim]

    def tree(name, change=None, skip_bad=False, codes=(0, 2), extra=None):
        root = d / name
        for rel, data in files.items():
            write(root / rel, data)
        if change is not None:
            write(root / victim, change)
        if extra:
            extra(root)
        exp = write(root / "exp.toml", data_experiment("nmnist", "../tiny.toml", "events", 10.0, skip_bad))
        case(f"nmnist/{name}", "nmnist", ["experiment", exp, "--quiet", "--threads", "1",
                                           "--out", out / "out" / "nmnist" / name], list(codes))

    tree("valid", codes=[0])
    for n in (0, 1, 4, 5, 7):
        tree(f"trunc_to_{n}", good[:n])
        tree(f"trunc_by_{n}", good[: len(good) - n] if n else good)
    tree("trunc_half", good[: len(good) // 2])
    for off in (0, 1, 2, 3, 4, 7, 8, 502, len(good) - 1):
        for bit in (0x80, 0x01):
            b = bytearray(good)
            b[off] ^= bit
            tree(f"flip_{off}_{bit:02x}", bytes(b))
    tree("all_ff", b"\xff" * len(good))
    tree("all_00", b"\x00" * len(good))
    tree("append_1", good + b"\x00")
    tree("append_ff5", good + b"\xff" * 5)
    tree("append_junk", good + bytes(random.Random(3).randrange(256) for _ in range(1003)))
    # 2 MB of events at one timestamp (all within the first ms).
    tree("many_events", good[:5] * 400_000)

    def dir_as_bin(root):
        (root / "Train/2/fake.bin").mkdir(parents=True, exist_ok=True)

    def bad_class(root):
        write(root / "Train/x/00099.bin", good)

    def class_10(root):
        write(root / "Train/10/00099.bin", good)

    def no_test(root):
        shutil.rmtree(root / "Test")

    tree("dir_named_bin", extra=dir_as_bin)
    tree("class_not_digit", extra=bad_class)
    tree("class_10", extra=class_10)
    tree("no_test_split", extra=no_test)
    # A truncated file is skipped with a warning when skip_bad is set.
    tree("skip_bad_truncated", good[:7], skip_bad=True, codes=[0])


# -------------------------------------------------------------------- d. IDX
def idx_bytes(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", x) for x in dims) + payload


def idx(out):
    d = out / "idx"
    write(d / "tiny.toml", tiny_model(16))
    rng = random.Random(4)
    img = {n: bytes(rng.randrange(256) for _ in range(n * 16)) for n in (20, 10)}
    lab = {n: bytes(k % 10 for k in range(n)) for n in (20, 10)}
    base = {
        "train-images-idx3-ubyte": idx_bytes(8, [20, 4, 4], img[20]),
        "train-labels-idx1-ubyte": idx_bytes(8, [20], lab[20]),
        "t10k-images-idx3-ubyte": idx_bytes(8, [10, 4, 4], img[10]),
        "t10k-labels-idx1-ubyte": idx_bytes(8, [10], lab[10]),
    }
    ti, tl = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"

    def tree(name, changes=None, codes=(0, 2), gz=()):
        root = d / name
        files = dict(base)
        files.update(changes or {})
        for fname, data in files.items():
            if data is None:
                continue
            if fname in gz:
                data = gzip.compress(data, mtime=0)
                fname += ".gz"
            write(root / fname, data)
        exp = write(root / "exp.toml", data_experiment("idx", "../tiny.toml", "nalsm_rate", 10.0))
        case(f"idx/{name}", "idx", ["experiment", exp, "--quiet", "--threads", "1",
                                     "--out", out / "out" / "idx" / name], list(codes))

    good = base[ti]
    tree("valid", codes=[0])
    tree("valid_gz", gz=(ti, tl), codes=[0])
    tree("bad_magic", {ti: b"\x01\x02" + good[2:]})
    tree("bad_magic_gzip_like", {ti: b"\x1f\x8b" + good[2:]})
    tree("type_0a", {ti: good[:2] + b"\x0a" + good[3:]})
    tree("type_f32", {ti: good[:2] + b"\x0d" + good[3:]})
    tree("type_f64_labels", {tl: base[tl][:2] + b"\x0e" + base[tl][3:]})
    tree("zero_dims", {ti: idx_bytes(8, [], img[20])})
    tree("ndim_255", {ti: good[:3] + b"\xff" + good[4:]})
    tree("dims_overflow", {ti: idx_bytes(8, [0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF], img[20])})
    tree("dims_overflow_zero_items", {ti: idx_bytes(8, [0, 0xFFFFFFFF, 0xFFFFFFFF], b"")})
    tree("items_huge", {ti: idx_bytes(8, [0xFFFFFFFF, 4, 4], img[20])})
    tree("labels_huge", {tl: idx_bytes(8, [0xFFFFFFFF], lab[20])})
    tree("image_huge", {ti: idx_bytes(8, [20, 65536, 65536], img[20])})
    tree("zero_items", {ti: idx_bytes(8, [0, 4, 4], b""), tl: idx_bytes(8, [0], b"")})
    tree("zero_rows", {ti: idx_bytes(8, [20, 0, 4], b"")})
    for n in (0, 2, 3, 4, 7, 15):
        tree(f"trunc_header_{n}", {ti: good[:n]})
    tree("trunc_data_1", {ti: good[:-1]})
    tree("trunc_data_half", {ti: good[: 16 + len(img[20]) // 2]})
    tree("trailing_bytes", {ti: good + b"\0\0\0"})
    tree("count_mismatch", {tl: idx_bytes(8, [19], lab[20][:19])})
    tree("label_out_of_range", {tl: idx_bytes(8, [20], b"\x0a" + lab[20][1:])})
    tree("labels_2d", {tl: idx_bytes(8, [10, 2], lab[20])})
    tree("missing_labels", {tl: None})
    tree("test_shape_differs", {"t10k-images-idx3-ubyte": idx_bytes(8, [10, 2, 8], img[10])})
    gzd = gzip.compress(good, mtime=0)
    crc = bytearray(gzd)
    crc[-8] ^= 0xFF
    deflate = bytearray(gzd)
    deflate[12] ^= 0x55
    for name, data in [
        ("gz_truncated", gzd[: len(gzd) // 2]),
        ("gz_header_only", gzd[:10]),
        ("gz_magic_only", gzd[:2]),
        ("gz_bad_crc", bytes(crc)),
        ("gz_bad_deflate", bytes(deflate)),
        ("gz_trailing_junk", gzd + b"junk"),
        ("gz_of_truncated", gzip.compress(good[:-5], mtime=0)),
        # 100 MB of zeros in 100 kB: a bomb whose header claims 2^32 images.
        ("gz_bomb", gzip.compress(idx_bytes(8, [0xFFFFFFFF, 4, 4], b"\0" * 100_000_000), mtime=0, compresslevel=9)),
    ]:
        root = d / name
        tree(name, {ti: None, ti + ".gz": data})


# -------------------------------------------------------------------- e. NIR
def nir(out):
    d = out / "nir"
    for f in sorted((DATA / "nir").glob("*.nir")):
        raw = f.read_bytes()
        # Inside the superblock, at its end, then spread to the last byte. No bit
        # flips: libhdf5 itself can hang on some corrupted files (upstream issue).
        for n in sorted({0, 8, 200, len(raw) // 4, len(raw) // 2, len(raw) - 1}):
            p = write(d / f"{f.stem}_{n}.nir", raw[:n])
            case(f"nir/{f.stem}/trunc{n}", "nir",
                 ["nir", "import", p, "--out", out / "out" / "nir" / f"{f.stem}_{n}.toml"], [2])


# ----------------------------------------------------------------- f. SHD
def shd(out):
    d = out / "shd"
    write(d / "tiny.toml", tiny_model(700))
    raw = (DATA / "shd_like" / "lauscher_spoken_digit_shd_layout.h5").read_bytes()

    def tree(name, train, test, codes=(0, 2)):
        root = d / name
        write(root / "shd_train.h5", train)
        write(root / "shd_test.h5", test)
        exp = write(root / "exp.toml", data_experiment("shd", "../tiny.toml", "events", 10.0))
        case(f"shd/{name}", "shd", ["experiment", exp, "--quiet", "--threads", "1",
                                     "--out", out / "out" / "shd" / name], list(codes))

    # The file's labels are 65535 ("unknown"): even the whole file may be refused.
    tree("whole", raw, raw)
    for n in sorted({0, 8, 512, len(raw) // 4, len(raw) // 2, 3 * len(raw) // 4, len(raw) - 1}):
        tree(f"train_trunc{n}", raw[:n], raw, [2])
    for n in (len(raw) // 2, len(raw) - 1):
        tree(f"test_trunc{n}", raw, raw[:n], [2])


# -------------------------------------------------------------------- g. CLI
def cli(out):
    d = out / "cli"
    cuba = MODELS / "cuba.toml"
    tiny = write(d / "tiny.toml", tiny_model(10).replace("fixed_indegree = { k = 20 }", "fixed_indegree = { k = 5 }"))
    regular = write(d / "regular_file", "not a directory\n")
    long_path = d / (("x" * 250 + "/") * 17 + "out")
    long_name = d / ("y" * 300)
    (d / "a_dir.toml").mkdir(parents=True, exist_ok=True)
    quick = ["--quiet", "--no-plot", "--no-hdf5"]

    def c(name, args, codes=(2,), excludes=None):
        case(f"cli/{name}", "cli", args, list(codes), excludes)

    def o(name):
        return ["--out", out / "out" / "cli" / name]

    for v in ("-5", "nan", "inf", "1e300", "-0", "0"):
        c(f"run_duration_{v}", ["run", tiny, f"--duration-ms={v}"] + quick + o(f"run_duration_{v}"),
          (0, 2) if v in ("-0", "0") else (2,))
    for v in ("-5", "nan", "inf", "1e300"):
        c(f"compare_duration_{v}", ["compare", tiny, "--projection", "all", "--rules",
                                    MODELS / "compare_song.toml", f"--duration-ms={v}", "--quiet"] + o(f"cmp_{v}"))
        c(f"fixed_point_duration_{v}", ["fixed-point", tiny, f"--duration-ms={v}"] + o(f"fp_{v}"))
        c(f"nir_import_duration_{v}", ["nir", "import", DATA / "nir" / "lif_norse.nir",
                                       f"--duration-ms={v}", "--out", d / f"nir_{v}.toml"])
        # dt 1e300 is finite and positive: a model of zero steps, not malformed.
        c(f"nir_import_dt_{v}", ["nir", "import", DATA / "nir" / "lif_norse.nir",
                                 f"--dt-ms={v}", "--out", d / f"nirdt_{v}.toml"],
          (0, 2) if v == "1e300" else (2,))
    c("run_threads_0", ["run", tiny, "--threads", "0", "--duration-ms", "5"] + quick + o("t0"))
    c("run_threads_neg", ["run", tiny, "--threads=-1"] + quick + o("tneg"))
    c("experiment_threads_0", ["experiment", MODELS / "digits_lsm.toml", "--threads", "0", "--quiet"] + o("et0"))
    c("continual_threads_0", ["continual", MODELS / "continual_digits.toml", "--threads", "0", "--quiet"] + o("ct0"))
    c("run_seed_neg", ["run", tiny, "--seed", "-1"] + quick + o("sneg"))
    c("run_seed_abc", ["run", tiny, "--seed", "abc"] + quick + o("sabc"))
    c("check_seed_2p64", ["check", tiny, "--seed", "18446744073709551616"])
    c("continual_seed_abc", ["continual", MODELS / "continual_digits.toml", "--seed", "abc"])
    c("run_backend_foo", ["run", tiny, "--backend", "foo"] + quick + o("bfoo"))
    c("experiment_backend_foo", ["experiment", MODELS / "digits_lsm.toml", "--backend", "foo"])
    c("run_out_below_file", ["run", tiny, "--duration-ms", "5"] + quick + ["--out", regular / "x"])
    c("run_out_is_file", ["run", tiny, "--duration-ms", "5"] + quick + ["--out", regular])
    c("run_out_too_long", ["run", tiny, "--duration-ms", "5"] + quick + ["--out", long_path])
    c("run_out_name_too_long", ["run", tiny, "--duration-ms", "5"] + quick + ["--out", long_name])
    c("fixed_point_out_is_file", ["fixed-point", tiny, "--duration-ms", "5", "--out", regular])
    c("compare_out_is_file", ["compare", tiny, "--projection", "all", "--rules",
                              MODELS / "compare_song.toml", "--duration-ms", "5", "--quiet", "--out", regular])
    c("experiment_out_is_file", ["experiment", MODELS / "digits_lsm.toml", "--quiet", "--out", regular])
    c("continual_out_below_file", ["continual", MODELS / "continual_digits.toml", "--quiet", "--out", regular / "x"])
    c("nir_import_out_below_file", ["nir", "import", DATA / "nir" / "lif_norse.nir", "--out", regular / "x.toml"])
    c("nir_import_out_too_long", ["nir", "import", DATA / "nir" / "lif_norse.nir", "--out", long_path])
    c("nir_export_out_below_file", ["nir", "export", tiny, regular / "x.nir"])
    c("nir_export_out_is_dir", ["nir", "export", tiny, d])
    c("nir_export_out_too_long", ["nir", "export", tiny, long_path])
    c("check_max_memory_0", ["check", cuba, "--max-memory", "0"])
    c("check_max_memory_abc", ["check", cuba, "--max-memory", "abc"])
    c("check_max_memory_neg", ["check", cuba, "--max-memory=-1G"])
    c("check_max_memory_2p64", ["check", cuba, "--max-memory", "18446744073709551616"])
    c("check_max_memory_huge_unit", ["check", cuba, "--max-memory", "99999999999999999T"])
    c("check_max_memory_1", ["check", cuba, "--max-memory=1"])
    c("fixed_point_bits_99", ["fixed-point", tiny, "--bits", "99", "--duration-ms", "5"] + o("fp99"))
    c("fixed_point_bits_empty", ["fixed-point", tiny, "--bits", "", "--duration-ms", "5"] + o("fpe"))
    c("fixed_point_weight_bits_0", ["fixed-point", tiny, "--weight-bits", "0", "--duration-ms", "5"] + o("fpw"))
    c("fixed_point_seeds_empty", ["fixed-point", tiny, "--seeds", ",", "--duration-ms", "5"] + o("fps"))
    c("run_fixed_point_99", ["run", tiny, "--fixed-point", "99", "--duration-ms", "5"] + quick + o("rfp"))
    c("run_batch_0", ["run", tiny, "--batch", "0", "--duration-ms", "5"] + quick + o("b0"))
    c("run_batch_huge", ["run", tiny, "--batch", "4294967296", "--duration-ms", "5"] + quick + o("bh"))
    c("run_instance_seeds_bad", ["run", tiny, "--instance-seeds", "1,,x", "--duration-ms", "5"] + quick + o("is"))
    for cmd in ("run", "check", "fixed-point", "fit", "nir export"):
        extra = ["--target", "loihi2"] if cmd == "fit" else []
        tail = [d / "x.nir"] if cmd == "nir export" else []
        c(f"{cmd.replace(' ', '_')}_missing_model", cmd.split() + [d / "no_such.toml"] + tail + extra)
        c(f"{cmd.replace(' ', '_')}_dir_model", cmd.split() + [d / "a_dir.toml"] + tail + extra)
    c("experiment_missing", ["experiment", d / "no_such.toml"])
    c("experiment_dir", ["experiment", d / "a_dir.toml"])
    c("continual_dir", ["continual", d / "a_dir.toml"])
    c("experiment_data_missing", ["experiment", MODELS / "digits_lsm.toml", "--data", d / "no_such_dir", "--quiet"] + o("edm"))
    c("continual_data_is_file", ["continual", MODELS / "continual_digits.toml", "--data", regular, "--quiet"] + o("cdf"))
    c("nir_import_missing", ["nir", "import", d / "no_such.nir", "--out", d / "x.toml"])
    c("nir_import_dir", ["nir", "import", d, "--out", d / "x.toml"])
    c("nir_import_toml", ["nir", "import", tiny, "--out", d / "x.toml"])
    c("nir_import_dev_zero", ["nir", "import", "/dev/zero", "--out", d / "x.toml"], excludes=["out of memory"])
    c("compare_rules_missing", ["compare", tiny, "--projection", "all", "--rules", d / "no_rules.toml"])
    c("compare_rules_is_model", ["compare", tiny, "--projection", "all", "--rules", tiny, "--quiet"] + o("crm"))
    c("compare_projection_unknown", ["compare", tiny, "--projection", "nope", "--rules",
                                     MODELS / "compare_song.toml", "--duration-ms", "5", "--quiet"] + o("cpu"))
    c("fit_target_foo", ["fit", tiny, "--target", "foo"])
    c("unknown_subcommand", ["frobnicate"])
    c("unknown_flag", ["check", tiny, "--frobnicate"])
    c("models_nosuchmodel", ["models", "nosuchmodel"])
    c("models_empty_key", ["models", ""])
    c("devices_extra_arg", ["devices", "extra"])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: malformed_corpus.py OUT_DIR")
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for part in (models, experiments, nmnist, idx, nir, shd, cli):
        part(out)
    (out / "out").mkdir(exist_ok=True)
    (out / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    counts = {}
    for c in cases:
        counts[c["class"]] = counts.get(c["class"], 0) + 1
    print(f"{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
