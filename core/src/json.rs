//! JSON in and out (RFC 8259), on top of serde-json-core: the layer the
//! OAuth 2.0 documents ([`crate::oauth2`]) and JOSE ([`crate::jose`]) share.
//!
//! * **Rendering** serializes into the caller's buffer with
//!   `serde_json_core::to_slice`. When the buffer is too small, a second
//!   pass through a counting serializer that mirrors serde-json-core's
//!   output byte for byte reports the exact size needed
//!   ([`BufferTooSmall::required`]), as every other writer in the crate does.
//! * **Parsing** borrows: string fields are [`JsonStr`]s, the raw text
//!   between the quotes with its escapes still in place (validated while
//!   parsing), unescaped on demand into a caller buffer
//!   ([`JsonStr::decode`]) or compared without one ([`JsonStr::eq_str`]).
//!   serde-json-core itself unescapes only into one shared scratch buffer,
//!   which cannot hold several fields at once and refuses surrogate pairs;
//!   this module does both properly (RFC 8259 §7). Unknown fields are
//!   ignored.
//! * serde-json-core recurses once per nesting level, including inside
//!   ignored fields, so a hostile body of ten thousand `[` would overflow a
//!   small stack. Input is first scanned and refused past
//!   [`MAX_DEPTH`] levels.
//! * serde-json-core skips an ignored scalar by reading up to the next `,`,
//!   `}` or `]`, so it accepts some text that is not JSON. Where two
//!   parsers reading the same signed bytes differently would matter (JOSE
//!   headers, JWT claims, JWKs), [`parse_strict`] first checks the whole
//!   input against the RFC 8259 grammar and refuses escaped member names,
//!   so that `"\u0063rit"` cannot hide a `crit` header from a derive that
//!   matches names verbatim.

use crate::buf::{BufferTooSmall, CapacityError, Sink, SliceWriter};
use core::fmt;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{self, Serialize};

/// The deepest nesting of objects and arrays a parsed body may have.
pub const MAX_DEPTH: usize = 8;

/// Serializes `value` into `out`.
pub(crate) fn render<T: Serialize + ?Sized>(
    value: &T,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    match serde_json_core::to_slice(value, out) {
        Ok(n) => Ok(n),
        Err(_) => {
            let mut c = Counter(0);
            let required = match value.serialize(&mut c) {
                Ok(()) => c.0,
                // Unreachable for the crate's types; never claim a fit.
                Err(_) => out.len().saturating_add(1),
            };
            Err(BufferTooSmall { required })
        }
    }
}

/// Why a JSON body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON of the expected shape (syntax, types, a required field
    /// missing, a field repeated, a bad escape).
    Malformed,
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Malformed => f.write_str("malformed JSON"),
            JsonError::TooDeep => f.write_str("JSON nested too deeply"),
        }
    }
}

impl core::error::Error for JsonError {}

