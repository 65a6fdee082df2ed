//! The one canonical writer: RFC 8785 bytes of any `Serialize` value, written straight from
//! its `Serialize` implementation.
//!
//! [`super::to_canonical`] (model values) and [`super::canonical_value`] (JSON values) both
//! come here. Going through a `serde_json::Value` first (serialise, then canonicalise the
//! value) would allocate a tree per document; verification canonicalises every event of a
//! ledger, so this serializer writes the canonical form directly: objects (structs, maps,
//! enum variants written as `{"variant": ...}` as serde_json does) have their members sorted
//! by UTF-16 code units, strings use the escapes of RFC 8785 §3.2.2.2, integers up to 2^53
//! are plain decimal. For signed documents ([`Numbers::Signed`]) it refuses what they cannot
//! hold: integers beyond ±(2^53 - 1) and floating-point numbers; for any JSON value
//! ([`Numbers::Any`]) it writes those as ECMAScript does. Map keys must be strings or
//! integers. The unit tests check it against a `Value` writer kept as an oracle
//! (`oracle.rs`), and `tests/vectors.rs` against the RFC 8785 and ES6 vectors.

use serde::ser::{self, Serialize};

use super::{JsonError, MAX_SAFE_INTEGER, utf16_order_utf8, write_string};

/// Which numbers a document may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Numbers {
    /// A signed document: integers within ±(2^53 - 1) only.
    Signed,
    /// Any JSON value: other numbers are written by `serde_json_canonicalizer`'s ECMAScript
    /// number serialiser (RFC 8785 §3.2.2.3).
    Any,
}

/// Canonical bytes of `doc`.
pub(super) fn to_vec<T: Serialize + ?Sized>(doc: &T, numbers: Numbers) -> Result<Vec<u8>, JsonError> {
    let mut w = Writer::new(512, numbers);
    w.value(doc)?;
    Ok(w.finish())
}

