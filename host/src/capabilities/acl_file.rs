//! `cachet:engine/acl-file`: the ACL file the server was started with (`aclfile`), read for ACL
//! LOAD and replaced by ACL SAVE. The engine never names a path; the host reaches that one file.

use super::bindings::cachet::engine::acl_file;
use std::io;
use std::path::Path;

impl acl_file::Host for super::HostState {
    fn read(&mut self) -> Result<Vec<u8>, String> {
        let path = self.acl_file.as_deref().ok_or_else(no_file)?;
        std::fs::read(path).map_err(|error| reason(&error))
    }

    fn write(&mut self, contents: Vec<u8>) -> Result<(), String> {
        let path = self.acl_file.as_deref().ok_or_else(no_file)?;
        replace(path, &contents).map_err(|error| reason(&error))
    }
}

fn no_file() -> String {
    "the server was started without an ACL file (aclfile)".to_string()
}

/// Writes `contents` to a new file beside `path` and renames it over `path`, so that a reader
/// (or a crash) never sees half a file.
fn replace(path: &Path, contents: &[u8]) -> io::Result<()> {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp-{}-{millis}", std::process::id()));
    let written = std::fs::write(&temporary, contents).and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The system's words for an error, as C's `strerror` gives them ("No such file or directory"),
/// without the "(os error 2)" Rust adds.
fn reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
