//! The host's half of the cache client's batch as bytes (WIT `cache.batch-packed`, where the format
//! is written down): requests written into one list of bytes, results read back from another.
//! The component is sandboxed, not trusted: results that do not read as the format says are an
//! error, never a panic.

use super::client::{CacheError, CacheErrorKind, Node, Op, Outcome};
use anyhow::{Result, bail};

/// The tag of a result that is an error rather than an outcome.
const ERROR: u8 = 255;

/// Writes `ops` into `packed`, emptied first.
pub fn write_ops(packed: &mut Vec<u8>, ops: &[Op]) {
    packed.clear();
    let mut output = Output(packed);
    output.count(ops.len());
    ops.iter().for_each(|op| output.op(op));
}

/// The results of a batch of `expected` requests. A single `invalid` error where more were expected
/// is the component refusing the whole batch, and answers every request.
pub fn read_results(packed: &[u8], expected: usize) -> Result<Vec<Result<Outcome, CacheError>>> {
    let mut input = Input { bytes: packed, at: 0 };
    let Some(mut results) = input.results() else {
        bail!("the client component's packed results ({} bytes) are malformed at byte {}", packed.len(), input.at);
    };
    if results.len() != expected {
        match results.as_slice() {
            [Err(refusal)] if refusal.kind == CacheErrorKind::Invalid => results = vec![Err(refusal.clone()); expected],
            _ => bail!("the client component answered {} results to a batch of {expected}", results.len()),
        }
    }
    Ok(results)
}

struct Output<'a>(&'a mut Vec<u8>);

impl Output<'_> {
    fn u8(&mut self, n: u8) {
        self.0.push(n);
    }

    fn count(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    fn ttl(&mut self, ttl: Option<u64>) {
        match ttl {
            None => self.u8(0),
            Some(ms) => {
                self.u8(1);
                self.0.extend_from_slice(&ms.to_le_bytes());
            }
        }
    }

    fn list(&mut self, items: &[Vec<u8>]) {
        self.count(items.len());
        items.iter().for_each(|item| self.bytes(item));
    }

    fn op(&mut self, op: &Op) {
        match op {
            Op::Get(key) => {
                self.u8(0);
                self.bytes(key);
            }
            Op::GetOrFail(key) => {
                self.u8(1);
                self.bytes(key);
            }
            Op::Set((key, value, ttl)) | Op::GetOrSet((key, value, ttl)) => {
                self.u8(if matches!(op, Op::Set(_)) { 2 } else { 3 });
                self.bytes(key);
                self.bytes(value);
                self.ttl(*ttl);
            }
            Op::Remove(keys) => {
                self.u8(4);
                self.list(keys);
            }
            Op::UpdateTimeout((key, ttl)) => {
                self.u8(5);
                self.bytes(key);
                self.ttl(*ttl);
            }
            Op::Mget(keys) => {
                self.u8(6);
                self.list(keys);
            }
            Op::Mset(pairs) => {
                self.u8(7);
                self.count(pairs.len());
                for (key, value) in pairs {
                    self.bytes(key);
                    self.bytes(value);
                }
            }
            Op::Incr((key, by)) => {
                self.u8(8);
                self.bytes(key);
                self.0.extend_from_slice(&by.to_le_bytes());
            }
            Op::Exists(keys) => {
                self.u8(9);
                self.list(keys);
            }
            Op::Call(args) => {
                self.u8(10);
                self.list(args);
            }
            Op::Send(args) => {
                self.u8(11);
                self.list(args);
            }
            Op::Receive => self.u8(12),
        }
    }
}

struct Input<'a> {
    bytes: &'a [u8],
    /// Where the next read starts; where malformed results went wrong once a read fails.
    at: usize,
}

