//! KP certificates: issue, export, confirm, import, list; transit.

use super::common::*;
use super::sign::*;
use super::verify::*;
use crate::args::*;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use kpledger_core::Ledger;
use kpledger_model::{
    ActorId, Cents, CertImporter, ForeignCertificate, HsCode, ImportConfirmation, ImportParcel, ParcelId,
    ParcelRef, Payload, Points, Text, Time,
};
use kpledger_verify::SigMode;
use kpledger_verify::stored::AsStored;
use kpledger_verify::{CertificateStatus, verify_bundle_shipment};

use super::remote::{Server, answered};
use crate::args::{CertificateCmd, SignArgs};
use crate::render;
use crate::{FOUND, OK};

pub(crate) fn certificate_cmd(c: CertificateCmd) -> Result<u8> {
    match c {
        CertificateCmd::Issue {
            sign,
            number,
            exporter,
            parcels,
            importer_name,
            importer_address,
            importer_country,
            importer_actor,
            valid_days,
        } => {
            let importer = CertImporter {
                name: importer_name,
                address: importer_address,
                country: importer_country,
                actor: importer_actor,
            };
            let time = now_or(sign.time.as_ref());
            sign_and_record(&sign, |ledger, signer| {
                enrolled(ledger, "--exporter", &exporter)?;
                if let Some(a) = &importer.actor {
                    enrolled(ledger, "--importer-actor", a)?;
                }
                let parcels: Vec<ParcelId> =
                    parcels.iter().map(|p| parcel_arg(ledger, p)).collect::<Result<_>>()?;
                let expiry = Time::from_unix(time.unix() + valid_days * 86_400).date();
                let certificate = kpledger_core::sim::draft_certificate(
                    ledger,
                    number.as_str(),
                    signer,
                    &exporter,
                    importer,
                    &parcels,
                    time.date(),
                    expiry,
                )?;
                Ok(Payload::Certificate { certificate })
            })
        }
        CertificateCmd::Export { sign, number } => sign_and_record(&sign, |ledger, _| {
            let refs = current_refs(ledger, &number)?;
            Ok(Payload::Export { certificate: number, parcels: refs })
        }),
        CertificateCmd::Confirm { sign, number, holder, carats: weighed, parcel_count, seal_broken } => {
            let time = now_or(sign.time.as_ref());
            sign_and_record(&sign, |ledger, _| {
                let cert = ledger
                    .certificate(&number)?
                    .ok_or_else(|| anyhow!("no certificate {number} in the ledger"))?;
                let c = cert.certificate;
                let confirmation = ImportConfirmation {
                    parcels: current_refs(ledger, &number)?,
                    certificate: number,
                    parcel_count: parcel_count.unwrap_or(c.parcel_count),
                    carats_pt: weighed.unwrap_or(Points(c.carats())),
                    importer: c.importer.name.clone(),
                    exporter: c.exporter.name.clone(),
                    date_of_receipt: time.date(),
                    seal_intact: !seal_broken,
                    holder: enrolled(ledger, "--holder", &holder)?,
                };
                Ok(Payload::ImportConfirmation { confirmation })
            })
        }
        CertificateCmd::Import { sign, bundle, policy, foreign, holder, weight, stones, hs } => {
            match (bundle, policy, foreign) {
                (Some(bundle), Some(policy), None) => {
                    import_from_bundle(&sign, &bundle, &policy, holder, &weight, &stones)
                }
                (None, None, Some(foreign)) => {
                    let bytes = read_input(&foreign)?;
                    let certificate: ForeignCertificate = kpledger_model::canonical::from_slice_input(&bytes)
                        .with_context(|| {
                            format!("{} is not a valid foreign certificate", foreign.display())
                        })?;
                    if weight.is_empty() {
                        bail!(
                            "give each parcel's --weight and --stones (and --hs when the certificate has several headings)"
                        );
                    }
                    let parcels = shipment_from_flags(&certificate, &weight, &stones, &hs)?;
                    let payload = import_payload(holder, certificate, parcels)?;
                    sign_and_record(&sign, |_, _| Ok(payload))
                }
                _ => bail!("give --bundle FILE with --policy TRUST-POLICY, or --foreign CERT.json"),
            }
        }
        CertificateCmd::List(ListArgs { ledger, json }) => {
            let certs = ledger.open(true)?.certificates()?;
            let certs: Vec<_> = certs.iter().map(AsStored).collect();
            let headers =
                ["certificate", "issued", "origin", "carats", "value", "parcels", "shipment", "status"];
            print_list(&certs, json, &headers, |AsStored(cs)| {
                let c = &cs.certificate;
                let status = match cs.status() {
                    CertificateStatus::Confirmed => "receipt confirmed",
                    s => s.as_str(),
                };
                vec![
                    c.number.to_string(),
                    c.date_of_issue.to_string(),
                    c.country_of_origin.to_string(),
                    render::ct(Points(c.carats())),
                    render::usd(Cents(c.value())),
                    c.parcel_count.to_string(),
                    format!("{} → {} ({})", c.exporter.name, c.importer.name, c.importer.country),
                    status.to_owned(),
                ]
            })
        }
    }
}

