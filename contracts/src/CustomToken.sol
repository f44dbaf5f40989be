// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ITokenFallback} from "./interfaces/ITokenFallback.sol";

/// @title CustomToken
/// @notice The demo and test token of µRaiden: an ERC20 with EIP-2612 `permit`, the ERC223
/// `transfer(address,uint256,bytes)` that notifies recipient contracts, and a faucet (`mint`) that
/// sells 50 tokens per 0.1 ETH.
contract CustomToken is ERC20, ERC20Permit, Ownable {
    /// @notice Whole tokens `mint()` gives per ether paid (50 per 0.1 ETH).
    uint256 public constant TOKENS_PER_ETHER = 500;

    uint8 private immutable _decimals;

    /// @notice `mint()` needs a payment large enough to buy at least one base unit.
    error ZeroMint();

    /// @param initialSupply The supply minted to the deployer, in whole tokens: the deployer
    /// receives `initialSupply * 10 ** decimals_` base units.
    /// @param decimals_ The token's decimals.
    /// @param name_ The token's name (also its EIP-712 domain name for `permit`).
    /// @param symbol_ The token's symbol.
    constructor(uint256 initialSupply, uint8 decimals_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
        Ownable(msg.sender)
    {
        _decimals = decimals_;
        _mint(msg.sender, initialSupply * 10 ** uint256(decimals_));
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice ERC223 transfer: moves `value` tokens to `to` and, when `to` is a contract, calls its
    /// `tokenFallback(msg.sender, value, data)` (which reverts the whole transfer if it reverts).
    /// @return Always true; failures revert.
    function transfer(address to, uint256 value, bytes calldata data) external returns (bool) {
        _transfer(msg.sender, to, value);
        if (to.code.length != 0) ITokenFallback(to).tokenFallback(msg.sender, value, data);
        return true;
    }

    /// @notice Faucet: mints `msg.value * 500 * 10 ** decimals / 1 ether` base units (50 tokens per
    /// 0.1 ETH) to the caller. The ETH stays here until the owner calls `transferFunds`.
    function mint() external payable {
        uint256 amount = msg.value * TOKENS_PER_ETHER * 10 ** uint256(_decimals) / 1 ether;
        if (amount == 0) revert ZeroMint();
        _mint(msg.sender, amount);
    }

    /// @notice Mints `amount` base units to `to` (owner only; for tests and demos).
    function ownerMint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Sends the ETH collected by `mint()` to the owner.
    function transferFunds() external onlyOwner {
        Address.sendValue(payable(owner()), address(this).balance);
    }
}
