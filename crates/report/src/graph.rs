//! Provenance graphs: from the mine sites, through handovers, splits and merges, to the
//! export lot, with the carats on every edge. Written as Graphviz DOT; laid out and drawn
//! as SVG by `layout-rs` (pure Rust, no Graphviz binary needed) from the same DOT text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use kpledger_model::{ParcelId, SiteId};

use crate::ReportError;
use crate::book::Book;
use crate::fmt::ct;

/// What to draw: a certificate's parcels or one parcel, back to the mines.
#[derive(Debug, Clone)]
pub enum Target {
    /// A certificate number.
    Certificate(String),
    /// A parcel.
    Parcel(ParcelId),
}

impl Target {
    /// A certificate number or a parcel id (UUID).
    pub fn parse(s: &str) -> Target {
        match s.parse::<ParcelId>() {
            Ok(p) => Target::Parcel(p),
            Err(_) => Target::Certificate(s.to_owned()),
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Colours: mine sites green, trade steps white, official steps blue, the certificate gold.
fn fill(kind: &str) -> &'static str {
    match kind {
        "valuation" | "seal" | "import_confirmation" | "import" => "#dbe8f6",
        "export" => "#f6e7b4",
        "split" | "merge" => "#f1f1f1",
        _ => "#ffffff",
    }
}

/// The provenance graph of the target as DOT.
pub fn dot(book: &Book, target: &Target) -> Result<String, ReportError> {
    let (title, roots) = match target {
        Target::Certificate(n) => {
            let c = book.certificate(n).ok_or_else(|| ReportError::NotFound(format!("certificate {n}")))?;
            let roots: Vec<ParcelId> = c.certificate.parcels.iter().map(|r| r.parcel).collect();
            (format!("certificate {n}"), roots)
        }
        Target::Parcel(p) => {
            if !book.parcels.contains_key(p) {
                return Err(ReportError::NotFound(format!("parcel {p}")));
            }
            (format!("parcel {p}"), vec![*p])
        }
    };
    let parcels = book.ancestors(&roots);
    let cert_number = match target {
        Target::Certificate(n) => Some(n.as_str()),
        Target::Parcel(_) => None,
    };
    // A certificate's graph ends at its export (or its issue, before the shipment left).
    let end = cert_number.and_then(|n| {
        let c = book.certificate(n)?;
        Some(c.exported_seq.unwrap_or(c.seq))
    });
    // The steps touching these parcels, in order; certificates and exports only for the target.
    let steps: Vec<_> = book
        .steps
        .iter()
        .filter(|s| s.kind != "certificate")
        .filter(|s| s.inputs.iter().chain(&s.outputs).any(|(p, _)| parcels.contains(p)))
        .filter(|s| end.is_none_or(|e| s.seq <= e))
        .collect();

    let mut out = String::new();
    let _ = writeln!(out, "digraph provenance {{");
    let _ = writeln!(out, "  // {}", esc(&title));
    let mut sites: BTreeSet<SiteId> = BTreeSet::new();
    // Where each parcel was last seen: the node.
    let mut last: BTreeMap<ParcelId, String> = BTreeMap::new();
    // Parcels still on their first chain from a mine site (no split or merge yet): the
    // site and how many handovers they went through. Their handovers are drawn once per
    // (site, position, seller, buyer), so parcels that travelled together share a path.
    let mut chain: BTreeMap<ParcelId, (String, usize)> = BTreeMap::new();
    let mut nodes: Vec<(String, String, &'static str, &'static str)> = Vec::new();
    let mut seen_nodes: BTreeSet<String> = BTreeSet::new();
    let mut node_count: BTreeMap<String, u64> = BTreeMap::new();
    // Edges: (from, to) → (parcels, points).
    let mut edges: BTreeMap<(String, String), (BTreeSet<ParcelId>, u64)> = BTreeMap::new();
    let mut edge_order: Vec<(String, String)> = Vec::new();
    for s in &steps {
        let who =
            |a: &Option<kpledger_model::ActorId>| a.as_ref().map(|a| book.name_of(a)).unwrap_or_default();
        if s.kind == "extraction" {
            // The mine site is the node; the extraction is its edge.
            let Some((p, _)) = s.outputs.first() else { continue };
            let site: SiteId = s.note.parse().map_err(ReportError::Graph)?;
            let node = format!("s_{}", site.as_str().replace(['.', '-'], "_"));
            sites.insert(site);
            chain.insert(*p, (node.clone(), 0));
            last.insert(*p, node);
            continue;
        }
        let on_chain = s.kind == "handover" && s.inputs.first().is_some_and(|(p, _)| chain.contains_key(p));
        let (id, label) = if on_chain {
            let p = s.inputs[0].0;
            let (site, k) = chain.get(&p).cloned().unwrap_or_default();
            let to = s.to.as_ref().map(|a| a.as_str().replace(['.', '-'], "_")).unwrap_or_default();
            let id = format!("h_{site}_{k}_{to}");
            if let Some(c) = chain.get_mut(&p) {
                c.1 += 1;
            }
            (id, format!("handover\nto {}", who(&s.to)))
        } else {
            for (p, _) in &s.inputs {
                chain.remove(p);
            }
            let label = match s.kind {
                "handover" => format!("handover #{}\nto {}", s.seq, who(&s.to)),
                "split" => format!("split #{}\nby {}", s.seq, who(&s.from)),
                "merge" => format!("merge #{}\nby {}", s.seq, who(&s.to)),
                "valuation" => format!("official valuation #{}", s.seq),
                "seal" => format!("sealed #{}", s.seq),
                "export" => {
                    let c = book.certificate(&s.note);
                    let dest =
                        c.map(|c| format!(" to {}", c.certificate.importer.country)).unwrap_or_default();
                    format!("EXPORT #{}\nKP certificate {}{dest}", s.seq, s.note)
                }
                "import" => format!("imported #{}\nunder {}", s.seq, s.note),
                "import_confirmation" => {
                    format!("import confirmed #{}\n{} for {}", s.seq, s.note, who(&s.to))
                }
                other => format!("{other} #{}", s.seq),
            };
            (format!("e{}", s.seq), label)
        };
        if seen_nodes.insert(id.clone()) {
            let fill = fill(s.kind);
            let width = if s.kind == "export" { "3" } else { "1" };
            nodes.push((id.clone(), label, fill, width));
        }
        *node_count.entry(id.clone()).or_default() += 1;
        for (p, w_before) in &s.inputs {
            if let Some(from) = last.get(p) {
                let key = (from.clone(), id.clone());
                let e = edges.entry(key.clone()).or_insert_with(|| {
                    edge_order.push(key.clone());
                    (BTreeSet::new(), 0)
                });
                if e.0.insert(*p) {
                    e.1 += w_before;
                }
            }
        }
        for (p, _) in &s.outputs {
            last.insert(*p, id.clone());
        }
    }
    for site in &sites {
        let node = format!("s_{}", site.as_str().replace(['.', '-'], "_"));
        let label = match book.sites.get(site) {
            Some(s) => format!("MINE SITE\n{}\n{} · {}", s.name, s.country, s.region),
            None => format!("MINE SITE\n{site}"),
        };
        let _ = writeln!(
            out,
            "  {node} [shape=box, style=filled, fillcolor=\"#cfe8cf\", label=\"{}\"];",
            esc(&label)
        );
    }
    for (id, label, fill, width) in &nodes {
        let n = node_count.get(id).copied().unwrap_or(1);
        let label =
            if n > 1 { label.replacen("handover", &format!("{n} handovers"), 1) } else { label.clone() };
        let _ = writeln!(
            out,
            "  {id} [shape=box, style=filled, fillcolor=\"{fill}\", penwidth={width}, label=\"{}\"];",
            esc(&label)
        );
    }
    for key in &edge_order {
        let (ps, pt) = &edges[key];
        let label = if ps.len() > 1 {
            format!("{} parcels\n{} ct", ps.len(), ct(*pt))
        } else {
            format!("{} ct", ct(*pt))
        };
        let _ = writeln!(out, "  {} -> {} [label=\"{}\"];", key.0, key.1, esc(&label));
    }
    let _ = writeln!(out, "}}");
    Ok(out)
}

/// The provenance graph as a standalone SVG document (laid out by `layout-rs`).
pub fn svg(book: &Book, target: &Target) -> Result<String, ReportError> {
    let d = dot(book, target)?;
    dot_to_svg(&d)
}

/// Lays out DOT text and draws it as SVG (without the XML declaration, so it can be
/// embedded in HTML as it is).
pub fn dot_to_svg(d: &str) -> Result<String, ReportError> {
    // The DOT handed out is Graphviz's (`penwidth` is a border's width); layout-rs reads
    // a border's width from `width` (which Graphviz uses for a node's size).
    let d = d.replace("penwidth=", "width=");
    let mut parser = layout::gv::DotParser::new(&d);
    let graph = parser.process().map_err(ReportError::Graph)?;
    let mut builder = layout::gv::GraphBuilder::new();
    builder.visit_graph(&graph);
    let mut vg = builder.get();
    if vg.num_nodes() == 0 {
        return Err(ReportError::Graph("the graph is empty".into()));
    }
    let mut w = layout::backends::svg::SVGWriter::new();
    vg.do_it(false, false, false, &mut w);
    let s = w.finalize();
    let body = match s.find("<svg") {
        Some(i) => &s[i..],
        None => s.as_str(),
    };
    Ok(body.to_owned())
}
