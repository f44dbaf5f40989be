// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ITokenFallback
/// @notice The ERC223 receiver hook: a token that supports `transfer(address,uint256,bytes)` calls it on
/// a recipient contract after moving the tokens, so a deposit and the instruction that goes with it
/// arrive in a single transaction.
interface ITokenFallback {
    /// @notice Called by the token after `value` tokens were transferred from `from` to this contract.
    /// @param from The account whose tokens were transferred.
    /// @param value The number of tokens transferred, in base units.
    /// @param data The payload given to the token's `transfer(address,uint256,bytes)`.
    function tokenFallback(address from, uint256 value, bytes calldata data) external;
}
