//! A UDP fault proxy for QUIC between peers and the aggregator.
//!
//! [`FaultProxy`] listens on a loopback port and forwards every datagram to a target
//! address (the aggregator) through a backend socket of its own per client address, so
//! several workers can share one proxy and each still looks like a separate peer to the
//! target. Replies travel back the same way. In both directions each datagram may be
//! dropped, duplicated, corrupted, delayed or held back (reordered) according to
//! [`NetFaults`], and [`FaultProxy::partition`] cuts every datagram both ways until it is
//! healed.
//!
//! The choices are seeded: every client address gets two ChaCha streams (one per
//! direction) derived from the proxy's seed and the order in which clients first appeared,
//! so the same traffic meets the same faults. (Real sockets and timers still decide which
//! datagrams there are and in what order they arrive.)

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::ChaosError;

/// Largest datagram the proxy handles (a UDP datagram cannot be larger).
const MAX_DATAGRAM: usize = 65_536;

/// Most client addresses one proxy keeps a backend socket for; datagrams from further
/// new addresses are dropped (a guard against unbounded growth, far above any test).
const MAX_CLIENTS: usize = 4096;

/// Longest delay applied (longer settings are cut to it), in milliseconds.
const MAX_DELAY_MS: u64 = 3_600_000;

/// Longest extra hold-back of a reordered datagram, in milliseconds.
const REORDER_MAX_MS: u64 = 40;

/// Network faults applied to every datagram, independently in each direction.
///
/// Probabilities are per datagram, in `[0, 1]` (values outside are clamped).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct NetFaults {
    /// Probability that a datagram is dropped.
    pub drop: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Probability that some bytes of a datagram are flipped.
    pub corrupt: f64,
    /// Probability that a datagram is held back an extra random delay (up to 40 ms), so
    /// that later ones overtake it.
    pub reorder: f64,
    /// Delay of every datagram, uniform in `[min, max]` milliseconds (`(0, 0)`: none).
    pub delay_ms: (u64, u64),
}

/// What a proxy has done so far (each direction counted together).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProxyStats {
    /// Datagrams passed on (each duplicate counted once more).
    pub forwarded: u64,
    /// Datagrams dropped (by the drop probability or a partition).
    pub dropped: u64,
    /// Datagrams sent twice.
    pub duplicated: u64,
    /// Datagrams whose bytes were changed.
    pub corrupted: u64,
    /// Datagrams sent later than they arrived (delay or hold-back).
    pub delayed: u64,
    /// Datagrams held back an extra delay so that later ones may overtake them.
    pub reordered: u64,
}

/// Counters shared by the proxy's tasks.
#[derive(Default)]
struct Counters {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    corrupted: AtomicU64,
    delayed: AtomicU64,
    reordered: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ProxyStats {
        ProxyStats {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
            corrupted: self.corrupted.load(Ordering::Relaxed),
            delayed: self.delayed.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
        }
    }
}

/// State shared by the handle and the tasks.
struct Shared {
    faults: Mutex<NetFaults>,
    partitioned: AtomicBool,
    counters: Counters,
    /// The proxy's tasks; `None` once it is stopped.
    tasks: Mutex<Option<Vec<JoinHandle<()>>>>,
}

impl Shared {
    fn faults(&self) -> NetFaults {
        lock(&self.faults).clone()
    }

    fn partitioned(&self) -> bool {
        self.partitioned.load(Ordering::SeqCst)
    }

    /// Keeps `task` to abort it on stop (aborts it now if the proxy is already stopped).
    fn adopt(&self, task: JoinHandle<()>) {
        match lock(&self.tasks).as_mut() {
            Some(tasks) => tasks.push(task),
            None => task.abort(),
        }
    }
}

/// Locks a mutex, going on with the data even if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Where a datagram goes.
#[derive(Clone)]
struct Route {
    /// The socket it leaves by.
    socket: Arc<UdpSocket>,
    /// Its destination.
    to: SocketAddr,
}

