//! The regional world ([`cast::REGIONAL`]) and the standard trade flow on it: a lot mined
//! at Koidu, sold to the dealer and to the exporter at US$289/ct, valued by the PMT (highest
//! of three), sealed and certified; the bundle of a certificate with the national
//! authorities' cosignatures, and the importer's trust policy for this world.

use std::collections::BTreeSet;

use kpledger_core::sim::{Sim, text};
use kpledger_model::note::{Checkpoint, Cosigner, Note};
use kpledger_model::{
    ActorId, Bundle, Cents, CertImporter, Certificate, Country, Date, ParcelId, ParsedEvent, Payload, Points,
    SiteId, Suspension,
};
use kpledger_verify::TrustPolicy;
use kpledger_verify::{ISSUER_KEYWORD, issuer_vkey, log_vkey, witness_vkey};

use crate::TempDir;
use crate::cast::{self, KAMARA, KOIDU, KONO_GEMS, KOROMA, LIBERTY, MME, MRU, NMA, PMT, Terms};

/// The regional ledger's origin.
pub const ORIGIN: &str = "kpledger.mru/regional";
/// When its clock starts.
pub const START: &str = "2026-03-02T08:00:00Z";
/// The price of every sale, in US cents a point (US$289/ct).
pub const CENTS_PER_PT: u64 = 289;

/// The regional world: root `mru.secretariat`, Sierra Leone's and Liberia's authorities,
/// and in Sierra Leone a mine site, a licensed miner, a dealer, an exporter and the PMT
/// valuer (Liberia's dealer is in the ledger: [`LIBERTY`]).
pub struct Regional {
    /// The simulator over the world's ledger.
    pub sim: Sim,
    /// `mru.secretariat`.
    pub root: ActorId,
    /// `sl.nma`.
    pub nma: ActorId,
    /// `lr.mme`.
    pub mme: ActorId,
    /// `sl.miner.koroma`.
    pub miner: ActorId,
    /// `sl.dealer.kamara`.
    pub dealer: ActorId,
    /// `sl.exporter.kono-gems`.
    pub exporter: ActorId,
    /// `sl.pmt`.
    pub pmt: ActorId,
    /// `sl.kono.koidu-12`.
    pub koidu: SiteId,
    _tmp: TempDir,
}

impl Regional {
    /// The regional world with keys from `seed`; the miner's licence runs from `miner_licence.0`
    /// to `.1` when given (else for 2026).
    pub fn new(tag: &str, seed: &str, miner_licence: Option<(&str, &str)>) -> Regional {
        let mut terms = Terms::new(ORIGIN, seed, START);
        if let Some((from, to)) = miner_licence {
            terms = terms.licence(KOROMA.id, from, to);
        }
        let (sim, c, tmp) = cast::world(tag, cast::REGIONAL, &terms);
        Regional {
            sim,
            root: c.actor(MRU.id),
            nma: c.actor(NMA.id),
            mme: c.actor(MME.id),
            miner: c.actor(KOROMA.id),
            dealer: c.actor(KAMARA.id),
            exporter: c.actor(KONO_GEMS.id),
            pmt: c.actor(PMT.id),
            koidu: c.site(KOIDU.0),
            _tmp: tmp,
        }
    }

    /// `from` sells `p` to `to` at US$289/ct; the clock moves an hour.
    pub fn sell(&mut self, from: &ActorId, p: &ParcelId, to: &ActorId) {
        let price = Cents(self.sim.parcel(p).unwrap().weight_pt.0 * CENTS_PER_PT);
        self.sim.handover(from, p, to, price, None).unwrap();
        self.sim.tick(60);
    }

