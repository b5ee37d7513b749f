//! The IDX format of MNIST and Fashion-MNIST: reading (plain or gzipped, told
//! apart by the gzip magic bytes), reading one item at a time, and atomic writing.
//!
//! An IDX file is a 4-byte magic number `00 00 <type> <ndim>`, then `ndim`
//! big-endian `u32` dimensions, then the values, big-endian, row-major. Type codes:
//! `0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64.
//! A malformed header or body is an [`Error::Data`] with the byte offset of
//! the problem (in the decompressed data of a gzipped file).
use crate::error::{Error, Result};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Element type of an IDX file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdxType {
    /// Unsigned byte, code `0x08`.
    U8,
    /// Signed byte, code `0x09`.
    I8,
    /// Big-endian i16, code `0x0B`.
    I16,
    /// Big-endian i32, code `0x0C`.
    I32,
    /// Big-endian f32, code `0x0D`.
    F32,
    /// Big-endian f64, code `0x0E`.
    F64,
}

impl IdxType {
    /// The type code in the magic number.
    pub fn code(self) -> u8 {
        match self {
            IdxType::U8 => 0x08,
            IdxType::I8 => 0x09,
            IdxType::I16 => 0x0B,
            IdxType::I32 => 0x0C,
            IdxType::F32 => 0x0D,
            IdxType::F64 => 0x0E,
        }
    }

    /// The type with code `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        [
            Self::U8,
            Self::I8,
            Self::I16,
            Self::I32,
            Self::F32,
            Self::F64,
        ]
        .into_iter()
        .find(|t| t.code() == code)
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }
}

/// Values of one element type.
#[derive(Debug, Clone, PartialEq)]
pub enum IdxData {
    /// `0x08`.
    U8(Vec<u8>),
    /// `0x09`.
    I8(Vec<i8>),
    /// `0x0B`.
    I16(Vec<i16>),
    /// `0x0C`.
    I32(Vec<i32>),
    /// `0x0D`.
    F32(Vec<f32>),
    /// `0x0E`.
    F64(Vec<f64>),
}