/// A datagram waiting for its send time.
struct Pending {
    at: Instant,
    seq: u64,
    route: Route,
    bytes: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// One direction of one client's traffic: its random stream and where to send.
struct Direction {
    rng: ChaCha8Rng,
    route: Route,
}

/// SplitMix64 finaliser: decorrelates the seeds of the per-direction streams.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random stream of direction `dir` (0 up, 1 down) of the `client`-th client.
fn stream(seed: u64, client: u64, dir: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix(seed ^ mix(client.wrapping_mul(2).wrapping_add(dir))))
}

/// Whether an event of probability `p` happens.
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    // gen::<f64>() is in [0, 1): p = 1 always, p = 0 never.
    rng.r#gen::<f64>() < p
}

/// Changes one to three distinct bytes of `bytes` (each XORed with a non-zero mask, so
/// the datagram always differs from the original).
fn corrupt(rng: &mut ChaCha8Rng, bytes: &mut [u8]) {
    if bytes.is_empty() {
        return;
    }
    let flips = rng.gen_range(1..=3usize).min(bytes.len());
    for at in rand::seq::index::sample(rng, bytes.len(), flips) {
        bytes[at] ^= rng.gen_range(1..=u8::MAX);
    }
}

impl Direction {
    /// Applies the faults to one datagram and sends it (now or through the scheduler).
    async fn pass(
        &mut self,
        shared: &Shared,
        scheduler: &mpsc::UnboundedSender<Pending>,
        seq: &mut u64,
        mut bytes: Vec<u8>,
    ) {
        // Every choice is drawn whatever the outcome, so that the choices made for the
        // datagrams after this one do not depend on whether it was dropped or cut.
        let f = shared.faults();
        let drop = chance(&mut self.rng, f.drop);
        let duplicate = chance(&mut self.rng, f.duplicate);
        let corrupted = chance(&mut self.rng, f.corrupt);
        let reorder = chance(&mut self.rng, f.reorder);
        let (lo, hi) = (
            f.delay_ms.0.min(f.delay_ms.1),
            f.delay_ms.0.max(f.delay_ms.1),
        );
        let delay = self.rng.gen_range(lo..=hi);
        let extra = self.rng.gen_range(1..=REORDER_MAX_MS);
        let corrupt_seed: u64 = self.rng.r#gen();

        if shared.partitioned() || drop {
            Counters::bump(&shared.counters.dropped);
            return;
        }
        if corrupted {
            corrupt(&mut ChaCha8Rng::seed_from_u64(corrupt_seed), &mut bytes);
            Counters::bump(&shared.counters.corrupted);
        }
        let copies = if duplicate {
            Counters::bump(&shared.counters.duplicated);
            2
        } else {
            1
        };
        let mut wait = delay.min(MAX_DELAY_MS);
        if reorder {
            wait += extra;
            Counters::bump(&shared.counters.reordered);
        }
        if wait == 0 {
            for _ in 0..copies {
                Counters::bump(&shared.counters.forwarded);
                let _ = self.route.socket.send_to(&bytes, self.route.to).await;
            }
            return;
        }
        Counters::bump(&shared.counters.delayed);
        let at = Instant::now() + Duration::from_millis(wait);
        for _ in 0..copies {
            *seq += 1;
            let _ = scheduler.send(Pending {
                at,
                seq: *seq,
                route: self.route.clone(),
                bytes: bytes.clone(),
            });
        }
    }
}

/// Sends delayed datagrams at their time, in order of time (ties in arrival order).
async fn run_scheduler(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    loop {
        let next = heap.peek().map(|Reverse(p)| p.at);
        tokio::select! {
            item = rx.recv() => match item {
                Some(p) => heap.push(Reverse(p)),
                None => return,
            },
            _ = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending::<()>().await,
                }
            } => {
                let now = Instant::now();
                while heap.peek().is_some_and(|Reverse(p)| p.at <= now) {
                    let Some(Reverse(p)) = heap.pop() else { break };
                    // A partition that started meanwhile also cuts what was in flight.
                    if shared.partitioned() {
                        Counters::bump(&shared.counters.dropped);
                        continue;
                    }
                    Counters::bump(&shared.counters.forwarded);
                    let _ = p.route.socket.send_to(&p.bytes, p.route.to).await;
                }
            }
        }
    }
}

/// Waits a little after a receive error (a hot loop on a persistent error helps nobody).
async fn pause_after_error() {
    tokio::time::sleep(Duration::from_millis(5)).await;
}

