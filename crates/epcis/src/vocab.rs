//! The CBV 2.0 standard vocabularies that EPCIS 2.0 JSON-LD writes as bare words.
//!
//! In JSON-LD an EPCIS document may write a standard vocabulary value without its namespace
//! (`"bizStep": "shipping"`): the EPCIS 2.0 JSON-LD context maps each bare word, in the field
//! it belongs to, to its CBV web URI (`https://ref.gs1.org/cbv/BizStep-shipping`). These are
//! the terms of that context (`epcis-context.jsonld`, EPCIS 2.0.0), field by field; the test
//! `vocabulary_matches_the_epcis_context` checks them against the official file.

/// `https://ref.gs1.org/cbv/`, the CBV web vocabulary (the `cbv:` prefix).
pub(crate) const CBV: &str = "https://ref.gs1.org/cbv/";
/// `https://gs1.org/voc/`, the GS1 web vocabulary (the `gs1:` prefix of EPCIS 2.0).
pub(crate) const GS1: &str = "https://gs1.org/voc/";

/// Bare words of the field (see the module documentation).
pub(crate) const BIZ_STEPS: &[&str] = &[
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "sampling",
    "sensor_reporting",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
];
/// Bare words of the field (see the module documentation).
pub(crate) const DISPOSITIONS: &[&str] = &[
    "active",
    "available",
    "completeness_verified",
    "completeness_inferred",
    "conformant",
    "container_closed",
    "container_open",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "no_pedigree_match",
    "non_conformant",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unavailable",
    "unknown",
];
/// Bare words of the field (see the module documentation).
pub(crate) const BIZ_TRANSACTION_TYPES: &[&str] = &[
    "bol",
    "cert",
    "desadv",
    "inv",
    "pedigree",
    "po",
    "poc",
    "prodorder",
    "recadv",
    "rma",
    "testprd",
    "testres",
    "upevt",
];
/// Bare words of the field (see the module documentation).
pub(crate) const SOURCE_DEST_TYPES: &[&str] = &["owning_party", "possessing_party", "location"];
/// Bare words of the field (see the module documentation).
pub(crate) const MEASUREMENT_TYPES: &[&str] = &[
    "AbsoluteHumidity",
    "AbsorbedDose",
    "AbsorbedDoseRate",
    "Acceleration",
    "Radioactivity",
    "Altitude",
    "AmountOfSubstance",
    "AmountOfSubstancePerUnitVolume",
    "Angle",
    "AngularAcceleration",
    "AngularMomentum",
    "AngularVelocity",
    "Area",
    "Capacitance",
    "Conductance",
    "Conductivity",
    "Count",
    "Density",
    "Dimensionless",
    "DoseEquivalent",
    "DoseEquivalentRate",
    "DynamicViscosity",
    "ElectricCharge",
    "ElectricCurrent",
    "ElectricCurrentDensity",
    "ElectricFieldStrength",
    "Energy",
    "Exposure",
    "Force",
    "Frequency",
    "Illuminance",
    "Inductance",
    "Irradiance",
    "KinematicViscosity",
    "Length",
    "LinearMomentum",
    "Luminance",
    "LuminousFlux",
    "LuminousIntensity",
    "MagneticFlux",
    "MagneticFluxDensity",
    "MagneticVectorPotential",
    "Mass",
    "MassConcentration",
    "MassFlowRate",
    "MassPerAreaTime",
    "MemoryCapacity",
    "MolalityOfSolute",
    "MolarEnergy",
    "MolarMass",
    "MolarVolume",
    "Power",
    "Pressure",
    "RadiantFlux",
    "RadiantIntensity",
    "RelativeHumidity",
    "Resistance",
    "Resistivity",
    "SolidAngle",
    "SpecificVolume",
    "Speed",
    "SurfaceDensity",
    "SurfaceTension",
    "Temperature",
    "Time",
    "Torque",
    "Voltage",
    "Volume",
    "VolumeFlowRate",
    "VolumeFraction",
    "VolumetricFlux",
    "Wavenumber",
];
/// Bare words of the field (see the module documentation).
pub(crate) const SENSOR_EXCEPTIONS: &[&str] = &["ALARM_CONDITION", "ERROR_CONDITION"];
/// Bare words of the field (see the module documentation).
pub(crate) const COMPONENTS: &[&str] = &[
    "x",
    "y",
    "z",
    "axial_distance",
    "azimuth",
    "height",
    "spherical_radius",
    "polar_angle",
    "elevation_angle",
    "easting",
    "northing",
    "latitude",
    "longitude",
    "altitude",
];
/// Bare words of the field (see the module documentation).
pub(crate) const ERROR_REASONS: &[&str] = &["did_not_occur", "incorrect_data"];

