// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {RaidenMicroTransferChannels} from "../src/RaidenMicroTransferChannels.sol";

/// @notice Closing: uncooperative close + settle, cooperative close (also as a dispute), and withdraw.
contract CloseTest is ChannelsFixture {
    uint192 internal constant DEPOSIT = 100e18;

    uint32 internal openBlockNumber;
    bytes32 internal key;

    function setUp() public override {
        super.setUp();
        openBlockNumber = _open(DEPOSIT);
        key = _key(sender, receiver, openBlockNumber);
        vm.roll(block.number + 10);
    }

    function _cooperativeClose(uint192 balance) internal {
        manager.cooperativeClose(
            sender,
            receiver,
            openBlockNumber,
            balance,
            _balanceSig(openBlockNumber, balance),
            _closingSig(openBlockNumber, balance)
        );
    }

    function _withdraw(uint192 balance) internal {
        bytes memory sig = _balanceSig(openBlockNumber, balance);
        vm.prank(receiver);
        manager.withdraw(sender, openBlockNumber, balance, sig);
    }

    function _assertSettled() internal {
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.getChannelInfo(sender, receiver, openBlockNumber);
    }

    // ------------------------------------------------------------------------------------------
    // Uncooperative close
    // ------------------------------------------------------------------------------------------

    function test_UncooperativeClose_StartsChallengePeriod() public {
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelCloseRequested(sender, receiver, openBlockNumber, 30e18);
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 30e18);

        (, uint192 deposit, uint32 settleBlockNumber, uint192 closingBalance,) =
            manager.getChannelInfo(sender, receiver, openBlockNumber);
        assertEq(deposit, DEPOSIT);
        assertEq(uint256(settleBlockNumber), block.number + CHALLENGE_PERIOD);
        assertEq(closingBalance, 30e18);
        assertEq(token.balanceOf(address(manager)), DEPOSIT, "nothing paid yet");
    }

    function test_RevertWhen_UncooperativeCloseByNonSender() public {
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelNotFound.selector, _key(receiver, receiver, openBlockNumber)
            )
        );
        manager.uncooperativeClose(receiver, openBlockNumber, 0);
    }

    function test_RevertWhen_UncooperativeCloseBalanceAboveDeposit() public {
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.BalanceExceedsDeposit.selector, DEPOSIT + 1, DEPOSIT)
        );
        manager.uncooperativeClose(receiver, openBlockNumber, DEPOSIT + 1);
    }

    function test_RevertWhen_UncooperativeCloseTwice() public {
        vm.startPrank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.CloseAlreadyRequested.selector, key, uint32(block.number) + CHALLENGE_PERIOD
            )
        );
        manager.uncooperativeClose(receiver, openBlockNumber, 2);
        vm.stopPrank();
    }

    function test_RevertWhen_UncooperativeCloseSettleBlockOverflowsUint32() public {
        uint256 blockNumber = uint256(type(uint32).max) - CHALLENGE_PERIOD + 1;
        vm.roll(blockNumber);
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.SettleBlockTooLarge.selector, uint256(type(uint32).max) + 1
            )
        );
        manager.uncooperativeClose(receiver, openBlockNumber, 1);
    }

    function test_UncooperativeClose_SettleBlockAtUint32Max() public {
        vm.roll(uint256(type(uint32).max) - CHALLENGE_PERIOD);
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 1);
        (,, uint32 settleBlockNumber,,) = manager.getChannelInfo(sender, receiver, openBlockNumber);
        assertEq(uint256(settleBlockNumber), type(uint32).max);
    }

    function test_RevertWhen_UncooperativeCloseBelowWithdrawn() public {
        _withdraw(40e18);
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.BalanceBelowWithdrawn.selector, 39e18, 40e18)
        );
        manager.uncooperativeClose(receiver, openBlockNumber, 39e18);
    }

    function test_RevertWhen_CreateChannelAfterBlockUint32Max() public {
        vm.roll(uint256(type(uint32).max) + 1);
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.BlockNumberTooLarge.selector, uint256(type(uint32).max) + 1
            )
        );
        manager.createChannel(receiver, 1);
    }

    // ------------------------------------------------------------------------------------------
    // Settle
    // ------------------------------------------------------------------------------------------

    function test_Settle_StrictlyAfterChallengePeriod() public {
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 30e18);
        uint32 settleBlockNumber = uint32(block.number) + CHALLENGE_PERIOD;

        vm.roll(settleBlockNumber);
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChallengePeriodNotOver.selector, settleBlockNumber, settleBlockNumber
            )
        );
        manager.settle(receiver, openBlockNumber);

        vm.roll(settleBlockNumber + 1);
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelSettled(sender, receiver, openBlockNumber, 30e18, 30e18);
        vm.prank(sender);
        manager.settle(receiver, openBlockNumber);

        assertEq(token.balanceOf(receiver), 30e18);
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 30e18);
        assertEq(token.balanceOf(address(manager)), 0);
        _assertSettled();
    }

    function test_RevertWhen_SettleWithoutCloseRequest() public {
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.CloseNotRequested.selector, key));
        manager.settle(receiver, openBlockNumber);
    }

    function test_RevertWhen_SettleByNonSender() public {
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 30e18);
        vm.roll(block.number + CHALLENGE_PERIOD + 1);
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelNotFound.selector, _key(receiver, receiver, openBlockNumber)
            )
        );
        manager.settle(receiver, openBlockNumber);
    }

    function test_RevertWhen_SettleTwice() public {
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 30e18);
        vm.roll(block.number + CHALLENGE_PERIOD + 1);
        vm.startPrank(sender);
        manager.settle(receiver, openBlockNumber);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.settle(receiver, openBlockNumber);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------------------------------
    // Cooperative close
    // ------------------------------------------------------------------------------------------

    function test_CooperativeClose_CallableByAnyone() public {
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelSettled(sender, receiver, openBlockNumber, 40e18, 40e18);
        vm.prank(stranger);
        _cooperativeClose(40e18);

        assertEq(token.balanceOf(receiver), 40e18);
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 40e18);
        assertEq(token.balanceOf(stranger), 0);
        assertEq(token.balanceOf(address(manager)), 0);
        _assertSettled();
    }

    function test_CooperativeClose_BySenderAndByReceiver() public {
        vm.prank(sender);
        _cooperativeClose(DEPOSIT);
        assertEq(token.balanceOf(receiver), DEPOSIT);

        vm.roll(block.number + 1);
        uint32 second = _open(5);
        bytes memory balanceSig = _balanceSig(second, 0);
        bytes memory closingSig = _closingSig(second, 0);
        vm.prank(receiver);
        manager.cooperativeClose(sender, receiver, second, 0, balanceSig, closingSig);
        assertEq(token.balanceOf(receiver), DEPOSIT, "zero balance pays the receiver nothing");
        assertEq(token.balanceOf(sender), SENDER_TOKENS - DEPOSIT);
    }

    function test_RevertWhen_CooperativeCloseBalanceAboveDeposit() public {
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.BalanceExceedsDeposit.selector, DEPOSIT + 1, DEPOSIT)
        );
        _cooperativeClose(DEPOSIT + 1);
    }

    function test_RevertWhen_CooperativeCloseWrongBalance() public {
        bytes memory balanceSig = _balanceSig(openBlockNumber, 40e18);
        bytes memory closingSig = _closingSig(openBlockNumber, 40e18);
        // One token more or less than what was signed recovers some unrelated address.
        uint192[2] memory wrong = [uint192(40e18 + 1), uint192(40e18 - 1)];
        for (uint256 i = 0; i < 2; ++i) {
            address recovered =
                manager.extractBalanceProofSignature(sender, receiver, openBlockNumber, wrong[i], balanceSig);
            vm.expectRevert(
                abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, recovered)
            );
            manager.cooperativeClose(sender, receiver, openBlockNumber, wrong[i], balanceSig, closingSig);
        }
    }

    function test_RevertWhen_CooperativeCloseClosingSigForOtherBalance() public {
        bytes memory balanceSig = _balanceSig(openBlockNumber, 40e18);
        bytes memory closingSig = _closingSig(openBlockNumber, 39e18);
        address recovered = manager.extractClosingSignature(sender, receiver, openBlockNumber, 40e18, closingSig);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidClosingSigner.selector, recovered));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, balanceSig, closingSig);
    }

    function test_RevertWhen_CooperativeCloseSignaturesReusedForAnotherReceiver() public {
        // A second channel of the same sender, in the same block, to another receiver.
        vm.roll(openBlockNumber);
        vm.prank(sender);
        manager.createChannel(stranger, DEPOSIT);

        bytes memory balanceSig = _balanceSig(openBlockNumber, 40e18);
        bytes memory closingSig = _closingSig(openBlockNumber, 40e18);
        address recovered = manager.extractBalanceProofSignature(sender, stranger, openBlockNumber, 40e18, balanceSig);
        assertNotEq(recovered, sender, "a proof names its receiver");
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, recovered)
        );
        manager.cooperativeClose(sender, stranger, openBlockNumber, 40e18, balanceSig, closingSig);
    }

    function test_RevertWhen_CooperativeCloseClosingSignedByOther() public {
        bytes memory balanceSig = _balanceSig(openBlockNumber, 40e18);
        bytes memory closingSig = _sign(senderKey, _closingDigest(sender, receiver, openBlockNumber, 40e18));
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidClosingSigner.selector, sender));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, balanceSig, closingSig);
    }

    function test_RevertWhen_CooperativeCloseBalanceProofAsClosingProof() public {
        // The receiver's signature over a BalanceProof is not a ClosingProof (distinct type hashes).
        bytes memory balanceSig = _balanceSig(openBlockNumber, 40e18);
        bytes memory wrongType = _sign(receiverKey, _balanceDigest(sender, receiver, openBlockNumber, 40e18));
        address recovered = manager.extractClosingSignature(sender, receiver, openBlockNumber, 40e18, wrongType);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidClosingSigner.selector, recovered));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, balanceSig, wrongType);
    }

    function test_RevertWhen_CooperativeCloseSignatureLength64Or66() public {
        bytes memory balanceSig = _balanceSig(openBlockNumber, 40e18);
        bytes memory closingSig = _closingSig(openBlockNumber, 40e18);
        bytes memory short = new bytes(64);
        bytes memory long = abi.encodePacked(balanceSig, bytes1(0));
        for (uint256 i = 0; i < 64; ++i) {
            short[i] = balanceSig[i];
        }

        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidSignatureLength.selector, 64));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, short, closingSig);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidSignatureLength.selector, 66));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, long, closingSig);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidSignatureLength.selector, 64));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, balanceSig, short);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidSignatureLength.selector, 66));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, balanceSig, long);
    }

    function test_CooperativeClose_ReceiverDisputesLowUncooperativeClose() public {
        // The sender paid 70 off-chain but claims 10 on-chain.
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 10e18);
        vm.roll(block.number + CHALLENGE_PERIOD); // the last block of the challenge period

        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelSettled(sender, receiver, openBlockNumber, 70e18, 70e18);
        vm.prank(receiver);
        _cooperativeClose(70e18);

        assertEq(token.balanceOf(receiver), 70e18, "the receiver gets the full proven balance");
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 70e18);
        assertEq(token.balanceOf(address(manager)), 0);
        _assertSettled();

        vm.roll(block.number + 1);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.settle(receiver, openBlockNumber);
    }

    function test_RevertWhen_TopUpAfterCooperativeClose() public {
        _cooperativeClose(1e18);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.topUp(receiver, openBlockNumber, 1);
    }

    function test_RevertWhen_CooperativeCloseTwice() public {
        _cooperativeClose(1e18);
        bytes memory balanceSig = _balanceSig(openBlockNumber, 1e18);
        bytes memory closingSig = _closingSig(openBlockNumber, 1e18);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 1e18, balanceSig, closingSig);
    }

    // ------------------------------------------------------------------------------------------
    // Withdraw
    // ------------------------------------------------------------------------------------------

    function test_Withdraw_IsCumulative() public {
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelWithdraw(sender, receiver, openBlockNumber, 20e18);
        _withdraw(20e18);
        assertEq(token.balanceOf(receiver), 20e18);

        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelWithdraw(sender, receiver, openBlockNumber, 15e18);
        _withdraw(35e18);
        assertEq(token.balanceOf(receiver), 35e18);

        (, uint192 deposit,,, uint192 withdrawn) = manager.getChannelInfo(sender, receiver, openBlockNumber);
        assertEq(deposit, DEPOSIT);
        assertEq(withdrawn, 35e18);
        assertEq(token.balanceOf(address(manager)), DEPOSIT - 35e18);
    }

    function test_RevertWhen_WithdrawNotAboveWithdrawn() public {
        _withdraw(20e18);
        bytes memory same = _balanceSig(openBlockNumber, 20e18);
        bytes memory lower = _balanceSig(openBlockNumber, 19e18);
        vm.startPrank(receiver);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.NothingToWithdraw.selector, 20e18, 20e18));
        manager.withdraw(sender, openBlockNumber, 20e18, same);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.NothingToWithdraw.selector, 19e18, 20e18));
        manager.withdraw(sender, openBlockNumber, 19e18, lower);
        vm.stopPrank();
    }

    function test_RevertWhen_WithdrawZeroBalance() public {
        bytes memory sig = _balanceSig(openBlockNumber, 0);
        vm.prank(receiver);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.NothingToWithdraw.selector, 0, 0));
        manager.withdraw(sender, openBlockNumber, 0, sig);
    }

    function test_RevertWhen_WithdrawAboveDeposit() public {
        bytes memory sig = _balanceSig(openBlockNumber, DEPOSIT + 1);
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.BalanceExceedsDeposit.selector, DEPOSIT + 1, DEPOSIT)
        );
        manager.withdraw(sender, openBlockNumber, DEPOSIT + 1, sig);
    }

    function test_RevertWhen_WithdrawDuringChallengePeriod() public {
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 10e18);
        bytes memory sig = _balanceSig(openBlockNumber, 20e18);
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelClosing.selector, key, uint32(block.number) + CHALLENGE_PERIOD
            )
        );
        manager.withdraw(sender, openBlockNumber, 20e18, sig);
    }

    function test_RevertWhen_WithdrawByNonReceiver() public {
        bytes memory sig = _balanceSig(openBlockNumber, 20e18);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelNotFound.selector, _key(sender, stranger, openBlockNumber)
            )
        );
        manager.withdraw(sender, openBlockNumber, 20e18, sig);
    }

    function test_RevertWhen_WithdrawWithForgedProof() public {
        bytes memory sig = _sign(receiverKey, _balanceDigest(sender, receiver, openBlockNumber, 20e18));
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, receiver)
        );
        manager.withdraw(sender, openBlockNumber, 20e18, sig);
    }

    function test_CooperativeClose_AfterWithdrawPaysOnlyTheRest() public {
        _withdraw(30e18);
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelSettled(sender, receiver, openBlockNumber, 50e18, 20e18);
        _cooperativeClose(50e18);
        assertEq(token.balanceOf(receiver), 50e18);
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 50e18);
        assertEq(token.balanceOf(address(manager)), 0);
    }

    function test_Settle_AfterWithdrawPaysOnlyTheRest() public {
        _withdraw(30e18);
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 30e18);
        vm.roll(block.number + CHALLENGE_PERIOD + 1);
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelSettled(sender, receiver, openBlockNumber, 30e18, 0);
        vm.prank(sender);
        manager.settle(receiver, openBlockNumber);
        assertEq(token.balanceOf(receiver), 30e18);
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 30e18);
        assertEq(token.balanceOf(address(manager)), 0);
    }

    function test_RevertWhen_CooperativeCloseBelowWithdrawn() public {
        _withdraw(30e18);
        bytes memory balanceSig = _balanceSig(openBlockNumber, 29e18);
        bytes memory closingSig = _closingSig(openBlockNumber, 29e18);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.BalanceBelowWithdrawn.selector, 29e18, 30e18)
        );
        manager.cooperativeClose(sender, receiver, openBlockNumber, 29e18, balanceSig, closingSig);
    }

    function test_Reopen_StartsWithoutStaleWithdrawnBalance() public {
        _withdraw(30e18);
        _cooperativeClose(50e18);
        // A new channel in a later block starts from scratch (no stale withdrawn balance).
        vm.roll(block.number + 1);
        uint32 reopened = _open(10);
        (,,,, uint192 withdrawn) = manager.getChannelInfo(sender, receiver, reopened);
        assertEq(withdrawn, 0);
    }
}
