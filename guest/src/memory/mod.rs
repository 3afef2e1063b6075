//! Memory accounting. Every allocation the engine makes goes through this allocator, so
//! `used_memory` in INFO is what the engine really holds, not an estimate.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(any(target_family = "wasm", test))]
mod heap;
#[cfg(any(target_family = "wasm", test))]
mod quick;
#[cfg(target_family = "wasm")]
use heap::Heap as Backing;
#[cfg(not(target_family = "wasm"))]
use std::alloc::System as Backing;

pub struct CountingAllocator;

static USED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
#[cfg(target_family = "wasm")]
/// Set while a server or key-value export's body runs, where the component may call its imports.
/// While the host hands over a call's arguments (the allocations it asks `cabi_realloc` for) the
/// component model forbids calling out, and a `log` call there would itself trap. The cache
/// client never sets it: the host hands it each stream read's bytes the same way, mid-call.
static MAY_LOG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(target_family = "wasm")]
/// Runs `f`, an export's body, with a failed allocation reported through `log`.
pub(crate) fn reporting_failures<T>(f: impl FnOnce() -> T) -> T {
    MAY_LOG.store(true, Ordering::Relaxed);
    let result = f();
    MAY_LOG.store(false, Ordering::Relaxed);
    result
}

// SAFETY: every call is passed to the backing allocator unchanged; only the counters are added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        counted(unsafe { Backing.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        counted(unsafe { Backing.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { Backing.dealloc(ptr, layout) };
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = counted(unsafe { Backing.realloc(ptr, layout, new_size) }, new_size);
        if !new.is_null() {
            USED.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

/// Counts an allocation that succeeded; one that failed goes to [`failed`].
fn counted(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        return failed(size);
    }
    grew(size);
    ptr
}

/// The first words of the line the component logs, at error level, when an allocation fails.
/// Hosts match it to tell a fault at their linear-memory cap from a bug (docs/EMBEDDING.md).
pub const OUT_OF_MEMORY: &str = "out of memory:";

/// An allocation failed: the linear memory could not grow, which inside the component means the
/// host's cap (or the 4 GiB a 32-bit memory addresses) was reached. Nothing the engine does is
/// ready for a missing allocation, so the instance stops here: one error line through the `log`
/// import (inside an export's body; see `MAY_LOG`), then an `unreachable` trap. std's own handler
/// would print to `wasi:cli/stderr` instead, which the component must never touch.
#[cfg(target_family = "wasm")]
fn failed(size: usize) -> *mut u8 {
    use std::fmt::Write;
    if !MAY_LOG.load(Ordering::Relaxed) {
        core::arch::wasm32::unreachable()
    }
    let mut line = Line::default();
    let _ = write!(
        line,
        "{OUT_OF_MEMORY} an allocation of {size} bytes failed with {} bytes allocated and {} bytes of linear memory, \
         which the host's cap keeps from growing; the instance traps now and must be replaced",
        used(),
        linear_memory()
    );
    crate::bindings::log_out_of_memory(line.as_str());
    core::arch::wasm32::unreachable()
}

/// Natively (unit tests) a failed allocation is std's to handle, as without this allocator.
#[cfg(not(target_family = "wasm"))]
fn failed(_size: usize) -> *mut u8 {
    std::ptr::null_mut()
}

/// A message built on the stack: there is no memory left to build it in. Longer text is cut.
#[cfg(target_family = "wasm")]
struct Line {
    bytes: [u8; 320],
    len: usize,
}

#[cfg(target_family = "wasm")]
impl Default for Line {
    fn default() -> Self {
        Line { bytes: [0; 320], len: 0 }
    }
}

#[cfg(target_family = "wasm")]
impl Line {
    fn as_str(&self) -> &str {
        // Only whole `str`s are written (see `write_str`), so the bytes are UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or(OUT_OF_MEMORY)
    }
}

#[cfg(target_family = "wasm")]
impl std::fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let room = self.bytes.len() - self.len;
        if text.len() > room {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text.as_bytes());
        self.len += text.len();
        Ok(())
    }
}

fn grew(size: usize) {
    let now = USED.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// Bytes allocated and not yet freed.
pub(crate) fn used() -> usize {
    USED.load(Ordering::Relaxed)
}

/// The most that was ever allocated at once.
pub(crate) fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// The size of the component's linear memory, which only grows (0 outside WebAssembly).
pub(crate) fn linear_memory() -> usize {
    #[cfg(target_family = "wasm")]
    {
        core::arch::wasm32::memory_size(0) * 65_536
    }
    #[cfg(not(target_family = "wasm"))]
    {
        0
    }
}
