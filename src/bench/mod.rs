//! `tutti bench`: how fast one worker is, and the speedup of M workers over one machine.
//!
//! Everything runs in this process with the same thread count (rayon's global pool):
//! - the single-machine prover (M = 1) at N = M·T rows and at T rows;
//! - the M-shard job, each worker in turn (the runner times each worker's rounds only);
//! - the aggregator (its share of the same run) and the verifier;
//! - the "MSM floor" at T: the MSMs and FFTs a single-machine prover of T rows must do,
//!   timed with the same arkworks routines on random data.
//!
//! The single-machine figures are the worker rounds of the M = 1 job: the aggregator of
//! an M = 1 job adds only checks and a verification, which a one-machine prover would not
//! run, so leaving it out makes the speedup conservative.
//!
//! Worker peak memory is measured in a child process (this binary again, with the hidden
//! `--worker-child` flag) that holds only one shard's proving key, witness and SRS row and
//! proves that shard; its `VmHWM` is read from `/proc/self/status`.

mod checks;

use anyhow::{Context, Result, bail};
use ark_poly::EvaluationDomain;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tutti_crypto::encoding::{Reader, put_g1, put_scalar};
use tutti_crypto::kzg::commit;
use tutti_crypto::scalars::derive_scalars;
use tutti_crypto::srs::{InMemorySrs, RowSource, SrsFile, row_len};
use tutti_protocol::Fr;
use tutti_protocol::circuits::random::random_circuit;
use tutti_protocol::keys::{
    FIXED_POLYS, Preprocessed, ShardProvingKey, preprocess, quotient_coset,
};
use tutti_protocol::layout::{Shape, ShardWitness, ShardedCircuit};
use tutti_protocol::linearise::OpeningWeights;
use tutti_protocol::runner::robust::{JobOptions, run_job};
use tutti_protocol::runner::{Clock, RunOptions, RunReport, Traffic, run_in_process};
use tutti_protocol::verifier::verify;
use tutti_protocol::worker::{ShardInputs, ShardProver};

/// Seed of the random circuit (and of the SRS).
const CIRCUIT_SEED: u64 = 1;
const SRS_SEED: &[u8] = b"tutti-bench";
/// Job secret of every bench run: fixed so the runs (and their proofs) are reproducible;
/// a bench proof need not hide its witness.
const BENCH_JOB_SECRET: [u8; 32] = [0u8; 32];
/// The M values of `--sweep`.
const SWEEP: [usize; 6] = [1, 2, 4, 8, 16, 32];
/// Repetitions of the cheap, T-sized measurements and of the verifier.
const SMALL_REPS: usize = 3;
const VERIFY_REPS: usize = 30;

/// Arguments of `tutti bench`.
pub struct BenchArgs {
    pub shards: usize,
    pub shard_gates: usize,
    pub json: bool,
    pub sweep: bool,
    /// Repetitions of the N-sized runs (single machine at N, the M-shard job); each
    /// figure is the minimum over them.
    pub reps: usize,
    /// Hidden: prove one shard from this file (written by the parent) and print VmHWM.
    pub worker_child: Option<PathBuf>,
}

