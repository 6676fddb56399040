//! The device's record in NOR flash, through sequential-storage's map:
//! one key, each save a new item (CRC-checked, written after the old one,
//! which stays valid until the new one is complete), pages erased only
//! when the range fills. A power cut during a save leaves the previous
//! record readable; sequential-storage repairs the torn item on the next
//! access.
//!
//! ```ignore
//! let mut store = TokenFlash::new(flash, 0x0818_0000..0x0820_0000)?;
//! let mut device = match store.load().await {
//!     Ok(Some(record)) => Device::restore(&cfg, record),
//!     _ => Device::new(&cfg),
//! };
//! // on Poll::Save:
//! let mut buf = [0; RECORD_CAP];
//! let n = device.write_record(&mut buf)?;
//! device.saved(store.save(&buf[..n]).await.is_ok());
//! ```

use crate::RECORD_CAP;
use core::ops::Range;
use embedded_storage_async::nor_flash::NorFlash;
use sequential_storage::cache::{Cache, Uncached};
use sequential_storage::map::{MapConfig, MapStorage};

pub use sequential_storage::Error;

/// The map key of the record.
const KEY: u8 = 1;
/// Key, value and the item's word padding.
const DATA_BUF: usize = RECORD_CAP + 1 + 32;

/// The record store.
pub struct TokenFlash<S: NorFlash> {
    map: MapStorage<u8, S, Cache<Uncached, Uncached, Uncached, u8>>,
    buf: [u8; DATA_BUF],
}

impl<S: NorFlash> TokenFlash<S> {
    /// The store on `range` of `flash`: whole erase pages, at least two.
    /// `None` for a range that is not.
    pub fn new(flash: S, range: Range<u32>) -> Option<Self> {
        let config = MapConfig::try_new(range).ok()?;
        Some(TokenFlash {
            map: MapStorage::new(flash, config, Cache::new_uncached()),
            buf: [0; DATA_BUF],
        })
    }

    /// The saved record, if there is one, borrowed from the store's own
    /// buffer (hand it to [`Device::restore`](crate::Device::restore),
    /// which copies what it keeps).
    pub async fn load(&mut self) -> Result<Option<&[u8]>, Error<S::Error>> {
        self.map.fetch_item::<&[u8]>(&mut self.buf, &KEY).await
    }

    /// Saves `record` in place of the last one.
    pub async fn save(&mut self, record: &[u8]) -> Result<(), Error<S::Error>> {
        self.map.store_item(&mut self.buf, &KEY, &record).await
    }

    /// The flash back.
    pub fn into_inner(self) -> S {
        self.map.destroy().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Device};
    use embassy_futures::block_on;
    use latch_core::UnixTime;
    use latch_core::oauth2::client::{Endpoints, TokenSet};
    use sequential_storage::mock_flash::{MockFlashBase, WriteCountCheck};

    /// Four 1 KiB pages, 4-byte words.
    type Flash = MockFlashBase<4, 4, 256>;

    fn record(access: &str) -> std::vec::Vec<u8> {
        let e = Endpoints::restore("http://as/token", "http://as/device").unwrap();
        let t = TokenSet::restore(access, Some("r"), UnixTime(1), Some(UnixTime(2))).unwrap();
        let mut buf = [0u8; RECORD_CAP];
        let n = crate::record::write(&e, Some(&t), &mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn the_last_save_wins_across_many_page_erases() {
        block_on(async {
            let mut store = TokenFlash::new(Flash::default(), Flash::FULL_FLASH_RANGE).unwrap();
            assert_eq!(store.load().await.unwrap(), None);
            // Far more saves than fit: pages are recycled.
            for i in 0..200 {
                store
                    .save(&record(&std::format!("token{i}")))
                    .await
                    .unwrap();
            }
            let got = store.load().await.unwrap().unwrap().to_vec();
            assert_eq!(got, record("token199"));
            let cfg = Config {
                issuer: "http://as",
                client_id: "c",
                client_secret: None,
                scope: None,
            };
            assert!(Device::restore(&cfg, &got).is_logged_in());
        });
    }

    #[test]
    fn a_power_cut_during_a_save_keeps_the_previous_record() {
        // Cut the power after every possible number of bytes written.
        for cut in (0..600).step_by(7) {
            block_on(async {
                let mut store = TokenFlash::new(Flash::default(), Flash::FULL_FLASH_RANGE).unwrap();
                store.save(&record("old")).await.unwrap();
                let mut flash = store.into_inner();
                flash.bytes_until_shutoff = Some(cut);
                let mut store = TokenFlash::new(flash, Flash::FULL_FLASH_RANGE).unwrap();
                let saved = store.save(&record("new")).await.is_ok();
                let mut flash = store.into_inner();
                flash.bytes_until_shutoff = None;
                let mut store = TokenFlash::new(flash, Flash::FULL_FLASH_RANGE).unwrap();
                let got = store.load().await.unwrap().unwrap().to_vec();
                if saved {
                    assert_eq!(got, record("new"), "cut {cut}");
                } else {
                    assert!(got == record("old") || got == record("new"), "cut {cut}");
                }
            });
        }
    }

    #[test]
    fn a_full_or_broken_flash_is_an_error_value() {
        block_on(async {
            // Two 128-byte pages cannot hold a 180-byte record.
            type Small = MockFlashBase<2, 4, 32>;
            let mut store = TokenFlash::new(Small::default(), Small::FULL_FLASH_RANGE).unwrap();
            let r = store.save(&record(&"a".repeat(120))).await;
            assert!(
                matches!(r, Err(Error::ItemTooBig | Error::FullStorage)),
                "{r:?}"
            );
            // A flash that refuses writes (a word written twice).
            let mut flash = Flash::new(WriteCountCheck::OnceOnly, Some(0), true);
            flash.bytes_until_shutoff = Some(0);
            let mut store = TokenFlash::new(flash, Flash::FULL_FLASH_RANGE).unwrap();
            assert!(store.save(&record("x")).await.is_err());
            // A range that is not whole pages.
            assert!(TokenFlash::new(Flash::default(), 0..1000).is_none());
        });
    }
}
