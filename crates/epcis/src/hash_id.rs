//! The CBV 2.0 EPCIS event hash ID (CBV 2.0 §8.9), for EPCIS 2.0 JSON-LD documents.
//!
//! An event's hash ID is `ni:///sha-256;<hex>?ver=CBV2.0` (RFC 6920), the SHA-256 of its
//! *pre-hash string*: the event's fields, normalised (`canon.rs`) and concatenated
//! without separators in a fixed order, so that the same event hashes the same whatever its
//! serialisation (key order, namespace prefixes, bare or full vocabulary, EPC URI or Digital
//! Link, local time or UTC).
//!
//! The pre-hash string is `eventType=<type>`, then the standard fields in the canonical
//! property order (`ORDER`), each `name=value` (a field with children is its name followed
//! by its children; a list is its name followed by its elements, sorted), then everything
//! else of the event — business transactions, sources, destinations, ILMD and user extensions
//! (`{namespace}name`) — each rendered the same way and sorted. `recordTime`, `eventID`,
//! `errorDeclaration` and comments are not hashed. Inside a standard field with an extension
//! point (`readPoint`, `sensorElement`, …), extensions follow the field's standard children.
//!
//! The order and the rendering reproduce the reference implementation
//! (RalphTro/epcis-event-hash-generator) on every JSON-LD case of its test suite
//! (`tests/hash_vectors.rs`). Where that implementation differs from the text of the
//! algorithm, the implementation is followed, since its hashes are the ones in use:
//! `certificationInfo` is hashed after `eventTimeZoneOffset`; business transactions, sources
//! and destinations are rendered `type=…` before the identifier and sorted with the user
//! extensions at the end; the fields a document lists under `…:ignoreFields` are not hashed.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::canon;
use crate::vocab::Vocab;

/// The CBV version the hash IDs are made by.
pub const CBV_VERSION: &str = "CBV2.0";

/// Why an event could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The document has no event list where EPCIS 2.0 puts it.
    #[error(
        "not an EPCIS 2.0 JSON document: no event list at epcisBody.eventList, \
         epcisBody.queryResults.resultsBody.eventList or epcisBody.event"
    )]
    NoEvents,
    /// An event is not a JSON object with a string `type`.
    #[error("event {index} of the document is not an object with a \"type\"")]
    NotAnEvent {
        /// Its position in the event list (0-based).
        index: usize,
    },
}

/// A field of the canonical property order and the order of its children.
#[derive(Debug)]
struct Field {
    name: &'static str,
    children: &'static [Field],
}

const fn leaf(name: &'static str) -> Field {
    Field { name, children: &[] }
}

const EPCS: &[Field] = &[leaf("epc")];
const QUANTITY: &[Field] =
    &[Field { name: "quantityElement", children: &[leaf("epcClass"), leaf("quantity"), leaf("uom")] }];
