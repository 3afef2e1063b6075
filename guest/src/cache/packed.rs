//! A batch's requests and results as bytes (WIT `cache.batch-packed`, where the format is
//! written down): the requests read from one list of bytes and the results written into another.
//! Through the canonical ABI every key and every value is a list of its own, which the host
//! allocates in the component's memory with a call into it and lifts out field by field; one list
//! each way costs the same however many requests a batch holds.

use crate::request::{Error, ErrorKind, Op, Outcome, TtlMs};
use crate::resp::Node;

/// The tag of a result that is an error rather than an outcome.
const ERROR: u8 = 255;

/// The requests in `bytes`; `Err` says where they stopped reading as the format says.
pub fn read_ops(bytes: &[u8]) -> Result<Vec<Op>, Error> {
    let mut input = Input { bytes, at: 0 };
    input.ops().ok_or_else(|| {
        Error::new(ErrorKind::Invalid, format!("the packed batch of {} bytes is malformed at byte {}", bytes.len(), input.at))
    })
}

/// The results, in order, as the format says.
pub fn write_results(results: &[Result<Outcome, Error>]) -> Vec<u8> {
    let mut output = Output(Vec::with_capacity(4 + results.iter().map(size_hint).sum::<usize>()));
    output.count(results.len());
    for result in results {
        match result {
            Ok(outcome) => output.outcome(outcome),
            Err(error) => output.error(error),
        }
    }
    output.0
}

/// A result's bytes, about: exact for values, a guess for the nodes of a reply.
fn size_hint(result: &Result<Outcome, Error>) -> usize {
    match result {
        Ok(Outcome::Value(Some(value))) => 6 + value.len(),
        Ok(Outcome::Values(values)) => 5 + values.iter().map(|v| 5 + v.as_ref().map_or(0, Vec::len)).sum::<usize>(),
        Ok(Outcome::Reply(nodes)) => 5 + 16 * nodes.len(),
        Ok(_) => 9,
        Err(error) => 6 + error.message.len(),
    }
}

struct Input<'a> {
    bytes: &'a [u8],
    /// Where the next read starts; where a malformed batch went wrong once a read fails.
    at: usize,
}

impl Input<'_> {
    fn ops(&mut self) -> Option<Vec<Op>> {
        let count = self.u32()? as usize;
        // Each request takes at least a byte, so a count past the bytes left is a lie.
        let mut ops = Vec::with_capacity(count.min(self.bytes.len() - self.at));
        for _ in 0..count {
            ops.push(self.op()?);
        }
        (self.at == self.bytes.len()).then_some(ops)
    }

    fn op(&mut self) -> Option<Op> {
        Some(match self.u8()? {
            0 => Op::Get(self.bytes()?),
            1 => Op::GetOrFail(self.bytes()?),
            2 => Op::Set(self.bytes()?, self.bytes()?, self.ttl()?),
            3 => Op::GetOrSet(self.bytes()?, self.bytes()?, self.ttl()?),
            4 => Op::Remove(self.list()?),
            5 => Op::UpdateTimeout(self.bytes()?, self.ttl()?),
            6 => Op::Mget(self.list()?),
            7 => Op::Mset(self.pairs()?),
            8 => Op::Incr(self.bytes()?, self.u64()? as i64),
            9 => Op::Exists(self.list()?),
            10 => Op::Call(self.list()?),
            11 => Op::Send(self.list()?),
            12 => Op::Receive,
            _ => {
                self.at -= 1;
                return None;
            }
        })
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let taken = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(taken)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = self.u32()? as usize;
        Some(self.take(len)?.to_vec())
    }

    fn ttl(&mut self) -> Option<TtlMs> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.u64()?)),
            _ => None,
        }
    }

    /// A count, then that many of `item`; the count is checked against the bytes left, each item
    /// taking at least four.
    fn counted<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let count = self.u32()? as usize;
        let mut items = Vec::with_capacity(count.min((self.bytes.len() - self.at) / 4));
        for _ in 0..count {
            items.push(item(self)?);
        }
        Some(items)
    }

    fn list(&mut self) -> Option<Vec<Vec<u8>>> {
        self.counted(Self::bytes)
    }

    fn pairs(&mut self) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        self.counted(|input| Some((input.bytes()?, input.bytes()?)))
    }
}

struct Output(Vec<u8>);

impl Output {
    fn u8(&mut self, n: u8) {
        self.0.push(n);
    }

