//! FUNCTION DUMP's payload, in the format redis-server 7.0 writes and reads, so that libraries move
//! between cachet and Redis both ways: for each library the RDB function opcode and its code as an
//! RDB string, then the RDB version (2 bytes) and the CRC-64 of everything before (8 bytes), both
//! little-endian. cachet writes the code uncompressed; it reads Redis's LZF-compressed strings too.

use crc::{CRC_64_REDIS, Crc};

/// RDB_OPCODE_FUNCTION2: a library's code follows.
const FUNCTION: u8 = 245;
/// RDB_OPCODE_FUNCTION_PRE_GA: the format of Redis 7.0's release candidates, which Redis refuses.
const FUNCTION_PRE_GA: u8 = 246;
/// Redis 7.0's RDB version: payloads of later versions are refused, as Redis refuses them.
const RDB_VERSION: u16 = 10;
/// The version and the checksum that end a payload.
const TRAILER: usize = 10;
/// Redis's limit on a string's length (`proto-max-bulk-len`): a longer one is not allocated.
const LONGEST_STRING: u64 = 512 * 1024 * 1024;

const CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

/// The payload holding `libraries`' code.
pub fn encode<'a>(libraries: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut payload = Vec::new();
    for code in libraries {
        payload.push(FUNCTION);
        write_length(&mut payload, code.len() as u64);
        payload.extend_from_slice(code);
    }
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let checksum = CRC64.checksum(&payload);
    payload.extend_from_slice(&checksum.to_le_bytes());
    payload
}

/// The libraries' code in `payload`, or the error Redis answers FUNCTION RESTORE with.
pub fn decode(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if !verified(payload) {
        return Err("ERR DUMP payload version or checksum are wrong".into());
    }
    let mut reader = Reader { bytes: payload, at: 0 };
    let mut libraries = Vec::new();
    // As Redis reads: up to the trailer, but a string that ran into it does not end the loop.
    while reader.at < payload.len() && reader.at != payload.len() - TRAILER {
        match reader.byte().ok_or("ERR can not read data type")? {
            FUNCTION => libraries.push(reader.string().ok_or("ERR Failed loading library payload")?),
            FUNCTION_PRE_GA => return Err("ERR Pre-GA function format not supported".into()),
            _ => return Err("ERR given type is not a function".into()),
        }
    }
    Ok(libraries)
}

/// Whether the payload ends with a version Redis 7.0 reads and the right checksum.
fn verified(payload: &[u8]) -> bool {
    let Some(body_end) = payload.len().checked_sub(TRAILER) else { return false };
    let version = u16::from_le_bytes([payload[body_end], payload[body_end + 1]]);
    let mut checksum = [0; 8];
    checksum.copy_from_slice(&payload[body_end + 2..]);
    version <= RDB_VERSION && CRC64.checksum(&payload[..body_end + 2]) == u64::from_le_bytes(checksum)
}

/// RDB's length encoding: 6 bits, 14 bits, or a marker byte and 32 or 64 bits, big-endian.
fn write_length(out: &mut Vec<u8>, length: u64) {
    if length < 1 << 6 {
        out.push(length as u8);
    } else if length < 1 << 14 {
        out.extend_from_slice(&[0x40 | (length >> 8) as u8, length as u8]);
    } else if let Ok(length) = u32::try_from(length) {
        out.push(0x80);
        out.extend_from_slice(&length.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&length.to_be_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A length, or one of the special string encodings RDB marks with the top bits `11`.
enum Length {
    Plain(u64),
    Encoded(u8),
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn take(&mut self, count: u64) -> Option<&[u8]> {
        let end = self.at.checked_add(usize::try_from(count).ok()?)?;
        let taken = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(taken)
    }

    fn length(&mut self) -> Option<Length> {
        let first = self.byte()?;
        Some(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3f)),
            1 => Length::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.byte()?)),
            3 => Length::Encoded(first & 0x3f),
            _ if first == 0x80 => Length::Plain(u64::from(u32::from_be_bytes(self.take(4)?.try_into().ok()?))),
            _ if first == 0x81 => Length::Plain(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            _ => return None,
        })
    }

    fn plain_length(&mut self) -> Option<u64> {
        match self.length()? {
            Length::Plain(length) => Some(length),
            Length::Encoded(_) => None,
        }
    }

    /// An RDB string: plain, an integer written as one, or LZF-compressed.
    fn string(&mut self) -> Option<Vec<u8>> {
        match self.length()? {
            Length::Plain(length) => Some(self.take(length)?.to_vec()),
            Length::Encoded(0) => Some((self.take(1)?[0] as i8).to_string().into_bytes()),
            Length::Encoded(1) => Some(i16::from_le_bytes(self.take(2)?.try_into().ok()?).to_string().into_bytes()),
            Length::Encoded(2) => Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?).to_string().into_bytes()),
            Length::Encoded(3) => {
                let (compressed, length) = (self.plain_length()?, self.plain_length()?);
                if length > LONGEST_STRING {
                    return None;
                }
                super::lzf::decompress(self.take(compressed)?, length as usize)
            }
            Length::Encoded(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_dump_is_the_bytes_redis_writes() {
        // redis-server 7.0.15's FUNCTION DUMP with no libraries.
        assert_eq!(encode(std::iter::empty()), b"\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda");
        assert_eq!(decode(b"\x0a\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda"), Ok(vec![]));
    }

    #[test]
    fn libraries_survive_a_round_trip_at_every_length_encoding() {
        let libraries: Vec<Vec<u8>> = [10, 100, 20_000].iter().map(|&n| vec![b'x'; n]).collect();
        let payload = encode(libraries.iter().map(Vec::as_slice));
        assert_eq!(decode(&payload), Ok(libraries));
    }

    #[test]
    fn bad_payloads_get_redis_errors() {
        let good = encode([&b"#!lua name=x\n"[..]].into_iter());
        let wrong = "ERR DUMP payload version or checksum are wrong";
        assert_eq!(decode(b"garbage").unwrap_err(), wrong);
        assert_eq!(decode(b"").unwrap_err(), wrong);
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(decode(&flipped).unwrap_err(), wrong);
        let body_with = |body: &[u8], version: u16| {
            let mut payload = body.to_vec();
            payload.extend_from_slice(&version.to_le_bytes());
            let checksum = CRC64.checksum(&payload);
            payload.extend_from_slice(&checksum.to_le_bytes());
            payload
        };
        assert_eq!(decode(&body_with(b"", 11)).unwrap_err(), wrong, "a newer RDB version");
        assert_eq!(decode(&body_with(b"", 9)), Ok(vec![]), "an older one is read");
        assert_eq!(decode(&body_with(b"\x00", 10)).unwrap_err(), "ERR given type is not a function");
        assert_eq!(decode(&body_with(b"\xf6", 10)).unwrap_err(), "ERR Pre-GA function format not supported");
        assert_eq!(decode(&body_with(b"\xf5\x3f", 10)).unwrap_err(), "ERR Failed loading library payload");
        assert_eq!(decode(&body_with(b"\xf5\xc0\x7b", 10)), Ok(vec![b"123".to_vec()]), "an integer string");
    }
}