/// One measured point (the `--json` object; keys are part of the interface).
#[derive(Serialize, Debug, Clone)]
pub struct BenchRow {
    pub single_ms_n: f64,
    pub single_ms_t: f64,
    pub worker_ms_max: f64,
    /// The median worker: with M noisy samples the maximum also measures the noise, the
    /// median is the typical worker.
    pub worker_ms_median: f64,
    pub aggregator_ms: f64,
    pub speedup: f64,
    pub ideal_speedup: f64,
    pub floor_ms_t: f64,
    pub worker_over_single_t: f64,
    pub single_over_floor_t: f64,
    pub verify_ms: f64,
    /// Median time of one 3-pair multi-pairing with arkworks, measured in this run: the
    /// irreducible core of a verification, against which verify and aggregator times are
    /// compared across machines of different speed.
    pub pairing3_ms: f64,
    /// `verify_ms / pairing3_ms`.
    pub verify_over_pairing: f64,
    /// `aggregator_ms / pairing3_ms`.
    pub aggregator_over_pairing: f64,
    pub proof_bytes: usize,
    /// Gas of one `verifyProof` transaction of the generated Solidity verifier (base and
    /// calldata included) in a local EVM, one public input (the reference key of
    /// `tutti_evm::reference::BENCH_CASE`; the figure depends on the number of public
    /// inputs, not on M or T).
    pub evm_verify_gas: u64,
    /// Gas of deploying that verifier.
    pub evm_deploy_gas: u64,
    pub bytes_per_worker: usize,
    pub worker_peak_rss_mb: f64,
    /// The same job through the robust path (signed envelopes, the coordinator's
    /// directives): bytes one worker sends and receives, largest over workers.
    pub bytes_per_worker_signed: usize,
    /// The coordinator's compute time in that robust run (signature checks, journal,
    /// fencing and the aggregator inside).
    pub coordinator_ms: f64,
    /// A worker's SRS row check alone (one MSM of T + 4 points, two pairings).
    pub row_check_ms: f64,
    /// Its shard-inputs digest (witness, fixed values, row).
    pub inputs_digest_ms: f64,
    /// Everything it checks on an assignment before signing, for a row not yet checked.
    pub worker_checks_ms: f64,
    /// `worker_checks_ms / worker_ms_median`.
    pub worker_checks_over_worker: f64,
    /// The same checks with the row already in the worker's cache (every later job of
    /// the same SRS and shard).
    pub worker_checks_cached_ms: f64,
    /// `worker_checks_cached_ms / worker_ms_median`.
    pub worker_checks_cached_over_worker: f64,
}

struct StdClock(Instant);