const SENSOR_METADATA: &[Field] = &[
    leaf("time"),
    leaf("startTime"),
    leaf("endTime"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    leaf("bizRules"),
];
const SENSOR_REPORT: &[Field] = &[
    leaf("type"),
    leaf("exception"),
    leaf("deviceID"),
    leaf("deviceMetadata"),
    leaf("rawData"),
    leaf("dataProcessingMethod"),
    leaf("time"),
    leaf("microorganism"),
    leaf("chemicalSubstance"),
    leaf("value"),
    leaf("component"),
    leaf("stringValue"),
    leaf("booleanValue"),
    leaf("hexBinaryValue"),
    leaf("uriValue"),
    leaf("minValue"),
    leaf("maxValue"),
    leaf("meanValue"),
    leaf("sDev"),
    leaf("percRank"),
    leaf("percValue"),
    leaf("uom"),
    leaf("coordinateReferenceSystem"),
];
const SENSOR_ELEMENT: &[Field] = &[Field {
    name: "sensorElement",
    children: &[
        Field { name: "sensorMetadata", children: SENSOR_METADATA },
        Field { name: "sensorReport", children: SENSOR_REPORT },
    ],
}];

/// The canonical property order (CBV 2.0 §8.9 table, as the reference implementation has it).
const ORDER: &[Field] = &[
    leaf("eventTime"),
    leaf("eventTimeZoneOffset"),
    leaf("certificationInfo"),
    Field { name: "epcList", children: EPCS },
    leaf("parentID"),
    Field { name: "inputEPCList", children: EPCS },
    Field { name: "childEPCs", children: EPCS },
    Field { name: "quantityList", children: QUANTITY },
    Field { name: "childQuantityList", children: QUANTITY },
    Field { name: "inputQuantityList", children: QUANTITY },
    Field { name: "outputEPCList", children: EPCS },
    Field { name: "outputQuantityList", children: QUANTITY },
    leaf("action"),
    leaf("transformationID"),
    leaf("bizStep"),
    leaf("disposition"),
    Field { name: "persistentDisposition", children: &[leaf("set"), leaf("unset")] },
    Field { name: "readPoint", children: &[leaf("id")] },
    Field { name: "bizLocation", children: &[leaf("id")] },
    Field { name: "sensorElementList", children: SENSOR_ELEMENT },
];

/// Event fields that are never hashed.
const NOT_HASHED: [&str; 4] = ["recordTime", "eventID", "type", "errorDeclaration"];

/// Prefixes of the EPCIS 2.0 JSON-LD context, which a document may use without declaring.
const STANDARD_PREFIXES: [(&str, &str); 8] = [
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// An element of an event as the pre-hash string sees it (the XML data model): a name, a
/// text value and children. JSON lists become repeated elements.
#[derive(Debug, Clone)]
struct Node {
    key: String,
    value: String,
    children: Vec<Node>,
    /// A business transaction, source or destination: its `type` is written first.
    typed: bool,
}

/// What the hashing of a document's events needs from the document: its namespace
/// prefixes and the fields it says are not part of its events.
#[derive(Debug, Clone, Default)]
pub struct Hasher {
    prefixes: BTreeMap<String, String>,
    ignored: Vec<String>,
}

impl Hasher {
    /// The hasher for the events of `document` (an EPCIS 2.0 JSON-LD document, or anything
    /// with an `@context`).
    pub fn new(document: &Value) -> Hasher {
        let mut prefixes: BTreeMap<String, String> =
            STANDARD_PREFIXES.iter().map(|(p, iri)| ((*p).to_owned(), (*iri).to_owned())).collect();
        let mut contexts = Vec::new();
        match document.get("@context") {
            Some(Value::Array(items)) => contexts.extend(items.iter()),
            Some(c) => contexts.push(c),
            None => {}
        }
        for c in contexts {
            if let Value::Object(map) = c {
                for (term, def) in map {
                    let iri = match def {
                        Value::String(s) => Some(s.as_str()),
                        Value::Object(d) => d.get("@id").and_then(Value::as_str),
                        _ => None,
                    };
                    if let Some(iri) = iri {
                        prefixes.insert(term.clone(), iri.to_owned());
                    }
                }
            }
        }
        let mut hasher = Hasher { prefixes, ignored: Vec::new() };
        // Fields a repository added to its events and lists as not part of them.
        let places = [Some(document), document.pointer("/epcisBody/queryResults")];
        let mut ignored = Vec::new();
        for place in places.into_iter().flatten() {
            if let Some(map) = place.as_object() {
                for (k, v) in map {
                    if k == "ignoreFields" || k.ends_with(":ignoreFields") {
                        ignored.extend(
                            v.as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(|f| hasher.key(f)),
                        );
                    }
                }
            }
        }
        hasher.ignored = ignored;
        hasher
    }

    /// `prefix:name` as `{namespace}name` when the prefix is known.
    fn key(&self, k: &str) -> String {
        match k.split_once(':') {
            Some((p, local)) if self.prefixes.contains_key(p) => format!("{{{}}}{local}", self.prefixes[p]),
            _ => k.to_owned(),
        }
    }

    /// A field name as the pre-hash string writes it (`{namespace}name` for `prefix:name`).
    pub(crate) fn expanded_key(&self, k: &str) -> String {
        self.key(k)
    }

    /// A compact IRI value (`cbv:Comp-latitude`) as a full IRI when the prefix is known.
    fn value(&self, v: &str) -> String {
        match v.split_once(':') {
            Some((p, local)) if self.prefixes.contains_key(p) => format!("{}{local}", self.prefixes[p]),
            _ => v.to_owned(),
        }
    }

    /// The pre-hash string of one event.
    pub fn prehash(&self, event: &Value, index: usize) -> Result<String, HashError> {
        let Some(Value::String(event_type)) = event.get("type") else {
            return Err(HashError::NotAnEvent { index });
        };
        let mut event = event.clone();
        expand_vocabulary(&mut event);
        let Value::Object(map) = &event else { return Err(HashError::NotAnEvent { index }) };
        let nodes = self.children(map);
        let mut out = format!("eventType={event_type}");
        out.push_str(&ordered(&nodes, ORDER, false));
        let rest: Vec<&Node> = nodes
            .iter()
            .filter(|n| {
                !ORDER.iter().any(|f| f.name == n.key)
                    && !NOT_HASHED.contains(&n.key.as_str())
                    && !self.ignored.contains(&n.key)
            })
            .collect();
        out.push_str(&generic(&rest));
        Ok(out)
    }

    /// The hash ID of one event: `ni:///sha-256;<hex>?ver=CBV2.0`.
    pub fn hash_id(&self, event: &Value, index: usize) -> Result<String, HashError> {
        Ok(hash_id_of_prehash(&self.prehash(event, index)?))
    }

    /// The elements of a JSON object, corrected to the XML data model.
    fn children(&self, map: &Map<String, Value>) -> Vec<Node> {
        let mut nodes = Vec::new();
        for (k, v) in map {
            if k.starts_with('@') || k.starts_with('#') || k == "comment" || k == "rdfs:comment" {
                continue;
            }
            self.nodes(&self.key(k), v, &mut nodes);
        }
        correct(nodes)
    }

    fn nodes(&self, key: &str, v: &Value, out: &mut Vec<Node>) {
        let node = |value: String, children| Node { key: key.to_owned(), value, children, typed: false };
        match v {
            Value::Array(items) => {
                for item in items {
                    self.nodes(key, item, out);
                }
            }
            Value::Object(map) => out.push(node(String::new(), self.children(map))),
            Value::String(s) => out.push(node(self.value(s), Vec::new())),
            Value::Number(n) => out.push(node(n.to_string(), Vec::new())),
            Value::Bool(b) => out.push(node(b.to_string(), Vec::new())),
            Value::Null => {}
        }
    }
}

/// `ni:///sha-256;<hex>?ver=CBV2.0` of a pre-hash string.
pub fn hash_id_of_prehash(prehash: &str) -> String {
    let digest = kpledger_model::hash::sha256(&[prehash.as_bytes()]);
    format!("ni:///sha-256;{}?ver={CBV_VERSION}", hex::encode(digest))
}

/// The events of an EPCIS 2.0 JSON document (`EPCISDocument` or `EPCISQueryDocument`).
pub fn events(document: &Value) -> Result<&[Value], HashError> {
    let body = document.get("epcisBody").ok_or(HashError::NoEvents)?;
    if let Some(Value::Array(list)) = body.get("eventList") {
        return Ok(list);
    }
    if let Some(Value::Array(list)) = body.pointer("/queryResults/resultsBody/eventList") {
        return Ok(list);
    }
    match body.get("event") {
        Some(e @ Value::Object(_)) => Ok(std::slice::from_ref(e)),
        _ => Err(HashError::NoEvents),
    }
}

/// The pre-hash string of every event of an EPCIS 2.0 JSON document, in document order.
pub fn prehashes(document: &Value) -> Result<Vec<String>, HashError> {
    let hasher = Hasher::new(document);
    events(document)?.iter().enumerate().map(|(i, e)| hasher.prehash(e, i)).collect()
}

/// The CBV 2.0 hash ID of every event of an EPCIS 2.0 JSON document, in document order.
pub fn hash_ids(document: &Value) -> Result<Vec<String>, HashError> {
    Ok(prehashes(document)?.iter().map(|p| hash_id_of_prehash(p)).collect())
}

/// Bare vocabulary words (`"shipping"`) in the fields that take them, as their web URIs.
fn expand_vocabulary(event: &mut Value) {
    fn word(v: Option<&mut Value>, vocab: Vocab) {
        match v {
            Some(Value::String(s)) => {
                if let Some(iri) = vocab.expand(s) {
                    *s = iri;
                }
            }
            Some(Value::Array(items)) => {
                for item in items {
                    word(Some(item), vocab);
                }
            }
            _ => {}
        }
    }
    fn each(v: Option<&mut Value>, f: &mut dyn FnMut(&mut Value)) {
        match v {
            Some(Value::Array(items)) => items.iter_mut().for_each(f),
            Some(v @ Value::Object(_)) => f(v),
            _ => {}
        }
    }
    let Value::Object(e) = event else { return };
    word(e.get_mut("bizStep"), Vocab::BizStep);
    word(e.get_mut("disposition"), Vocab::Disposition);
    if let Some(Value::Object(pd)) = e.get_mut("persistentDisposition") {
        word(pd.get_mut("set"), Vocab::Disposition);
        word(pd.get_mut("unset"), Vocab::Disposition);
    }
    each(e.get_mut("bizTransactionList"), &mut |t| word(t.get_mut("type"), Vocab::BizTransactionType));
    each(e.get_mut("sourceList"), &mut |t| word(t.get_mut("type"), Vocab::SourceDestType));
    each(e.get_mut("destinationList"), &mut |t| word(t.get_mut("type"), Vocab::SourceDestType));
    each(e.get_mut("sensorElementList"), &mut |element| {
        each(element.get_mut("sensorReport"), &mut |r| {
            word(r.get_mut("type"), Vocab::MeasurementType);
            word(r.get_mut("exception"), Vocab::SensorException);
            word(r.get_mut("component"), Vocab::Component);
        });
    });
    if let Some(Value::Object(ed)) = e.get_mut("errorDeclaration") {
        word(ed.get_mut("reason"), Vocab::ErrorReason);
    }
}

/// The JSON-to-XML data model corrections: `xxxList: [a, b]` is a `xxxList` element with one
/// `xxx` child per item; `childEPCs` items are `epc`s; `inputEPC`/`outputEPC` are `epc`;
/// quantity list items are `quantityElement`s; a business transaction, source or destination
/// is its identifier with its `type` as a child.
fn correct(nodes: Vec<Node>) -> Vec<Node> {
    let mut out = Vec::new();
    let mut lists: Vec<(String, Vec<Node>)> = Vec::new();
    let mut child_epcs = Vec::new();
    for mut n in nodes {
        if let Some(item) = n.key.strip_suffix("List").map(str::to_owned) {
            let list = std::mem::replace(&mut n.key, item);
            let element = rename(n);
            match lists.iter_mut().find(|(k, _)| *k == list) {
                Some((_, items)) => items.push(element),
                None => lists.push((list, vec![element])),
            }
        } else if n.key == "childEPCs" {
            n.key = "epc".into();
            child_epcs.push(n);
        } else {
            out.push(rename(n));
        }
    }
    for (key, children) in lists {
        out.push(Node { key, value: String::new(), children, typed: false });
    }
    if !child_epcs.is_empty() {
        out.push(Node { key: "childEPCs".into(), value: String::new(), children: child_epcs, typed: false });
    }
    out
}

fn rename(mut n: Node) -> Node {
    match n.key.as_str() {
        "readPoint" | "bizLocation" if n.children.is_empty() && !n.value.is_empty() => {
            let id = Node {
                key: "id".into(),
                value: std::mem::take(&mut n.value),
                children: Vec::new(),
                typed: false,
            };
            n.children.push(id);
        }
        "bizTransaction" | "source" | "destination" => {
            if let Some(at) = n.children.iter().position(|c| c.key == n.key) {
                n.value = n.children.remove(at).value;
                n.typed = true;
            }
        }
        "inputEPC" | "outputEPC" => n.key = "epc".into(),
        "inputQuantity" | "outputQuantity" | "childQuantity" => n.key = "quantityElement".into(),
        "quantity" if !n.children.is_empty() => n.key = "quantityElement".into(),
        _ => {}
    }
    n
}

/// A field name that holds a timestamp.
fn is_time(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("time") && !k.contains("offset")
}

/// Standard fields in the given order; at a nested level, the children the order does not
/// name (extensions) follow, sorted.
fn ordered(nodes: &[Node], order: &[Field], nested: bool) -> String {
    let mut out = String::new();
    for field in order {
        let mut parts: Vec<String> = nodes
            .iter()
            .filter(|n| n.key == field.name)
            .map(|n| {
                let text = n.value.trim();
                let text = if text.is_empty() {
                    String::new()
                } else if is_time(&n.key) {
                    format!("={}", canon::timestamp(text))
                } else {
                    format!("={}", canon::value(text))
                };
                let children = if field.children.is_empty() {
                    generic(&n.children.iter().collect::<Vec<_>>())
                } else {
                    ordered(&n.children, field.children, true)
                };
                if text.is_empty() && children.is_empty() {
                    String::new()
                } else {
                    format!("{}{text}{children}", n.key)
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        parts.sort();
        out.extend(parts);
    }
    if nested {
        let rest: Vec<&Node> = nodes.iter().filter(|n| !order.iter().any(|f| f.name == n.key)).collect();
        out.push_str(&generic(&rest));
    }
    out
}

/// Elements outside the property order: each `name=value` followed by its children, sorted.
fn generic(nodes: &[&Node]) -> String {
    let mut parts: Vec<String> = nodes.iter().map(|n| generic_node(n)).collect();
    parts.sort();
    parts.concat()
}

fn generic_node(n: &Node) -> String {
    let text = n.value.trim();
    let text = if text.is_empty() { String::new() } else { format!("={}", canon::value(text)) };
    if n.typed {
        let (types, others): (Vec<&Node>, Vec<&Node>) = n.children.iter().partition(|c| c.key == "type");
        format!("{}{}{text}{}", generic(&types), n.key, generic(&others))
    } else {
        format!("{}{text}{}", n.key, generic(&n.children.iter().collect::<Vec<_>>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_without_a_type_is_refused() {
        let doc = serde_json::json!({"epcisBody": {"eventList": [{"eventTime": "2020-01-01T00:00:00Z"}]}});
        assert_eq!(hash_ids(&doc), Err(HashError::NotAnEvent { index: 0 }));
        assert_eq!(hash_ids(&serde_json::json!({"type": "EPCISDocument"})), Err(HashError::NoEvents));
    }

    #[test]
    fn odd_events_hash_without_panicking() {
        let doc = serde_json::json!({"@context": [{"ex": {"@id": "https://ns.example.com/"}}, "x", 3],
            "epcisBody": {"event": {"type": "ObjectEvent", "eventTime": "not a time", "epcList": [[["a"]], null],
            "quantityList": [{"epcClass": 1e300, "quantity": -0.0}], "readPoint": "urn:epc:id:sgln:4012345.00011.0",
            "bizTransactionList": [{"bizTransaction": "urn:x"}, {"type": "po"}], "sensorElementList": {"sensorReport":
            {"type": "Temperature", "value": 1e-7, "booleanValue": true, "ex:x": {"ex:y": [1, {"z": null}]}}},
            "ilmd": {}, "ex:List": [], "persistentDisposition": {"set": "recalled"}, "@id": "_:b0", "#text": "t"}}});
        let pre = prehashes(&doc).unwrap();
        assert_eq!(pre.len(), 1);
        assert!(pre[0].contains("readPointid=https://id.gs1.org/414/4012345000115"), "{}", pre[0]);
        assert!(pre[0].contains("value=1e-07"), "{}", pre[0]);
        assert!(
            pre[0].contains("persistentDispositionset=https://ref.gs1.org/cbv/Disp-recalled"),
            "{}",
            pre[0]
        );
        // The list [1, {"z": null}] is two elements, `y=1` and an empty `y`, sorted.
        let ext = "{https://ns.example.com/}x{https://ns.example.com/}y{https://ns.example.com/}y=1";
        assert!(pre[0].contains(ext), "{}", pre[0]);
        assert!(pre[0].contains("quantity=0"), "{}", pre[0]);
    }

    #[test]
    fn serialisation_does_not_change_the_hash() {
        let a = serde_json::json!({"@context": [{"ex": "https://ns.example.com/epcis/"}],
            "epcisBody": {"eventList": [{"type": "ObjectEvent", "eventTime": "2020-03-04T11:00:30+01:00",
            "eventTimeZoneOffset": "+01:00", "epcList": ["urn:epc:id:sgtin:0614141.107346.2018",
            "urn:epc:id:sgtin:0614141.107346.2017"], "action": "OBSERVE", "bizStep": "shipping",
            "ex:f": "1.50", "recordTime": "2021-01-01T00:00:00Z"}]}});
        let b = serde_json::json!({"@context": [{"other": "https://ns.example.com/epcis/"}],
            "epcisBody": {"eventList": [{"ex:ignored": 1, "other:f": 1.5, "bizStep":
            "https://ref.gs1.org/cbv/BizStep-shipping", "action": "OBSERVE", "epcList":
            ["https://id.gs1.org/01/10614141073464/21/2017", "https://example.com/01/10614141073464/21/2018"],
            "eventTimeZoneOffset": "+01:00", "eventTime": "2020-03-04T10:00:30.000Z", "type": "ObjectEvent"}]}});
        let mut b2 = b.clone();
        b2["epcisBody"]["eventList"][0].as_object_mut().unwrap().remove("ex:ignored");
        assert_eq!(hash_ids(&a).unwrap(), hash_ids(&b2).unwrap());
        assert_ne!(hash_ids(&a).unwrap(), hash_ids(&b).unwrap(), "an added field changes the hash");
    }
}
