//! The stored document format, member by member: every optional member present, read into the
//! right in-memory field and written back byte for byte; every one omitted when empty; and the
//! in-memory types without a serde form of their own.

use super::*;

const KEY: &str = "K2fUIcXjaFg0yVJtFoln3Xl5W3DpU+ygPOz5P0TUrjw=";
const HASH_A: &str = "a7397219087bf8165feb3be71bb5d75bdbd506b6d74b5a03950eb728a159b222";
const HASH_B: &str = "d36b656a449b8907933efb144b7f722c65f40d06374c790e262fccb13a737515";

fn actor_full() -> String {
    format!(
        r#"{{"enrolled_by":"lr.mme","imposed_key":{{"by":"lr.mme","time":"2026-03-02T10:00:00Z"}},"record":{{"country":"LR","id":"lr.gdo","key":"{KEY}","name":"Government Diamond Office","role":"valuer"}},"revoked":{{"reason":"licence withdrawn","time":"2026-03-04T09:00:00Z"}}}}"#
    )
}

fn parcel_full() -> String {
    format!(
        r#"{{"certificate":"SL-2026-004312","head":"{HASH_A}","holder":"sl.exporter.kono-gems","hs_code":"7102.10","id":"019ce222-d6e0-7e61-8e4e-83fc1a18e680","origin_countries":["LR","SL"],"origin_sites":["lr.gbarpolu.weasua-7","sl.kono.koidu-12"],"origin_unknown":true,"provenance":"SL","seal_ids":["SL-SEAL-2026-0113","SL-SEAL-2026-0114"],"status":"exported","stones":711,"updated":"2026-03-15T14:05:00Z","value_usd_cents":15311968,"weight_pt":42454}}"#
    )
}

fn policy(version: &str) -> String {
    format!(
        r#"{{"allowed_transfers":[["miner","dealer"]],"country":"SL","export_duty_bp":300,"exporter_licence_classes":["exporter"],"import_confirmation_days":30,"mining_licence_classes":["artisanal"],"participants":["SL"],"schema":"kpledger/policy/v1","tolerance_pt":1,"valuation_rule":"government","version":"{version}"}}"#
    )
}

fn policy_history() -> String {
    format!(
        r#"{{"entries":[{{"by":"mru.secretariat","policy":{},"root":true,"time":"2026-01-02T08:00:00Z"}},{{"by":"sl.nma","policy":{},"time":"2026-02-02T08:00:00Z"}}]}}"#,
        policy("2026-01-01"),
        policy("2026-02-01")
    )
}

fn certificate_full() -> String {
    format!(
        r#"{{"certificate":{{"container_seal_ids":["GN-SEAL-2026-0117"],"country_of_origin":"GN","date_of_expiry":"2026-05-16","date_of_issue":"2026-03-17","english_translation_present":true,"exporter":{{"actor":"gn.exporter.comptoir-kankan","address":"Registered office, GN","licence_no":"DNM/CPT/2026/003","name":"Comptoir d'Achat de Kankan"}},"importer":{{"address":"Almas Tower, Dubai","country":"AE","name":"Gulf Rough Trading DMCC"}},"issuing_authority":"Ministere des Mines et de la Geologie de Guinee","issuing_country":"GN","language":"en","lines":[{{"carats_pt":34653,"hs_code":"7102.10","value_usd_cents":1816371}}],"number":"GN-2026-000117","parcel_count":1,"parcels":[{{"parcel":"019cc3a7-ccc0-775a-a49f-c284401a0d54","prev":"{HASH_A}"}}],"statement":"The rough diamonds in this shipment have been handled in accordance with the provisions of the Kimberley Process Certification Scheme for rough diamonds","title":"Kimberley Process Certificate"}},"confirmed":"2026-03-20T11:00:00Z","event":"{HASH_B}","exported":"2026-03-18T15:09:00Z","issued":"2026-03-17T15:08:00Z","validated_by":"gn.mines"}}"#
    )
}

const SITE: &str = r#"{"area_m2":8000,"country":"SL","id":"sl.kono.koidu-12","location":"8.6446,-10.9712","name":"Koidu claim 12","region":"Kono"}"#;

