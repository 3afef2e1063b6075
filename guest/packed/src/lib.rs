//! The byte format of a client batch (WIT `cache.batch-packed`, where it is written down): the
//! tags of requests, results and reply nodes, and a writer and a reader of the values they carry.
//! The component reads requests and writes results, the host writes requests and reads results;
//! both do it with these, so the two halves cannot disagree on a byte.
//!
//! Reading is of untrusted bytes: every read is bounds-checked and a failure says where. The
//! functions are small and marked `#[inline]`, so that each half's loops inline them as if they were
//! its own.

/// The cases of WIT `op`, by position.
pub mod op {
    pub const GET: u8 = 0;
    pub const GET_OR_FAIL: u8 = 1;
    pub const SET: u8 = 2;
    pub const GET_OR_SET: u8 = 3;
    pub const REMOVE: u8 = 4;
    pub const UPDATE_TIMEOUT: u8 = 5;
    pub const MGET: u8 = 6;
    pub const MSET: u8 = 7;
    pub const INCR: u8 = 8;
    pub const EXISTS: u8 = 9;
    pub const CALL: u8 = 10;
    pub const SEND: u8 = 11;
    pub const RECEIVE: u8 = 12;
}

/// The cases of WIT `outcome`, by position, and the tag of a result that is an error.
pub mod outcome {
    pub const VALUE: u8 = 0;
    pub const VALUES: u8 = 1;
    pub const DONE: u8 = 2;
    pub const FLAG: u8 = 3;
    pub const INTEGER: u8 = 4;
    pub const REPLY: u8 = 5;
    /// Followed by the error's kind (its case in WIT `error-kind`) and message.
    pub const ERROR: u8 = 255;
    /// No result: the request may be sent again (WIT `conveyor.abandon`).
    pub const AGAIN: u8 = 254;
}

/// The cases of WIT `node`, by position.
pub mod node {
    pub const NIL: u8 = 0;
    pub const SIMPLE: u8 = 1;
    pub const ERROR: u8 = 2;
    pub const INTEGER: u8 = 3;
    pub const BULK: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const BOOLEAN: u8 = 6;
    pub const BIG_NUMBER: u8 = 7;
    pub const VERBATIM: u8 = 8;
    pub const ARRAY: u8 = 9;
    pub const MAP: u8 = 10;
    pub const SET: u8 = 11;
    pub const PUSH: u8 = 12;
}

/// The cases of WIT `error-kind`, by position.
pub mod error_kind {
    pub const CONNECTION: u8 = 0;
    pub const TIMEOUT: u8 = 1;
    pub const EXHAUSTED: u8 = 2;
    pub const SERVER: u8 = 3;
    pub const NOT_FOUND: u8 = 4;
    pub const PROTOCOL: u8 = 5;
    pub const INVALID: u8 = 6;
}

/// Appends the format's values to a buffer.
pub struct Writer<'a>(pub &'a mut Vec<u8>);

impl Writer<'_> {
    #[inline]
    pub fn u8(&mut self, n: u8) {
        self.0.push(n);
    }

    /// A count or a length: a u32. Nothing longer crosses: the component's memory is 32-bit.
    #[inline]
    pub fn count(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u32).to_le_bytes());
    }

    #[inline]
    pub fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    /// A length and the bytes.
    #[inline]
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    /// A tag and bytes.
    #[inline]
    pub fn tagged(&mut self, tag: u8, bytes: &[u8]) {
        self.u8(tag);
        self.bytes(bytes);
    }

    #[inline]
    pub fn tagged_u8(&mut self, tag: u8, n: u8) {
        self.u8(tag);
        self.u8(n);
    }

    #[inline]
    pub fn tagged_u64(&mut self, tag: u8, n: u64) {
        self.u8(tag);
        self.u64(n);
    }

    /// A tag and a count (of an aggregate's elements).
    #[inline]
    pub fn tagged_count(&mut self, tag: u8, n: u32) {
        self.u8(tag);
        self.count(n as usize);
    }

    /// A tag, a count and that many bytes.
    #[inline]
    pub fn tagged_list(&mut self, tag: u8, items: &[Vec<u8>]) {
        self.tagged_count(tag, items.len() as u32);
        items.iter().for_each(|item| self.bytes(item));
    }

    /// 0 for none, or 1 and the milliseconds.
    #[inline]
    pub fn ttl(&mut self, ttl: Option<u64>) {
        match ttl {
            None => self.u8(0),
            Some(ms) => {
                self.u8(1);
                self.u64(ms);
            }
        }
    }

    /// 0 for none, or 1 and the bytes.
    #[inline]
    pub fn value(&mut self, value: Option<&[u8]>) {
        match value {
            None => self.u8(0),
            Some(bytes) => self.tagged(1, bytes),
        }
    }
}