/// Refuses input nested deeper than `max` (strings are skipped).
pub(crate) fn check_depth(input: &[u8], max: usize) -> Result<(), JsonError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in input {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth = depth.saturating_add(1);
                if depth > max {
                    return Err(JsonError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses a whole body as `T` after the depth check.
pub(crate) fn parse<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, JsonError> {
    check_depth(input, MAX_DEPTH)?;
    serde_json_core::from_slice::<T>(input)
        .map(|(v, _)| v)
        .map_err(|_| JsonError::Malformed)
}

/// Parses a whole body as `T` after checking it is exactly one JSON value
/// (RFC 8259 §2), at most [`MAX_DEPTH`] deep, whose object member names
/// carry no escapes.
pub(crate) fn parse_strict<'a, T: Deserialize<'a>>(input: &'a [u8]) -> Result<T, JsonError> {
    validate(input, MAX_DEPTH)?;
    serde_json_core::from_slice::<T>(input)
        .map(|(v, _)| v)
        .map_err(|_| JsonError::Malformed)
}

/// What a member's value must be, for [`parse_members`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string (escapes checked, kept raw: a [`JsonStr`]).
    Str,
    /// A non-negative integer that fits a `u64`.
    Uint,
    /// `true` or `false`.
    Bool,
}

/// A member a parser reads: its name, the slot it fills (an alias shares
/// its name's slot, so naming both is a repeated member) and its kind.
/// Slots are below 32: the walker keeps the slots filled in a `u32`, and
/// would not see a higher one repeated.
pub(crate) type Member = (&'static str, u8, Kind);

/// A member's value as [`parse_members`] hands it over: of the member's
/// [`Kind`], or `Null` for a JSON `null`.
#[derive(Clone, Copy)]
pub(crate) enum Value<'a> {
    /// A [`Kind::Str`] member.
    Str(JsonStr<'a>),
    /// A [`Kind::Uint`] member.
    Uint(u64),
    /// A [`Kind::Bool`] member.
    Bool(bool),
    /// `null`, which an optional member reads as absent.
    Null,
}

impl<'a> Value<'a> {
    /// The string, or `None` for `null`.
    pub(crate) fn str(self) -> Option<JsonStr<'a>> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, or `None` for `null`.
    pub(crate) fn uint(self) -> Option<u64> {
        match self {
            Value::Uint(n) => Some(n),
            _ => None,
        }
    }

    /// The boolean, or `None` for `null`.
    pub(crate) fn bool(self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// Reads a body that is one JSON object, after the depth check: hands
/// each member named in `members` to `fill` with its slot and value, and
/// skips every other member. A slot filled twice (a repeated member, or a
/// name and its alias) and a value not of its member's kind are
/// [`JsonError::Malformed`]; which members are required is the caller's
/// to check.
///
/// This is what a `#[derive(Deserialize)]` does for the client's answer
/// documents, written once: serde's derive monomorphizes serde-json-core's
/// map, key and string parsing for every document type, and on the device
/// those copies were 3 KB of flash (BENCHMARKS.md, "Firmware"). Here there
/// is one copy, and each document is a table and a `fill`.
pub(crate) fn parse_members<'a>(
    input: &'a [u8],
    members: &[Member],
    fill: &mut dyn FnMut(u8, Value<'a>),
) -> Result<(), JsonError> {
    check_depth(input, MAX_DEPTH)?;
    let mut de = serde_json_core::de::Deserializer::new(input, None);
    de.deserialize_map(Walk { members, fill })
        .and_then(|()| de.end())
        .map(|_| ())
        .map_err(|_| JsonError::Malformed)
}

/// [`parse_members`]' visitor of the object.
struct Walk<'m, 'f, 'a> {
    members: &'m [Member],
    fill: &'f mut dyn FnMut(u8, Value<'a>),
}

impl<'de: 'a, 'a> serde::de::Visitor<'de> for Walk<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        let mut filled = 0u32;
        while let Some(member) = map.next_key_seed(Key(self.members))? {
            let Some((slot, kind)) = member else {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            };
            let bit = 1u32.checked_shl(u32::from(slot)).unwrap_or(0);
            if filled & bit != 0 {
                return Err(A::Error::custom("repeated member"));
            }
            filled |= bit;
            let value = match kind {
                Kind::Str => map.next_value::<Option<JsonStr<'a>>>()?.map(Value::Str),
                Kind::Uint => map.next_value::<Option<u64>>()?.map(Value::Uint),
                Kind::Bool => map.next_value::<Option<bool>>()?.map(Value::Bool),
            };
            (self.fill)(slot, value.unwrap_or(Value::Null));
        }
        Ok(())
    }
}

/// A member name, looked up in the table: its slot and kind, or `None`
/// for a member the caller does not read.
struct Key<'m>(&'m [Member]);

impl<'de> serde::de::DeserializeSeed<'de> for Key<'_> {
    type Value = Option<(u8, Kind)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key<'_> {
    type Value = Option<(u8, Kind)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self
            .0
            .iter()
            .find(|m| m.0 == name)
            .map(|&(_, slot, kind)| (slot, kind)))
    }
}