#[test]
fn every_member_reads_into_its_own_field_and_writes_back_byte_for_byte() {
    let doc = actor_full();
    let a = read_actor(&doc).unwrap();
    assert_eq!(a.record.id.as_str(), "lr.gdo");
    assert_eq!(a.enrolled_by.as_ref().map(ActorId::as_str), Some("lr.mme"));
    let r = a.revoked.as_ref().unwrap();
    assert_eq!((r.time.as_str(), r.reason.as_str()), ("2026-03-04T09:00:00Z", "licence withdrawn"));
    let k = a.imposed_key.as_deref().unwrap();
    assert_eq!((k.by.as_str(), k.time.as_str()), ("lr.mme", "2026-03-02T10:00:00Z"));
    assert_eq!(actor_doc(&a), doc);

    let doc = parcel_full();
    let p = read_parcel(&doc).unwrap();
    assert_eq!(p.id.to_string(), "019ce222-d6e0-7e61-8e4e-83fc1a18e680");
    assert_eq!((p.weight_pt, p.stones, p.value_usd_cents), (Points(42454), Some(711), Some(Cents(15311968))));
    assert_eq!(p.hs_code.as_str(), "7102.10");
    assert!(p.origin_unknown);
    assert_eq!(p.origin_countries.iter().map(Country::as_str).collect::<Vec<_>>(), ["LR", "SL"]);
    assert_eq!(p.origin_sites.len(), 2);
    assert_eq!(p.holder.as_str(), "sl.exporter.kono-gems");
    assert_eq!(p.status, ParcelStatus::Exported);
    assert_eq!(p.head.to_hex(), HASH_A);
    assert_eq!(p.updated.as_str(), "2026-03-15T14:05:00Z");
    assert_eq!(
        p.seal_ids.iter().map(Text::as_str).collect::<Vec<_>>(),
        ["SL-SEAL-2026-0113", "SL-SEAL-2026-0114"]
    );
    assert_eq!(p.certificate.as_ref().map(Text::as_str), Some("SL-2026-004312"));
    assert_eq!(p.provenance.as_ref().map(Country::as_str), Some("SL"));
    assert_eq!(parcel_doc(&p), doc);

    let doc = certificate_full();
    let c = read_certificate(&doc).unwrap();
    assert_eq!(c.certificate.number.as_str(), "GN-2026-000117");
    assert_eq!(c.event.to_hex(), HASH_B);
    assert_eq!(c.issued.as_str(), "2026-03-17T15:08:00Z");
    assert_eq!(c.validated_by.as_str(), "gn.mines");
    assert_eq!(c.exported.as_ref().map(Time::as_str), Some("2026-03-18T15:09:00Z"));
    assert_eq!(c.confirmed.as_ref().map(Time::as_str), Some("2026-03-20T11:00:00Z"));
    assert_eq!(certificate_doc(&c), doc);

    let s = read_site(SITE).unwrap();
    assert_eq!(s.id.as_str(), "sl.kono.koidu-12");
    assert_eq!(site_doc(&s), SITE);

    let doc = policy_history();
    let StoredPolicy::History(h) = read_policy(&doc).unwrap() else { panic!("a history") };
    let seen: Vec<_> = h
        .entries
        .iter()
        .map(|e| (e.time.as_str(), e.by.as_str(), e.root, e.policy.version.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("2026-01-02T08:00:00Z", "mru.secretariat", true, "2026-01-01"),
            ("2026-02-02T08:00:00Z", "sl.nma", false, "2026-02-01")
        ]
    );
    assert_eq!(policy_doc(&h), doc);
}

#[test]
fn a_country_with_one_policy_version_stores_the_policy_alone() {
    let only = policy("2026-01-01");
    let StoredPolicy::Only(p) = read_policy(&only).unwrap() else { panic!("the policy alone") };
    assert_eq!(p.version.as_str(), "2026-01-01");
    let history = PolicyHistory {
        entries: vec![PolicyEntry {
            time: Time::new("2026-01-02T08:00:00Z").unwrap(),
            by: ActorId::new("sl.nma").unwrap(),
            root: false,
            policy: *p,
        }],
    };
    // The entry's time and signer are not stored while it is the only one.
    assert_eq!(policy_doc(&history), only);
}