/// The parcels of `certificate import --foreign`: `--weight`, `--stones` and `--hs` given once
/// per parcel, in the same order; `--hs` may be left out when the certificate has one heading.
pub(crate) fn shipment_from_flags(
    certificate: &ForeignCertificate,
    weight: &[Points],
    stones: &[u32],
    hs: &[HsCode],
) -> Result<Vec<ImportParcel>> {
    let headings: std::collections::BTreeSet<&HsCode> =
        certificate.lines.iter().map(|l| &l.hs_code).collect();
    if stones.len() != weight.len() || !(hs.is_empty() || hs.len() == weight.len()) {
        bail!(
            "give --weight, --stones and --hs once per parcel, in the same order ({} --weight, {} --stones, {} --hs)",
            weight.len(),
            stones.len(),
            hs.len()
        );
    }
    let default_hs = match (hs.is_empty(), headings.iter().next()) {
        (false, _) => None,
        (true, Some(h)) if headings.len() == 1 => Some((*h).clone()),
        (true, _) => bail!(
            "the certificate lists {} headings: give each parcel's --hs (one of {})",
            headings.len(),
            headings.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    weight
        .iter()
        .zip(stones)
        .enumerate()
        .map(|(i, (w, s))| {
            let hs_code = match (&default_hs, hs.get(i)) {
                (Some(h), _) => h.clone(),
                (None, Some(h)) => h.clone(),
                (None, None) => bail!("parcel {} has no --hs", i + 1),
            };
            Ok(ImportParcel { parcel: new_parcel_id()?, weight_pt: *w, stones: *s, hs_code })
        })
        .collect()
}

/// `certificate import --bundle`: verifies the bundle under the trust policy as `verify` does,
/// then signs and records the import of exactly what it proves.
pub(crate) fn import_from_bundle(
    sign: &SignArgs,
    bundle: &Path,
    policy: &Path,
    holder: ActorId,
    weights: &[Points],
    stones: &[u32],
) -> Result<u8> {
    let trust = read_policy(policy)?;
    let bytes = read_input(bundle)?;
    let (report, shipment) = verify_bundle_shipment(&bytes, &trust, SigMode::Strict)
        .with_context(|| format!("{}", bundle.display()))?;
    let Some(shipment) = shipment.filter(|_| report.ok) else {
        eprint!("{}", render::report(&report));
        eprintln!(
            "kpledger: {} does not verify under the trust policy {}: nothing was recorded",
            bundle.display(),
            policy.display()
        );
        return Ok(FOUND);
    };
    let refuse = |why: String| {
        eprintln!("kpledger: {why}; nothing was recorded");
        Ok(FOUND)
    };
    let cert = &shipment.certificate.certificate;
    if shipment.certificate.exported.is_none() {
        return refuse(format!(
            "the bundle shows certificate {} issued but not exported: its shipment has not left {}",
            cert.number, cert.issuing_country
        ));
    }
    if shipment.certificate.confirmed.is_some() {
        return refuse(format!(
            "the bundle shows certificate {}'s shipment already received in ledger {} (import confirmation): \
             it is not imported a second time",
            cert.number, shipment.ledger
        ));
    }
    let n = shipment.parcels.len();
    for (flag, given) in [("--weight", weights.len()), ("--stones", stones.len())] {
        if given != 0 && given != n {
            bail!(
                "certificate {} covers {n} parcel(s): give {flag} once for each, in the certificate's order, or not at all",
                cert.number
            );
        }
    }
    let parcels = shipment.import_parcels(weights, stones).map_err(|p| {
        anyhow!(
            "the bundle gives no stone count for parcel {p}: count the stones on receipt and give --stones once per parcel"
        )
    })?;
    let foreign = shipment.foreign_certificate();
    let destination = cert.importer.country.clone();
    let payload = import_payload(holder, foreign, parcels)?;
    // The shipment proven is not admitted here although the bundle verifies: exit 1, nothing written.
    let mut not_admitted = None;
    let recorded = sign_and_record(sign, |ledger, signer| {
        let country = ledger.actor(signer)?.map(|a| a.record.country);
        if country.as_ref() != Some(&destination) {
            let why = format!(
                "certificate {} is destined to {destination}, not to {}: a shipment is imported by its \
                 destination's authority",
                cert.number,
                country.map_or_else(|| format!("the signer {signer}"), |c| c.to_string())
            );
            not_admitted = Some(why.clone());
            bail!(why);
        }
        Ok(payload)
    });
    match not_admitted {
        Some(why) => refuse(why),
        None => recorded,
    }
}

/// An import of `parcels` (at least one) under `certificate`, held by `holder`.
pub(crate) fn import_payload(
    holder: ActorId,
    certificate: ForeignCertificate,
    parcels: Vec<ImportParcel>,
) -> Result<Payload> {
    let mut parcels = parcels.into_iter();
    let first = parcels.next().ok_or_else(|| anyhow!("an import admits at least one parcel"))?;
    Ok(Payload::Import {
        parcel: first.parcel,
        holder,
        weight_pt: first.weight_pt,
        stones: first.stones,
        hs_code: first.hs_code,
        certificate,
        more_parcels: parcels.collect(),
    })
}

pub(crate) fn current_refs(ledger: &Ledger, number: &Text) -> Result<Vec<ParcelRef>> {
    let cert = ledger.certificate(number)?.ok_or_else(|| anyhow!("no certificate {number} in the ledger"))?;
    cert.certificate
        .parcels
        .iter()
        .map(|r| Ok(ParcelRef { parcel: r.parcel, prev: existing(ledger, &r.parcel)?.head }))
        .collect()
}

/// A transit country's authority records a certified shipment passing through (TR-1)
///
/// KPCS Section III(d): a Participant through whose territory a shipment transits checks
/// that it leaves as it entered, unopened, its seals and certificate intact. Sign with the
/// transit country's authority key: the transit country is the signer's country. What was
/// found defaults to what the certificate states; give what you actually found. The ledger
/// refuses (TR-1, exit 1) a container opened in transit, seals on exit other than those on
/// entry and on the certificate, carats or parcels on exit other than on entry, or not the
/// certificate's (carats short by at most the issuing country's tolerance), and a shipment
/// that was not exported or was already received.
///
/// Example, Guinea's shipment to Dubai through Sierra Leone (after `kpledger demo`):
///   kpledger transit --ledger kpledger-demo/ledger.kpl --key kpledger-demo/keys/sl.nma.pem \
///     --number GN-2026-000117
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct TransitArgs {
    #[command(flatten)]
    sign: SignArgs,
    /// The certificate number
    #[arg(long, value_parser = value::reference)]
    number: Text,
    /// Carats weighed on entry (default: the certificate's)
    #[arg(long, value_parser = value::carats)]
    carats_in: Option<Points>,
    /// Carats weighed on exit (default: as on entry)
    #[arg(long, value_parser = value::carats)]
    carats_out: Option<Points>,
    /// Parcels counted on entry (default: the certificate's)
    #[arg(long)]
    parcels_in: Option<u32>,
    /// Parcels counted on exit (default: as on entry)
    #[arg(long)]
    parcels_out: Option<u32>,
    /// A container seal found on entry; repeat for each (default: the certificate's seals)
    #[arg(long = "seal-in", value_name = "SEAL", value_parser = value::reference)]
    seals_in: Vec<Text>,
    /// A container seal found on exit; repeat for each (default: as on entry)
    #[arg(long = "seal-out", value_name = "SEAL", value_parser = value::reference)]
    seals_out: Vec<Text>,
    /// The container was opened in transit
    #[arg(long)]
    opened: bool,
}

pub(crate) fn transit(a: TransitArgs) -> Result<u8> {
    let TransitArgs {
        sign,
        number,
        carats_in,
        carats_out,
        parcels_in,
        parcels_out,
        seals_in,
        seals_out,
        opened,
    } = a;
    sign_and_record(&sign, |ledger, signer| {
        let c = ledger
            .certificate(&number)?
            .ok_or_else(|| anyhow!("no certificate {number} in the ledger (`kpledger certificate list`)"))?
            .certificate;
        let country = ledger
            .actor(signer)?
            .map(|a| a.record.country)
            .ok_or_else(|| anyhow!("the signer {signer} is not enrolled in the ledger"))?;
        let seal_ids_in = if seals_in.is_empty() { c.container_seal_ids.clone() } else { seals_in };
        let seal_ids_out = if seals_out.is_empty() { seal_ids_in.clone() } else { seals_out };
        let carats_in_pt = carats_in.unwrap_or(Points(c.carats()));
        let carats_out_pt = carats_out.unwrap_or(carats_in_pt);
        let parcel_count_in = parcels_in.unwrap_or(c.parcel_count);
        Ok(Payload::Transit {
            parcels: current_refs(ledger, &number)?,
            certificate: number,
            country,
            seal_ids_in,
            seal_ids_out,
            carats_in_pt,
            carats_out_pt,
            parcel_count_in,
            parcel_count_out: parcels_out.unwrap_or(parcel_count_in),
            opened,
        })
    })
}

/// Write a certificate's evidence bundle: one JSON file an importer verifies offline
///
/// Example: kpledger bundle --ledger sl.kpl --certificate SL-2026-004312 --out sl-bundle.json
#[derive(Debug, Args)]
pub(crate) struct BundleArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// The certificate number
    #[arg(long, value_parser = value::reference)]
    certificate: Text,
    /// Where to write the bundle
    #[arg(long)]
    out: PathBuf,
    /// Take the newest checkpoint cosigned by this trust policy's witness quorum (a
    /// checkpoint counts as published once the quorum cosigned it); default: the newest (with
    /// --server: the checkpoint the server chooses)
    #[arg(long, value_name = "FILE", conflicts_with = "server")]
    policy: Option<PathBuf>,
}

pub(crate) fn bundle(a: BundleArgs) -> Result<u8> {
    let BundleArgs { source, certificate: number, out, policy } = a;
    if let Some(s) = source.server()? {
        return remote_bundle(&s, &number, &out);
    }
    let l = source.open()?;
    let bundle = match &policy {
        None => l.bundle(&number)?,
        Some(p) => {
            let policy = read_policy(p)?;
            l.bundle_where(&number, &|c| {
                policy.quorum_met(&kpledger_witness::cosigned_by(&policy, c.note.as_bytes()))
            })?
        }
    };
    let bytes = serde_json::to_vec_pretty(&bundle)?;
    write_new(&out, &[bytes.as_slice(), b"\n"].concat())?;
    println!("evidence bundle for certificate {number}: {} events → {}", bundle.events.len(), out.display());
    importer_note(&out);
    Ok(OK)
}

fn importer_note(out: &Path) {
    println!(
        "the importer checks it with its trust policy (the log's key, the witnesses, the authorities \
         it trusts per country; `kpledger trust --help`):\n  kpledger verify {} --policy TRUST-POLICY.txt",
        out.display()
    );
}

/// `bundle --server`: the bundle the server assembles (GET /v1/certificates/NUMBER/bundle),
/// written as the ledger's would be. Nothing in it is trusted here: the importer verifies it.
fn remote_bundle(s: &Server, number: &Text, out: &Path) -> Result<u8> {
    let bundle = match s.get_json(&format!("/v1/certificates/{number}/bundle")) {
        Ok(b) => b,
        Err(e) => return answered(Err(e)),
    };
    let events = bundle["events"].as_array().map_or(0, Vec::len);
    let bytes = serde_json::to_vec_pretty(&bundle)?;
    write_new(out, &[bytes.as_slice(), b"\n"].concat())?;
    println!(
        "evidence bundle for certificate {number} from {}: {events} events → {}",
        s.url(),
        out.display()
    );
    importer_note(out);
    Ok(OK)
}
