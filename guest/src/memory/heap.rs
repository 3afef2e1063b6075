//! The component's heap: one dlmalloc (the `dlmalloc` crate) that Rust's allocations and the C
//! library's `malloc` family share.
//!
//! Not wasi-libc's own `malloc`, which Rust's `System` allocator calls on WASI: it aligns every
//! chunk to 16 bytes, so a 64-byte value with its 4-byte header takes 80 bytes, where this one's
//! chunks grow in steps of 8 on wasm32 (docs/PERFORMANCE.md, "The component's allocator").
//!
//! The C entry points are not optional. The `cabi_realloc` the host calls is Rust std's, so the
//! lists WASI imports hand to wasi-libc come from this heap, and wasi-libc gives them back with
//! `free`: with two allocators, each would be handed the other's chunks. Defining `malloc`, `free`
//! and the rest here also keeps wasi-libc's allocator out of the component.
//!
//! Rust's small allocations first try the quick lists (`quick.rs`) of chunks freed earlier.

use super::quick::QuickLists;
use dlmalloc::Dlmalloc;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;

struct State {
    dlmalloc: Dlmalloc,
    quick: QuickLists,
}

struct Shared(UnsafeCell<State>);

// SAFETY: a component instance runs on one thread, and no allocator call is made from inside
// another (the allocator calls nothing that allocates).
unsafe impl Sync for Shared {}

static HEAP: Shared = Shared(UnsafeCell::new(State { dlmalloc: Dlmalloc::new(), quick: QuickLists::new() }));

/// # Safety
/// The caller must not hold the reference across another call into the heap.
#[allow(clippy::mut_from_ref)]
unsafe fn state() -> &'static mut State {
    unsafe { &mut *HEAP.0.get() }
}

/// The C library's way in: straight to dlmalloc, which reads a chunk's size from its header.
///
/// # Safety
/// As for [`state`].
#[allow(clippy::mut_from_ref)]
unsafe fn heap() -> &'static mut Dlmalloc {
    unsafe { &mut state().dlmalloc }
}

/// The heap as Rust's allocators see it; `CountingAllocator` counts on top of it.
pub struct Heap;

// SAFETY: each call is the crate's own `GlobalAlloc`-shaped method, with the layout passed on.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let state = unsafe { state() };
        match state.quick.take(layout.size(), layout.align()) {
            Some(kept) => kept,
            None => unsafe { state.dlmalloc.malloc(layout.size(), layout.align()) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let state = unsafe { state() };
        match state.quick.take(layout.size(), layout.align()) {
            Some(kept) => {
                // SAFETY: the kept chunk holds `layout.size()` bytes.
                unsafe { kept.write_bytes(0, layout.size()) };
                kept
            }
            None => unsafe { state.dlmalloc.calloc(layout.size(), layout.align()) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let state = unsafe { state() };
        // SAFETY: GlobalAlloc's contract: `ptr` was allocated here with `layout`, and is done with.
        if !unsafe { state.quick.keep(ptr, layout.size(), layout.align()) } {
            unsafe { state.dlmalloc.free(ptr, layout.size(), layout.align()) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if QuickLists::same_chunk(layout.size(), new_size, layout.align()) {
            return ptr;
        }
        if !QuickLists::holds(new_size, layout.align()) {
            return unsafe { heap().realloc(ptr, layout.size(), layout.align(), new_size) };
        }
        // Into a small size: a chunk of the new size (from its list, usually) and the old one
        // freed by size, not dlmalloc's realloc, which would split the old chunk in place. Growing
        // buffers and vectors shrunk to fit (the canonical ABI's lists) would otherwise take chunks
        // from one list and give them back to another, leaving the first empty and the second full.
        // SAFETY: GlobalAlloc's contract: `new_size` is non-zero and, rounded up to the alignment,
        // does not overflow, so the layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both are live allocations of at least the bytes copied, and distinct.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        moved
    }
}

/// What C code in the component (wasi-libc, Lua's C build) allocates with. Not counted in
/// `used_memory`, as before: the C library keeps a few small tables, and Lua allocates through
/// Rust (mlua's allocator).
#[cfg(target_os = "wasi")]
mod c_library {
    use super::heap;
    use std::ffi::c_void;

    /// wasi-libc's `EINVAL` and `ENOMEM`, which `posix_memalign` returns.
    const EINVAL: i32 = 28;
    const ENOMEM: i32 = 48;

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        unsafe { heap().c_malloc(size).cast() }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_malloc(size: usize) -> *mut c_void {
        unsafe { malloc(size) }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn free(ptr: *mut c_void) {
        unsafe { heap().c_free(ptr.cast()) }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_free(ptr: *mut c_void) {
        unsafe { free(ptr) }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
        match count.checked_mul(size) {
            Some(bytes) => unsafe { heap().calloc(bytes, 1).cast() },
            None => std::ptr::null_mut(),
        }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn __libc_calloc(count: usize, size: usize) -> *mut c_void {
        unsafe { calloc(count, size) }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        unsafe { heap().c_realloc(ptr.cast(), size).cast() }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
        if !align.is_power_of_two() {
            return std::ptr::null_mut();
        }
        unsafe { heap().c_memalign(align, size).cast() }
    }

    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
        if !align.is_power_of_two() || align < size_of::<*mut c_void>() {
            return EINVAL;
        }
        let ptr = unsafe { aligned_alloc(align, size) };
        if ptr.is_null() {
            return ENOMEM;
        }
        unsafe { *out = ptr };
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test that uses the heap, whose state is global and meant for one thread (the
    /// component's); natively it takes its memory from the system as on wasm32 it grows memory.
    #[test]
    fn a_realloc_into_a_small_size_keeps_each_size_s_chunks_on_its_own_list() {
        let heap = Heap;
        let request = Layout::from_size_align(100, 1).unwrap();
        let first = unsafe { heap.alloc(request) };
        unsafe { heap.dealloc(first, request) };
        let buffer = unsafe { heap.alloc(request) };
        assert_eq!(buffer, first, "a freed chunk serves the next request of its size");
        unsafe { buffer.copy_from_nonoverlapping(b"+OK\r\n".as_ptr(), 5) };

        // A buffer shrunk to fit, as a list handed to the host is: its bytes move to a chunk of
        // the smaller size, and the larger chunk is back on its list for the next buffer.
        let fitted = unsafe { heap.realloc(buffer, request, 5) };
        assert_ne!(fitted, buffer);
        assert_eq!(unsafe { std::slice::from_raw_parts(fitted, 5) }, b"+OK\r\n");
        assert_eq!(unsafe { heap.alloc(request) }, first);

        // Within one chunk size the pointer stays; past the largest kept size dlmalloc moves it.
        let small = Layout::from_size_align(5, 1).unwrap();
        assert_eq!(unsafe { heap.realloc(fitted, small, 6) }, fitted);
        let grown = unsafe { heap.realloc(fitted, Layout::from_size_align(6, 1).unwrap(), 4096) };
        assert_eq!(unsafe { std::slice::from_raw_parts(grown, 5) }, b"+OK\r\n");
        unsafe {
            heap.dealloc(grown, Layout::from_size_align(4096, 1).unwrap());
            heap.dealloc(first, request);
        }
    }
}
