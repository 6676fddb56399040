//! The chunked transfer coding (RFC 9112 §7.1) as a byte-at-a-time state
//! machine, so a chunk-size line or trailer split across reads needs no
//! re-scan and no room of its own.
//!
//! ```text
//! chunked-body    = *chunk last-chunk trailer-section CRLF
//! chunk           = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size      = 1*HEXDIG
//! last-chunk      = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext       = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! trailer-section = *( field-line CRLF )
//! ```
//!
//! Extensions are skipped (any tab, space, visible or obs-text byte up to
//! the CR: a quoted-string cannot hold a CR, so the first CR ends the
//! line). Trailer field lines are checked for `token ":" value` shape and
//! dropped. Line ends must be CRLF: a bare LF inside chunk framing is
//! refused, since parsers that disagree on it are a smuggling vector.
//!
//! Sizes are counted in `usize` (no chunk longer than the address space
//! fits a buffer, and a 32-bit MCU is spared 64-bit arithmetic): a size
//! past `usize::MAX` is [`HttpError::ResponseTooLarge`] at its digit, the
//! overflow §7.1 tells recipients to anticipate.

use super::{HttpError, is_tchar};

/// Where the decoder is in the chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunk {
    /// Before the first hex digit of a chunk size.
    SizeStart,
    /// In the hex digits.
    Size(usize),
    /// After the digits, in whitespace before `;` or CR.
    AfterSize(usize),
    /// In the chunk extensions.
    Ext(usize),
    /// After the CR of the chunk-size line.
    SizeLf(usize),
    /// In chunk data, with this many bytes left (never 0).
    Data(usize),
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// At the start of a trailer field line, or of the final CRLF.
    TrailerStart,
    /// In a trailer field name.
    TrailerName,
    /// In a trailer field value.
    TrailerValue,
    /// After the CR of a trailer field line.
    TrailerLf,
    /// After the CR of the final empty line.
    EndLf,
    /// The chunked body is complete.
    Finished,
}

fn hex(b: u8) -> Option<usize> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| usize::try_from(d).ok())
}

/// Bytes allowed in a chunk extension or a field value: HTAB, SP, VCHAR,
/// obs-text.
fn is_text(b: u8) -> bool {
    b == b'\t' || (0x20..=0x7E).contains(&b) || b >= 0x80
}

impl Chunk {
    /// The state after `b`. Not for [`Chunk::Data`], whose bytes the
    /// caller moves in bulk, nor [`Chunk::Finished`].
    pub(super) fn step(self, b: u8) -> Result<Chunk, HttpError> {
        use Chunk::*;
        Ok(match (self, b) {
            (SizeStart, _) => Size(hex(b).ok_or(HttpError::InvalidChunk)?),
            (Size(size), _) if hex(b).is_some() => Size(
                size.checked_mul(16)
                    .and_then(|s| s.checked_add(hex(b).unwrap_or(0)))
                    .ok_or(HttpError::ResponseTooLarge)?,
            ),
            (Size(size) | AfterSize(size), b' ' | b'\t') => AfterSize(size),
            (Size(size) | AfterSize(size) | Ext(size), b'\r') => SizeLf(size),
            (Size(size) | AfterSize(size), b';') => Ext(size),
            (Ext(size), _) if is_text(b) => Ext(size),
            (SizeLf(0), b'\n') => TrailerStart,
            (SizeLf(size), b'\n') => Data(size),
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => SizeStart,
            (TrailerStart, b'\r') => EndLf,
            (TrailerStart | TrailerName, _) if is_tchar(b) => TrailerName,
            (TrailerName, b':') => TrailerValue,
            (TrailerValue, b'\r') => TrailerLf,
            (TrailerValue, _) if is_text(b) => TrailerValue,
            (TrailerLf, b'\n') => TrailerStart,
            (EndLf, b'\n') => Finished,
            _ => return Err(HttpError::InvalidChunk),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the framing bytes through the machine, skipping data in bulk.
    fn run(bytes: &[u8]) -> Result<Chunk, HttpError> {
        let mut state = Chunk::SizeStart;
        let mut it = bytes.iter();
        while let Some(&b) = it.next() {
            state = state.step(b)?;
            if let Chunk::Data(n) = state {
                for _ in 0..n {
                    it.next();
                }
                state = Chunk::DataCr;
            }
        }
        Ok(state)
    }

    #[test]
    fn grammar() {
        assert_eq!(run(b"0\r\n\r\n"), Ok(Chunk::Finished));
        assert_eq!(run(b"000\r\n\r\n"), Ok(Chunk::Finished));
        assert_eq!(run(b"3\r\nabc\r\n0\r\n\r\n"), Ok(Chunk::Finished));
        assert_eq!(
            run(b"3 ;a=b;c=\"x;y\\\"\"\r\nabc\r\n0;last\r\nT: v\r\nU:\r\n\r\n"),
            Ok(Chunk::Finished)
        );
        assert_eq!(run(b"a"), Ok(Chunk::Size(10)));
        assert_eq!(run(b"FfFf"), Ok(Chunk::Size(0xFFFF)));
    }

    #[test]
    fn refused() {
        for bad in [
            &b"\r\n"[..],
            b"x\r\n",
            b"-1\r\n",
            b"1x\r\n",
            b"1\n",
            b"1\r\r",
            b"1\r\na\n",
            b"1\r\naX",
            b"1;\x00\r\n",
            b"1;\n",
            b"0\r\n\n",
            b"0\r\n:v\r\n\r\n",
            b"0\r\n v\r\n\r\n",
            b"0\r\nT v\r\n\r\n",
            b"0\r\nT: \x01\r\n\r\n",
            b"0\r\nT: v\n",
            b"0\r\n\r\r",
        ] {
            assert_eq!(
                run(bad),
                Err(HttpError::InvalidChunk),
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
        let max = std::format!("{:X}", usize::MAX);
        assert_eq!(run(max.as_bytes()), Ok(Chunk::Size(usize::MAX)));
        let past = std::format!("{max}0\r\n");
        assert_eq!(run(past.as_bytes()), Err(HttpError::ResponseTooLarge));
    }
}