/// Forwards the target's replies on one backend socket back to its client.
async fn run_backend(
    shared: Arc<Shared>,
    backend: Arc<UdpSocket>,
    target: SocketAddr,
    mut down: Direction,
    scheduler: mpsc::UnboundedSender<Pending>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut seq = u64::MAX / 2;
    loop {
        match backend.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if from != target {
                    continue;
                }
                down.pass(&shared, &scheduler, &mut seq, buf[..n].to_vec())
                    .await;
            }
            // ICMP errors (the target restarting) surface here: keep going.
            Err(_) => pause_after_error().await,
        }
    }
}

/// Receives from clients on the front socket and forwards to the target.
async fn run_front(
    shared: Arc<Shared>,
    front: Arc<UdpSocket>,
    target: SocketAddr,
    seed: u64,
    scheduler: mpsc::UnboundedSender<Pending>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut clients: HashMap<SocketAddr, Direction> = HashMap::new();
    let mut seq = 0u64;
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    loop {
        let (n, from) = match front.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(_) => {
                pause_after_error().await;
                continue;
            }
        };
        if !clients.contains_key(&from) {
            if clients.len() >= MAX_CLIENTS {
                Counters::bump(&shared.counters.dropped);
                continue;
            }
            let backend = match UdpSocket::bind(bind).await {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    tracing::warn!(client = %from, "fault proxy: cannot open a backend socket: {e}");
                    Counters::bump(&shared.counters.dropped);
                    continue;
                }
            };
            let index = clients.len() as u64;
            let down = Direction {
                rng: stream(seed, index, 1),
                route: Route {
                    socket: front.clone(),
                    to: from,
                },
            };
            let task = tokio::spawn(run_backend(
                shared.clone(),
                backend.clone(),
                target,
                down,
                scheduler.clone(),
            ));
            shared.adopt(task);
            clients.insert(
                from,
                Direction {
                    rng: stream(seed, index, 0),
                    route: Route {
                        socket: backend,
                        to: target,
                    },
                },
            );
        }
        if let Some(up) = clients.get_mut(&from) {
            up.pass(&shared, &scheduler, &mut seq, buf[..n].to_vec())
                .await;
        }
    }
}

/// A UDP proxy in front of one target that injects [`NetFaults`] and partitions.
///
/// Its tasks run on the tokio runtime [`start`](FaultProxy::start) was called on; they
/// stop when the proxy is stopped or dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Binds `127.0.0.1:0` and starts forwarding to `target`, applying `faults` in both
    /// directions with choices drawn from `seed`. Each new client address gets a backend
    /// socket of its own.
    pub async fn start(
        target: SocketAddr,
        faults: NetFaults,
        seed: u64,
    ) -> Result<FaultProxy, ChaosError> {
        let front = Arc::new(UdpSocket::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?);
        let addr = front.local_addr()?;
        let shared = Arc::new(Shared {
            faults: Mutex::new(faults),
            partitioned: AtomicBool::new(false),
            counters: Counters::default(),
            tasks: Mutex::new(Some(Vec::new())),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let scheduler = tokio::spawn(run_scheduler(shared.clone(), rx));
        let front_task = tokio::spawn(run_front(shared.clone(), front, target, seed, tx));
        shared.adopt(scheduler);
        shared.adopt(front_task);
        Ok(FaultProxy { addr, shared })
    }

    /// The address clients send to (instead of the target's).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the faults applied from now on.
    pub fn set_faults(&self, faults: NetFaults) {
        *lock(&self.shared.faults) = faults;
    }

    /// While on, every datagram in both directions is dropped (datagrams already delayed
    /// included); set off, traffic flows again.
    pub fn partition(&self, on: bool) {
        self.shared.partitioned.store(on, Ordering::SeqCst);
    }

    /// What the proxy has done so far.
    pub fn stats(&self) -> ProxyStats {
        self.shared.counters.snapshot()
    }

    /// Stops forwarding: aborts every task of the proxy (as dropping it does).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let tasks = lock(&self.shared.tasks).take();
        for task in tasks.into_iter().flatten() {
            task.abort();
        }
    }
}