/// Where [`validate`] is inside the grammar.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (top level, after `:` or after `,` in an array).
    Value,
    /// A value or `]` (just after `[`).
    ValueOrClose,
    /// A member name (after `,` in an object).
    Name,
    /// A member name or `}` (just after `{`).
    NameOrClose,
    /// The `:` after a member name.
    Colon,
    /// `,` or the end of the enclosing container (or of the input).
    Next,
}

/// Checks that `input` is one JSON text (RFC 8259 §2–§7) nested at most
/// `max_depth` levels (capped at 64), whose object member names contain no
/// backslash. Strings must be valid UTF-8 without raw control characters
/// and with well-formed escapes; numbers follow §6's grammar.
pub(crate) fn validate(input: &[u8], max_depth: usize) -> Result<(), JsonError> {
    if core::str::from_utf8(input).is_err() {
        return Err(JsonError::Malformed);
    }
    let max_depth = max_depth.min(64);
    // One bit per open container, innermost lowest: 1 object, 0 array.
    let mut stack = 0u64;
    let mut depth = 0usize;
    let mut at = 0usize;
    let mut expect = Expect::Value;
    loop {
        at = skip_ws(input, at);
        let c = input.get(at).copied();
        let next = at.saturating_add(1);
        match expect {
            Expect::Value | Expect::ValueOrClose => match c {
                Some(b']') if expect == Expect::ValueOrClose => {
                    (stack, depth) = (stack >> 1, depth.saturating_sub(1));
                    at = next;
                    expect = Expect::Next;
                }
                Some(open @ (b'{' | b'[')) => {
                    if depth >= max_depth {
                        return Err(JsonError::TooDeep);
                    }
                    stack = (stack << 1) | u64::from(open == b'{');
                    depth = depth.saturating_add(1);
                    at = next;
                    expect = if open == b'{' {
                        Expect::NameOrClose
                    } else {
                        Expect::ValueOrClose
                    };
                }
                Some(b'"') => {
                    at = string_end(input, next)?;
                    expect = Expect::Next;
                }
                Some(b'-' | b'0'..=b'9') => {
                    at = number_end(input, at)?;
                    expect = Expect::Next;
                }
                Some(b't') => (at, expect) = (literal_end(input, at, b"true")?, Expect::Next),
                Some(b'f') => (at, expect) = (literal_end(input, at, b"false")?, Expect::Next),
                Some(b'n') => (at, expect) = (literal_end(input, at, b"null")?, Expect::Next),
                _ => return Err(JsonError::Malformed),
            },
            Expect::Name | Expect::NameOrClose => match c {
                Some(b'}') if expect == Expect::NameOrClose => {
                    (stack, depth) = (stack >> 1, depth.saturating_sub(1));
                    at = next;
                    expect = Expect::Next;
                }
                Some(b'"') => {
                    let end = string_end(input, next)?;
                    if input
                        .get(next..end)
                        .is_none_or(|name| name.contains(&b'\\'))
                    {
                        return Err(JsonError::Malformed);
                    }
                    at = end;
                    expect = Expect::Colon;
                }
                _ => return Err(JsonError::Malformed),
            },
            Expect::Colon => match c {
                Some(b':') => (at, expect) = (next, Expect::Value),
                _ => return Err(JsonError::Malformed),
            },
            Expect::Next => {
                let in_object = stack & 1 == 1;
                match c {
                    None if depth == 0 => return Ok(()),
                    Some(b',') if depth > 0 => {
                        at = next;
                        expect = if in_object {
                            Expect::Name
                        } else {
                            Expect::Value
                        };
                    }
                    Some(b'}') if depth > 0 && in_object => {
                        (stack, depth) = (stack >> 1, depth.saturating_sub(1));
                        at = next;
                    }
                    Some(b']') if depth > 0 && !in_object => {
                        (stack, depth) = (stack >> 1, depth.saturating_sub(1));
                        at = next;
                    }
                    _ => return Err(JsonError::Malformed),
                }
            }
        }
    }
}

/// The index of the first byte at or after `at` that is not JSON
/// whitespace (RFC 8259 §2).
fn skip_ws(input: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = input.get(at) {
        at = at.saturating_add(1);
    }
    at
}