impl Clock for StdClock {
    fn now_nanos(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// Every prover this process times (single machine at N and at T, each worker in turn,
/// the floor) should meet the allocator in the same state. By default glibc serves large
/// blocks with `mmap` and hands freed heap back to the kernel, so whichever prover runs
/// after a big free pays the page faults of touching fresh memory again: in a 16384-row,
/// 8-shard run the first two workers took 9 % longer than the others for that reason
/// alone. Keeping freed memory in the heap (no `mmap`, no trimming) removes that order
/// effect; a worker process proving shard after shard sees the same steady state.
fn steady_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation policy; it is called before this
    // command allocates anything large and touches no memory itself.
    unsafe {
        let no_mmap = libc::mallopt(libc::M_MMAP_MAX, 0);
        let no_trim = libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        if no_mmap != 1 || no_trim != 1 {
            tracing::warn!("could not set the allocator policy; timings may depend on run order");
        }
    }
}

/// Bytes sent and received by the worker that sent and received most.
fn busiest_worker_bytes(traffic: &[Traffic]) -> usize {
    traffic
        .iter()
        .map(|t| t.sent + t.received)
        .max()
        .unwrap_or(0)
}

fn ms_of_nanos(n: u64) -> f64 {
    n as f64 / 1e6
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

pub fn run(a: BenchArgs) -> Result<()> {
    if let Some(file) = &a.worker_child {
        return worker_child(file);
    }
    steady_allocator();
    anyhow::ensure!(a.reps >= 1, "--reps must be at least 1");
    let ms: Vec<usize> = if a.sweep {
        SWEEP.to_vec()
    } else {
        vec![a.shards]
    };
    // The on-chain figures depend on neither M nor T: measured once per run.
    tracing::info!("bench: the Solidity verifier in a local EVM");
    let evm_gas = tutti_evm::measure_gas().context("measuring the on-chain verifier's gas")?;
    for (k, &m) in ms.iter().enumerate() {
        let shape = Shape::new(m, a.shard_gates)?;
        let row = bench_point(shape, a.reps, evm_gas)?;
        if a.json {
            println!("{}", serde_json::to_string(&row)?);
        } else {
            print_table(shape, &row, k == 0);
        }
    }
    Ok(())
}

fn print_table(shape: Shape, r: &BenchRow, header: bool) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if header {
        println!(
            "tutti bench: random circuit, T = {} rows per shard, {threads} threads, times in ms",
            shape.shard_gates
        );
        println!(
            "{:>4} {:>9} {:>10} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>6} {:>7} {:>6} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6}",
            "M",
            "N",
            "single@N",
            "single@T",
            "worker",
            "aggr",
            "speedup",
            "ideal",
            "floor@T",
            "wkr/sgl",
            "sgl/fl",
            "verify",
            "proof",
            "B/wkr",
            "signed",
            "coord",
            "RSS MB",
            "chk%",
            "chk%c"
        );
    }
    println!(
        "{:>4} {:>9} {:>10.1} {:>9.1} {:>9.1} {:>7.2} {:>8.2} {:>8.2} {:>8.1} {:>8.3} {:>6.3} {:>7.3} {:>6} {:>7} {:>7} {:>7.2} {:>7.1} {:>6.2} {:>6.3}",
        shape.shards,
        shape.shards * shape.shard_gates,
        r.single_ms_n,
        r.single_ms_t,
        r.worker_ms_max,
        r.aggregator_ms,
        r.speedup,
        r.ideal_speedup,
        r.floor_ms_t,
        r.worker_over_single_t,
        r.single_over_floor_t,
        r.verify_ms,
        r.proof_bytes,
        r.bytes_per_worker,
        r.bytes_per_worker_signed,
        r.coordinator_ms,
        r.worker_peak_rss_mb,
        100.0 * r.worker_checks_over_worker,
        100.0 * r.worker_checks_cached_over_worker
    );
}

/// A prepared job: keys, witnesses and public inputs of the random circuit.
struct Job {
    pre: Preprocessed,
    witnesses: Vec<ShardWitness>,
    public_inputs: Vec<Fr>,
}

fn prepare(shape: Shape, gates: usize, srs: &dyn RowSource) -> Result<Job> {
    let (circuit, witness) = random_circuit(gates, CIRCUIT_SEED);
    let sharded = ShardedCircuit::new(&circuit, shape)?;
    let pre = preprocess(&sharded, srs).context("preprocessing the bench circuit")?;
    Ok(Job {
        pre,
        witnesses: sharded.shard_witnesses(&witness),
        public_inputs: witness.public_inputs(&circuit),
    })
}

/// Proves `job` `reps` times; per-worker and aggregator times are minima over the runs.
fn prove(job: &Job, reps: usize) -> Result<(RunReport, Vec<u64>, u64)> {
    let mut best: Option<(RunReport, Vec<u64>, u64)> = None;
    for _ in 0..reps {
        let clock = StdClock(Instant::now());
        let report = run_in_process(
            &job.pre,
            job.witnesses.clone(),
            &job.public_inputs,
            RunOptions::deterministic(BENCH_JOB_SECRET),
            &clock,
        )?;
        best = Some(match best {
            None => {
                let (w, a) = (report.worker_nanos.clone(), report.aggregator_nanos);
                (report, w, a)
            }
            Some((r, w, a)) => {
                let w = w
                    .iter()
                    .zip(&report.worker_nanos)
                    .map(|(x, y)| *x.min(y))
                    .collect();
                (r, w, a.min(report.aggregator_nanos))
            }
        });
    }
    best.context("no run")
}

/// The worker rounds of a single-machine (M = 1) prover of `rows` rows proving a random
/// circuit of `gates` gates, in ms (minimum over `reps` runs).
fn single_machine_ms(rows: usize, gates: usize, reps: usize) -> Result<f64> {
    let shape = Shape::new(1, rows)?;
    let srs = InMemorySrs::insecure_from_seed(1, rows, SRS_SEED)?;
    let job = prepare(shape, gates, &srs)?;
    let (_, w, _) = prove(&job, reps)?;
    Ok(ms_of_nanos(w[0]))
}

/// One measured point; `evm_gas` is (`evm_verify_gas`, `evm_deploy_gas`).
fn bench_point(shape: Shape, reps: usize, evm_gas: (u64, u64)) -> Result<BenchRow> {
    let (m, t) = (shape.shards, shape.shard_gates);
    let n = m * t;
    let gates = m * shape.usable_rows();
    tracing::info!(m, t, "bench: single machine at N = {n}");
    let single_ms_n = single_machine_ms(n, gates, reps)?;
    tracing::info!(m, t, "bench: single machine at T = {t}");
    let single_ms_t = single_machine_ms(t, shape.usable_rows(), reps.max(SMALL_REPS))?;

    tracing::info!(m, t, "bench: {m} shards of {t} rows");
    let srs = InMemorySrs::insecure_from_seed(m, t, SRS_SEED)?;
    let job = prepare(shape, gates, &srs)?;
    let (report, worker_nanos, aggregator_nanos) = prove(&job, reps)?;
    let worker_ms_max = ms_of_nanos(worker_nanos.iter().copied().max().unwrap_or(0));
    let mut sorted = worker_nanos.clone();
    sorted.sort_unstable();
    let worker_ms_median = ms_of_nanos(sorted[sorted.len() / 2]);
    tracing::debug!(?worker_nanos, "per-worker nanoseconds");
    let aggregator_ms = ms_of_nanos(aggregator_nanos);
    let vk = &job.pre.aggregator.vk;
    let mut verify_ns = Vec::with_capacity(VERIFY_REPS);
    for _ in 0..VERIFY_REPS {
        let t0 = Instant::now();
        verify(vk, &job.public_inputs, &report.proof).context("the bench proof must verify")?;
        verify_ns.push(t0.elapsed().as_nanos() as u64);
    }
    verify_ns.sort_unstable();
    let verify_ms = ms_of_nanos(verify_ns[VERIFY_REPS / 2]);
    let pairing3_ms = pairing3_ms();
    let (evm_verify_gas, evm_deploy_gas) = evm_gas;
    let proof_bytes = report.proof.to_bytes().len();
    let bytes_per_worker = busiest_worker_bytes(&report.traffic);

    tracing::info!(m, t, "bench: the same job through the robust (signed) path");
    let robust = run_job(
        &job.pre,
        job.witnesses.clone(),
        &job.public_inputs,
        &JobOptions::deterministic(BENCH_JOB_SECRET),
        &StdClock(Instant::now()),
    )?;
    anyhow::ensure!(
        robust.proof.is_some(),
        "the robust bench job failed: {:?}",
        robust.error
    );
    let bytes_per_worker_signed = busiest_worker_bytes(&robust.traffic);
    let coordinator_ms = ms_of_nanos(robust.aggregator_nanos);

    tracing::info!(m, t, "bench: a worker's checks of its assignment");
    let costs = checks::worker_check_costs(&job, m - 1)?;

    tracing::info!(m, t, "bench: MSM and FFT floor at T = {t}");
    let floor_ms_t = floor_ms(t)?;
    tracing::info!(m, t, "bench: worker peak memory (child process)");
    let worker_peak_rss_mb = worker_peak_rss_mb(&job, &srs, m - 1)?;

    let denom = worker_ms_max + aggregator_ms;
    Ok(BenchRow {
        single_ms_n: round(single_ms_n, 3),
        single_ms_t: round(single_ms_t, 3),
        worker_ms_max: round(worker_ms_max, 3),
        worker_ms_median: round(worker_ms_median, 3),
        aggregator_ms: round(aggregator_ms, 3),
        speedup: round(single_ms_n / denom, 3),
        ideal_speedup: round(single_ms_n / single_ms_t, 3),
        floor_ms_t: round(floor_ms_t, 3),
        worker_over_single_t: round(worker_ms_max / single_ms_t, 4),
        single_over_floor_t: round(single_ms_t / floor_ms_t, 4),
        verify_ms: round(verify_ms, 4),
        pairing3_ms: round(pairing3_ms, 4),
        verify_over_pairing: round(verify_ms / pairing3_ms, 3),
        aggregator_over_pairing: round(aggregator_ms / pairing3_ms, 3),
        proof_bytes,
        evm_verify_gas,
        evm_deploy_gas,
        bytes_per_worker,
        worker_peak_rss_mb: round(worker_peak_rss_mb, 2),
        bytes_per_worker_signed,
        coordinator_ms: round(coordinator_ms, 3),
        row_check_ms: round(costs.row_check_ms, 3),
        inputs_digest_ms: round(costs.inputs_digest_ms, 3),
        worker_checks_ms: round(costs.worker_checks_ms, 3),
        worker_checks_over_worker: round(costs.worker_checks_ms / worker_ms_median, 4),
        worker_checks_cached_ms: round(costs.worker_checks_cached_ms, 3),
        worker_checks_cached_over_worker: round(
            costs.worker_checks_cached_ms / worker_ms_median,
            4,
        ),
    })
}

/// The MSMs and FFTs a single-machine prover of `t` rows cannot avoid, on random data:
/// commitments to a, b, c (T+2 coefficients), z (T+3) and three quotient pieces (T+4),
/// the two opening proofs (T+3 and T+2), iFFTs of size T for the wires and z, coset FFTs
/// of size 4T for the wires and z, and one coset iFFT of size 4T. Minimum over a few runs.
/// The median over [`VERIFY_REPS`] runs of one multi-pairing of three pairs of fixed,
/// distinct points (arkworks' Miller loops and one final exponentiation), in ms.
fn pairing3_ms() -> f64 {
    use ark_ec::pairing::Pairing;
    use ark_ec::{CurveGroup, PrimeGroup};
    use tutti_crypto::{Bn254, G1Projective, G2Projective};
    let k = [2u64, 3, 5].map(Fr::from);
    let g1 = k.map(|k| (G1Projective::generator() * k).into_affine());
    let g2 = k.map(|k| (G2Projective::generator() * k).into_affine());
    let mut ns: Vec<u64> = (0..VERIFY_REPS)
        .map(|_| {
            let t0 = Instant::now();
            let _ = std::hint::black_box(Bn254::multi_pairing(g1, g2));
            t0.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    ms_of_nanos(ns[VERIFY_REPS / 2])
}

fn floor_ms(t: usize) -> Result<f64> {
    let srs = InMemorySrs::insecure_from_seed(1, t, SRS_SEED)?;
    let row = srs.row(0, row_len(t))?;
    let dx = tutti_crypto::domain::domain(t)?;
    let coset = quotient_coset(Shape::new(1, t)?)?;
    let key = [7u8; 32];
    let values: Vec<Vec<Fr>> = (0..4u8)
        .map(|k| derive_scalars(&key, &[b'v', k], t))
        .collect();
    let coset_values = derive_scalars(&key, b"coset", 4 * t);
    let coeffs = |len: usize, tag: u8| derive_scalars(&key, &[b'c', tag], len);
    let msm_inputs: Vec<Vec<Fr>> = vec![
        coeffs(t + 2, 0),
        coeffs(t + 2, 1),
        coeffs(t + 2, 2),
        coeffs(t + 3, 3),
        coeffs(t + 4, 4),
        coeffs(t + 4, 5),
        coeffs(t + 4, 6),
        coeffs(t + 3, 7),
        coeffs(t + 2, 8),
    ];
    let mut best = f64::INFINITY;
    for _ in 0..SMALL_REPS {
        let t0 = Instant::now();
        let mut interpolated = Vec::with_capacity(4);
        for v in &values {
            interpolated.push(dx.ifft(v));
        }
        for c in &interpolated {
            std::hint::black_box(coset.fft(c));
        }
        std::hint::black_box(coset.ifft(&coset_values));
        for c in &msm_inputs {
            let _ = std::hint::black_box(commit(&row.bases, c)?);
        }
        best = best.min(t0.elapsed().as_secs_f64() * 1e3);
    }
    Ok(best)
}

const CHILD_MAGIC: &[u8; 16] = b"tutti-bench-wkr1";

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&(v as u32).to_be_bytes());
}

fn put_scalars(out: &mut Vec<u8>, v: &[Fr]) {
    put_u32(out, v.len());
    for s in v {
        put_scalar(out, s);
    }
}

/// Writes what one worker holds (proving key less its SRS row, witness, inputs) and the
/// SRS file, runs the child, and returns its peak resident memory in MiB.
fn worker_peak_rss_mb(job: &Job, srs: &InMemorySrs, shard: usize) -> Result<f64> {
    let pk = &job.pre.proving_keys[shard];
    let mut out = CHILD_MAGIC.to_vec();
    put_u32(&mut out, pk.shape.shards);
    put_u32(&mut out, pk.shape.shard_gates);
    put_u32(&mut out, pk.shard);
    put_scalar(&mut out, &pk.delta);
    for set in [&pk.fixed_values, &pk.fixed, &pk.fixed_coset] {
        for p in set.iter() {
            put_scalars(&mut out, p);
        }
    }
    for c in &pk.commitments {
        put_g1(&mut out, c);
    }
    put_u32(&mut out, pk.public_rows.len());
    for (r, i) in &pk.public_rows {
        put_u32(&mut out, *r);
        put_u32(&mut out, *i);
    }
    put_scalars(&mut out, &job.public_inputs);
    for w in &job.witnesses[shard].wires {
        put_scalars(&mut out, w);
    }
    let dir = std::env::temp_dir().join(format!("tutti-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (shard_file, srs_file) = (dir.join("shard.bin"), dir.join("srs.bin"));
    std::fs::write(&shard_file, &out)?;
    drop(out);
    srs.write_file(&srs_file)?;
    let result = std::process::Command::new(std::env::current_exe()?)
        .args(["--log", "warn", "bench", "--worker-child"])
        .arg(&shard_file)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let output = result.context("running the worker child process")?;
    if !output.status.success() {
        bail!(
            "the worker child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let kb: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("vmhwm_kb "))
        .context("the worker child printed no peak memory")?
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

fn read_scalars(r: &mut Reader<'_>) -> Result<Vec<Fr>> {
    let n = r.u32()? as usize;
    anyhow::ensure!(n * 32 <= r.remaining(), "truncated bench shard file");
    Ok(r.scalars(n)?)
}

/// The child: loads one shard (its SRS row from the SRS file beside the shard file, as a
/// real worker would), proves it with made-up challenges (W = 1 and W_next = its own
/// product, which keeps every constraint satisfied) and prints its peak resident memory.
fn worker_child(file: &Path) -> Result<()> {
    let bytes = std::fs::read(file)?;
    let mut r = Reader::new(&bytes, "bench shard file");
    anyhow::ensure!(r.take(16)? == CHILD_MAGIC, "not a bench shard file");
    let shape = Shape::new(r.u32()? as usize, r.u32()? as usize)?;
    let shard = r.u32()? as usize;
    let delta = r.scalar()?;
    let mut sets: Vec<[Vec<Fr>; FIXED_POLYS]> = Vec::with_capacity(3);
    for _ in 0..3 {
        let mut polys = Vec::with_capacity(FIXED_POLYS);
        for _ in 0..FIXED_POLYS {
            polys.push(read_scalars(&mut r)?);
        }
        sets.push(
            polys
                .try_into()
                .map_err(|_| anyhow::anyhow!("fixed polys"))?,
        );
    }
    let commitments: [_; FIXED_POLYS] = r
        .g1s(FIXED_POLYS)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("commitments"))?;
    let mut public_rows = Vec::new();
    for _ in 0..r.u32()? {
        public_rows.push((r.u32()? as usize, r.u32()? as usize));
    }
    let public_inputs = read_scalars(&mut r)?;
    let wires = [
        read_scalars(&mut r)?,
        read_scalars(&mut r)?,
        read_scalars(&mut r)?,
    ];
    r.finish()?;
    drop(bytes);
    let srs = SrsFile::open(&file.with_file_name("srs.bin"))?;
    let row = srs.row(shard, row_len(shape.shard_gates))?;
    drop(srs);
    let fixed_coset = sets.pop().unwrap_or_default();
    let fixed = sets.pop().unwrap_or_default();
    let fixed_values = sets.pop().unwrap_or_default();
    let key = ShardProvingKey {
        shard,
        shape,
        delta,
        fixed_values,
        fixed,
        fixed_coset,
        public_rows,
        commitments,
        row,
    };
    let mut prover = ShardProver::new(ShardInputs {
        key: Arc::new(key),
        witness: ShardWitness { wires },
        public_inputs,
        shard_key: [3u8; 32],
    });
    let ch = derive_scalars(&[5u8; 32], b"bench challenges", 10);
    let _ = prover.round1()?;
    let (_, product) = prover.round2(ch[0], ch[1])?;
    let _ = prover.round3(ch[2], Fr::from(1u64), product)?;
    let _ = prover.round4(ch[3])?;
    let _ = prover.round5(&OpeningWeights {
        nu: ch[4],
        wires: [ch[5], ch[6], ch[7]],
        sigma: ch[8],
        z: ch[9],
    })?;
    let status = std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status (peak memory needs Linux)")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc/self/status")?;
    println!("vmhwm_kb {kb}");
    Ok(())
}
