//! A batch's requests and results as bytes (WIT `cache.batch-packed`, where the format is
//! written down): the requests read from one list of bytes and the results written into another.
//! Through the canonical ABI every key and every value is a list of its own, which the host
//! allocates in the component's memory with a call into it and lifts out field by field; one list
//! each way costs the same however many requests a batch holds.

use super::conveyor::Abandoned;
use crate::request::{Error, ErrorKind, Op, Outcome};
use crate::resp::Node;
use cachet_packed::{Reader, Writer, error_kind, node, op, outcome};

/// The requests in `bytes`; `Err` says where they stopped reading as the format says.
pub fn read_ops(bytes: &[u8]) -> Result<Vec<Op>, Error> {
    let mut reader = Reader::new(bytes);
    let ops = reader.counted(1, read_op).filter(|_| reader.finished());
    ops.ok_or_else(|| {
        let malformed = reader.malformed();
        Error::new(ErrorKind::Invalid, format!("the packed batch of {} bytes is malformed at byte {}", malformed.len, malformed.at))
    })
}

fn read_op(reader: &mut Reader<'_>) -> Option<Op> {
    Some(match reader.u8()? {
        op::GET => Op::Get(reader.bytes()?),
        op::GET_OR_FAIL => Op::GetOrFail(reader.bytes()?),
        op::SET => Op::Set(reader.bytes()?, reader.bytes()?, reader.ttl()?),
        op::GET_OR_SET => Op::GetOrSet(reader.bytes()?, reader.bytes()?, reader.ttl()?),
        op::REMOVE => Op::Remove(reader.list()?),
        op::UPDATE_TIMEOUT => Op::UpdateTimeout(reader.bytes()?, reader.ttl()?),
        op::MGET => Op::Mget(reader.list()?),
        op::MSET => Op::Mset(reader.counted(8, |r| Some((r.bytes()?, r.bytes()?)))?),
        op::INCR => Op::Incr(reader.bytes()?, reader.i64()?),
        op::EXISTS => Op::Exists(reader.list()?),
        op::CALL => Op::Call(reader.list()?),
        op::SEND => Op::Send(reader.list()?),
        op::RECEIVE => Op::Receive,
        _ => return reader.unknown(),
    })
}

/// The results, in order, as the format says.
pub fn write_results(results: &[Result<Outcome, Error>]) -> Vec<u8> {
    write_some(results.iter().map(Some))
}

/// The answers of `conveyor.abandon`: results, and `again` for requests that may go out again.
pub fn write_abandoned(abandoned: &[Abandoned]) -> Vec<u8> {
    write_some(abandoned.iter().map(|a| match a {
        Abandoned::Final(result) => Some(result),
        Abandoned::Again => None,
    }))
}

/// Results, `None` written as `again`.
fn write_some<'a>(results: impl ExactSizeIterator<Item = Option<&'a Result<Outcome, Error>>> + Clone) -> Vec<u8> {
    let mut buffer = Vec::with_capacity(4 + results.clone().map(|r| r.map_or(1, size_hint)).sum::<usize>());
    let mut writer = Writer(&mut buffer);
    writer.count(results.len());
    for result in results {
        match result {
            Some(Ok(outcome)) => write_outcome(&mut writer, outcome),
            Some(Err(error)) => write_error(&mut writer, error),
            None => writer.u8(outcome::AGAIN),
        }
    }
    buffer
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

fn write_outcome(writer: &mut Writer<'_>, result: &Outcome) {
    match result {
        Outcome::Value(value) => {
            writer.u8(outcome::VALUE);
            writer.value(value.as_deref());
        }
        Outcome::Values(values) => {
            writer.u8(outcome::VALUES);
            writer.count(values.len());
            values.iter().for_each(|value| writer.value(value.as_deref()));
        }
        Outcome::Done => writer.u8(outcome::DONE),
        Outcome::Flag(flag) => writer.tagged_u8(outcome::FLAG, *flag as u8),
        Outcome::Integer(n) => writer.tagged_u64(outcome::INTEGER, *n as u64),
        Outcome::Reply(nodes) => {
            writer.u8(outcome::REPLY);
            writer.count(nodes.len());
            nodes.iter().for_each(|n| write_node(writer, n));
        }
    }
}

fn write_node(writer: &mut Writer<'_>, written: &Node) {
    match written {
        Node::Nil => writer.u8(node::NIL),
        Node::Simple(text) => writer.tagged(node::SIMPLE, text.as_bytes()),
        Node::Error(text) => writer.tagged(node::ERROR, text.as_bytes()),
        Node::Integer(n) => writer.tagged_u64(node::INTEGER, *n as u64),
        Node::Bulk(bytes) => writer.tagged(node::BULK, bytes),
        Node::Double(d) => writer.tagged_u64(node::DOUBLE, d.to_bits()),
        Node::Boolean(b) => writer.tagged_u8(node::BOOLEAN, *b as u8),
        Node::BigNumber(text) => writer.tagged(node::BIG_NUMBER, text.as_bytes()),
        Node::Verbatim(format, text) => {
            writer.tagged(node::VERBATIM, format.as_bytes());
            writer.bytes(text);
        }
        Node::Array(n) => writer.tagged_count(node::ARRAY, *n),
        Node::Map(n) => writer.tagged_count(node::MAP, *n),
        Node::Set(n) => writer.tagged_count(node::SET, *n),
        Node::Push(n) => writer.tagged_count(node::PUSH, *n),
    }
}

fn write_error(writer: &mut Writer<'_>, error: &Error) {
    writer.tagged_u8(outcome::ERROR, match error.kind {
        ErrorKind::Connection => error_kind::CONNECTION,
        ErrorKind::Timeout => error_kind::TIMEOUT,
        ErrorKind::Exhausted => error_kind::EXHAUSTED,
        ErrorKind::Server => error_kind::SERVER,
        ErrorKind::NotFound => error_kind::NOT_FOUND,
        ErrorKind::Protocol => error_kind::PROTOCOL,
        ErrorKind::Invalid => error_kind::INVALID,
    });
    writer.bytes(error.message.as_bytes());
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

    #[test]
    fn abandoned_requests_to_send_again_are_written_as_again() {
        let abandoned = [Abandoned::Again, Abandoned::Final(Ok(Outcome::Done))];
        let mut expected = 2u32.to_le_bytes().to_vec();
        expected.extend([254, 2]);
        assert_eq!(write_abandoned(&abandoned), expected);
    }
}
