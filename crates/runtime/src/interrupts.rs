//! A store's pending interrupt and sample requests, and the probe page through which compiled code of a
//! `guest_profiling` engine notices them.
//!
//! Plain interrupt checks test the request word and trap when it is non-zero. A guest profiler needs more: wasm must
//! go on after a sample. Rather than test the word and call the runtime (a branch and a call at every function entry
//! and loop header, which also constrain the optimiser), such code loads a byte from the store's probe page, which
//! is readable exactly while nothing is pending: a request makes it unreadable, so the next probe faults, and the
//! fault handler (`traphandlers`) makes the page readable again, then takes the requests, and raises the interrupt
//! trap or takes a stack sample, after which the load runs again and succeeds.
//!
//! Requesters set their bit, then protect the page; the handler unprotects the page, then takes the bits. Either a
//! request's bit is set before the handler takes the bits (and is handled), or its protection comes after the
//! handler's unprotection (and the next probe faults again): no request is lost. A fault that finds nothing pending
//! (its request was taken by an earlier fault) only makes the page readable and lets the load run again.

use crate::mmap::{Mmap, page_size};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A store's pending requests (bits of `weft_environ::vmstore`), shared with its interrupt handles and its guest
/// profiler's timer.
#[repr(C)]
#[derive(Debug)]
pub struct InterruptFlag {
    /// First, so that a pointer to the flag is a pointer to the word plain interrupt checks load.
    bits: AtomicUsize,
    /// With probes compiled in: `PROBE_BYTES` (rounded up to a page) that compiled code loads from.
    probe: Option<Mmap>,
}

impl InterruptFlag {
    /// A flag with nothing pending; `with_probe` maps the probe page that `guest_profiling` code loads from.
    pub fn new(with_probe: bool) -> std::io::Result<InterruptFlag> {
        let probe = if with_probe {
            let len = (weft_environ::vmstore::PROBE_BYTES as usize).next_multiple_of(page_size());
            Some(Mmap::accessible(len)?)
        } else {
            None
        };
        Ok(InterruptFlag { bits: AtomicUsize::new(0), probe })
    }

    /// The probe compiled code loads from (`vmstore::INTERRUPT_PROBE`), or null without one.
    pub fn probe(&self) -> *const u8 {
        self.probe.as_ref().map_or(std::ptr::null(), |p| p.as_ptr().cast_const())
    }

    /// Asks running wasm to act on `bits` at its next check. Only atomics and `mprotect`: callable from any thread,
    /// and from a signal handler.
    pub fn request(&self, bits: usize) {
        self.bits.fetch_or(bits, Ordering::SeqCst);
        self.set_probe_readable(false);
    }

    /// Takes every pending request, leaving none (and the probe readable): the fault handler's, and the embedding
    /// layer's after an interrupt trap.
    pub fn take(&self) -> usize {
        self.set_probe_readable(true);
        self.bits.swap(0, Ordering::SeqCst)
    }

    /// Withdraws the requests in `bits`, keeping any other pending one.
    pub fn clear(&self, bits: usize) {
        // Nothing to withdraw: no system calls (this runs on every outermost call into a profiled store). A request
        // that sets one of `bits` after this load protects the page after it, so it stands, as if it came later.
        if self.bits.load(Ordering::SeqCst) & bits == 0 {
            return;
        }
        self.set_probe_readable(true);
        if self.bits.fetch_and(!bits, Ordering::SeqCst) & !bits != 0 {
            self.set_probe_readable(false);
        }
    }

    fn set_probe_readable(&self, readable: bool) {
        if let Some(probe) = &self.probe {
            // `mprotect` of a whole mapping we own fails only for lack of kernel memory; the request then waits for
            // the next one that succeeds (or, unprotecting, the probe faults again and is retried).
            let _ =
                if readable { probe.make_accessible(0, probe.len()) } else { probe.make_inaccessible(0, probe.len()) };
        }
    }
}