impl Input<'_> {
    fn results(&mut self) -> Option<Vec<Result<Outcome, CacheError>>> {
        let results = self.counted(1, Self::result)?;
        (self.at == self.bytes.len()).then_some(results)
    }

    fn result(&mut self) -> Option<Result<Outcome, CacheError>> {
        Some(Ok(match self.u8()? {
            0 => Outcome::Value(self.value()?),
            1 => Outcome::Values(self.counted(1, Self::value)?),
            2 => Outcome::Done,
            3 => Outcome::Flag(self.flag()?),
            4 => Outcome::Integer(self.i64()?),
            5 => Outcome::Reply(self.counted(1, Self::node)?),
            ERROR => return Some(Err(CacheError { kind: self.error_kind()?, message: self.text()? })),
            _ => return self.unread(1),
        }))
    }

    fn node(&mut self) -> Option<Node> {
        Some(match self.u8()? {
            0 => Node::Nil,
            1 => Node::Simple(self.text()?),
            2 => Node::Error(self.text()?),
            3 => Node::Integer(self.i64()?),
            4 => Node::Bulk(self.bytes()?),
            5 => Node::Double(f64::from_bits(self.i64()? as u64)),
            6 => Node::Boolean(self.flag()?),
            7 => Node::BigNumber(self.text()?),
            8 => Node::Verbatim((self.text()?, self.bytes()?)),
            9 => Node::Array(self.u32()?),
            10 => Node::Map(self.u32()?),
            11 => Node::Set(self.u32()?),
            12 => Node::Push(self.u32()?),
            _ => return self.unread(1),
        })
    }

    fn error_kind(&mut self) -> Option<CacheErrorKind> {
        Some(match self.u8()? {
            0 => CacheErrorKind::Connection,
            1 => CacheErrorKind::Timeout,
            2 => CacheErrorKind::Exhausted,
            3 => CacheErrorKind::Server,
            4 => CacheErrorKind::NotFound,
            5 => CacheErrorKind::Protocol,
            6 => CacheErrorKind::Invalid,
            _ => return self.unread(1),
        })
    }

    /// Steps back over the `n` bytes just read, so that `at` points at what did not make sense.
    fn unread<T>(&mut self, n: usize) -> Option<T> {
        self.at -= n;
        None
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn flag(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => self.unread(1),
        }
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = self.u32()? as usize;
        Some(self.take(len)?.to_vec())
    }

    fn text(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        let text = std::str::from_utf8(self.take(len)?).ok()?;
        Some(text.to_owned())
    }

    fn value(&mut self) -> Option<Option<Vec<u8>>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.bytes()?)),
            _ => self.unread(1),
        }
    }

    /// A count, then that many of `item`; the count is checked against the bytes left, each item
    /// taking at least `least` bytes.
    fn counted<T>(&mut self, least: usize, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = self.u32()? as usize;
        let mut items = Vec::with_capacity(count.min((self.bytes.len() - self.at) / least));
        for _ in 0..count {
            items.push(item(self)?);
        }
        Some(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_that_do_not_read_as_the_format_are_an_error_saying_where() {
        let error = read_results(&[1, 0, 0, 0, 0, 1, 9, 0, 0, 0, b'v'], 1).expect_err("a value cut short");
        assert_eq!(error.to_string(), "the client component's packed results (11 bytes) are malformed at byte 10");
        let error = read_results(&[1, 0, 0, 0, 7], 1).expect_err("an unknown outcome");
        assert_eq!(error.to_string(), "the client component's packed results (5 bytes) are malformed at byte 4");
        let error = read_results(&[0xff, 0xff, 0xff, 0xff], 1).expect_err("a count past the bytes");
        assert!(error.to_string().contains("malformed at byte 4"), "{error}");
        let error = read_results(&[2, 0, 0, 0, 2, 2], 3).expect_err("two results for three requests");
        assert_eq!(error.to_string(), "the client component answered 2 results to a batch of 3");
    }

    #[test]
    fn a_refused_batch_answers_every_request() {
        let mut packed = vec![1, 0, 0, 0, ERROR, 6, 3, 0, 0, 0];
        packed.extend_from_slice(b"bad");
        let results = read_results(&packed, 2).expect("a refusal");
        let refusal = CacheError { kind: CacheErrorKind::Invalid, message: "bad".into() };
        assert_eq!(results, vec![Err(refusal.clone()), Err(refusal)]);
    }
}
