//! The typed read of [`Event::parse`]'s fast path, without serde's buffering.
//!
//! The derived `Deserialize` of [`EventBody`] (`#[serde(flatten)]` over the internally tagged
//! [`Payload`]) buffers the whole body in serde's generic `Content` tree, then copies the tree
//! again for the tag: an allocation per string, object and array, twice. This reader takes the
//! body's own fields as they come, sets the others aside as borrowed raw JSON (no copy), and
//! reads them into the variant named by `kind` with the field visitors derived for
//! `PayloadByKind` (a remote derive of [`Payload`], generated with it by one macro in
//! `event.rs`: the same variants, fields and field attributes, so no field can be missed).
//!
//! It decides nothing on its own: what it reads is accepted only if its canonical bytes are the
//! input, byte for byte (`Event::parse_canonical`); anything it refuses (escaped names, a kind
//! it does not list) takes the strict path, which gives the same result, slower.

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, VariantAccess, Visitor};
use serde_json::value::RawValue;

use super::{EventBody, PayloadByKind, Sig};

/// Reads an event (`{"body": ..., "sig": ...}`) from bytes; for a handover, also where its
/// offer's body is in them (its canonical bytes, if the whole input is canonical).
pub(super) fn read(bytes: &[u8]) -> Option<(super::Event, Option<&[u8]>)> {
    let event: Fast<'_> = serde_json::from_slice(bytes).ok()?;
    let (body, offer_body) = event.body;
    Some((super::Event { body, sig: event.sig }, offer_body.map(str::as_bytes)))
}

#[derive(Deserialize)]
struct Fast<'a> {
    #[serde(borrow, deserialize_with = "body")]
    body: (EventBody, Option<&'a str>),
    sig: Sig,
}

fn body<'de, D: Deserializer<'de>>(d: D) -> Result<(EventBody, Option<&'de str>), D::Error> {
    d.deserialize_map(BodyVisitor)
}

/// The raw body of a handover's offer (`{"body": ..., "sig": ...}`).
#[derive(Deserialize)]
struct OfferParts<'a> {
    #[serde(borrow)]
    body: &'a RawValue,
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = (EventBody, Option<&'de str>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an event body")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut v, mut ledger, mut time, mut signer, mut kind) = (None, None, None, None, None);
        let mut fields: Vec<(&'de str, &'de RawValue)> = Vec::with_capacity(12);
        while let Some(name) = map.next_key::<&'de str>()? {
            match name {
                "v" => v = Some(map.next_value()?),
                "ledger" => ledger = Some(map.next_value()?),
                "time" => time = Some(map.next_value()?),
                "signer" => signer = Some(map.next_value()?),
                "kind" => kind = Some(map.next_value::<&'de str>()?),
                _ => fields.push((name, map.next_value()?)),
            }
        }
        let (Some(v), Some(ledger), Some(time), Some(signer), Some(kind)) = (v, ledger, time, signer, kind)
        else {
            return Err(de::Error::custom("an event body names its v, ledger, time, signer and kind"));
        };
        let offer_body = match kind {
            "handover" => match fields.iter().find(|(name, _)| *name == "offer") {
                Some((_, raw)) => {
                    let parts: OfferParts<'de> =
                        serde_json::from_str(raw.get()).map_err(de::Error::custom)?;
                    Some(parts.body.get())
                }
                None => None,
            },
            _ => None,
        };
        let payload = PayloadByKind::deserialize(Variant { kind, fields }).map_err(de::Error::custom)?;
        Ok((EventBody { v, ledger, time, signer, payload }, offer_body))
    }
}

/// A body's variant: its `kind` and its other fields, unread.
struct Variant<'de> {
    kind: &'de str,
    fields: Vec<(&'de str, &'de RawValue)>,
}

impl<'de> Deserializer<'de> for Variant<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = serde_json::Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Self::Error> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.kind))?;
        Ok((variant, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'de> {
    type Error = serde_json::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        Err(de::Error::custom("every kind of event has fields"))
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _seed: S) -> Result<S::Value, Self::Error> {
        Err(de::Error::custom("every kind of event has named fields"))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("every kind of event has named fields"))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let mut map = MapDeserializer::<_, serde_json::Error>::new(self.fields.into_iter());
        let value = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(value)
    }
}
