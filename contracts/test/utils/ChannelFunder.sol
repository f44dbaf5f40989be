// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CustomToken} from "../../src/CustomToken.sol";
import {RaidenMicroTransferChannels} from "../../src/RaidenMicroTransferChannels.sol";

/// @dev Opens and tops up channels for other accounts with its own tokens, as a trusted contract
/// (a faucet, a token sale) would: through the delegate functions or an ERC223 transfer.
contract ChannelFunder {
    RaidenMicroTransferChannels internal immutable manager;
    CustomToken internal immutable token;

    constructor(RaidenMicroTransferChannels manager_) {
        manager = manager_;
        token = CustomToken(address(manager_.token()));
        token.approve(address(manager_), type(uint256).max);
    }

    function open(address sender, address receiver, uint192 deposit) external {
        manager.createChannelDelegate(sender, receiver, deposit);
    }

    function topUp(address sender, address receiver, uint32 openBlockNumber, uint192 addedDeposit) external {
        manager.topUpDelegate(sender, receiver, openBlockNumber, addedDeposit);
    }

    /// @dev ERC223: `data` is sender ‖ receiver [‖ signer] to open, sender ‖ receiver ‖ openBlock to top up.
    function transferWithData(uint256 value, bytes calldata data) external {
        token.transfer(address(manager), value, data);
    }
}