/// The index just past the closing quote of the string whose body starts
/// at `at` (RFC 8259 §7).
fn string_end(input: &[u8], mut at: usize) -> Result<usize, JsonError> {
    loop {
        let c = *input.get(at).ok_or(JsonError::Malformed)?;
        at = at.saturating_add(1);
        match c {
            b'"' => return Ok(at),
            b'\\' => {
                let e = *input.get(at).ok_or(JsonError::Malformed)?;
                at = at.saturating_add(1);
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let end = at.saturating_add(4);
                        let hex = input.get(at..end).ok_or(JsonError::Malformed)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(JsonError::Malformed);
                        }
                        at = end;
                    }
                    _ => return Err(JsonError::Malformed),
                }
            }
            0x00..=0x1F => return Err(JsonError::Malformed),
            _ => {}
        }
    }
}

/// The index just past the number starting at `at` (RFC 8259 §6:
/// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`).
fn number_end(input: &[u8], mut at: usize) -> Result<usize, JsonError> {
    let digits = |from: usize| {
        let mut end = from;
        while input.get(end).is_some_and(u8::is_ascii_digit) {
            end = end.saturating_add(1);
        }
        end
    };
    if input.get(at) == Some(&b'-') {
        at = at.saturating_add(1);
    }
    match input.get(at) {
        Some(b'0') => at = at.saturating_add(1),
        Some(b'1'..=b'9') => at = digits(at),
        _ => return Err(JsonError::Malformed),
    }
    if input.get(at) == Some(&b'.') {
        let end = digits(at.saturating_add(1));
        if end == at.saturating_add(1) {
            return Err(JsonError::Malformed);
        }
        at = end;
    }
    if let Some(b'e' | b'E') = input.get(at) {
        at = at.saturating_add(1);
        if let Some(b'+' | b'-') = input.get(at) {
            at = at.saturating_add(1);
        }
        let end = digits(at);
        if end == at {
            return Err(JsonError::Malformed);
        }
        at = end;
    }
    Ok(at)
}

/// The index just past `word` at `at`, if it is there.
fn literal_end(input: &[u8], at: usize, word: &[u8]) -> Result<usize, JsonError> {
    let end = at.saturating_add(word.len());
    match input.get(at..end) {
        Some(w) if w == word => Ok(end),
        _ => Err(JsonError::Malformed),
    }
}

/// A JSON string value borrowed from the input, escapes still in place
/// (and known to be valid).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct JsonStr<'a>(&'a str);

