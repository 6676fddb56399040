//! The Linux build's flash: a NOR flash emulated in a file (or in RAM, for
//! a run that keeps nothing), with NOR's rules — erase sets a page to
//! `0xFF`, a write can only clear bits (the new value is ANDed in), writes
//! are whole words — so sequential-storage runs on it as on the MCU's
//! internal flash. Every write and erase reaches the file (`sync_data`)
//! before it returns, as a flash write has happened when the controller
//! says so.

use embedded_storage_async::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

/// Erase page, bytes: room for the largest record (`large-tokens`: 4.7 KB)
/// and sequential-storage's item and page headers.
pub const PAGE: usize = 8192;
/// Pages.
pub const PAGES: usize = 4;
/// The whole flash, bytes.
pub const SIZE: usize = PAGE * PAGES;

/// A flash operation failed.
#[derive(Debug)]
pub enum FlashError {
    /// Outside the flash.
    OutOfBounds,
    /// Not on a word or page boundary.
    NotAligned,
    /// The file could not be written.
    Io,
}

impl NorFlashError for FlashError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            FlashError::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            FlashError::NotAligned => NorFlashErrorKind::NotAligned,
            FlashError::Io => NorFlashErrorKind::Other,
        }
    }
}

/// The emulated flash.
pub struct FileFlash {
    data: Vec<u8>,
    file: Option<File>,
}

impl FileFlash {
    /// Flash kept in RAM only.
    pub fn in_memory() -> Self {
        FileFlash {
            data: vec![0xFF; SIZE],
            file: None,
        }
    }

    /// Flash kept in `path`: created erased (mode 0600: it holds tokens)
    /// if missing; an existing file must be exactly [`SIZE`] bytes.
    pub fn open(path: &Path) -> Result<Self, String> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let show = path.display();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot open state file {show}: {e}"))?;
        let len = file
            .metadata()
            .map_err(|e| format!("cannot read state file {show}: {e}"))?
            .len();
        let mut data = vec![0xFF; SIZE];
        match len {
            0 => {
                file.write_all_at(&data, 0)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| format!("cannot write state file {show}: {e}"))?;
            }
            n if n == SIZE as u64 => file
                .read_exact_at(&mut data, 0)
                .map_err(|e| format!("cannot read state file {show}: {e}"))?,
            n => {
                return Err(format!(
                    "state file {show} is {n} bytes, not a {SIZE}-byte flash image"
                ));
            }
        }
        Ok(FileFlash {
            data,
            file: Some(file),
        })
    }

    fn range(&self, offset: u32, len: usize) -> Result<std::ops::Range<usize>, FlashError> {
        let start = usize::try_from(offset).map_err(|_| FlashError::OutOfBounds)?;
        let end = start.checked_add(len).ok_or(FlashError::OutOfBounds)?;
        if end > self.data.len() {
            return Err(FlashError::OutOfBounds);
        }
        Ok(start..end)
    }

    fn persist(&self, range: std::ops::Range<usize>) -> Result<(), FlashError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let bytes = self
            .data
            .get(range.clone())
            .ok_or(FlashError::OutOfBounds)?;
        file.write_all_at(bytes, range.start as u64)
            .and_then(|()| file.sync_data())
            .map_err(|_| FlashError::Io)
    }
}

impl ErrorType for FileFlash {
    type Error = FlashError;
}

impl ReadNorFlash for FileFlash {
    const READ_SIZE: usize = 1;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let range = self.range(offset, bytes.len())?;
        bytes.copy_from_slice(self.data.get(range).ok_or(FlashError::OutOfBounds)?);
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl NorFlash for FileFlash {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let len = to.checked_sub(from).ok_or(FlashError::OutOfBounds)? as usize;
        if !(from as usize).is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) {
            return Err(FlashError::NotAligned);
        }
        let range = self.range(from, len)?;
        self.data
            .get_mut(range.clone())
            .ok_or(FlashError::OutOfBounds)?
            .fill(0xFF);
        self.persist(range)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        if !(offset as usize).is_multiple_of(Self::WRITE_SIZE)
            || !bytes.len().is_multiple_of(Self::WRITE_SIZE)
        {
            return Err(FlashError::NotAligned);
        }
        let range = self.range(offset, bytes.len())?;
        for (cell, b) in self
            .data
            .get_mut(range.clone())
            .ok_or(FlashError::OutOfBounds)?
            .iter_mut()
            .zip(bytes)
        {
            *cell &= b;
        }
        self.persist(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embassy_futures::block_on;

    #[test]
    fn nor_rules_and_the_file_keeps_what_was_written() {
        let dir = std::env::temp_dir().join(format!("latch-fw-flash-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        block_on(async {
            let mut f = FileFlash::open(&dir).unwrap();
            f.write(4, &[0x0F, 0xF0, 0x00, 0xFF]).await.unwrap();
            f.write(4, &[0xFF, 0x3C, 0xFF, 0x81]).await.unwrap();
            let mut got = [0u8; 4];
            f.read(4, &mut got).await.unwrap();
            assert_eq!(got, [0x0F, 0x30, 0x00, 0x81], "bits only clear");
            assert!(matches!(
                f.write(3, &[0; 4]).await,
                Err(FlashError::NotAligned)
            ));
            assert!(matches!(
                f.write(SIZE as u32, &[0; 4]).await,
                Err(FlashError::OutOfBounds)
            ));
            assert!(matches!(f.erase(0, 100).await, Err(FlashError::NotAligned)));
            let mut again = FileFlash::open(&dir).unwrap();
            again.read(4, &mut got).await.unwrap();
            assert_eq!(got, [0x0F, 0x30, 0x00, 0x81], "kept in the file");
            again.erase(0, PAGE as u32).await.unwrap();
            again.read(4, &mut got).await.unwrap();
            assert_eq!(got, [0xFF; 4]);
        });
        std::fs::write(&dir, b"short").unwrap();
        let err = FileFlash::open(&dir).err().unwrap();
        assert!(
            err.contains(&format!("not a {SIZE}-byte flash image")),
            "{err}"
        );
        std::fs::remove_file(&dir).unwrap();
    }
}