/// A vocabulary-typed field: its bare words and the IRI each word is the suffix of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vocab {
    /// `bizStep`.
    BizStep,
    /// `disposition`, `persistentDisposition.set` and `.unset`.
    Disposition,
    /// `bizTransactionList[].type`.
    BizTransactionType,
    /// `sourceList[].type`, `destinationList[].type`.
    SourceDestType,
    /// `sensorReport[].type`.
    MeasurementType,
    /// `sensorReport[].exception`.
    SensorException,
    /// `sensorReport[].component`.
    Component,
    /// `errorDeclaration.reason`.
    ErrorReason,
}

impl Vocab {
    /// The bare words and the IRI prefix they expand with.
    pub(crate) fn table(self) -> (&'static [&'static str], &'static str, &'static str) {
        match self {
            Vocab::BizStep => (BIZ_STEPS, CBV, "BizStep-"),
            Vocab::Disposition => (DISPOSITIONS, CBV, "Disp-"),
            Vocab::BizTransactionType => (BIZ_TRANSACTION_TYPES, CBV, "BTT-"),
            Vocab::SourceDestType => (SOURCE_DEST_TYPES, CBV, "SDT-"),
            Vocab::MeasurementType => (MEASUREMENT_TYPES, GS1, ""),
            Vocab::SensorException => (SENSOR_EXCEPTIONS, GS1, ""),
            Vocab::Component => (COMPONENTS, CBV, "Comp-"),
            Vocab::ErrorReason => (ERROR_REASONS, CBV, "ER-"),
        }
    }

    /// The web URI of a bare word of this field, or `None` if it is not one of its words.
    pub(crate) fn expand(self, word: &str) -> Option<String> {
        let (words, base, prefix) = self.table();
        words.contains(&word).then(|| format!("{base}{prefix}{word}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables are the terms of the official EPCIS 2.0 JSON-LD context, each expanding to
    /// the IRI the context gives it (`tests/vectors/epcis/gs1-EPCIS/epcis-context.jsonld`).
    #[test]
    fn vocabulary_matches_the_epcis_context() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/epcis/gs1-EPCIS/epcis-context.jsonld");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            panic!(
                "the EPCIS vectors are missing ({path}: {e}); they live in tests/vectors in the repository"
            )
        });
        let ctx: serde_json::Value = serde_json::from_str(&text).unwrap();
        let c = &ctx["@context"];
        let report = &c["sensorElementList"]["@context"]["sensorReport"]["@context"];
        let terms = |v: &serde_json::Value| -> Vec<(String, String)> {
            let prefixes = [("cbv:", CBV), ("gs1:", GS1)];
            v.as_object()
                .unwrap()
                .iter()
                .map(|(k, iri)| {
                    let iri = iri.as_str().unwrap();
                    let (p, base) = prefixes.iter().find(|(p, _)| iri.starts_with(p)).unwrap();
                    (k.clone(), format!("{base}{}", &iri[p.len()..]))
                })
                .collect()
        };
        for (vocab, scoped) in [
            (Vocab::BizStep, &c["bizStep"]["@context"]),
            (Vocab::Disposition, &c["disposition"]["@context"]),
            (Vocab::Disposition, &c["persistentDisposition"]["@context"][0]),
            (Vocab::BizTransactionType, &c["bizTransactionList"]["@context"]["type"]["@context"]),
            (Vocab::SourceDestType, &c["sourceList"]["@context"]["type"]["@context"]),
            (Vocab::SourceDestType, &c["destinationList"]["@context"]["type"]["@context"]),
            (Vocab::MeasurementType, &report["type"]["@context"]),
            (Vocab::SensorException, &report["exception"]["@context"]),
            (Vocab::Component, &report["component"]["@context"]),
            (Vocab::ErrorReason, &c["errorDeclaration"]["@context"]["reason"]["@context"]),
        ] {
            let expected = terms(scoped);
            assert_eq!(expected.len(), vocab.table().0.len(), "{vocab:?}: number of terms");
            for (word, iri) in expected {
                assert_eq!(vocab.expand(&word), Some(iri), "{vocab:?} {word}");
            }
        }
    }
}
