//! The cap on the component's linear memory, which also remembers whether the component ran into
//! it. The component reports an allocation that failed at the cap through `log` when it can; while
//! the host is handing it a call's arguments the component model lets it call no import, and then
//! the refused growth recorded here is the only sign that its trap was the cap and not a bug.

use wasmtime::{ResourceLimiter, Result};

#[derive(Debug, Default)]
pub struct MemoryCap {
    /// Bytes the linear memory may grow to; `None`: what the memory's own type allows.
    cap: Option<usize>,
    /// The size growth was refused at, once it was.
    refused: Option<usize>,
}

impl MemoryCap {
    pub fn new(cap: Option<usize>) -> Self {
        MemoryCap { cap, refused: None }
    }

    /// The size the component asked its memory to grow to when it was refused, if it ever was.
    pub fn refused(&self) -> Option<usize> {
        self.refused
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> Result<bool> {
        let allowed = self.cap.is_none_or(|cap| desired <= cap) && maximum.is_none_or(|max| desired <= max);
        if !allowed {
            self.refused = Some(desired);
        }
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> Result<bool> {
        Ok(maximum.is_none_or(|max| desired <= max))
    }
}
