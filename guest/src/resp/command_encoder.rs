//! Writing commands: the half of the codec a cache client sends with.

use super::Reply;

/// Writes a command as RESP: an array of bulk strings, the only form servers must accept.
pub fn encode_command<A: AsRef<[u8]>>(buf: &mut Vec<u8>, args: &[A]) {
    let mut writer = Reply::new(buf, false);
    writer.array(args.len());
    for arg in args {
        writer.bulk(arg.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut buf = Vec::new();
        encode_command(&mut buf, &[&b"SET"[..], b"k", b""]);
        assert_eq!(buf, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }
}
