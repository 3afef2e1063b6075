//! The request parser on arbitrary bytes: it must never panic, never claim more input than it was
//! given, and for every prefix of a complete command answer "incomplete" with a `wanted` count the
//! command really reaches — a count past the command's end would leave the host waiting for bytes
//! that never come.

#![no_main]

use cachet_guest::resp::{Limits, Parsed, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bulk_len: 1 << 20, max_multibulk_len: 1 << 12 };
    match parse_request(data, &limits) {
        Ok(Parsed::Command(_, used)) => {
            assert!(used > 0 && used <= data.len());
            for cut in [0, 1, used / 3, used / 2, used - 1] {
                if cut >= used {
                    continue;
                }
                match parse_request(&data[..cut], &limits) {
                    Ok(Parsed::Incomplete(wanted)) => assert!(wanted > cut && wanted <= used, "cut {cut}: wanted {wanted}, command {used}"),
                    other => panic!("a prefix of {used} bytes cut at {cut} parsed as {other:?}"),
                }
            }
        }
        Ok(Parsed::Skip(used)) => assert!(used > 0 && used <= data.len()),
        Ok(Parsed::Incomplete(wanted)) => assert!(wanted > data.len()),
        Err(_) => {}
    }
});