impl IdxData {
    /// The element type.
    pub fn dtype(&self) -> IdxType {
        match self {
            IdxData::U8(_) => IdxType::U8,
            IdxData::I8(_) => IdxType::I8,
            IdxData::I16(_) => IdxType::I16,
            IdxData::I32(_) => IdxType::I32,
            IdxData::F32(_) => IdxType::F32,
            IdxData::F64(_) => IdxType::F64,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as `f32` (unscaled; `f64` and `i32` round).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            IdxData::U8(v) => v.iter().map(|&x| x.into()).collect(),
            IdxData::I8(v) => v.iter().map(|&x| x.into()).collect(),
            IdxData::I16(v) => v.iter().map(|&x| x.into()).collect(),
            IdxData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::F32(v) => v.clone(),
            IdxData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    fn from_be_bytes(dtype: IdxType, b: &[u8]) -> Self {
        fn conv<const N: usize, T>(b: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
            b.chunks_exact(N)
                .map(|c| f(c.try_into().expect("chunk of N")))
                .collect()
        }
        match dtype {
            IdxType::U8 => IdxData::U8(b.to_vec()),
            IdxType::I8 => IdxData::I8(b.iter().map(|&x| x as i8).collect()),
            IdxType::I16 => IdxData::I16(conv(b, i16::from_be_bytes)),
            IdxType::I32 => IdxData::I32(conv(b, i32::from_be_bytes)),
            IdxType::F32 => IdxData::F32(conv(b, f32::from_be_bytes)),
            IdxType::F64 => IdxData::F64(conv(b, f64::from_be_bytes)),
        }
    }

    fn to_be_bytes(&self) -> Vec<u8> {
        match self {
            IdxData::U8(v) => v.clone(),
            IdxData::I8(v) => v.iter().map(|&x| x as u8).collect(),
            IdxData::I16(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            IdxData::I32(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            IdxData::F32(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
            IdxData::F64(v) => v.iter().flat_map(|x| x.to_be_bytes()).collect(),
        }
    }
}

/// A whole IDX array.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions, outermost first (`[n, rows, cols]` for images).
    pub dims: Vec<usize>,
    /// `dims.iter().product()` values, row-major.
    pub data: IdxData,
}

/// Writes `array` to `path`, gzipped when the name ends in `.gz`. The file is
/// written under a temporary name in the same folder and renamed into place, so a
/// reader never sees a partial file.
///
/// ```
/// use astroglia::data::idx::{read, write, IdxArray, IdxData};
/// let dir = std::env::temp_dir().join(format!("idx-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let a = IdxArray { dims: vec![2, 3], data: IdxData::I16(vec![-1, 2, 300, 4, 5, -32768]) };
/// for name in ["a.idx", "a.idx.gz"] {
///     write(dir.join(name), &a).unwrap();
///     assert_eq!(read(dir.join(name)).unwrap(), a);
/// }
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write(path: impl AsRef<Path>, array: &IdxArray) -> Result<()> {
    let path = path.as_ref();
    let n: Option<usize> = array.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if array.dims.is_empty()
        || array.dims.len() > 255
        || array.dims.iter().any(|&d| d > u32::MAX as usize)
        || n != Some(array.data.len())
    {
        return Err(Error::argument(
            format!("IDX array for {}", path.display()),
            format!(
                "dims {:?} (1 to 255 dimensions, each < 2^32) must hold the {} values given",
                array.dims,
                array.data.len()
            ),
        ));
    }
    let mut bytes = vec![0, 0, array.data.dtype().code(), array.dims.len() as u8];
    for &d in &array.dims {
        bytes.extend((d as u32).to_be_bytes());
    }
    bytes.extend(array.data.to_be_bytes());
    if path.extension().is_some_and(|e| e == "gz") {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes)
            .and_then(|_| enc.finish())
            .map(|gz| bytes = gz)
            .map_err(|e| Error::io(path, e))?;
    }
    write_atomic(path, &bytes)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it to `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::io(path, "not a file name"))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Reads a whole IDX file into memory.
pub fn read(path: impl AsRef<Path>) -> Result<IdxArray> {
    let mut r = IdxReader::open(path)?;
    let bytes = r.read_at(0, r.data_bytes())?;
    r.expect_end()?;
    Ok(IdxArray {
        dims: r.dims.clone(),
        data: IdxData::from_be_bytes(r.dtype, &bytes),
    })
}

/// The byte stream after the header.
enum Source {
    Plain(BufReader<File>),
    /// Decoder, and the data offset it has reached.
    Gz(Box<MultiGzDecoder<BufReader<File>>>, u64),
    /// A gzipped file's data (no header) inflated into an anonymous temporary
    /// file, and its length.
    Inflated(BufReader<File>, u64),
}

/// An open IDX file read one item (outermost index) at a time. Plain files are
/// read by seeking; gzipped files by decompressing forward. The first time an
/// earlier item is asked for, a gzipped file's data is inflated once into an
/// anonymous temporary file (on disk, not in memory) and read by seeking from
/// then on, so random access costs O(item), not O(file).
pub struct IdxReader {
    path: PathBuf,
    dtype: IdxType,
    dims: Vec<usize>,
    header_len: u64,
    source: Source,
}

impl std::fmt::Debug for IdxReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdxReader")
            .field("path", &self.path)
            .field("dtype", &self.dtype)
            .field("dims", &self.dims)
            .finish()
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

impl IdxReader {
    /// Opens `path` and reads its header. For a plain file the length must match
    /// the header exactly; a gzipped file is checked as it is read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (source, header) = Self::start(&path)?;
        let (dtype, dims) = parse_header(&path, &header)?;
        let r = Self {
            header_len: header_len(dims.len()),
            path,
            dtype,
            dims,
            source,
        };
        if let Source::Plain(f) = &r.source {
            let len = f
                .get_ref()
                .metadata()
                .map_err(|e| Error::io(&r.path, e))?
                .len();
            let want = r.header_len + r.data_bytes();
            if len != want {
                let what = if len < want { "truncated" } else { "too long" };
                // Where the file ends early, or where the bytes past the data start.
                return Err(Error::data_at(
                    &r.path,
                    len.min(want),
                    format!(
                        "{what}: the header ({} x {:?}) needs {want} bytes, the file has {len}",
                        type_name(r.dtype),
                        r.dims
                    ),
                ));
            }
        }
        Ok(r)
    }

    /// Opens the stream and reads the magic number and dimensions.
    fn start(path: &Path) -> Result<(Source, Vec<u8>)> {
        let cant = |e: std::io::Error| Error::data(path, format!("cannot read: {e}"));
        let mut f = BufReader::new(File::open(path).map_err(cant)?);
        let mut magic = [0u8; 2];
        let n = read_full(&mut f, &mut magic).map_err(cant)?;
        f.seek(SeekFrom::Start(0)).map_err(cant)?;
        let mut source = if n == 2 && magic == GZIP_MAGIC {
            Source::Gz(Box::new(MultiGzDecoder::new(f)), 0)
        } else {
            Source::Plain(f)
        };
        let stream: &mut dyn Read = match &mut source {
            Source::Plain(f) | Source::Inflated(f, _) => f,
            Source::Gz(d, _) => d.as_mut(),
        };
        let gz_err = |e: std::io::Error| Error::data(path, format!("corrupt gzip data: {e}"));
        let mut header = vec![0u8; 4];
        let got = read_full(stream, &mut header).map_err(gz_err)?;
        if got == 4 && header[0] == 0 && header[1] == 0 {
            header.resize(header_len(header[3] as usize) as usize, 0);
            let more = read_full(stream, &mut header[4..]).map_err(gz_err)?;
            header.truncate(4 + more);
        } else {
            header.truncate(got);
        }
        Ok((source, header))
    }

    /// Switches a gzipped source to an inflated temporary copy of its data.
    fn inflate(&mut self) -> Result<()> {
        let path = &self.path;
        let gz = |e: std::io::Error| Error::data(path, format!("corrupt gzip data: {e}"));
        let tmp = |e: std::io::Error| {
            Error::data(path, format!("cannot inflate into a temporary file: {e}"))
        };
        let (mut source, _) = Self::start(path)?;
        let Source::Gz(d, _) = &mut source else {
            return Ok(());
        };
        let mut file = std::io::BufWriter::new(tempfile::tempfile().map_err(tmp)?);
        let mut stream = d.as_mut().take(self.data_bytes());
        let mut chunk = vec![0u8; 1 << 16];
        let mut got = 0u64;
        loop {
            let n = match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(gz(e)),
            };
            file.write_all(&chunk[..n]).map_err(tmp)?;
            got += n as u64;
        }
        let file = file.into_inner().map_err(|e| tmp(e.into_error()))?;
        self.source = Source::Inflated(BufReader::new(file), got);
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Element type.
    pub fn dtype(&self) -> IdxType {
        self.dtype
    }

    /// All dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Number of items (the outermost dimension).
    pub fn len(&self) -> usize {
        self.dims[0]
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per item (the product of the inner dimensions).
    pub fn item_values(&self) -> usize {
        self.dims[1..].iter().product()
    }

    fn data_bytes(&self) -> u64 {
        (self.len() * self.item_values() * self.dtype.size()) as u64
    }

    /// Item `i` (`i < len()`).
    pub fn item(&mut self, i: usize) -> Result<IdxData> {
        if i >= self.len() {
            return Err(super::index_error(&self.path, i, self.len()));
        }
        let len = (self.item_values() * self.dtype.size()) as u64;
        let bytes = self.read_at(i as u64 * len, len)?;
        Ok(IdxData::from_be_bytes(self.dtype, &bytes))
    }

    /// `len` data bytes from data offset `at`. Gzipped data is collected as it
    /// arrives, so a header that overstates the data allocates no more than the
    /// data holds.
    fn read_at(&mut self, at: u64, len: u64) -> Result<Vec<u8>> {
        if matches!(self.source, Source::Gz(_, pos) if pos > at) {
            self.inflate()?;
        }
        let path = &self.path;
        let header = self.header_len;
        let mut buf = Vec::new();
        let end = match &mut self.source {
            Source::Plain(f) => {
                // The file length was checked against the header at open.
                let io = |e: std::io::Error| Error::data(path, format!("cannot read: {e}"));
                buf = vec![0; len as usize];
                f.seek(SeekFrom::Start(header + at)).map_err(io)?;
                at + read_full(f, &mut buf).map_err(io)? as u64
            }
            Source::Inflated(f, data_len) => {
                let io = |e: std::io::Error| Error::data(path, format!("cannot read: {e}"));
                let n = len.min(data_len.saturating_sub(at));
                buf = vec![0; n as usize];
                f.seek(SeekFrom::Start(at)).map_err(io)?;
                at + read_full(f, &mut buf).map_err(io)? as u64
            }
            Source::Gz(d, pos) => {
                let gz = |e: std::io::Error| Error::data(path, format!("corrupt gzip data: {e}"));
                let skip = at - *pos;
                *pos +=
                    std::io::copy(&mut d.as_mut().take(skip), &mut std::io::sink()).map_err(gz)?;
                if *pos == at {
                    *pos += d.as_mut().take(len).read_to_end(&mut buf).map_err(gz)? as u64;
                }
                *pos
            }
        };
        if end < at + len {
            return Err(Error::data_at(
                &self.path,
                header + end,
                format!(
                    "truncated: the header ({} x {:?}) needs {} data bytes, the data ends after {end}",
                    type_name(self.dtype),
                    self.dims,
                    self.data_bytes()
                ),
            ));
        }
        Ok(buf)
    }

    /// After reading all data: checks that nothing follows it.
    fn expect_end(&mut self) -> Result<()> {
        if let Source::Gz(d, _) = &mut self.source {
            let mut extra = [0u8; 1];
            let n = read_full(d.as_mut(), &mut extra)
                .map_err(|e| Error::data(&self.path, format!("corrupt gzip data: {e}")))?;
            if n > 0 {
                return Err(Error::data_at(
                    &self.path,
                    self.header_len + self.data_bytes(),
                    format!(
                        "too long: bytes follow the {} data bytes the header ({} x {:?}) needs",
                        self.data_bytes(),
                        type_name(self.dtype),
                        self.dims
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn header_len(ndim: usize) -> u64 {
    4 + 4 * ndim as u64
}

fn type_name(t: IdxType) -> &'static str {
    match t {
        IdxType::U8 => "u8",
        IdxType::I8 => "i8",
        IdxType::I16 => "i16",
        IdxType::I32 => "i32",
        IdxType::F32 => "f32",
        IdxType::F64 => "f64",
    }
}

/// Checks the magic number and dimensions.
fn parse_header(path: &Path, h: &[u8]) -> Result<(IdxType, Vec<usize>)> {
    let bad = |at: usize, m: String| Error::data_at(path, at as u64, m);
    if h.len() < 4 {
        return Err(bad(
            h.len(),
            format!(
                "truncated: {} bytes, shorter than the 4-byte IDX magic number",
                h.len()
            ),
        ));
    }
    let magic = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let dtype = IdxType::from_code(h[2]);
    let Some(dtype) = dtype.filter(|_| h[0] == 0 && h[1] == 0 && h[3] > 0) else {
        return Err(bad(
            0,
            format!(
                "bad magic number 0x{magic:08X}: IDX files start 00 00, a type code (08 u8, 09 i8, 0B i16, 0C i32, 0D f32, 0E f64) and the number of dimensions (at least 1)"
            ),
        ));
    };
    let ndim = h[3] as usize;
    if (h.len() as u64) < header_len(ndim) {
        return Err(bad(
            h.len(),
            format!(
                "truncated: the header of {ndim} dimensions needs {} bytes, the file has {}",
                header_len(ndim),
                h.len()
            ),
        ));
    }
    let dims: Vec<usize> = h[4..]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // An item's size is bounded on its own: with no items the whole product is 0
    // whatever the inner dimensions.
    let item = dims[1..]
        .iter()
        .try_fold(dtype.size(), |a, &d| a.checked_mul(d));
    let total = item
        .and_then(|item| item.checked_mul(dims[0]))
        .filter(|&t| t <= 1 << 40 && item.is_some_and(|i| i <= 1 << 40));
    if total.is_none() {
        return Err(bad(
            4,
            format!("dims {dims:?} describe more than 2^40 bytes of data"),
        ));
    }
    Ok((dtype, dims))
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