/// Where bytes stopped reading as the format says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    /// The offset of the first byte that did not make sense, or of the end when they ran out.
    pub at: usize,
    /// How many bytes there were.
    pub len: usize,
}

/// Reads the format's values from bytes, front to back. Each read is `None` when the bytes do
/// not hold it, with [`Reader::malformed`] saying where.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    /// Where the reading stopped making sense, after a read returned `None`.
    #[inline]
    pub fn malformed(&self) -> Malformed {
        Malformed { at: self.at, len: self.bytes.len() }
    }

    /// Whether every byte has been read: bytes after the last value are malformed too.
    #[inline]
    pub fn finished(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// Steps back over the tag just read, so that [`Reader::malformed`] points at it; for a tag
    /// that names no case.
    #[inline]
    pub fn unknown<T>(&mut self) -> Option<T> {
        self.at -= 1;
        None
    }

    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    #[inline]
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// The next byte, left to be read.
    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    #[inline]
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    #[inline]
    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// 0 or 1.
    #[inline]
    pub fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => self.unknown(),
        }
    }

    /// A length and that many bytes, in place.
    #[inline]
    pub fn slice(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    #[inline]
    pub fn bytes(&mut self) -> Option<Vec<u8>> {
        self.slice().map(<[u8]>::to_vec)
    }

    /// Bytes that must be UTF-8.
    #[inline]
    pub fn text(&mut self) -> Option<String> {
        let start = self.at;
        match std::str::from_utf8(self.slice()?) {
            Ok(text) => Some(text.to_owned()),
            Err(_) => {
                self.at = start;
                None
            }
        }
    }

    #[inline]
    pub fn ttl(&mut self) -> Option<Option<u64>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.u64()?)),
            _ => self.unknown(),
        }
    }

    #[inline]
    pub fn value(&mut self) -> Option<Option<Vec<u8>>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.bytes()?)),
            _ => self.unknown(),
        }
    }

    /// A count, then that many of `item`, each taking at least `least` bytes: a count past the
    /// bytes left reserves no more than they could hold.
    #[inline]
    pub fn counted<T>(&mut self, least: usize, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = self.u32()? as usize;
        let mut items = Vec::with_capacity(count.min((self.bytes.len() - self.at) / least.max(1)));
        for _ in 0..count {
            items.push(item(self)?);
        }
        Some(items)
    }

    /// A count and that many bytes.
    #[inline]
    pub fn list(&mut self) -> Option<Vec<Vec<u8>>> {
        self.counted(4, Self::bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let mut buffer = Vec::new();
        let mut writer = Writer(&mut buffer);
        writer.u8(7);
        writer.tagged_u64(3, -2i64 as u64);
        writer.tagged(node::BULK, b"bulk");
        writer.tagged_list(op::CALL, &[b"a".to_vec(), Vec::new()]);
        writer.ttl(None);
        writer.ttl(Some(1500));
        writer.value(None);
        writer.value(Some(b"v"));
        writer.u8(1);
        writer.bytes("ok".as_bytes());
        let mut reader = Reader::new(&buffer);
        assert_eq!(reader.u8(), Some(7));
        assert_eq!((reader.u8(), reader.i64()), (Some(3), Some(-2)));
        assert_eq!((reader.u8(), reader.bytes()), (Some(node::BULK), Some(b"bulk".to_vec())));
        assert_eq!((reader.u8(), reader.list()), (Some(op::CALL), Some(vec![b"a".to_vec(), Vec::new()])));
        assert_eq!((reader.ttl(), reader.ttl()), (Some(None), Some(Some(1500))));
        assert_eq!((reader.value(), reader.value()), (Some(None), Some(Some(b"v".to_vec()))));
        assert_eq!((reader.flag(), reader.text()), (Some(true), Some("ok".to_string())));
        assert!(reader.finished());
    }

    #[test]
    fn a_failed_read_says_where() {
        let mut reader = Reader::new(&[1, 0, 0, 0, 9, 0, 0, 0, b'v']);
        assert_eq!(reader.u32(), Some(1));
        assert_eq!(reader.slice(), None, "a length past the end");
        assert_eq!(reader.malformed(), Malformed { at: 8, len: 9 });

        let mut reader = Reader::new(&[2]);
        assert_eq!(reader.ttl(), None, "no such case");
        assert_eq!(reader.malformed(), Malformed { at: 0, len: 1 });

        let mut reader = Reader::new(&[1, 0, 0, 0, 0xff]);
        assert_eq!(reader.text(), None, "not UTF-8");
        assert_eq!(reader.malformed(), Malformed { at: 0, len: 5 });

        let mut reader = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(reader.list(), None, "a count past the bytes");
        assert_eq!(reader.malformed(), Malformed { at: 4, len: 4 });
    }
}
