//! The host's half of the cache client's batch as bytes (WIT `cache.batch-packed`, where the format
//! is written down): requests written into one list of bytes, results read back from another.
//! The component is sandboxed, not trusted: results that do not read as the format says are an
//! error, never a panic.

use super::client::{CacheError, CacheErrorKind, Node, Op, Outcome};
use anyhow::{Result, bail};
use cachet_packed::{Reader, Writer, error_kind, node, op, outcome};

/// Writes `ops` into `packed`, emptied first.
pub fn write_ops(packed: &mut Vec<u8>, ops: &[Op]) {
    write_some_ops(packed, ops.len(), ops.iter());
}

/// [`write_ops`] for `count` requests picked from several lists.
pub fn write_some_ops<'a>(packed: &mut Vec<u8>, count: usize, ops: impl Iterator<Item = &'a Op>) {
    packed.clear();
    let mut writer = Writer(packed);
    writer.count(count);
    ops.take(count).for_each(|op| write_op(&mut writer, op));
}

fn write_op(writer: &mut Writer<'_>, written: &Op) {
    match written {
        Op::Get(key) => writer.tagged(op::GET, key),
        Op::GetOrFail(key) => writer.tagged(op::GET_OR_FAIL, key),
        Op::Set((key, value, ttl)) | Op::GetOrSet((key, value, ttl)) => {
            writer.tagged(if matches!(written, Op::Set(_)) { op::SET } else { op::GET_OR_SET }, key);
            writer.bytes(value);
            writer.ttl(*ttl);
        }
        Op::UpdateTimeout((key, ttl)) => {
            writer.tagged(op::UPDATE_TIMEOUT, key);
            writer.ttl(*ttl);
        }
        Op::Incr((key, by)) => {
            writer.tagged(op::INCR, key);
            writer.u64(*by as u64);
        }
        Op::Mset(pairs) => {
            writer.tagged_count(op::MSET, pairs.len() as u32);
            for (key, value) in pairs {
                writer.bytes(key);
                writer.bytes(value);
            }
        }
        Op::Remove(keys) => writer.tagged_list(op::REMOVE, keys),
        Op::Mget(keys) => writer.tagged_list(op::MGET, keys),
        Op::Exists(keys) => writer.tagged_list(op::EXISTS, keys),
        Op::Call(args) => writer.tagged_list(op::CALL, args),
        Op::Send(args) => writer.tagged_list(op::SEND, args),
        Op::Receive => writer.u8(op::RECEIVE),
    }
}

/// How many bytes of keys, values and arguments `ops` carry.
pub fn payload(ops: &[Op]) -> usize {
    let sum = |items: &[Vec<u8>]| items.iter().map(Vec::len).sum::<usize>();
    ops.iter()
        .map(|op| match op {
            Op::Get(key) | Op::GetOrFail(key) | Op::UpdateTimeout((key, _)) | Op::Incr((key, _)) => key.len(),
            Op::Set((key, value, _)) | Op::GetOrSet((key, value, _)) => key.len() + value.len(),
            Op::Mset(pairs) => pairs.iter().map(|(key, value)| key.len() + value.len()).sum(),
            Op::Remove(items) | Op::Mget(items) | Op::Exists(items) | Op::Call(items) | Op::Send(items) => sum(items),
            Op::Receive => 0,
        })
        .sum()
}

/// The results of a batch of `expected` requests. A single `invalid` error where more were expected
/// is the component refusing the whole batch, and answers every request.
pub fn read_results(packed: &[u8], expected: usize) -> Result<Vec<Result<Outcome, CacheError>>> {
    let mut results = read_all(packed)?;
    if results.len() != expected {
        match results.as_slice() {
            [Err(refusal)] if refusal.kind == CacheErrorKind::Invalid => results = vec![Err(refusal.clone()); expected],
            _ => bail!("the client component answered {} results to a batch of {expected}", results.len()),
        }
    }
    Ok(results)
}

/// Results, however many there are; `again` is not one.
pub fn read_all(packed: &[u8]) -> Result<Vec<Result<Outcome, CacheError>>> {
    let answers = read_answers(packed)?;
    answers.into_iter().map(|answer| answer.ok_or_else(|| anyhow::anyhow!("the client component answered `again` outside `abandon`"))).collect()
}

