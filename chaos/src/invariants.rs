//! What must hold after every run.
//!
//! 1. An emitted proof verifies (soundness is never traded for liveness).
//! 2. Every certificate verifies offline, and names a worker whose strategy is a
//!    provable fault: no honest worker is ever blamed.
//! 3. Every worker whose fault a certificate must prove (a wrong commitment, evaluation
//!    or opening, equivocation before the last round), once a message proving it reached
//!    the aggregator while the job ran, is blamed.
//! 4. When enough spares exist for every worker that will need replacing, a proof is
//!    emitted; when not and nothing is emitted, the error says why.
//! 5. The run ends: no panic, no runaway event queue; the aggregator's state (its
//!    journal, its event queue) stays bounded whatever the Byzantine workers send.

use crate::scenario::Scenario;
use crate::sim::{RunOutcome, Timing};
use crate::strategy::Strategy;
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::verifier::verify;

/// Margin around timeouts within which a worker may or may not be replaced, µs.
const MARGIN_US: u64 = 600_000;

/// Workers that will (at worst) need a replacement: an upper bound, so "enough spares"
/// really is enough.
pub fn replacements_needed(sc: &Scenario, t: &Timing) -> usize {
    let lost_after = t.idle_us + t.grace_us;
    let mut need = 0;
    for b in sc.byzantine.iter().flatten() {
        need += match b.strategy {
            Strategy::Replay | Strategy::WrongShard | Strategy::Flood { .. } => 0,
            Strategy::RestartRejoin { down_ms } => {
                (down_ms as u64 * 1000 + MARGIN_US >= lost_after.min(t.round_timeout_us)) as usize
            }
            Strategy::Freeze { for_ms } => {
                (for_ms as u64 * 1000 + MARGIN_US >= lost_after.min(t.round_timeout_us)) as usize
            }
            Strategy::CorruptFragment => sc.erasure.is_some() as usize,
            _ => 1,
        };
    }
    for (_, _, len) in &sc.net.partitions {
        if len + MARGIN_US >= lost_after {
            need += 1;
        }
    }
    need
}

/// The violations of one run (empty when every invariant holds).
pub fn check(
    sc: &Scenario,
    out: &RunOutcome,
    vk: &VerifyingKey,
    public_inputs: &[tutti_protocol::Fr],
    t: &Timing,
) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(why) = &out.stuck {
        v.push(format!("the run did not end properly: {why}"));
    }
    // Bounded state: the journal holds at most a few attempts' worth of messages, and the
    // coordinator never queues more than a few events per worker at once, however much
    // junk the Byzantine workers send.
    let n = sc.workers();
    if out.journal_entries > 40 * n * 5 {
        v.push(format!(
            "the journal grew to {} entries",
            out.journal_entries
        ));
    }
    if out.max_queued > 8 * n + 16 {
        v.push(format!(
            "the coordinator queued {} events at once",
            out.max_queued
        ));
    }
    if let Some(p) = &out.proof
        && verify(vk, public_inputs, p).is_err()
    {
        v.push("an emitted proof does not verify".into());
    }
    for (k, cert) in &out.blamed {
        if cert.verify(vk).is_err() {
            v.push(format!("a certificate against {:?} does not verify", k));
        }
        let strategy = k.and_then(|k| sc.byzantine.get(k).copied().flatten());
        match strategy {
            Some(b) if b.strategy.may_be_blamed() => {}
            Some(b) => v.push(format!(
                "worker {:?} ({}) blamed for {}, which it did not do",
                k,
                b.strategy.name(),
                cert.offence.name()
            )),
            None => v.push(format!(
                "honest worker {:?} blamed for {}",
                k,
                cert.offence.name()
            )),
        }
    }
    for (k, b) in sc.byzantine.iter().enumerate() {
        let Some(b) = b else { continue };
        let blamed = out.blamed.iter().any(|(w, _)| *w == Some(k));
        // Replaced first (it crashed or timed out), a liar's lie may never be checked.
        let evidence = out.evidence_delivered.get(k) == Some(&true)
            && out.replaced_unblamed.get(k) != Some(&true);
        if b.strategy.must_be_blamed(b.round) && evidence && !blamed && out.proof.is_some() {
            v.push(format!(
                "worker {k} ({}): its fault reached the aggregator but it was not blamed",
                b.strategy.name()
            ));
        }
    }
    let need = replacements_needed(sc, t);
    if out.proof.is_none() {
        match &out.error {
            None => v.push("no proof and no error".into()),
            Some(e) if sc.spares >= need => v.push(format!(
                "no proof although {} spares cover {} replacements: {e}",
                sc.spares, need
            )),
            Some(_) => {}
        }
    }
    v
}

/// Honest workers blamed in a run.
pub fn honest_blamed(sc: &Scenario, out: &RunOutcome) -> usize {
    out.blamed
        .iter()
        .filter(|(k, _)| {
            k.and_then(|k| sc.byzantine.get(k).copied().flatten())
                .is_none()
        })
        .count()
}
