//! What `tutti ceremony verify` checks beyond the latest state: a directory of published
//! intermediate states, and an SRS file against the one the state defines.

use super::{bar, read_state, with_bar};
use crate::inputs::read_file;
use anyhow::{Context, Result, bail};
use rand::rngs::OsRng;
use std::path::{Path, PathBuf};
use tutti_crypto::ceremony::{CeremonyState, verify_ceremony, verify_contribution};
use tutti_crypto::srs::RowSource;

/// Checks each state in `dir` against its predecessor, and that they are the final
/// state's chain: one state per record count 0..=N, each with the final's records.
pub(super) fn verify_steps(
    dir: &Path,
    last: &CeremonyState,
    ptau: Option<&[u8]>,
    json: bool,
) -> Result<()> {
    let mut by_count: Vec<Option<PathBuf>> = vec![None; last.contributions.len() + 1];
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let Ok(state) = CeremonyState::from_bytes(&read_state(&path)?) else {
            continue;
        };
        let n = state.contributions.len();
        if n >= by_count.len() || state.contributions[..] != last.contributions[..n] {
            bail!(
                "{} is not a state of this ceremony's chain (its records differ from the final state's)",
                path.display()
            );
        }
        by_count[n] = Some(path);
    }
    let missing: Vec<usize> = (0..by_count.len())
        .filter(|n| by_count[*n].is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} lacks the states after contributions {missing:?} (0 is the start)",
            dir.display()
        );
    }
    let load = |n: usize| -> Result<CeremonyState> {
        let path = by_count[n].as_deref().unwrap_or(dir);
        Ok(CeremonyState::from_bytes(&read_state(path)?)?)
    };
    let pb = bar(json);
    pb.set_length(last.contributions.len() as u64);
    pb.set_message("checking each published state");
    let mut prev = load(0)?;
    let (m, t) = (prev.shards, prev.shard_gates);
    let start = match (prev.x_from_ptau, ptau) {
        (None, _) => Some(CeremonyState::init(m, t)?),
        (Some(_), Some(file)) => Some(CeremonyState::from_ptau(file, m, t)?),
        // Without the file, the start is checked like any state (verify_ceremony).
        (Some(_), None) => None,
    };
    match start {
        Some(start) if start != prev => bail!(
            "{} is not the ceremony's starting state",
            by_count[0].as_deref().unwrap_or(dir).display()
        ),
        Some(_) => {}
        None => verify_ceremony(&prev, &mut OsRng, tutti_crypto::ceremony::QUIET)?,
    }
    for n in 1..by_count.len() {
        let next = load(n)?;
        verify_contribution(&prev, &next, &mut OsRng).with_context(|| {
            format!(
                "the state after contribution {} does not follow from the one before",
                n - 1
            )
        })?;
        prev = next;
        pb.set_position(n as u64);
    }
    pb.finish_and_clear();
    Ok(())
}

/// Checks that the SRS file at `path` is exactly the one `finalize` writes from `state`;
/// returns its SRS id.
pub(super) fn check_srs(state: &CeremonyState, path: &Path, json: bool) -> Result<[u8; 32]> {
    let dir = tempfile::tempdir()?;
    let mine = dir.path().join("srs.bin");
    let srs = with_bar(json, |p| state.to_srs_with_progress(p))?;
    srs.write_file(&mine)?;
    let theirs = read_file(path, "SRS file")?;
    if blake3::hash(&theirs) != blake3::hash(&std::fs::read(&mine)?) {
        bail!(
            "{} is not the SRS this ceremony state defines (finalize it again and compare; a beacon contribution must be in the state: use the state finalize --state-out wrote)",
            path.display()
        );
    }
    Ok(srs.aggregator_part()?.g2.srs_id(state.shards))
}
