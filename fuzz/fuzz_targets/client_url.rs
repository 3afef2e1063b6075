//! The client URL parser on arbitrary text: it must never panic, a refusal must say what is wrong,
//! and an accepted URL must carry settings the client can use.

#![no_main]

use cachet_url::{ClientConfig, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match ClientConfig::parse(text) {
        Ok(config) => {
            assert!(config.connection.protocol == 2 || config.connection.protocol == 3);
            assert!(config.pool.max_connections >= 1 && config.pool.connect_attempts >= 1 && config.pool.buffer_size >= 1);
            if let Target::Unix(path) = &config.target {
                assert!(!path.as_os_str().is_empty());
            }
        }
        Err(error) => assert!(!error.0.is_empty()),
    }
});
