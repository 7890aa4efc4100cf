//! The Solidity verifier: spec/proof.md §3 for one verifying key, with the BN254
//! precompiles (ecAdd 0x06, ecMul 0x07, ecPairing 0x08, modexp 0x05) and Keccak-256
//! replaying spec/transcript.md §2.

use crate::{EvmError, PROOF_EVM_BYTES, SCALARS_OFFSET};
use ark_ec::AffineRepr;
use ark_ff::{Field, PrimeField};
use ark_poly::EvaluationDomain;
use std::fmt::Write;
use tutti_crypto::transcript::Transcript;
use tutti_crypto::{Fr, G1Affine};
use tutti_protocol::fiat_shamir::DOMAIN;
use tutti_protocol::keys::VerifyingKey;
use tutti_protocol::layout::WIRE_SHIFTS;
use tutti_protocol::verifier::quotient_stride;

/// The pinned compiler version the generated source declares.
pub const SOLIDITY_VERSION: &str = "0.8.28";

/// A field element as a decimal integer (Solidity literals, `pubSignals`).
pub(crate) fn decimal<F: PrimeField>(f: &F) -> String {
    f.into_bigint().to_string()
}

fn hex32(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn g1_consts(out: &mut String, name: &str, p: &G1Affine) {
    let (x, y) = p
        .xy()
        .map(|(x, y)| (decimal(&x), decimal(&y)))
        .unwrap_or(("0".into(), "0".into()));
    let _ = writeln!(out, "    uint256 internal constant {name}_X = {x};");
    let _ = writeln!(out, "    uint256 internal constant {name}_Y = {y};");
}

fn g2_consts(out: &mut String, name: &str, p: &ark_bn254::G2Affine) {
    // The precompile's order: x = (imaginary, real), then y likewise.
    let (x, y) = p.xy().unwrap_or_default();
    for (suffix, v) in [("X1", x.c1), ("X0", x.c0), ("Y1", y.c1), ("Y0", y.c0)] {
        let _ = writeln!(
            out,
            "    uint256 internal constant {name}_{suffix} = {};",
            decimal(&v)
        );
    }
}

/// The Solidity source of a verifier for `vk`: a self-contained contract `TuttiVerifier`
/// with the key embedded and one entry point,
/// `verifyProof(bytes proof, uint256[] pubSignals) returns (bool)`, where `proof` is the
/// proof's EVM form ([`crate::proof_evm_bytes`]).
pub fn verifier_source(vk: &VerifyingKey) -> Result<String, EvmError> {
    vk.g2
        .check_nondegenerate()
        .map_err(|e| EvmError::VerifyingKey(e.to_string()))?;
    let (m, t) = (vk.shape.shards, vk.shape.shard_gates);
    let (dx, dy) = (vk.shape.x_domain(), vk.shape.y_domain());
    let (wx, wy) = (dx.group_gen(), dy.group_gen());
    let n = vk.public_positions.len();
    let two = Fr::from(2u64);
    let mut c = String::new();
    let _ = writeln!(c, "    uint256 internal constant R = {};", Fr::MODULUS);
    let _ = writeln!(
        c,
        "    uint256 internal constant Q = {};",
        ark_bn254::Fq::MODULUS
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant R256 = {};",
        decimal(&two.pow([256u64]))
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant LOG_T = {};",
        t.trailing_zeros()
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant LOG_M = {};",
        m.trailing_zeros()
    );
    let t_inv = Fr::from(t as u64).inverse().unwrap_or_default();
    let m_inv = Fr::from(m as u64).inverse().unwrap_or_default();
    let _ = writeln!(
        c,
        "    uint256 internal constant T_INV = {};",
        decimal(&t_inv)
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant M_INV = {};",
        decimal(&m_inv)
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant OMEGA_X = {};",
        decimal(&wx)
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant OMEGA_Y = {};",
        decimal(&wy)
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant OMEGA_LAST = {};",
        decimal(&vk.omega_last())
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant STRIDE = {};",
        quotient_stride(t)
    );
    let _ = writeln!(
        c,
        "    uint256 internal constant DELTA = {};",
        decimal(&vk.delta)
    );
    let _ = writeln!(c, "    uint256 internal constant K1 = {};", WIRE_SHIFTS[1]);
    let _ = writeln!(c, "    uint256 internal constant K2 = {};", WIRE_SHIFTS[2]);
    let _ = writeln!(c, "    uint256 internal constant N_PUBLIC = {n};");
    let state0 = Transcript::new(DOMAIN).state();
    let _ = writeln!(
        c,
        "    bytes32 internal constant STATE0 = 0x{};",
        hex32(&state0)
    );
    let _ = writeln!(
        c,
        "    bytes32 internal constant VK_DIGEST = 0x{};",
        hex32(&vk.digest())
    );
    for (k, f) in vk.fixed.iter().enumerate() {
        g1_consts(&mut c, &format!("F{k}"), f);
    }
    g2_consts(&mut c, "G2_ONE", &vk.g2.one);
    g2_consts(&mut c, "G2_TX", &vk.g2.tau_x);
    g2_consts(&mut c, "G2_TY", &vk.g2.tau_y);

    // The public-input term's denominators and their constants, one pair per input.
    let mut pi_denoms = String::new();
    let mut pi_sum = String::new();
    for (k, (shard, row)) in vk.public_positions.iter().enumerate() {
        let ox = wx.pow([*row as u64]);
        let oy = wy.pow([*shard as u64]);
        let _ = writeln!(
            pi_denoms,
            "        d[{}] = addmod(v[X], R - {}, R);\n        d[{}] = addmod(v[Y], R - {}, R);",
            3 + 2 * k,
            decimal(&ox),
            4 + 2 * k,
            decimal(&oy)
        );
        let _ = writeln!(
            pi_sum,
            "        pi = addmod(pi, mulmod(mulmod(pubSignals[{k}], {}, R), mulmod(d[{}], d[{}], R), R), R);",
            decimal(&(ox * oy)),
            3 + 2 * k,
            4 + 2 * k
        );
    }
    let body = TEMPLATE
        .replace("{{VERSION}}", SOLIDITY_VERSION)
        .replace("{{DIGEST}}", &hex32(&vk.digest()))
        .replace(
            "{{SHAPE}}",
            &format!("{m} shards of {t} rows, {n} public inputs"),
        )
        .replace("{{CONSTANTS}}", c.trim_end())
        .replace("{{PROOF_BYTES}}", &PROOF_EVM_BYTES.to_string())
        .replace("{{SCALARS}}", &SCALARS_OFFSET.to_string())
        .replace("{{N_DENOMS}}", &(3 + 2 * n).to_string())
        .replace("{{PI_DENOMS}}", pi_denoms.trim_end())
        .replace("{{PI_SUM}}", pi_sum.trim_end());
    Ok(body)
}

const TEMPLATE: &str = r#"// SPDX-License-Identifier: MIT
// Generated by `tutti export solidity` from the verifying key with digest
// 0x{{DIGEST}} ({{SHAPE}}). Do not edit: regenerate.
pragma solidity {{VERSION}};

/// @title Verifier of tutti proofs (format 2) under one verifying key
/// @notice `verifyProof` takes the proof's EVM form (`tutti export calldata` prints the
/// whole call) and the public inputs, and returns whether the proof verifies. It returns
/// false, and does not revert, on a proof of the wrong length or version, a wrong number
/// of public inputs, a scalar or public input that is not below the group order, and a
/// point that is not on the curve or not canonical. It follows spec/proof.md §3 and
/// replays the Keccak transcript of spec/transcript.md §2.
contract TuttiVerifier {
{{CONSTANTS}}

    uint256 internal constant PROOF_BYTES = {{PROOF_BYTES}};
    uint256 internal constant SCALARS = {{SCALARS}};

    // Slots of the working array `v`: the proof's eight values, then the challenges and
    // derived values.
    uint256 internal constant A = 0;
    uint256 internal constant B = 1;
    uint256 internal constant C = 2;
    uint256 internal constant S0 = 3;
    uint256 internal constant S1 = 4;
    uint256 internal constant ZW = 5;
    uint256 internal constant W = 6;
    uint256 internal constant WW = 7;
    uint256 internal constant BETA = 8;
    uint256 internal constant GAMMA = 9;
    uint256 internal constant ALPHA = 10;
    uint256 internal constant X = 11;
    uint256 internal constant Y = 12;
    uint256 internal constant NU = 13;
    uint256 internal constant MU = 14;
    uint256 internal constant U = 15;
    uint256 internal constant ZX = 16;
    uint256 internal constant ZY = 17;
    uint256 internal constant L0 = 18;
    uint256 internal constant LLAST = 19;
    uint256 internal constant R0 = 20;
    uint256 internal constant PI = 21;
    uint256 internal constant NU2 = 22;
    uint256 internal constant NU3 = 23;
    uint256 internal constant NU4 = 24;
    uint256 internal constant RHO = 25;
    uint256 internal constant SSIGMA = 26;
    uint256 internal constant SZ = 27;
    uint256 internal constant KAPPA = 28;
    uint256 internal constant XN = 29;
    uint256 internal constant SLOTS = 30;

    /// @notice Whether `proof` (EVM form) proves the statement `pubSignals`.
    function verifyProof(bytes calldata proof, uint256[] calldata pubSignals) external view returns (bool) {
        if (proof.length != PROOF_BYTES || uint8(proof[0]) != 2 || pubSignals.length != N_PUBLIC) {
            return false;
        }
        uint256[SLOTS] memory v;
        for (uint256 i = 0; i < 8; i++) {
            uint256 e = uint256(bytes32(proof[SCALARS + 32 * i:SCALARS + 32 * i + 32]));
            if (e >= R) return false;
            v[i] = e;
        }
        for (uint256 i = 0; i < N_PUBLIC; i++) {
            if (pubSignals[i] >= R) return false;
        }
        transcript(proof, pubSignals, v);
        if (!lagrange(pubSignals, v)) return false;
        linearise(v);
        return pairing(proof, v);
    }

    /// The challenge drawn from a transcript seed: (keccak(seed ‖ 1) · 2^256 + keccak(seed ‖ 0)) mod R.
    function challenge(bytes32 seed) internal pure returns (uint256) {
        uint256 hi = uint256(keccak256(abi.encodePacked(seed, uint8(1))));
        uint256 lo = uint256(keccak256(abi.encodePacked(seed, uint8(0))));
        return addmod(mulmod(hi, R256, R), lo, R);
    }

    /// Replays the transcript: β, γ, α, x, y, ν, μ, u.
    function transcript(bytes calldata proof, uint256[] calldata pubSignals, uint256[SLOTS] memory v) internal pure {
        bytes32 st = keccak256(
            abi.encodePacked(
                STATE0, uint8(2), "vk", uint32(32), VK_DIGEST,
                uint8(13), "public_inputs", uint32(32 * N_PUBLIC), pubSignals,
                uint8(5), "wires", uint32(192), proof[1:193], uint8(4), "beta"
            )
        );
        v[BETA] = challenge(st);
        st = keccak256(abi.encodePacked(st, uint8(5), "gamma"));
        v[GAMMA] = challenge(st);
        st = keccak256(
            abi.encodePacked(
                st, uint8(1), "z", uint32(64), proof[193:257],
                uint8(1), "w", uint32(64), proof[257:321], uint8(5), "alpha"
            )
        );
        v[ALPHA] = challenge(st);
        st = keccak256(abi.encodePacked(st, uint8(10), "quotient_x", uint32(192), proof[321:513], uint8(1), "x"));
        v[X] = challenge(st);
        st = keccak256(abi.encodePacked(st, uint8(10), "quotient_y", uint32(64), proof[513:577], uint8(1), "y"));
        v[Y] = challenge(st);
        st = keccak256(abi.encodePacked(st, uint8(11), "evaluations", uint32(256), proof[SCALARS:PROOF_BYTES], uint8(2), "nu"));
        v[NU] = challenge(st);
        st = keccak256(
            abi.encodePacked(
                st, uint8(6), "open_x", uint32(64), proof[577:641],
                uint8(12), "open_x_shift", uint32(64), proof[641:705], uint8(2), "mu"
            )
        );
        v[MU] = challenge(st);
        st = keccak256(
            abi.encodePacked(
                st, uint8(6), "open_y", uint32(64), proof[705:769],
                uint8(12), "open_y_shift", uint32(64), proof[769:833], uint8(1), "u"
            )
        );
        v[U] = challenge(st);
    }

    /// Z_X(x), Z_Y(y), L_0(x), L_{T−1}(x), R_0(y) and the public-input term, with one
    /// modular inversion for every denominator. False when x or y falls in its domain.
    function lagrange(uint256[] calldata pubSignals, uint256[SLOTS] memory v) internal view returns (bool) {
        uint256 zx = v[X];
        for (uint256 i = 0; i < LOG_T; i++) zx = mulmod(zx, zx, R);
        zx = addmod(zx, R - 1, R);
        uint256 zy = v[Y];
        for (uint256 i = 0; i < LOG_M; i++) zy = mulmod(zy, zy, R);
        zy = addmod(zy, R - 1, R);
        if (zx == 0 || zy == 0) return false;
        v[ZX] = zx;
        v[ZY] = zy;
        uint256[{{N_DENOMS}}] memory d;
        d[0] = addmod(v[X], R - 1, R);
        d[1] = addmod(v[X], R - OMEGA_LAST, R);
        d[2] = addmod(v[Y], R - 1, R);
{{PI_DENOMS}}
        if (!invertAll(d)) return false;
        uint256 xt = mulmod(zx, T_INV, R);
        uint256 ym = mulmod(zy, M_INV, R);
        v[L0] = mulmod(xt, d[0], R);
        v[LLAST] = mulmod(mulmod(xt, OMEGA_LAST, R), d[1], R);
        v[R0] = mulmod(ym, d[2], R);
        uint256 pi = 0;
{{PI_SUM}}
        v[PI] = R - mulmod(mulmod(pi, xt, R), ym, R);
        if (v[PI] == R) v[PI] = 0;
        pubSignals;
        return true;
    }

    /// Replaces every entry of `d` (all non-zero) by its inverse: Montgomery's trick and
    /// one modexp. False if the precompile fails.
    function invertAll(uint256[{{N_DENOMS}}] memory d) internal view returns (bool ok) {
        uint256 n = d.length;
        uint256[{{N_DENOMS}}] memory prefix;
        uint256 acc = 1;
        for (uint256 i = 0; i < n; i++) {
            prefix[i] = acc;
            acc = mulmod(acc, d[i], R);
        }
        uint256 inv;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), acc)
            mstore(add(m, 0x80), sub(R, 2))
            mstore(add(m, 0xa0), R)
            ok := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
            inv := mload(m)
        }
        for (uint256 i = n; i > 0; i--) {
            uint256 di = d[i - 1];
            d[i - 1] = mulmod(inv, prefix[i - 1], R);
            inv = mulmod(inv, di, R);
        }
    }

    /// The linearisation scalars s_σ, s_z and κ, and the powers of ν.
    function linearise(uint256[SLOTS] memory v) internal pure {
        uint256 beta = v[BETA];
        uint256 gamma = v[GAMMA];
        uint256 alpha = v[ALPHA];
        uint256 x = v[X];
        uint256 dy = mulmod(DELTA, v[Y], R);
        // f' = Π (w_k + β·(K_k·x + δ·y) + γ)
        uint256 f = addmod(addmod(v[A], mulmod(beta, addmod(x, dy, R), R), R), gamma, R);
        f = mulmod(f, addmod(addmod(v[B], mulmod(beta, addmod(mulmod(K1, x, R), dy, R), R), R), gamma, R), R);
        f = mulmod(f, addmod(addmod(v[C], mulmod(beta, addmod(mulmod(K2, x, R), dy, R), R), R), gamma, R), R);
        uint256 ab = mulmod(
            addmod(addmod(v[A], mulmod(beta, v[S0], R), R), gamma, R),
            addmod(addmod(v[B], mulmod(beta, v[S1], R), R), gamma, R),
            R
        );
        uint256 alpha2 = mulmod(alpha, alpha, R);
        uint256 alpha3 = mulmod(alpha2, alpha, R);
        uint256 step = mulmod(alpha, addmod(x, R - OMEGA_LAST, R), R);
        uint256 stepAb = mulmod(mulmod(step, v[ZW], R), ab, R);
        v[SSIGMA] = mulmod(stepAb, beta, R);
        uint256 a2l0 = mulmod(alpha2, v[L0], R);
        uint256 a3ll = mulmod(alpha3, v[LLAST], R);
        v[SZ] = addmod(addmod(R - mulmod(step, f, R), a2l0, R), mulmod(a3ll, v[W], R), R);
        uint256 kappa = addmod(v[PI], mulmod(stepAb, addmod(v[C], gamma, R), R), R);
        kappa = addmod(kappa, R - a2l0, R);
        kappa = addmod(kappa, R - mulmod(a3ll, v[WW], R), R);
        kappa = addmod(kappa, mulmod(mulmod(mulmod(alpha3, alpha, R), v[R0], R), addmod(v[W], R - 1, R), R), R);
        v[KAPPA] = kappa;
        uint256 nu = v[NU];
        v[NU2] = mulmod(nu, nu, R);
        v[NU3] = mulmod(v[NU2], nu, R);
        v[NU4] = mulmod(v[NU3], nu, R);
        v[RHO] = mulmod(v[NU4], nu, R);
        uint256 xn = 1;
        uint256 base = x;
        for (uint256 e = STRIDE; e > 0; e >>= 1) {
            if (e & 1 == 1) xn = mulmod(xn, base, R);
            base = mulmod(base, base, R);
        }
        v[XN] = xn;
    }

    /// The batched opening check of spec/proof.md §3 steps 9 and 10: the three G1 inputs
    /// of the pairing as multi-scalar multiplications by ecMul and ecAdd, then ecPairing.
    /// False if a precompile rejects its input (a point off the curve or with a
    /// coordinate not below Q) or the pairing product is not one.
    function pairing(bytes calldata proof, uint256[SLOTS] memory v) internal view returns (bool ok) {
        uint256 rho = v[RHO];
        uint256 mu2 = mulmod(v[MU], v[MU], R);
        // Weights of the proof's points 1–12 (point 0, [a], has weight 1).
        uint256[13] memory ps;
        ps[1] = v[NU];
        ps[2] = v[NU2];
        ps[3] = addmod(mulmod(rho, v[SZ], R), v[MU], R);
        ps[4] = addmod(mu2, v[U], R);
        uint256 h = R - mulmod(rho, v[ZX], R);
        ps[5] = h;
        h = mulmod(h, v[XN], R);
        ps[6] = h;
        ps[7] = mulmod(h, v[XN], R);
        ps[8] = R - mulmod(rho, v[ZY], R);
        ps[9] = v[X];
        ps[10] = mulmod(mulmod(v[MU], OMEGA_X, R), v[X], R);
        ps[11] = v[Y];
        ps[12] = mulmod(mulmod(v[U], OMEGA_Y, R), v[Y], R);
        // s = a + ν·b + ν²·c + ν³·σ0 + ν⁴·σ1 − ν⁵·κ + μ·z' + μ²·w + u·w'
        uint256 s = addmod(v[A], mulmod(v[NU], v[B], R), R);
        s = addmod(s, mulmod(v[NU2], v[C], R), R);
        s = addmod(s, mulmod(v[NU3], v[S0], R), R);
        s = addmod(s, mulmod(v[NU4], v[S1], R), R);
        s = addmod(s, R - mulmod(rho, v[KAPPA], R), R);
        s = addmod(s, mulmod(v[MU], v[ZW], R), R);
        s = addmod(s, mulmod(mu2, v[W], R), R);
        s = addmod(s, mulmod(v[U], v[WW], R), R);
        // The verifying key's points and the generator, with their weights.
        uint256[27] memory fixedTerms = [
            F0_X, F0_Y, mulmod(rho, v[A], R),
            F1_X, F1_Y, mulmod(rho, v[B], R),
            F2_X, F2_Y, mulmod(rho, v[C], R),
            F3_X, F3_Y, mulmod(rho, mulmod(v[A], v[B], R), R),
            F4_X, F4_Y, rho,
            F5_X, F5_Y, v[NU3],
            F6_X, F6_Y, v[NU4],
            F7_X, F7_Y, mulmod(rho, v[SSIGMA], R),
            1, 2, R - s
        ];
        uint256 mu = v[MU];
        uint256 u = v[U];
        assembly ("memory-safe") {
            // Scratch: [m, m + 0x40) the accumulator, [m + 0x40, m + 0xa0) an ecMul input.
            let m := mload(0x40)
            let base := add(proof.offset, 1)
            ok := 1
            // P1 = [a] + Σ_k ps[k]·P_k + Σ fixed terms.
            calldatacopy(m, base, 0x40)
            for { let k := 1 } lt(k, 13) { k := add(k, 1) } {
                calldatacopy(add(m, 0x40), add(base, mul(k, 0x40)), 0x40)
                mstore(add(m, 0x80), mload(add(ps, mul(k, 0x20))))
                ok := staticcall(gas(), 7, add(m, 0x40), 0x60, add(m, 0x40), 0x40)
                if ok { ok := staticcall(gas(), 6, m, 0x80, m, 0x40) }
                // A precompile that rejects its input consumes the gas it was given: stop
                // at the first failure so that enough is left to return false.
                if iszero(ok) { break }
            }
            for { let k := 0 } and(ok, lt(k, 9)) { k := add(k, 1) } {
                let t := add(fixedTerms, mul(k, 0x60))
                mstore(add(m, 0x40), mload(t))
                mstore(add(m, 0x60), mload(add(t, 0x20)))
                mstore(add(m, 0x80), mload(add(t, 0x40)))
                ok := staticcall(gas(), 7, add(m, 0x40), 0x60, add(m, 0x40), 0x40)
                if ok { ok := staticcall(gas(), 6, m, 0x80, m, 0x40) }
                if iszero(ok) { break }
            }
            // The pairing input: (P1, [1]₂), (−(π_x + μ·π_x'), [τ_X]₂), (−(π_y + u·π_y'), [τ_Y]₂).
            let p := add(m, 0xa0)
            mstore(p, mload(m))
            mstore(add(p, 0x20), mload(add(m, 0x20)))
            mstore(add(p, 0x40), G2_ONE_X1)
            mstore(add(p, 0x60), G2_ONE_X0)
            mstore(add(p, 0x80), G2_ONE_Y1)
            mstore(add(p, 0xa0), G2_ONE_Y0)
            // π_x + μ·π_x' (proof points 9 and 10), negated.
            calldatacopy(m, add(base, mul(9, 0x40)), 0x40)
            calldatacopy(add(m, 0x40), add(base, mul(10, 0x40)), 0x40)
            mstore(add(m, 0x80), mu)
            if ok { ok := staticcall(gas(), 7, add(m, 0x40), 0x60, add(m, 0x40), 0x40) }
            if ok { ok := staticcall(gas(), 6, m, 0x80, m, 0x40) }
            mstore(add(p, 0xc0), mload(m))
            mstore(add(p, 0xe0), mod(sub(Q, mload(add(m, 0x20))), Q))
            mstore(add(p, 0x100), G2_TX_X1)
            mstore(add(p, 0x120), G2_TX_X0)
            mstore(add(p, 0x140), G2_TX_Y1)
            mstore(add(p, 0x160), G2_TX_Y0)
            // π_y + u·π_y' (proof points 11 and 12), negated.
            calldatacopy(m, add(base, mul(11, 0x40)), 0x40)
            calldatacopy(add(m, 0x40), add(base, mul(12, 0x40)), 0x40)
            mstore(add(m, 0x80), u)
            if ok { ok := staticcall(gas(), 7, add(m, 0x40), 0x60, add(m, 0x40), 0x40) }
            if ok { ok := staticcall(gas(), 6, m, 0x80, m, 0x40) }
            mstore(add(p, 0x180), mload(m))
            mstore(add(p, 0x1a0), mod(sub(Q, mload(add(m, 0x20))), Q))
            mstore(add(p, 0x1c0), G2_TY_X1)
            mstore(add(p, 0x1e0), G2_TY_X0)
            mstore(add(p, 0x200), G2_TY_Y1)
            mstore(add(p, 0x220), G2_TY_Y0)
            if ok { ok := staticcall(gas(), 8, p, 0x240, m, 0x20) }
            ok := and(ok, eq(mload(m), 1))
        }
    }
}
"#;
