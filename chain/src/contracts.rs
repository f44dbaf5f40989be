//! Bindings to `RaidenMicroTransferChannels` and `CustomToken`, generated at compile time
//! from the forge artifacts that CI checks against a fresh compile of the sources.

// Generated constructors and calls mirror the Solidity signatures, argument count included.
#![allow(clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    RaidenMicroTransferChannels,
    "../contracts/artifacts/RaidenMicroTransferChannels.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    CustomToken,
    "../contracts/artifacts/CustomToken.json"
);