    /// `pt` points (21 stones, HS 7102.31) mined at Koidu, sold to the dealer and to the
    /// exporter.
    pub fn mined_to_exporter(&mut self, pt: u64) -> ParcelId {
        let (miner, dealer, exporter, koidu) =
            (self.miner.clone(), self.dealer.clone(), self.exporter.clone(), self.koidu.clone());
        let p = self.sim.extract(&miner, &koidu, Points(pt), 21, "7102.31").unwrap();
        self.sim.tick(30);
        self.sell(&miner, &p, &dealer);
        self.sell(&dealer, &p, &exporter);
        p
    }

    /// The PMT values the exporter's parcel (highest of three) and `sealer` seals it.
    pub fn value_and_seal(&mut self, p: &ParcelId, sealer: &ActorId, seals: &[&str]) {
        let pmt = self.pmt.clone();
        let declared = self.sim.parcel(p).unwrap().weight_pt.0 * CENTS_PER_PT;
        let (gov, indep) = (Cents(declared * 104 / 100), Cents(declared * 102 / 100));
        self.sim.value(&pmt, p, Cents(declared), gov, Some(indep), gov).unwrap();
        self.sim.tick(60);
        self.sim.seal(sealer, p, seals).unwrap();
        self.sim.tick(60);
    }

    /// The certificate `number` for `parcels`, drafted from the ledger, to `to`.
    pub fn draft(&self, number: &str, parcels: &[ParcelId], to: CertImporter) -> Certificate {
        self.sim.draft_certificate(number, &self.nma, &self.exporter, to, parcels, 60).unwrap()
    }

    /// 12.50 ct mined at Koidu, sold to the dealer and to the exporter, valued, sealed by the
    /// NMA (`SL-SEAL-2026-0101`) and certified as `number` to `to`.
    pub fn certified_to(&mut self, number: &str, to: CertImporter) -> ParcelId {
        let p = self.mined_to_exporter(1250);
        self.certify(&p, "SL-SEAL-2026-0101", number, to);
        p
    }

    /// The exporter's parcel `p` valued, sealed by the NMA (`seal`) and certified as `number`
    /// to `to`.
    pub fn certify(&mut self, p: &ParcelId, seal: &str, number: &str, to: CertImporter) {
        let nma = self.nma.clone();
        self.value_and_seal(p, &nma, &[seal]);
        let cert = self.draft(number, &[*p], to);
        self.sim.certify(&nma, cert).unwrap();
        self.sim.tick(60);
    }

    /// [`Regional::certify`] to Antwerp, then exported by the NMA: the shipment's bundle.
    pub fn exported(&mut self, p: &ParcelId, seal: &str, number: &str) -> Bundle {
        self.certify(p, seal, number, to_antwerp());
        let nma = self.nma.clone();
        self.sim.export(&nma, number).unwrap();
        self.sim.tick(60);
        self.bundle(number)
    }

    /// The whole ledger, replayed, verifies with no error.
    #[track_caller]
    pub fn assert_verifies(&self) {
        let report = self.sim.ledger().verify(&mut |_, _| {}).unwrap();
        assert!(report.ok, "{:#?}", report.findings);
    }

    /// Asserts that ingest would refuse `payload` signed by `by` with one of the codes
    /// `any_of`; `what` names the attempt in the failure message.
    #[track_caller]
    pub fn assert_refused(&self, by: &ActorId, payload: Payload, any_of: &[&str], what: &str) {
        let ev = self.sim.sign(by, payload).unwrap();
        self.assert_refuses(&ev, any_of, what);
    }

    /// Asserts that ingest would refuse `ev` with one of the codes `any_of`; `what` names the
    /// attempt in the failure message.
    #[track_caller]
    pub fn assert_refuses(&self, ev: &ParsedEvent, any_of: &[&str], what: &str) {
        let codes = self.refused_with(ev);
        assert!(
            any_of.iter().any(|c| codes.contains(c)),
            "{what}: ingest should refuse it with one of {any_of:?}, but it finds only {codes:?}"
        );
    }

