//! The client's reply decoder on arbitrary bytes: it must never panic, and decoding the same input
//! in two pieces, cut anywhere, must give the same replies as decoding it whole — the decoder
//! resumes where a read ended, and a mistake there would pair replies with the wrong requests.

#![no_main]

use cachet_guest::resp::{Limits, Node, ReplyDecoder};
use libfuzzer_sys::fuzz_target;

/// Every reply decodable from `pieces` fed in order, and whether decoding failed.
fn decode(pieces: &[&[u8]]) -> (Vec<Vec<Node>>, bool) {
    let limits = Limits { max_bulk_len: 1 << 20, max_multibulk_len: 1 << 12 };
    let mut decoder = ReplyDecoder::new(limits);
    let mut buffer = Vec::new();
    let mut replies = Vec::new();
    for piece in pieces {
        buffer.extend_from_slice(piece);
        loop {
            let before = buffer.len();
            match decoder.decode_buffer(&mut buffer) {
                Ok(Some(reply)) => replies.push(reply),
                Ok(None) => break,
                Err(_) => return (replies, true),
            }
            assert!(buffer.len() <= before);
        }
    }
    (replies, false)
}

fuzz_target!(|data: &[u8]| {
    let (whole, whole_failed) = decode(&[data]);
    for cut in [1, data.len() / 3, data.len() / 2, data.len().saturating_sub(1)] {
        if cut == 0 || cut >= data.len() {
            continue;
        }
        let (split, split_failed) = decode(&[&data[..cut], &data[cut..]]);
        if !whole_failed && !split_failed {
            assert_eq!(format!("{whole:?}"), format!("{split:?}"), "cut at {cut}");
        }
        assert_eq!(whole_failed, split_failed, "cut at {cut}");
    }
});
