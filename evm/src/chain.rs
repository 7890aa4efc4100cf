//! A local EVM (revm, mainnet rules, an empty state) to deploy a verifier and call it:
//! what the tests and `tutti bench` measure gas with.

use revm::context::TxEnv;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::database::{CacheDB, EmptyDB};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::{Address, Bytes, TxKind};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

/// Gas limit of every transaction.
const GAS_LIMIT: u64 = 15_000_000;

/// What can go wrong on the local chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The EVM could not execute the transaction at all.
    #[error("the EVM refused the transaction: {0}")]
    Transaction(String),
    /// The deployment reverted or halted.
    #[error("deploying the verifier failed: {0}")]
    Deployment(String),
}

/// A fresh chain with one verifier deployed.
pub struct Chain {
    evm: MainnetEvm<MainnetContext<CacheDB<EmptyDB>>>,
    nonce: u64,
    verifier: Address,
    deploy_gas: u64,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("verifier", &self.verifier)
            .field("deploy_gas", &self.deploy_gas)
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// A chain with the contract of creation code `bytecode` deployed.
    pub fn with_verifier(bytecode: Vec<u8>) -> Result<Self, ChainError> {
        let evm = Context::mainnet()
            .with_db(CacheDB::<EmptyDB>::default())
            .build_mainnet();
        let mut chain = Chain {
            evm,
            nonce: 0,
            verifier: Address::ZERO,
            deploy_gas: 0,
        };
        let result = chain.transact(TxKind::Create, bytecode)?;
        let ExecutionResult::Success {
            output: Output::Create(_, Some(address)),
            ..
        } = &result
        else {
            return Err(ChainError::Deployment(format!("{result:?}")));
        };
        chain.verifier = *address;
        chain.deploy_gas = result.tx_gas_used();
        Ok(chain)
    }

    /// The deployment transaction's gas.
    pub fn deploy_gas(&self) -> u64 {
        self.deploy_gas
    }

    fn transact(&mut self, kind: TxKind, data: Vec<u8>) -> Result<ExecutionResult, ChainError> {
        let tx = TxEnv::builder()
            .caller(Address::with_last_byte(0x11))
            .kind(kind)
            .data(Bytes::from(data))
            .gas_limit(GAS_LIMIT)
            .nonce(self.nonce)
            .build_fill();
        self.nonce += 1;
        self.evm
            .transact_commit(tx)
            .map_err(|e| ChainError::Transaction(format!("{e:?}")))
    }

    /// Calls the verifier with `calldata`: `Some(answer)` when it returned a boolean,
    /// `None` when it reverted, halted or returned anything else; and the transaction's
    /// gas (the 21,000 base and the calldata included).
    pub fn call(&mut self, calldata: Vec<u8>) -> Result<(Option<bool>, u64), ChainError> {
        let result = self.transact(TxKind::Call(self.verifier), calldata)?;
        let gas = result.tx_gas_used();
        let answer = match &result {
            ExecutionResult::Success { output, .. } => {
                let bytes = output.data();
                (bytes.len() == 32 && bytes[..31].iter().all(|b| *b == 0) && bytes[31] <= 1)
                    .then(|| bytes[31] == 1)
            }
            _ => None,
        };
        Ok((answer, gas))
    }
}
