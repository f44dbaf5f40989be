// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {ChannelsHandler} from "./ChannelsHandler.sol";
import {CustomToken} from "../../src/CustomToken.sol";
import {RaidenMicroTransferChannels} from "../../src/RaidenMicroTransferChannels.sol";
import {ChannelFunder} from "../utils/ChannelFunder.sol";

/// @notice Invariants of the channel manager under random sequences of every user action
/// (see `ChannelsHandler`).
contract ChannelsInvariantTest is Test {
    ChannelsHandler internal handler;
    RaidenMicroTransferChannels internal manager;
    CustomToken internal token;

    function setUp() public {
        vm.roll(1_000);
        token = new CustomToken(0, 0, "CustomToken", "TKN");
        manager = new RaidenMicroTransferChannels(address(token), 500, new address[](0));
        ChannelFunder funder = new ChannelFunder(manager);
        address[] memory trusted = new address[](1);
        trusted[0] = address(funder);
        manager.addTrustedContracts(trusted);
        handler = new ChannelsHandler(manager, token, funder);
        token.ownerMint(address(handler), 5e30);
        handler.fundAccounts();

        bytes4[] memory selectors = new bytes4[](11);
        selectors[0] = ChannelsHandler.open.selector;
        selectors[1] = ChannelsHandler.topUp.selector;
        selectors[2] = ChannelsHandler.pay.selector;
        selectors[3] = ChannelsHandler.withdraw.selector;
        selectors[4] = ChannelsHandler.cooperativeClose.selector;
        selectors[5] = ChannelsHandler.uncooperativeClose.selector;
        selectors[6] = ChannelsHandler.settle.selector;
        selectors[7] = ChannelsHandler.openByTrusted.selector;
        selectors[8] = ChannelsHandler.topUpByTrusted.selector;
        selectors[9] = ChannelsHandler.openInAnotherName.selector;
        selectors[10] = ChannelsHandler.topUpInAnotherName.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @notice The escrow equals Σ over live channels of deposit − withdrawn, read from the contract.
    function invariant_EscrowEqualsLiveDepositsMinusWithdrawn() public view {
        uint256 total;
        for (uint256 i = 0; i < handler.liveCount(); ++i) {
            (address from, address to, uint32 openBlockNumber) = handler.liveChannel(i);
            (, uint192 deposit,,, uint192 withdrawn) = manager.getChannelInfo(from, to, openBlockNumber);
            total += deposit - withdrawn;
        }
        assertEq(token.balanceOf(address(manager)), total, "escrow vs contract state");
        assertEq(total, handler.modelEscrow(), "contract state vs model");
        assertEq(total, handler.ghostDeposited() - handler.ghostPaidOut(), "escrow vs ghost totals");
    }

    /// @notice Every channel was funded by its sender (or the trusted funder) and is signed for by the
    /// key its sender chose: no ERC223 transfer naming another sender opened or topped up anything.
    function invariant_EveryChannelFundedByItsSender() public view {
        assertEq(handler.ghostForeignOpenings(), 0, "channels opened in another sender's name");
        assertEq(handler.ghostForeignDeposits(), 0, "tokens deposited in another sender's name");
        for (uint256 i = 0; i < handler.liveCount(); ++i) {
            (address from, address to, uint32 openBlockNumber) = handler.liveChannel(i);
            (uint192 deposit, address signer) = handler.liveFunding(i);
            (, uint192 onChain,,,) = manager.getChannelInfo(from, to, openBlockNumber);
            assertEq(onChain, deposit, "deposit vs what the sender and the trusted funder paid");
            assertEq(manager.getChannelSigner(from, to, openBlockNumber), signer, "signer vs the sender's choice");
        }
    }

    /// @notice Every actor holds exactly what the model says (nobody gains or loses a token).
    function invariant_ActorBalancesMatchModel() public view {
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            address actor = handler.actors(i);
            assertEq(token.balanceOf(actor), handler.expectedBalance(actor), "actor balance");
        }
    }

    /// @notice Receivers are never paid more than the proofs they held (or the senders' own claims) allow.
    function invariant_ReceiversNeverPaidBeyondProofs() public view {
        for (uint256 i = 0; i < handler.receiverCount(); ++i) {
            address r = handler.receiverAt(i);
            assertEq(token.balanceOf(r), handler.receiverPaid(r), "receiver paid");
            assertLe(handler.receiverPaid(r), handler.receiverAllowance(r), "receiver paid beyond proofs");
        }
    }

    /// @notice Tokens are conserved: actors plus escrow hold the whole supply.
    function invariant_TokensConserved() public view {
        uint256 held = token.balanceOf(address(manager)) + token.balanceOf(address(handler));
        for (uint256 i = 0; i < handler.actorCount(); ++i) {
            held += token.balanceOf(handler.actors(i));
        }
        assertEq(held, token.totalSupply(), "supply");
    }
}