/// Results and, as `None`, `again` (WIT `conveyor.abandon`).
pub fn read_answers(packed: &[u8]) -> Result<Vec<Option<Result<Outcome, CacheError>>>> {
    let mut reader = Reader::new(packed);
    let read = |reader: &mut Reader<'_>| match reader.peek()? {
        outcome::AGAIN => reader.u8().map(|_| None),
        _ => read_result(reader).map(Some),
    };
    match reader.counted(1, read).filter(|_| reader.finished()) {
        Some(answers) => Ok(answers),
        None => {
            let malformed = reader.malformed();
            bail!("the client component's packed results ({} bytes) are malformed at byte {}", malformed.len, malformed.at)
        }
    }
}

fn read_result(reader: &mut Reader<'_>) -> Option<Result<Outcome, CacheError>> {
    Some(Ok(match reader.u8()? {
        outcome::VALUE => Outcome::Value(reader.value()?),
        outcome::VALUES => Outcome::Values(reader.counted(1, Reader::value)?),
        outcome::DONE => Outcome::Done,
        outcome::FLAG => Outcome::Flag(reader.flag()?),
        outcome::INTEGER => Outcome::Integer(reader.i64()?),
        outcome::REPLY => Outcome::Reply(reader.counted(1, read_node)?),
        outcome::ERROR => return Some(Err(CacheError { kind: read_error_kind(reader)?, message: reader.text()? })),
        _ => return reader.unknown(),
    }))
}

fn read_node(reader: &mut Reader<'_>) -> Option<Node> {
    Some(match reader.u8()? {
        node::NIL => Node::Nil,
        node::SIMPLE => Node::Simple(reader.text()?),
        node::ERROR => Node::Error(reader.text()?),
        node::INTEGER => Node::Integer(reader.i64()?),
        node::BULK => Node::Bulk(reader.bytes()?),
        node::DOUBLE => Node::Double(f64::from_bits(reader.u64()?)),
        node::BOOLEAN => Node::Boolean(reader.flag()?),
        node::BIG_NUMBER => Node::BigNumber(reader.text()?),
        node::VERBATIM => Node::Verbatim((reader.text()?, reader.bytes()?)),
        node::ARRAY => Node::Array(reader.u32()?),
        node::MAP => Node::Map(reader.u32()?),
        node::SET => Node::Set(reader.u32()?),
        node::PUSH => Node::Push(reader.u32()?),
        _ => return reader.unknown(),
    })
}

fn read_error_kind(reader: &mut Reader<'_>) -> Option<CacheErrorKind> {
    Some(match reader.u8()? {
        error_kind::CONNECTION => CacheErrorKind::Connection,
        error_kind::TIMEOUT => CacheErrorKind::Timeout,
        error_kind::EXHAUSTED => CacheErrorKind::Exhausted,
        error_kind::SERVER => CacheErrorKind::Server,
        error_kind::NOT_FOUND => CacheErrorKind::NotFound,
        error_kind::PROTOCOL => CacheErrorKind::Protocol,
        error_kind::INVALID => CacheErrorKind::Invalid,
        _ => return reader.unknown(),
    })
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
    fn the_payload_is_the_bytes_of_keys_values_and_arguments() {
        let ops = [
            Op::Get(b"key".to_vec()),
            Op::Set((b"k".to_vec(), vec![0; 100], None)),
            Op::Mset(vec![(b"a".to_vec(), b"12".to_vec())]),
            Op::Call(vec![b"PING".to_vec()]),
            Op::Receive,
        ];
        assert_eq!(payload(&ops), 3 + 101 + 3 + 4);
    }

    #[test]
    fn again_is_read_only_where_it_may_stand() {
        let packed = [2, 0, 0, 0, outcome::AGAIN, outcome::DONE];
        assert_eq!(read_answers(&packed).expect("well formed"), vec![None, Some(Ok(Outcome::Done))]);
        let error = read_all(&packed).expect_err("no `again` among results");
        assert_eq!(error.to_string(), "the client component answered `again` outside `abandon`");
    }

    #[test]
    fn a_refused_batch_answers_every_request() {
        let mut packed = vec![1, 0, 0, 0, outcome::ERROR, error_kind::INVALID, 3, 0, 0, 0];
        packed.extend_from_slice(b"bad");
        let results = read_results(&packed, 2).expect("a refusal");
        let refusal = CacheError { kind: CacheErrorKind::Invalid, message: "bad".into() };
        assert_eq!(results, vec![Err(refusal.clone()), Err(refusal)]);
    }
}
