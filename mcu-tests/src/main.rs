//! latch-core's RFC vectors on a Cortex-M4 with no heap: every check in
//! `latch_core::selftest` runs here, under QEMU (mps2-an386) with
//! semihosting, exactly as `cargo test -p latch-core` runs it on the host;
//! then latch-device's `Device`, the firmware's own code, through a whole
//! conversation (`device.rs`).
//!
//! Prints `ok NAME (stack N bytes)` or `FAILED NAME: description` per
//! check (N: how deep that check took the stack), the deepest, then `mcu: N passed, M failed`, and exits with status 0
//! iff nothing failed. A panic or a HardFault prints what it can and exits
//! with failure, so a broken run never looks like a green one (and
//! `scripts/mcu-tests.sh` also wraps QEMU in `timeout` against hangs).

#![no_std]
#![no_main]

mod device;

use core::panic::PanicInfo;
use cortex_m_rt::{ExceptionFrame, entry, exception};
use cortex_m_semihosting::{debug, hprintln};

#[entry]
fn main() -> ! {
    let mut passed = 0u32;
    let mut failed = 0u32;
    let mut deepest = ("", 0usize);
    for check in latch_core::selftest::checks() {
        repaint_free_stack();
        let result = (check.run)();
        let depth = stack_depth();
        if depth > deepest.1 {
            deepest = (check.name, depth);
        }
        match result {
            Ok(()) => {
                passed += 1;
                hprintln!("ok {} (stack {} bytes)", check.name, depth);
            }
            Err(failure) => {
                failed += 1;
                hprintln!("FAILED {}: {}", check.name, failure);
            }
        }
    }
    // latch-device's Device, as the firmware runs it.
    repaint_free_stack();
    let result = device::conversation();
    let depth = stack_depth();
    if depth > deepest.1 {
        deepest = ("latch_device::Device", depth);
    }
    match result {
        Ok(()) => {
            passed += 1;
            hprintln!(
                "ok latch_device::Device conversation (stack {} bytes)",
                depth
            );
        }
        Err(why) => {
            failed += 1;
            hprintln!("FAILED latch_device::Device conversation: {}", why);
        }
    }
    hprintln!(
        "stack: at most {} of {} bytes, in {}",
        deepest.1,
        stack_size(),
        deepest.0
    );
    hprintln!("mcu: {} passed, {} failed", passed, failed);
    debug::exit(if failed == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

unsafe extern "C" {
    // Both from cortex-m-rt's link.x: the stack grows down from
    // `_stack_start` to at most `_stack_end`.
    static _stack_end: u32;
    static _stack_start: u32;
}

const PAINT: u32 = cortex_m_rt::STACK_PAINT_VALUE;
/// Bytes below the stack pointer left alone when repainting (room for
/// `repaint_free_stack`'s own calls).
const RED_ZONE: usize = 256;

fn stack_bottom() -> usize {
    &raw const _stack_end as usize
}

fn stack_top() -> usize {
    &raw const _stack_start as usize
}

fn stack_size() -> usize {
    stack_top() - stack_bottom()
}

/// Paints the unused part of the stack again (cortex-m-rt's `paint-stack`
/// painted all of it at reset), so the next [`stack_depth`] measures only
/// what ran in between.
#[inline(never)]
fn repaint_free_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut addr = stack_bottom();
    while addr + RED_ZONE < sp {
        // SAFETY: `[_stack_end, sp - RED_ZONE)` is stack RAM below the
        // live stack; with no interrupts enabled nothing else uses it.
        unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
        addr += 4;
    }
}

/// How deep the stack has gone since it was last painted, in bytes from
/// its top: the lowest word no longer holding the paint.
fn stack_depth() -> usize {
    let top = stack_top();
    let mut addr = stack_bottom();
    while addr < top {
        // SAFETY: `[_stack_end, _stack_start)` is RAM reserved for the
        // stack by the linker script, word-aligned; reading it is valid.
        if unsafe { core::ptr::read_volatile(addr as *const u32) } != PAINT {
            break;
        }
        addr += 4;
    }
    top - addr
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    hprintln!("mcu: panicked");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("HardFault: {:?}", frame);
    hprintln!("mcu: hard fault");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
