//! Output plumbing: the [`Sink`] trait that streamed output is written to,
//! and [`SliceWriter`], a sink over a caller-owned `&mut [u8]` that reports how
//! much room was missing instead of truncating (the rustls 0.23 unbuffered
//! API's `InsufficientSizeError { required_size }` pattern).

use core::fmt;

/// Somewhere bytes can be streamed to: a caller buffer, a MAC, a hash, a
/// counter. Writes are infallible; a sink that can fill up remembers that and
/// reports it when it is finished (see [`SliceWriter::finish`]).
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn put(&mut self, bytes: &[u8]) {
        (**self).put(bytes);
    }
}

/// The output did not fit in the buffer the caller supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall {
    /// How many bytes the whole output needs.
    pub required: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "output buffer too small: {} bytes required",
            self.required
        )
    }
}

impl core::error::Error for BufferTooSmall {}

/// A fixed-capacity collection is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CapacityError {
    /// The capacity that was exceeded.
    pub capacity: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "capacity of {} exceeded", self.capacity)
    }
}

impl core::error::Error for CapacityError {}

/// A [`Sink`] over a caller-owned slice.
///
/// Once a write does not fit, nothing more is stored but the length still
/// counts, so [`finish`](Self::finish) can say how big the buffer must be.
/// After an overflow the slice's contents are unspecified.
#[derive(Debug)]
pub struct SliceWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
    overflow: bool,
}

impl<'b> SliceWriter<'b> {
    /// A writer that fills `buf` from the start.
    pub fn new(buf: &'b mut [u8]) -> Self {
        SliceWriter {
            buf,
            len: 0,
            overflow: false,
        }
    }

    /// Bytes written (or, after an overflow, bytes that would have been).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The length of the output, or how much room it needed.
    pub fn finish(self) -> Result<usize, BufferTooSmall> {
        if self.overflow {
            Err(BufferTooSmall { required: self.len })
        } else {
            Ok(self.len)
        }
    }

    /// The written bytes as a slice of the original buffer, or the error.
    pub fn into_written(self) -> Result<&'b [u8], BufferTooSmall> {
        if self.overflow {
            return Err(BufferTooSmall { required: self.len });
        }
        let len = self.len;
        self.buf.get(..len).ok_or(BufferTooSmall { required: len })
    }
}

impl Sink for SliceWriter<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let start = self.len;
        let end = start.saturating_add(bytes.len());
        self.len = end;
        if self.overflow {
            return;
        }
        match self.buf.get_mut(start..end) {
            Some(dst) => dst.copy_from_slice(bytes),
            None => self.overflow = true,
        }
    }
}

/// A sink that feeds a MAC or hash through a small staging buffer, so that
/// the many tiny writes of a streamed base string cost a `memcpy` each rather
/// than a call into the hash's block machinery.
pub(crate) struct Staged<U: digest_update::Update> {
    inner: U,
    stage: [u8; 128],
    len: usize,
}

pub(crate) mod digest_update {
    /// The one operation [`super::Staged`] needs from a hash or MAC.
    pub(crate) trait Update {
        fn update(&mut self, bytes: &[u8]);
    }
}

impl<U: digest_update::Update> Staged<U> {
    pub(crate) fn new(inner: U) -> Self {
        Staged {
            inner,
            stage: [0; 128],
            len: 0,
        }
    }

    fn flush(&mut self) {
        if let Some(pending) = self.stage.get(..self.len) {
            self.inner.update(pending);
        }
        self.len = 0;
    }

    pub(crate) fn into_inner(mut self) -> U {
        self.flush();
        self.inner
    }
}

impl<U: digest_update::Update> Sink for Staged<U> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.stage.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
            self.len = end;
            return;
        }
        self.flush();
        if bytes.len() >= self.stage.len() {
            self.inner.update(bytes);
        } else if let Some(dst) = self.stage.get_mut(..bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len = bytes.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_writer_reports_required_size() {
        let mut buf = [0u8; 4];
        let mut w = SliceWriter::new(&mut buf);
        w.put(b"abc");
        w.put(b"de");
        w.put(b"f");
        assert_eq!(w.finish(), Err(BufferTooSmall { required: 6 }));
    }

    #[test]
    fn slice_writer_exact_fit() {
        let mut buf = [0u8; 5];
        let mut w = SliceWriter::new(&mut buf);
        w.put(b"abc");
        w.put(b"de");
        assert_eq!(w.into_written(), Ok(&b"abcde"[..]));
    }

    struct Collect(heapless::Vec<u8, 512>);
    impl digest_update::Update for Collect {
        fn update(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes).unwrap();
        }
    }

    #[test]
    fn staged_preserves_order_across_flushes() {
        let mut s = Staged::new(Collect(heapless::Vec::new()));
        let mut expected = heapless::Vec::<u8, 512>::new();
        for i in 0..60u8 {
            let chunk = [i; 7];
            let n = usize::from(i % 7) + 1;
            s.put(&chunk[..n]);
            expected.extend_from_slice(&chunk[..n]).unwrap();
        }
        let big = [0xAB; 200];
        s.put(&big);
        expected.extend_from_slice(&big).unwrap();
        assert_eq!(s.into_inner().0, expected);
    }
}
