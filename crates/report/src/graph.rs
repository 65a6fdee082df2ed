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
    /// One parcel, with every parcel it was split or merged from.
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
pub fn graph_dot(book: &Book, target: &Target) -> Result<String, ReportError> {
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
        Some(c.exported.as_ref().map_or(c.seq, |(seq, _)| *seq))
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
pub fn graph_svg(book: &Book, target: &Target) -> Result<String, ReportError> {
    let d = graph_dot(book, target)?;
    dot_to_svg(&d)
}

/// Lays out DOT text and draws it as SVG (without the XML declaration, so it can be
/// embedded in HTML as it is).
pub(crate) fn dot_to_svg(d: &str) -> Result<String, ReportError> {
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
    Ok(fit(body))
}

/// Margin kept around a graph's drawing, in SVG units.
const MARGIN: i64 = 12;

/// The drawing sized to what it draws: layout-rs makes the canvas larger than the graph (a
/// third again below it, at times), which left a panel of the HTML report with a large empty
/// area under its graph. The width, height and viewBox become the extent of the boxes, the
/// edges and the text, plus [`MARGIN`]; never larger than they were. The `<defs>` (arrow heads)
/// are not drawn where they stand and are left out of the extent.
fn fit(svg: &str) -> String {
    let Some(head_end) = svg.find('>') else { return svg.to_owned() };
    let head = &svg[..head_end];
    let (Some(w0), Some(h0)) = (attr(head, "width"), attr(head, "height")) else { return svg.to_owned() };
    let mut body = &svg[head_end..];
    let mut drawn = String::new();
    while let Some(i) = body.find("<defs") {
        drawn.push_str(&body[..i]);
        body = body[i..].find("</defs>").map_or("", |j| &body[i + j..]);
    }
    drawn.push_str(body);
    let (mut right, mut bottom) = (0i64, 0i64);
    let mut see = |x: i64, y: i64| {
        right = right.max(x);
        bottom = bottom.max(y);
    };
    for (tag, rest) in tags(&drawn) {
        let attrs = rest.split('>').next().unwrap_or("");
        let a = |n: &str| attr(attrs, n);
        match tag {
            "rect" => {
                if let (Some(x), Some(y), Some(w), Some(h)) = (a("x"), a("y"), a("width"), a("height")) {
                    see(x + w, y + h);
                }
            }
            "text" => {
                // A label's lines are `tspan`s of 1em (14px) each, centred on x.
                if let (Some(x), Some(y)) = (a("x"), a("y")) {
                    let end = rest.find("</text>").unwrap_or(rest.len());
                    let inner = &rest[..end];
                    let lines = inner.matches("<tspan").count().max(1);
                    let longest = inner
                        .split("<tspan")
                        .map(|t| {
                            t.split_once('>')
                                .map_or(0, |(_, v)| v.split('<').next().unwrap_or("").chars().count())
                        })
                        .max()
                        .unwrap_or(0);
                    let (longest, lines) =
                        (i64::try_from(longest).unwrap_or(0), i64::try_from(lines).unwrap_or(0));
                    see(x + (9 * longest + 1) / 2, y + 16 * lines);
                }
            }
            "path" | "polygon" | "polyline" => {
                let d = a_text(attrs, if tag == "path" { "d" } else { "points" }).unwrap_or_default();
                let nums: Vec<i64> = d
                    .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                    .filter_map(num)
                    .collect();
                for pair in nums.chunks_exact(2) {
                    see(pair[0], pair[1]);
                }
            }
            _ => {}
        }
    }
    if right <= 0 || bottom <= 0 {
        return svg.to_owned();
    }
    let w = (right + MARGIN).min(w0);
    let h = (bottom + MARGIN).min(h0);
    let new_head = format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\""
    );
    format!("{new_head}{}", &svg[head_end..])
}

/// Every start tag of `s`: its name and the rest of `s` after the name (its attributes first).
fn tags(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.match_indices('<').map(|(i, _)| &s[i + 1..]).filter(|t| !t.starts_with('/')).map(|t| {
        let name_end = t.find(|c: char| c.is_whitespace() || c == '>' || c == '/').unwrap_or(t.len());
        (&t[..name_end], &t[name_end..])
    })
}

/// The text of attribute `name` in a tag's text.
fn a_text<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(name) {
        let at = from + i;
        let before_ok = at == 0 || tag[..at].ends_with(|c: char| c.is_whitespace());
        let after = tag[at + name.len()..].trim_start();
        if before_ok && let Some(v) = after.strip_prefix('=') {
            let v = v.trim_start().strip_prefix('"')?;
            return v.split('"').next();
        }
        from = at + name.len();
    }
    None
}

/// The number in attribute `name` of a tag's text, rounded up to a whole unit.
fn attr(tag: &str, name: &str) -> Option<i64> {
    num(a_text(tag, name)?)
}

/// A decimal number of an SVG attribute, rounded up to a whole unit (layout-rs writes whole
/// numbers; a fraction only ever widens the extent).
fn num(s: &str) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let whole: i64 = if int.is_empty() || int == "-" { 0 } else { int.parse().ok()? };
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let up = i64::from(frac.chars().any(|c| c != '0') && !int.starts_with('-'));
    Some(whole + up)
}
