//! What each command does: dispatch to the command modules by area, which read arguments and files, call the libraries, print.

pub(crate) mod card;
pub(crate) mod certificate;
pub(crate) mod common;
pub(crate) mod demo;
pub(crate) mod epcis;
pub(crate) mod governance;
pub(crate) mod ingest;
pub(crate) mod ledger;
pub(crate) mod log;
pub(crate) mod publish;
pub(crate) mod query;
pub(crate) mod remote;
pub(crate) mod report;
pub(crate) mod serve;
pub(crate) mod sign;
pub(crate) mod trade;
pub(crate) mod verify;
pub(crate) mod witness;

pub(crate) use self::common::*;
use crate::args::Command;
use anyhow::Result;

/// Runs the command: each area's module reads its arguments, the libraries judge, and it prints.
pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Demo(a) => demo::demo(a),
        Command::Verify(a) => verify::verify(a),
        Command::Stats(a) => report::stats(a),
        Command::Report(a) => report::report(a),
        Command::Graph(a) => report::graph(a),
        Command::Certificate(c) => certificate::certificate_cmd(c),
        Command::Transit(a) => certificate::transit(a),
        Command::Bundle(a) => certificate::bundle(a),
        Command::Log(l) => log::log_cmd(l),
        Command::Witness(w) => witness::witness_cmd(w),
        Command::Trust(t) => witness::trust_cmd(t),
        Command::Epcis(e) => epcis::epcis_cmd(e),
        Command::Key(k) => governance::key_cmd(k),
        Command::Init(a) => governance::init(a),
        Command::Policy(p) => governance::policy_cmd(p),
        Command::Actor(a) => governance::actor_cmd(a),
        Command::Site(s) => governance::site_cmd(s),
        Command::Extract(a) => trade::extract(a),
        Command::Handover(h) => trade::handover_cmd(h),
        Command::Split(a) => trade::split(a),
        Command::Merge(a) => trade::merge(a),
        Command::Value(a) => trade::value(a),
        Command::Seal(a) => trade::seal(a),
        Command::Ingest(a) => ingest::ingest_cmd(a),
        Command::Migrate(a) => ingest::migrate(a),
        Command::Ledger(c) => ledger::ledger_cmd(c),
        Command::Serve(a) => serve::serve_cmd(a),
        Command::Submit(a) => serve::submit_cmd(a),
        Command::Get(a) => serve::get_cmd(a),
        Command::Bench(a) => crate::bench::bench(a),
        Command::Parcel(p) => query::parcel_cmd(p),
        Command::Rules(a) => query::rules(a),
    }
}