/// Canonical bytes of the signed document `{"body": body, "sig": sig}` (the names in canonical
/// order), and the range of them that is `body`'s own canonical bytes (what is hashed), written
/// in one pass. `capacity` is a guess of the length.
pub(crate) fn to_vec_signed<B, S>(
    body: &B,
    sig: &S,
    capacity: usize,
) -> Result<(Vec<u8>, std::ops::Range<usize>), JsonError>
where
    B: Serialize + ?Sized,
    S: Serialize + ?Sized,
{
    let mut w = Writer::new(capacity, Numbers::Signed);
    w.out.extend_from_slice(br#"{"body":"#);
    let start = w.out.len();
    w.value(body)?;
    let end = w.out.len();
    w.out.extend_from_slice(br#","sig":"#);
    w.value(sig)?;
    w.out.push(b'}');
    Ok((w.finish(), start..end))
}

/// Why a value cannot be written canonically.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct Error(String);

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

fn unsafe_integer(n: impl std::fmt::Display) -> Error {
    Error(format!("number {n} is larger than 2^53 - 1"))
}

/// Appends `v` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        // `v % 10` is a single digit.
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends a number that is not a safe integer as ECMAScript writes it, for [`Numbers::Any`].
fn push_ecmascript(out: &mut Vec<u8>, n: Option<serde_json::Number>) -> Result<(), Error> {
    let n = n.ok_or_else(|| Error("a number that JSON cannot hold (not finite)".into()))?;
    let bytes =
        serde_json_canonicalizer::to_vec(&serde_json::Value::Number(n)).map_err(|e| Error(e.to_string()))?;
    out.extend_from_slice(&bytes);
    Ok(())
}

fn write_u(out: &mut Vec<u8>, v: u128, numbers: Numbers) -> Result<(), Error> {
    match u64::try_from(v) {
        Ok(v) if v <= MAX_SAFE_INTEGER => {
            push_decimal(out, v);
            Ok(())
        }
        Ok(v) if numbers == Numbers::Any => push_ecmascript(out, Some(v.into())),
        _ => Err(unsafe_integer(v)),
    }
}

fn write_i(out: &mut Vec<u8>, v: i128, numbers: Numbers) -> Result<(), Error> {
    match u64::try_from(v.unsigned_abs()) {
        Ok(abs) if abs <= MAX_SAFE_INTEGER => {
            if v < 0 {
                out.push(b'-');
            }
            push_decimal(out, abs);
            Ok(())
        }
        _ => match (numbers, i64::try_from(v)) {
            (Numbers::Any, Ok(small)) => push_ecmascript(out, Some(small.into())),
            _ => Err(unsafe_integer(v)),
        },
    }
}

fn write_f(out: &mut Vec<u8>, v: f64, numbers: Numbers) -> Result<(), Error> {
    match numbers {
        Numbers::Any => push_ecmascript(out, serde_json::Number::from_f64(v)),
        Numbers::Signed => {
            Err(Error(format!("number {v} is not an integer: signed documents hold whole numbers only")))
        }
    }
}

/// The output and the bookkeeping of the objects being written.
///
/// An object's members are written straight into `out` as they come, each recorded on the
/// `members` stack. While their names arrive in increasing UTF-16 order (the usual case),
/// nothing more is done; when one arrives out of order, the object's members are sorted and
/// its bytes rewritten in that order when it ends (the bytes of each member are moved, not
/// written again). Nested objects push their members above their parent's and pop them when
/// they end.
struct Writer {
    out: Vec<u8>,
    /// The members of the objects being written, innermost object's last.
    members: Vec<Member>,
    /// The text of the map keys on the stack (`Name::Key` ranges).
    keys: String,
    /// Room for an object's bytes while its members are put in order.
    scratch: Vec<u8>,
    /// Which numbers the document may hold.
    numbers: Numbers,
}

/// A member's name: a struct field's, or a map key's, kept in `Writer::keys`.
#[derive(Clone, Copy)]
enum Name {
    Field(&'static str),
    Key(usize, usize),
}

impl Name {
    fn text(self, keys: &str) -> &str {
        match self {
            Name::Field(name) => name,
            Name::Key(start, end) => &keys[start..end],
        }
    }
    /// The name's UTF-8 bytes, to put in order.
    fn bytes(self, keys: &str) -> &[u8] {
        match self {
            Name::Field(name) => name.as_bytes(),
            Name::Key(start, end) => &keys.as_bytes()[start..end],
        }
    }
}

/// A member written to `out`: its name, and where its bytes (`"name":value`) are.
struct Member {
    name: Name,
    start: usize,
    end: usize,
}

/// The writer's working space, kept between documents so that writing one allocates only its
/// output.
#[derive(Default)]
struct Spare {
    members: Vec<Member>,
    keys: String,
    scratch: Vec<u8>,
}

thread_local! {
    static SPARE: std::cell::Cell<Spare> = std::cell::Cell::new(Spare::default());
}

impl Writer {
    fn new(capacity: usize, numbers: Numbers) -> Writer {
        let Spare { members, keys, scratch } = SPARE.take();
        Writer { out: Vec::with_capacity(capacity), members, keys, scratch, numbers }
    }

    /// The output; the working space goes back for the next document.
    fn finish(self) -> Vec<u8> {
        let Writer { out, mut members, mut keys, mut scratch, .. } = self;
        members.clear();
        keys.clear();
        scratch.clear();
        SPARE.set(Spare { members, keys, scratch });
        out
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), JsonError> {
        value.serialize(Canon { w: self }).map_err(|e| JsonError::Shape(e.0))
    }

    /// Puts the members above `base` on the stack, which are all of one object, in order.
    fn sort_members(&mut self, base: usize) {
        let Writer { out, members, keys, scratch, .. } = self;
        let members = &mut members[base..];
        let (Some(first), Some(last)) = (members.first(), members.last()) else { return };
        let region = first.start;
        scratch.clear();
        scratch.extend_from_slice(&out[region..last.end]);
        // Stable: members of the same name (which a map may give) stay in the order written.
        members.sort_by(|a, b| utf16_order_utf8(a.name.bytes(keys), b.name.bytes(keys)));
        out.truncate(region);
        for (i, m) in members.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&scratch[m.start - region..m.end - region]);
        }
    }
}

/// Writes one value.
struct Canon<'a> {
    w: &'a mut Writer,
}

/// An object being written.
struct Object<'a> {
    w: &'a mut Writer,
    /// Where this object's members start on `w.members`.
    base: usize,
    /// Where this object's map keys start in `w.keys`.
    keys_base: usize,
    /// So far every member's name came after the previous one's.
    in_order: bool,
    /// The key of the map entry whose value comes next, in `w.keys`.
    key: Option<(usize, usize)>,
    /// For an enum variant written as `{"variant": {...}}`: close the outer object too.
    variant: bool,
}

impl<'a> Object<'a> {
    fn new(w: &'a mut Writer, variant: Option<&'static str>) -> Self {
        if let Some(v) = variant {
            w.out.push(b'{');
            write_string(v, &mut w.out);
            w.out.push(b':');
        }
        w.out.push(b'{');
        let (base, keys_base) = (w.members.len(), w.keys.len());
        Object { w, base, keys_base, in_order: true, key: None, variant: variant.is_some() }
    }

    fn member<T: Serialize + ?Sized>(&mut self, name: Name, value: &T) -> Result<(), Error> {
        let w = &mut *self.w;
        if let Some(previous) = w.members.last().filter(|_| w.members.len() > self.base) {
            w.out.push(b',');
            if self.in_order && utf16_order_utf8(previous.name.bytes(&w.keys), name.bytes(&w.keys)).is_ge() {
                self.in_order = false;
            }
        }
        let start = w.out.len();
        write_string(name.text(&w.keys), &mut w.out);
        w.out.push(b':');
        let at = w.members.len();
        w.members.push(Member { name, start, end: start });
        value.serialize(Canon { w: &mut *w })?;
        // The value's own members, if any, are off the stack again.
        w.members[at].end = w.out.len();
        Ok(())
    }