impl<'a> JsonStr<'a> {
    /// The text between the quotes, as it appeared.
    pub const fn raw(&self) -> &'a str {
        self.0
    }

    /// Whether the value is the empty string.
    pub const fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether unescaping leaves the text as it is.
    pub fn is_verbatim(&self) -> bool {
        !self.0.as_bytes().contains(&b'\\')
    }

    /// The unescaped bytes, one at a time.
    pub fn unescaped(&self) -> Unescape<'a> {
        Unescape {
            rest: self.0.as_bytes(),
            pending: [0; 4],
            pending_len: 0,
            pending_pos: 0,
        }
    }

    /// The unescaped text: borrowed when there is nothing to unescape,
    /// otherwise written into `buf`.
    pub fn decode<'s>(&'s self, buf: &'s mut [u8]) -> Result<&'s str, BufferTooSmall> {
        if self.is_verbatim() {
            return Ok(self.0);
        }
        let mut w = SliceWriter::new(buf);
        for b in self.unescaped() {
            w.put(&[b]);
        }
        let bytes = w.into_written()?;
        // Valid escapes of valid UTF-8 input decode to UTF-8.
        core::str::from_utf8(bytes).map_err(|_| BufferTooSmall {
            required: self.0.len(),
        })
    }

    /// The unescaped text in a fixed-capacity string.
    pub fn to_heapless<const N: usize>(&self) -> Result<heapless::String<N>, CapacityError> {
        let mut v = heapless::Vec::<u8, N>::new();
        self.unescape_into(v.as_mut_view())?;
        heapless::String::from_utf8(v).map_err(|_| CapacityError { capacity: N })
    }

    /// [`JsonStr::to_heapless`]'s loop, once for every capacity (through
    /// heapless' capacity-erased view).
    fn unescape_into(&self, out: &mut heapless::vec::VecView<u8>) -> Result<(), CapacityError> {
        let capacity = out.capacity();
        for b in self.unescaped() {
            out.push(b).map_err(|_| CapacityError { capacity })?;
        }
        Ok(())
    }

    /// Whether both unescape to the same text.
    pub fn same_text(&self, other: &JsonStr<'_>) -> bool {
        if self.is_verbatim() && other.is_verbatim() {
            return self.0 == other.0;
        }
        self.unescaped().eq(other.unescaped())
    }

    /// Whether the unescaped text equals `s`.
    pub fn eq_str(&self, s: &str) -> bool {
        if self.is_verbatim() {
            return self.0 == s;
        }
        self.unescaped().eq(s.bytes())
    }

    /// Wraps text already checked by [`JsonStr::new`] (for a value kept
    /// as a range of a buffer and handed out again later).
    pub(crate) const fn trusted(raw: &'a str) -> Self {
        JsonStr(raw)
    }

    /// Checks the escapes (RFC 8259 §7) and refuses raw control
    /// characters.
    pub(crate) fn new(raw: &'a str) -> Result<Self, JsonError> {
        let mut it = Unescape {
            rest: raw.as_bytes(),
            pending: [0; 4],
            pending_len: 0,
            pending_pos: 0,
        };
        loop {
            match it.step() {
                Step::Byte(b) if b < 0x20 && !it.last_was_escape() => {
                    return Err(JsonError::Malformed);
                }
                Step::Byte(_) => {}
                Step::End => return Ok(JsonStr(raw)),
                Step::Invalid => return Err(JsonError::Malformed),
            }
        }
    }
}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JsonStr").field(&self.0).finish()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = serde_json_core::str::EscapedStr::deserialize(d)?;
        JsonStr::new(raw.0).map_err(|_| serde::de::Error::custom("invalid string escape"))
    }
}

/// Up to `N` strings of a JSON array (more are refused).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct JsonStrList<'a, const N: usize> {
    items: [JsonStr<'a>; N],
    len: usize,
}

impl<'a, const N: usize> JsonStrList<'a, N> {
    /// The strings.
    pub fn as_slice(&self) -> &[JsonStr<'a>] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// Whether any string unescapes to `s`.
    pub fn contains(&self, s: &str) -> bool {
        self.as_slice().iter().any(|x| x.eq_str(s))
    }

    /// Appends `s`, or hands it back when the list is full.
    pub(crate) fn push(&mut self, s: JsonStr<'a>) -> Result<(), JsonStr<'a>> {
        let slot = self.items.get_mut(self.len).ok_or(s)?;
        *slot = s;
        self.len = self.len.saturating_add(1);
        Ok(())
    }
}

impl<const N: usize> Default for JsonStrList<'_, N> {
    fn default() -> Self {
        JsonStrList {
            items: [JsonStr::default(); N],
            len: 0,
        }
    }
}

impl<const N: usize> fmt::Debug for JsonStrList<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'de: 'a, 'a, const N: usize> Deserialize<'de> for JsonStrList<'a, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a, const N: usize>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a, const N: usize> serde::de::Visitor<'de> for V<'a, N> {
            type Value = JsonStrList<'a, N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut list = JsonStrList::default();
                while let Some(s) = seq.next_element::<JsonStr<'a>>()? {
                    list.push(s)
                        .map_err(|_| serde::de::Error::custom("too many items"))?;
                }
                Ok(list)
            }
        }
        d.deserialize_seq(V::<'a, N>(core::marker::PhantomData))
    }
}

enum Step {
    Byte(u8),
    End,
    Invalid,
}

/// The unescaped bytes of a [`JsonStr`].
#[derive(Debug, Clone)]
pub struct Unescape<'a> {
    rest: &'a [u8],
    pending: [u8; 4],
    pending_len: u8,
    pending_pos: u8,
}

