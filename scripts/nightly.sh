# Sourced by the scripts that need nightly (build-std, the stack report,
# cargo-fuzz): one pinned nightly, installed with what they use. Not the
# moving `nightly` channel: its build of 2026-10-29 ships no rust-std for
# thumbv7em-none-eabihf, and an unpinned install picks up whatever the
# channel has that day.
NIGHTLY=nightly-2026-05-20
if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    rustup toolchain install "$NIGHTLY" --profile minimal >/dev/null
fi
rustup "+$NIGHTLY" component add rust-src >/dev/null
rustup "+$NIGHTLY" target add thumbv7em-none-eabihf >/dev/null
