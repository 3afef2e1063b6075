//! Memory accounting. Every allocation the engine makes goes through this allocator, so
//! `used_memory` in INFO is what the engine really holds, not an estimate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CountingAllocator;

static USED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only the counters are added.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        USED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            USED.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
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