    /// The error codes with which ingest would refuse `ev` (empty: accepted).
    pub fn refused_with(&self, ev: &ParsedEvent) -> BTreeSet<&'static str> {
        let verdict = self.sim.ledger().dry_run(ev).unwrap();
        verdict.findings().iter().filter(|f| f.is_error()).map(|f| f.code.code()).collect()
    }

    /// The root publishes a checkpoint, which `sl.nma` and `lr.mme` cosign; the bundle of
    /// `number`.
    pub fn bundle(&mut self, number: &str) -> Bundle {
        let root_key = self.sim.key(&self.root).unwrap().clone();
        self.sim.ledger_mut().publish_checkpoint(&root_key).unwrap();
        let mut bundle = self.sim.ledger().bundle(&text(number).unwrap()).unwrap();
        let mut note = Note::parse(bundle.log.checkpoint.as_bytes()).unwrap();
        let cp = Checkpoint::parse(note.text()).unwrap();
        for w in [&self.nma, &self.mme] {
            let c = Cosigner::new(w.as_str(), self.sim.key(w).unwrap().clone()).unwrap();
            note.add_signature(c.cosign(&cp, 1_773_000_000).unwrap()).unwrap();
        }
        bundle.log.checkpoint = String::from_utf8(note.to_bytes()).unwrap();
        bundle
    }

    /// The importer's trust policy: the root's key pinned for the log, both national
    /// authorities as witnesses (both required), each trusted for its own country's
    /// certificates only (the policy `kpledger demo` writes, for this world).
    pub fn trust_policy(&self) -> TrustPolicy {
        let k = |a: &ActorId| self.sim.key(a).unwrap().public();
        let mut t = format!("log {}\n", log_vkey(ORIGIN, k(&self.root)).unwrap().to_vkey());
        for w in [&self.nma, &self.mme] {
            t.push_str(&format!("witness {w} {}\n", witness_vkey(w.as_str(), k(w)).unwrap().to_vkey()));
        }
        t.push_str("group both all sl.nma lr.mme\nquorum both\n");
        for (c, a) in [("SL", &self.nma), ("LR", &self.mme)] {
            t.push_str(&format!(
                "{ISSUER_KEYWORD} {c} {}\n",
                issuer_vkey(a.as_str(), k(a)).unwrap().to_vkey()
            ));
        }
        TrustPolicy::parse(t.as_bytes()).unwrap()
    }

    /// The root authority publishes Sierra Leone's policy of 2026-12-01, which suspends Liberia
    /// from today to 2027-12-31, and an hour passes; returns today.
    pub fn root_suspends_liberia(&mut self) -> Date {
        let today = self.sim.now().date();
        let mut suspended = cast::policy("SL");
        suspended.version = text("2026-12-01").unwrap();
        suspended.suspensions.push(Suspension {
            country: Country::new("LR").unwrap(),
            from: today.clone(),
            to: Date::new("2027-12-31").unwrap(),
            reason: text("KP suspension of Liberia").unwrap(),
        });
        self.sim.policy(&self.root.clone(), suspended).unwrap();
        self.sim.tick(60);
        today
    }
}

/// Diamcor Rough Trading NV in Antwerp, the Belgian buyer, as a certificate's importer.
pub fn to_antwerp() -> CertImporter {
    CertImporter {
        name: text("Diamcor Rough Trading NV").unwrap(),
        address: text("Hoveniersstraat 22, Antwerp").unwrap(),
        country: Country::new("BE").unwrap(),
        actor: None,
    }
}

/// Liberty Rough Exports in Monrovia as a certificate's importer, named by `actor` or not
/// (the demo and `kpledger certificate issue` without `--importer-actor` leave it out).
pub fn to_liberty(actor: Option<ActorId>) -> CertImporter {
    CertImporter {
        name: text(LIBERTY.name).unwrap(),
        address: text("Randall Street, Monrovia").unwrap(),
        country: Country::new("LR").unwrap(),
        actor,
    }
}