    fn finish(self) -> Result<(), Error> {
        if !self.in_order {
            self.w.sort_members(self.base);
        }
        self.w.members.truncate(self.base);
        self.w.keys.truncate(self.keys_base);
        self.w.out.push(b'}');
        if self.variant {
            self.w.out.push(b'}');
        }
        Ok(())
    }
}

/// An array being written.
struct Array<'a> {
    w: &'a mut Writer,
    first: bool,
    variant: bool,
}

impl<'a> Array<'a> {
    fn new(w: &'a mut Writer, variant: Option<&'static str>) -> Self {
        if let Some(v) = variant {
            w.out.push(b'{');
            write_string(v, &mut w.out);
            w.out.push(b':');
        }
        w.out.push(b'[');
        Array { w, first: true, variant: variant.is_some() }
    }
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
        value.serialize(Canon { w: &mut *self.w })
    }
    fn finish(self) -> Result<(), Error> {
        self.w.out.push(b']');
        if self.variant {
            self.w.out.push(b'}');
        }
        Ok(())
    }
}

/// Serializer methods for scalars that hand the value, widened with `into`, to one method of
/// the serializer (`helper`).
/// `refuse:` makes methods that refuse the value as a map key.
macro_rules! forward_scalars {
    (refuse: $($method:ident($ty:ty)),*) => {$(
        fn $method(self, _v: $ty) -> Result<(), Error> {
            Err(key_error())
        }
    )*};
    ($helper:ident: $($method:ident($ty:ty)),*) => {$(
        fn $method(self, v: $ty) -> Result<(), Error> {
            self.$helper(v.into())
        }
    )*};
}

impl Canon<'_> {
    fn int(self, v: i128) -> Result<(), Error> {
        write_i(&mut self.w.out, v, self.w.numbers)
    }
    fn uint(self, v: u128) -> Result<(), Error> {
        write_u(&mut self.w.out, v, self.w.numbers)
    }
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Object<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.w.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    forward_scalars!(int: serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64), serialize_i128(i128));
    forward_scalars!(uint: serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64), serialize_u128(u128));
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        write_f(&mut self.w.out, v.into(), self.w.numbers)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        write_f(&mut self.w.out, v, self.w.numbers)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_string(v.encode_utf8(&mut [0; 4]), &mut self.w.out);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_string(v, &mut self.w.out);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // As serde_json: an array of numbers.
        let mut a = Array::new(self.w, None);
        for b in v {
            a.element(b)?;
        }
        a.finish()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.w.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.w.out.push(b'{');
        write_string(variant, &mut self.w.out);
        self.w.out.push(b':');
        value.serialize(Canon { w: &mut *self.w })?;
        self.w.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, Error> {
        Ok(Array::new(self.w, None))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Array<'a>, Error> {
        Ok(Array::new(self.w, None))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Array<'a>, Error> {
        Ok(Array::new(self.w, None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Array<'a>, Error> {
        Ok(Array::new(self.w, Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.w, None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.w, None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.w, Some(variant)))
    }
}

/// Every sequence-like serde shape writes its elements the same way.
macro_rules! array_shape {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Array<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

array_shape!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let start = self.w.keys.len();
        key.serialize(KeyName(&mut self.w.keys))?;
        self.key = Some((start, self.w.keys.len()));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let (start, end) = self.key.take().ok_or_else(|| Error("a map value came without its key".into()))?;
        self.member(Name::Key(start, end), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.member(Name::Field(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.member(Name::Field(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// A map key as JSON writes it (a string as is, an integer in decimal, as serde_json does),
/// appended to the writer's keys.
struct KeyName<'a>(&'a mut String);

fn key_error() -> Error {
    Error("a map key must be a string or an integer".into())
}

impl KeyName<'_> {
    fn push(self, v: impl std::fmt::Display) -> Result<(), Error> {
        use std::fmt::Write as _;
        write!(self.0, "{v}").map_err(|e| Error(e.to_string()))
    }
    /// An integer key, in decimal.
    fn int(self, v: i128) -> Result<(), Error> {
        self.push(v)
    }
    /// An unsigned integer key, in decimal.
    fn uint(self, v: u128) -> Result<(), Error> {
        self.push(v)
    }
}

impl ser::Serializer for KeyName<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.0.push_str(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.push(v)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.0.push_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    forward_scalars!(int: serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64));
    forward_scalars!(uint: serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64));
    forward_scalars!(refuse: serialize_bool(bool), serialize_f32(f32), serialize_f64(f64), serialize_bytes(&[u8]));
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}