fn hex4(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b.get(..4)? {
        let d = char::from(c).to_digit(16)?;
        v = v.wrapping_shl(4) | d;
    }
    Some(v)
}

impl Unescape<'_> {
    fn last_was_escape(&self) -> bool {
        self.pending_len > 0
    }

    fn step(&mut self) -> Step {
        if self.pending_pos < self.pending_len {
            let b = self.pending.get(usize::from(self.pending_pos)).copied();
            self.pending_pos = self.pending_pos.saturating_add(1);
            return b.map_or(Step::Invalid, Step::Byte);
        }
        self.pending_len = 0;
        self.pending_pos = 0;
        let Some((&b, after)) = self.rest.split_first() else {
            return Step::End;
        };
        if b != b'\\' {
            self.rest = after;
            return Step::Byte(b);
        }
        let Some((&e, after)) = after.split_first() else {
            return Step::Invalid;
        };
        let simple = match e {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0C),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            self.rest = after;
            self.pending = [c, 0, 0, 0];
            self.pending_len = 1;
            self.pending_pos = 1;
            return Step::Byte(c);
        }
        if e != b'u' {
            return Step::Invalid;
        }
        let Some(hi) = hex4(after) else {
            return Step::Invalid;
        };
        let mut tail = after.get(4..).unwrap_or(&[]);
        let code = if (0xD800..0xDC00).contains(&hi) {
            // A high surrogate must be followed by `\u` and a low one.
            let lo = match tail {
                [b'\\', b'u', rest @ ..] => hex4(rest),
                _ => None,
            };
            match lo {
                Some(lo) if (0xDC00..0xE000).contains(&lo) => {
                    tail = tail.get(6..).unwrap_or(&[]);
                    0x10000u32
                        .saturating_add(hi.saturating_sub(0xD800).wrapping_shl(10))
                        .saturating_add(lo.saturating_sub(0xDC00))
                }
                _ => return Step::Invalid,
            }
        } else {
            hi
        };
        let Some(c) = char::from_u32(code) else {
            return Step::Invalid;
        };
        self.rest = tail;
        let mut buf = [0u8; 4];
        let len = c.encode_utf8(&mut buf).len();
        self.pending = buf;
        // len is 1..=4.
        self.pending_len = u8::try_from(len).unwrap_or(0);
        self.pending_pos = 1;
        Step::Byte(buf[0])
    }
}

impl Iterator for Unescape<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        match self.step() {
            Step::Byte(b) => Some(b),
            Step::End | Step::Invalid => None,
        }
    }
}

/// Counts what serde-json-core would write, byte for byte.
struct Counter(usize);

impl Counter {
    fn add(&mut self, n: usize) {
        self.0 = self.0.saturating_add(n);
    }

    fn add_str(&mut self, s: &str) {
        let body = s
            .chars()
            .map(|c| match c {
                '\\' | '"' | '\u{8}' | '\t' | '\n' | '\u{c}' | '\r' => 2,
                '\u{0}'..='\u{1f}' => 6,
                c => c.len_utf8(),
            })
            .fold(0usize, usize::saturating_add);
        self.add(body.saturating_add(2));
    }

    fn add_u64(&mut self, mut v: u64) {
        let mut n = 1usize;
        while v >= 10 {
            v /= 10;
            n = n.saturating_add(1);
        }
        self.add(n);
    }

    fn add_i64(&mut self, v: i64) {
        if v < 0 {
            self.add(1);
        }
        self.add_u64(v.unsigned_abs());
    }
}

#[derive(Debug)]
struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unsupported in counted JSON")
    }
}

impl core::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

struct Compound<'c> {
    c: &'c mut Counter,
    first: bool,
}

impl Compound<'_> {
    fn comma(&mut self) {
        if !self.first {
            self.c.add(1);
        }
        self.first = false;
    }
}

