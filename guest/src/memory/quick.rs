//! Freed small chunks kept for the next allocation of their size, in front of the heap.
//!
//! Inside the sandbox a call into dlmalloc costs 100–200 instructions (its bins, bitmaps and
//! coalescing, with the deadline checks compiled into every loop), and an engine call makes a
//! dozen or more short-lived allocations: requests, replies, the outbox, a script's strings and
//! tables. Most are freed within the call and asked for again, at the same sizes, by the next one.
//! A freed chunk of up to [`LARGEST`] bytes goes onto a list for its size instead, and the next
//! allocation of that size takes it back in a few instructions, as glibc's per-thread cache does.
//!
//! The lists are bounded ([`CLASS_BYTES`] each, about half a MiB in all on wasm32), so a burst of
//! frees of one size still reaches the heap, where it can coalesce. A kept chunk stays allocated
//! as far as the heap knows, so `used_memory` (counted above this layer) and every pointer the
//! heap hands out mean what they did.

use std::ptr::null_mut;

/// The largest request whose chunks are kept.
pub const LARGEST: usize = 256;

/// The most bytes of chunks kept for one size class: deep lists for the small sizes a script's
/// strings and tables take, a few dozen chunks for the largest.
pub const CLASS_BYTES: usize = 16 * 1024;

/// Bytes the heap adds to every request (its size word), and the step its chunk sizes grow by.
const OVERHEAD: usize = size_of::<usize>();
const STEP: usize = 2 * size_of::<usize>();

const CLASSES: usize = class(LARGEST) + 1;

/// Requests in one class get chunks of one size from the heap, so any kept chunk of the class
/// holds any of them: the chunk for `size` is `size + OVERHEAD` rounded up to `STEP` (or the
/// heap's smallest chunk, which holds every class below it).
const fn class(size: usize) -> usize {
    (size + OVERHEAD).div_ceil(STEP)
}

/// The kept chunks: one list per class, linked through each chunk's first word.
pub struct QuickLists {
    heads: [*mut u8; CLASSES],
    lengths: [u16; CLASSES],
}

impl QuickLists {
    pub const fn new() -> Self {
        QuickLists { heads: [null_mut(); CLASSES], lengths: [0; CLASSES] }
    }

    /// A kept chunk that holds `size` bytes aligned to `align`, if there is one.
    pub fn take(&mut self, size: usize, align: usize) -> Option<*mut u8> {
        if !Self::holds(size, align) {
            return None;
        }
        let class = class(size);
        let head = self.heads[class];
        if head.is_null() {
            return None;
        }
        // SAFETY: `head` is a chunk `keep` linked in; its first word holds the next one.
        self.heads[class] = unsafe { head.cast::<*mut u8>().read() };
        self.lengths[class] -= 1;
        Some(head)
    }

    /// Keeps `ptr`, an allocation of `size` bytes aligned to `align` that the caller is freeing;
    /// false when it is not kept and must go back to the heap.
    ///
    /// # Safety
    /// `ptr` must be a live allocation of the heap made for `size` and `align` (or taken from
    /// these lists for them), and unused from now on.
    pub unsafe fn keep(&mut self, ptr: *mut u8, size: usize, align: usize) -> bool {
        if !Self::holds(size, align) {
            return false;
        }
        let class = class(size);
        if (usize::from(self.lengths[class]) + 1) * class * STEP > CLASS_BYTES {
            return false;
        }
        // SAFETY: every chunk holds at least a word (the heap's smallest has room for two), and
        // the heap aligns chunks to a word or more.
        unsafe { ptr.cast::<*mut u8>().write(self.heads[class]) };
        self.heads[class] = ptr;
        self.lengths[class] += 1;
        true
    }

    /// Whether requests of `size` bytes aligned to `align` are kept on the lists.
    pub fn holds(size: usize, align: usize) -> bool {
        size <= LARGEST && align <= STEP
    }

    /// Whether a chunk for `old_size` also holds `new_size`, with the same alignment: a realloc
    /// that can keep its pointer.
    pub fn same_chunk(old_size: usize, new_size: usize, align: usize) -> bool {
        Self::holds(old_size, align) && Self::holds(new_size, align) && class(old_size) == class(new_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{Layout, alloc, dealloc};

    /// The sizes that share a chunk size with `size`, smallest and largest.
    fn class_bounds(size: usize) -> (usize, usize) {
        let top = class(size) * STEP - OVERHEAD;
        (top + 1 - STEP, top)
    }

    /// A chunk from std's allocator, as large as the heap would make it for the class of `size`.
    fn chunk(size: usize) -> (*mut u8, Layout) {
        let layout = Layout::from_size_align(class(size) * STEP, STEP).unwrap();
        (unsafe { alloc(layout) }, layout)
    }

    #[test]
    fn a_kept_chunk_serves_the_next_request_of_its_class_and_no_other() {
        let mut lists = QuickLists::new();
        let (smallest, largest) = class_bounds(60);
        let (ptr, layout) = chunk(60);
        assert!(unsafe { lists.keep(ptr, 60, 1) });
        assert_eq!(lists.take(largest + 1, 1), None, "a larger size needs a larger chunk");
        assert_eq!(lists.take(smallest - 1, 1), None, "a smaller size has chunks of its own");
        assert_eq!(lists.take(60, 2 * STEP), None, "chunks are only known to be aligned to STEP");
        assert_eq!(lists.take(largest, STEP), Some(ptr));
        assert_eq!(lists.take(largest, STEP), None);
        assert!(unsafe { lists.keep(ptr, largest, STEP) });
        assert_eq!(lists.take(smallest, 1), Some(ptr));
        unsafe { dealloc(ptr, layout) };
    }

    #[test]
    fn chunks_come_back_last_in_first_out_and_each_list_is_bounded() {
        let mut lists = QuickLists::new();
        let depth = CLASS_BYTES / (class(32) * STEP);
        let chunks: Vec<_> = (0..=depth).map(|_| chunk(32)).collect();
        for (n, (ptr, _)) in chunks.iter().enumerate() {
            let kept = unsafe { lists.keep(*ptr, 32, 8) };
            assert_eq!(kept, n < depth, "chunk {n}");
        }
        for (ptr, _) in chunks[..depth].iter().rev() {
            assert_eq!(lists.take(32, 8), Some(*ptr));
        }
        assert_eq!(lists.take(32, 8), None);
        for (ptr, layout) in chunks {
            unsafe { dealloc(ptr, layout) };
        }
    }

    #[test]
    fn large_and_overaligned_requests_are_not_kept() {
        let mut lists = QuickLists::new();
        let (ptr, layout) = chunk(LARGEST);
        assert!(!unsafe { lists.keep(ptr, LARGEST + 1, 8) });
        assert!(!unsafe { lists.keep(ptr, 64, 2 * STEP) });
        assert_eq!(lists.take(LARGEST + 1, 8), None);
        assert!(unsafe { lists.keep(ptr, LARGEST, 8) });
        assert_eq!(lists.take(LARGEST, 8), Some(ptr));
        unsafe { dealloc(ptr, layout) };
    }

    #[test]
    fn a_realloc_within_one_chunk_size_keeps_its_pointer() {
        let (smallest, largest) = class_bounds(60);
        assert!(QuickLists::same_chunk(smallest, largest, 8));
        assert!(!QuickLists::same_chunk(largest, largest + 1, 8));
        assert!(!QuickLists::same_chunk(LARGEST, LARGEST + 1, 8));
        assert!(!QuickLists::same_chunk(40, 40, 2 * STEP));
    }
}