#[test]
fn empty_members_are_omitted() {
    let mut a = read_actor(&actor_full()).unwrap();
    (a.enrolled_by, a.revoked, a.imposed_key) = (None, None, None);
    assert_eq!(
        actor_doc(&a),
        format!(
            r#"{{"record":{{"country":"LR","id":"lr.gdo","key":"{KEY}","name":"Government Diamond Office","role":"valuer"}}}}"#
        )
    );

    let mut p = read_parcel(&parcel_full()).unwrap();
    (p.stones, p.origin_unknown, p.value_usd_cents, p.seal_ids, p.certificate, p.provenance) =
        (None, false, None, Vec::new(), None, None);
    p.status = ParcelStatus::Open;
    assert_eq!(
        parcel_doc(&p),
        format!(
            r#"{{"head":"{HASH_A}","holder":"sl.exporter.kono-gems","hs_code":"7102.10","id":"019ce222-d6e0-7e61-8e4e-83fc1a18e680","origin_countries":["LR","SL"],"origin_sites":["lr.gbarpolu.weasua-7","sl.kono.koidu-12"],"status":"open","updated":"2026-03-15T14:05:00Z","weight_pt":42454}}"#
        )
    );
    assert_eq!(read_parcel(&parcel_doc(&p)).unwrap(), p);

    let mut c = read_certificate(&certificate_full()).unwrap();
    (c.exported, c.confirmed) = (None, None);
    let doc = certificate_doc(&c);
    assert!(!doc.contains("\"exported\"") && !doc.contains("\"confirmed\""), "{doc}");
    assert_eq!(read_certificate(&doc).unwrap(), c);

    let StoredPolicy::History(mut h) = read_policy(&policy_history()).unwrap() else { panic!("a history") };
    h.entries[0].root = false;
    assert!(!policy_doc(&h).contains("\"root\""));
}

#[test]
fn every_parcel_status_has_the_name_of_the_status_column() {
    for status in [
        ParcelStatus::Open,
        ParcelStatus::Sealed,
        ParcelStatus::Certified,
        ParcelStatus::Exported,
        ParcelStatus::Consumed,
    ] {
        let mut p = read_parcel(&parcel_full()).unwrap();
        p.status = status;
        let doc = parcel_doc(&p);
        assert!(doc.contains(&format!(r#""status":"{}""#, status.as_str())), "{doc}");
        assert_eq!(read_parcel(&doc).unwrap().status, status);
    }
}

#[test]
fn a_document_that_is_not_its_tables_record_is_refused_naming_the_table() {
    let e = read_parcel(&actor_full()).unwrap_err();
    assert_eq!(e.table, "parcels");
    assert!(e.to_string().starts_with("not a version-1 parcels document: "), "{e}");
    assert_eq!(read_actor("{").unwrap_err().table, "actors");
    assert_eq!(read_certificate(&parcel_full()).unwrap_err().table, "certificates");
    assert_eq!(read_policy(SITE).unwrap_err().table, "policies");
    assert_eq!(read_site(&policy("1")).unwrap_err().table, "sites");
}

/// Compiles only while `$t` implements neither `Serialize` nor `DeserializeOwned`: were it to
/// implement one, two impls of the probe trait would apply and the call would be ambiguous.
/// The in-memory state therefore has no serde form that a stored document could leak from.
macro_rules! assert_no_serde_form {
    ($($t:ty),* $(,)?) => {{
        trait SerializeProbe<A> {
            fn probe() {}
        }
        impl<T: ?Sized> SerializeProbe<()> for T {}
        struct Serializes;
        impl<T: ?Sized + Serialize> SerializeProbe<Serializes> for T {}
        trait DeserializeProbe<A> {
            fn probe() {}
        }
        impl<T: ?Sized> DeserializeProbe<()> for T {}
        struct Deserializes;
        impl<T: DeserializeOwned> DeserializeProbe<Deserializes> for T {}
        $(
            <$t as SerializeProbe<_>>::probe();
            <$t as DeserializeProbe<_>>::probe();
        )*
    }};
}

#[test]
fn the_in_memory_state_has_no_serde_form_of_its_own() {
    assert_no_serde_form!(
        ActorState,
        Revocation,
        ImposedKey,
        ParcelState,
        ParcelStatus,
        CertificateState,
        PolicyHistory,
        PolicyEntry,
        crate::state::CertificateStatus,
        crate::state::MemState,
    );
}