    fn count(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    fn value(&mut self, value: &Option<Vec<u8>>) {
        match value {
            None => self.u8(0),
            Some(bytes) => {
                self.u8(1);
                self.bytes(bytes);
            }
        }
    }

    fn outcome(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Value(value) => {
                self.u8(0);
                self.value(value);
            }
            Outcome::Values(values) => {
                self.u8(1);
                self.count(values.len());
                values.iter().for_each(|value| self.value(value));
            }
            Outcome::Done => self.u8(2),
            Outcome::Flag(flag) => {
                self.u8(3);
                self.u8(*flag as u8);
            }
            Outcome::Integer(n) => {
                self.u8(4);
                self.u64(*n as u64);
            }
            Outcome::Reply(nodes) => {
                self.u8(5);
                self.count(nodes.len());
                nodes.iter().for_each(|node| self.node(node));
            }
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Nil => self.u8(0),
            Node::Simple(text) => self.tagged_bytes(1, text.as_bytes()),
            Node::Error(text) => self.tagged_bytes(2, text.as_bytes()),
            Node::Integer(n) => {
                self.u8(3);
                self.u64(*n as u64);
            }
            Node::Bulk(bytes) => self.tagged_bytes(4, bytes),
            Node::Double(d) => {
                self.u8(5);
                self.u64(d.to_bits());
            }
            Node::Boolean(b) => {
                self.u8(6);
                self.u8(*b as u8);
            }
            Node::BigNumber(text) => self.tagged_bytes(7, text.as_bytes()),
            Node::Verbatim(format, text) => {
                self.tagged_bytes(8, format.as_bytes());
                self.bytes(text);
            }
            Node::Array(n) => self.tagged_count(9, *n),
            Node::Map(n) => self.tagged_count(10, *n),
            Node::Set(n) => self.tagged_count(11, *n),
            Node::Push(n) => self.tagged_count(12, *n),
        }
    }

    fn tagged_bytes(&mut self, tag: u8, bytes: &[u8]) {
        self.u8(tag);
        self.bytes(bytes);
    }

    fn tagged_count(&mut self, tag: u8, n: u32) {
        self.u8(tag);
        self.count(n as usize);
    }

    fn error(&mut self, error: &Error) {
        self.u8(ERROR);
        self.u8(match error.kind {
            ErrorKind::Connection => 0,
            ErrorKind::Timeout => 1,
            ErrorKind::Exhausted => 2,
            ErrorKind::Server => 3,
            ErrorKind::NotFound => 4,
            ErrorKind::Protocol => 5,
            ErrorKind::Invalid => 6,
        });
        self.bytes(error.message.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(b: &[u8]) -> Vec<u8> {
        let mut out = (b.len() as u32).to_le_bytes().to_vec();
        out.extend_from_slice(b);
        out
    }

    #[test]
    fn requests_read_as_the_format_writes_them() {
        let mut packed = 4u32.to_le_bytes().to_vec();
        packed.push(0);
        packed.extend(bytes(b"k"));
        packed.push(2);
        packed.extend(bytes(b"k"));
        packed.extend(bytes(b"v"));
        packed.push(1);
        packed.extend(1500u64.to_le_bytes());
        packed.push(7);
        packed.extend(1u32.to_le_bytes());
        packed.extend(bytes(b"a"));
        packed.extend(bytes(b"1"));
        packed.push(12);
        let ops = read_ops(&packed).expect("well formed");
        assert_eq!(
            ops,
            vec![Op::Get(b"k".to_vec()), Op::Set(b"k".to_vec(), b"v".to_vec(), Some(1500)), Op::Mset(vec![(b"a".to_vec(), b"1".to_vec())]), Op::Receive]
        );
    }

    #[test]
    fn malformed_requests_say_where_they_went_wrong() {
        let mut packed = 2u32.to_le_bytes().to_vec();
        packed.push(0);
        packed.extend(bytes(b"k"));
        packed.push(13);
        let error = read_ops(&packed).expect_err("an unknown case");
        assert_eq!(error.kind, ErrorKind::Invalid);
        assert_eq!(error.message, "the packed batch of 11 bytes is malformed at byte 10");
        let huge = [1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        let error = read_ops(&huge).expect_err("a key longer than the batch");
        assert_eq!(error.message, "the packed batch of 9 bytes is malformed at byte 9");
        assert!(read_ops(&[1, 0, 0, 0, 12, 0]).is_err(), "bytes after the last request");
        assert!(read_ops(&[0xff, 0xff, 0xff, 0xff]).is_err(), "a count past the bytes");
    }

    #[test]
    fn results_are_written_as_the_format_says() {
        let results = vec![
            Ok(Outcome::Value(Some(b"v".to_vec()))),
            Ok(Outcome::Values(vec![None, Some(b"x".to_vec())])),
            Err(Error::new(ErrorKind::Server, "ERR no")),
            Ok(Outcome::Reply(vec![Node::Array(2), Node::Integer(-1), Node::Verbatim("txt".into(), b"hi".to_vec())])),
        ];
        let mut expected = 4u32.to_le_bytes().to_vec();
        expected.extend([0, 1]);
        expected.extend(bytes(b"v"));
        expected.extend([1]);
        expected.extend(2u32.to_le_bytes());
        expected.extend([0, 1]);
        expected.extend(bytes(b"x"));
        expected.extend([255, 3]);
        expected.extend(bytes(b"ERR no"));
        expected.extend([5]);
        expected.extend(3u32.to_le_bytes());
        expected.push(9);
        expected.extend(2u32.to_le_bytes());
        expected.push(3);
        expected.extend((-1i64 as u64).to_le_bytes());
        expected.push(8);
        expected.extend(bytes(b"txt"));
        expected.extend(bytes(b"hi"));
        assert_eq!(write_results(&results), expected);
    }
}