impl<'c> ser::Serializer for &'c mut Counter {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'c>;
    type SerializeTuple = Compound<'c>;
    type SerializeTupleStruct = Compound<'c>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = Compound<'c>;
    type SerializeStruct = Compound<'c>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.add(if v { 4 } else { 5 });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.add_i64(v.into());
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.add_i64(v.into());
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.add_i64(v.into());
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.add_i64(v);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.add_u64(v.into());
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.add_u64(v.into());
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.add_u64(v.into());
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.add_u64(v);
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_char(self, _: char) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.add_str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        self.add(v.len());
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.add(4);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.add(4);
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.add(4);
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.add_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        // serde-json-core writes its `EscapedStr` newtype unescaped; the
        // crate never serializes one, so refuse rather than miscount.
        if name == "__serde_json_core_escaped_string__" {
            return Err(Unsupported);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        // {"variant":value}
        self.add(variant.len().saturating_add(5));
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'c>, Unsupported> {
        self.add(1);
        Ok(Compound {
            c: self,
            first: true,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'c>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Compound<'c>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'c>, Unsupported> {
        self.add(1);
        Ok(Compound {
            c: self,
            first: true,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'c>, Unsupported> {
        self.add(1);
        Ok(Compound {
            c: self,
            first: true,
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, _: &T) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        self.comma();
        v.serialize(&mut *self.c)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.c.add(1);
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Unsupported> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Unsupported> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), Unsupported> {
        self.comma();
        k.serialize(&mut *self.c)?;
        self.c.add(1);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        v.serialize(&mut *self.c)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.c.add(1);
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Unsupported> {
        self.comma();
        // "key":
        self.c.add(key.len().saturating_add(3));
        v.serialize(&mut *self.c)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.c.add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Serialize)]
    struct Sample<'a> {
        s: &'a str,
        n: u64,
        i: i32,
        b: bool,
        o: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        list: &'a [&'a str],
    }

    fn counted<T: Serialize>(v: &T) -> usize {
        let mut c = Counter(0);
        v.serialize(&mut c).unwrap();
        c.0
    }

    #[test]
    fn too_small_reports_the_exact_size() {
        let v = Sample {
            s: "a\"b\\c\n\u{1}é",
            n: 1234,
            i: -56,
            b: false,
            o: None,
            skipped: None,
            list: &["x", "y"],
        };
        let mut big = [0u8; 256];
        let n = render(&v, &mut big).unwrap();
        assert_eq!(n, counted(&v));
        let mut small = [0u8; 10];
        assert_eq!(render(&v, &mut small), Err(BufferTooSmall { required: n }));
    }

    #[test]
    fn unescapes_rfc8259_section_7() {
        let s = JsonStr::new(r#"a\"b\\c\/d\b\f\n\r\t\u00e9\ud834\udd1e"#).unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            s.decode(&mut buf).unwrap(),
            "a\"b\\c/d\u{8}\u{c}\n\r\té\u{1d11e}"
        );
        assert!(s.eq_str("a\"b\\c/d\u{8}\u{c}\n\r\té\u{1d11e}"));
        assert!(!s.eq_str("a"));
        for bad in [
            r"\",
            r"\x",
            r"\u12",
            r"\ud834",
            r"\ud834\u0041",
            r"\udd1e",
            "a\u{1}",
        ] {
            assert_eq!(JsonStr::new(bad), Err(JsonError::Malformed), "{bad}");
        }
        let mut small = [0u8; 2];
        assert!(s.decode(&mut small).is_err());
        let plain = JsonStr::new("https://x").unwrap();
        let mut none = [0u8; 0];
        assert_eq!(plain.decode(&mut none), Ok("https://x"));
        assert_eq!(
            JsonStr::new(r"https:\/\/x")
                .unwrap()
                .to_heapless::<16>()
                .unwrap(),
            "https://x"
        );
        assert!(
            JsonStr::new(r"https:\/\/x")
                .unwrap()
                .to_heapless::<4>()
                .is_err()
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let mut deep = std::vec::Vec::new();
        deep.extend_from_slice(b"{\"a\":");
        deep.extend(core::iter::repeat_n(b'[', 10_000));
        assert_eq!(check_depth(&deep, MAX_DEPTH), Err(JsonError::TooDeep));
        assert_eq!(check_depth(br#"{"a":"[[[[[[[[[[[[[[["}"#, 2), Ok(()));
        assert_eq!(check_depth(br#"{"a":"\"[[[[[[[[[[[[["}"#, 2), Ok(()));
    }

    #[test]
    fn strict_validation_follows_rfc8259() {
        for good in [
            r#"{}"#,
            r#"[]"#,
            r#" {"a" : [1, -0.5e+3, 0, 1E9, true, false, null, "x\u00e9\n", {}]} "#,
            r#""top""#,
            "12",
            r#"{"a":{"b":{"c":[[]]}}}"#,
            "{\"k\":\"\u{e9}\"}",
        ] {
            assert_eq!(validate(good.as_bytes(), MAX_DEPTH), Ok(()), "{good}");
        }
        for bad in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a":abc}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":.5}"#,
            r#"{"a":1e}"#,
            r#"{"a":+1}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            r#"{"a":"\u12g4"}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"\u0061":1}"#,
            r#"{1:2}"#,
            r#"{"a":1}{"#,
            r#"{"a":1} x"#,
            r#"[1 2]"#,
            r#"{"a":[}"#,
        ] {
            assert_eq!(
                validate(bad.as_bytes(), MAX_DEPTH),
                Err(JsonError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(validate(b"{\"a\":\"\xff\"}", 8), Err(JsonError::Malformed));
        assert_eq!(validate(b"[[[[]]]]", 4), Ok(()));
        assert_eq!(validate(b"[[[[[]]]]]", 4), Err(JsonError::TooDeep));
        let mut deep = std::vec::Vec::new();
        deep.extend(core::iter::repeat_n(b'[', 10_000));
        assert_eq!(validate(&deep, 1000), Err(JsonError::TooDeep));
    }

    #[test]
    fn string_lists() {
        #[derive(serde::Deserialize)]
        struct L<'a> {
            #[serde(borrow)]
            l: JsonStrList<'a, 2>,
        }
        let l: L<'_> = parse(br#"{"l":["a","b\u0021"]}"#).unwrap();
        assert!(l.l.contains("b!"));
        assert_eq!(l.l.as_slice().len(), 2);
        assert!(parse::<L<'_>>(br#"{"l":["a","b","c"]}"#).is_err());
    }

    proptest! {
        #[test]
        fn counter_matches_serde_json_core(s in "\\PC*|[\\x00-\\x1f\"\\\\]*", n in any::<u64>(), i in any::<i32>()) {
            let v = Sample { s: &s, n, i, b: true, o: Some(&s), skipped: Some(1), list: &[&s, "z"] };
            let mut buf = [0u8; 4096];
            let written = serde_json_core::to_slice(&v, &mut buf).unwrap();
            prop_assert_eq!(written, counted(&v));
        }

        #[test]
        fn serde_json_core_output_is_strictly_valid(s in "\\PC*|[\\x00-\\x1f\"\\\\]*", n in any::<u64>(), i in any::<i32>()) {
            let v = Sample { s: &s, n, i, b: true, o: Some(&s), skipped: Some(1), list: &[&s, "z"] };
            let mut buf = [0u8; 4096];
            let written = serde_json_core::to_slice(&v, &mut buf).unwrap();
            prop_assert_eq!(validate(&buf[..written], MAX_DEPTH), Ok(()));
        }

        #[test]
        fn validation_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = validate(&bytes, 3);
        }

        #[test]
        fn escapes_written_by_serde_json_core_decode_back(s in "\\PC*|[\\x00-\\x1f\"\\\\/]*") {
            let mut buf = [0u8; 2048];
            let n = serde_json_core::to_slice(s.as_str(), &mut buf).unwrap();
            let raw = core::str::from_utf8(&buf[1..n - 1]).unwrap();
            let j = JsonStr::new(raw).unwrap();
            prop_assert!(j.eq_str(&s));
            let mut out = [0u8; 2048];
            prop_assert_eq!(j.decode(&mut out).unwrap(), s.as_str());
        }
    }
}
