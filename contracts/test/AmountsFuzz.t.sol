// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";

/// @notice Every split of deposit, top-up, withdrawals and final balance pays each party exactly
/// what the proofs say, through each opening and closing path.
contract AmountsFuzzTest is ChannelsFixture {
    uint256 internal constant HALF = type(uint192).max / 2;

    function _fund(uint256 amount) internal {
        token.ownerMint(sender, amount);
    }

    function testFuzz_CooperativeClose_PaysExactSplit(
        uint192 deposit,
        uint192 added,
        uint192 withdrawn,
        uint192 balance,
        bool viaErc223
    ) public {
        deposit = uint192(bound(deposit, 0, HALF));
        added = uint192(bound(added, 0, HALF));
        uint192 total = deposit + added;
        withdrawn = uint192(bound(withdrawn, 0, total));
        balance = uint192(bound(balance, withdrawn, total));
        _fund(total);
        uint256 senderBefore = token.balanceOf(sender);

        uint32 openBlockNumber = uint32(block.number);
        vm.startPrank(sender);
        if (viaErc223) {
            token.transfer(address(manager), deposit, abi.encodePacked(sender, receiver));
            if (added != 0) {
                token.transfer(address(manager), added, abi.encodePacked(sender, receiver, openBlockNumber));
            }
        } else {
            manager.createChannel(receiver, deposit);
            if (added != 0) manager.topUp(receiver, openBlockNumber, added);
        }
        vm.stopPrank();
        assertEq(_deposit(sender, receiver, openBlockNumber), total, "deposit");
        assertEq(token.balanceOf(address(manager)), total, "escrow after deposit");

        if (withdrawn != 0) {
            bytes memory sig = _balanceSig(openBlockNumber, withdrawn);
            vm.prank(receiver);
            manager.withdraw(sender, openBlockNumber, withdrawn, sig);
            assertEq(token.balanceOf(receiver), withdrawn, "withdrawn");
            assertEq(token.balanceOf(address(manager)), total - withdrawn, "escrow after withdraw");
        }

        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelSettled(sender, receiver, openBlockNumber, balance, balance - withdrawn);
        manager.cooperativeClose(
            sender,
            receiver,
            openBlockNumber,
            balance,
            _balanceSig(openBlockNumber, balance),
            _closingSig(openBlockNumber, balance)
        );

        assertEq(token.balanceOf(receiver), balance, "receiver total");
        assertEq(token.balanceOf(sender), senderBefore - balance, "sender total");
        assertEq(token.balanceOf(address(manager)), 0, "escrow after close");
    }

    function testFuzz_UncooperativeCloseAndSettle_PaysExactSplit(
        uint192 deposit,
        uint192 added,
        uint192 withdrawn,
        uint192 balance,
        uint256 wait
    ) public {
        deposit = uint192(bound(deposit, 0, HALF));
        added = uint192(bound(added, 0, HALF));
        uint192 total = deposit + added;
        withdrawn = uint192(bound(withdrawn, 0, total));
        balance = uint192(bound(balance, withdrawn, total));
        wait = bound(wait, CHALLENGE_PERIOD + 1, 100 * uint256(CHALLENGE_PERIOD));
        _fund(total);
        uint256 senderBefore = token.balanceOf(sender);

        uint32 openBlockNumber = _open(deposit);
        if (added != 0) {
            vm.prank(sender);
            manager.topUp(receiver, openBlockNumber, added);
        }
        if (withdrawn != 0) {
            bytes memory sig = _balanceSig(openBlockNumber, withdrawn);
            vm.prank(receiver);
            manager.withdraw(sender, openBlockNumber, withdrawn, sig);
        }

        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, balance);
        vm.roll(block.number + wait);
        vm.prank(sender);
        manager.settle(receiver, openBlockNumber);

        assertEq(token.balanceOf(receiver), balance, "receiver total");
        assertEq(token.balanceOf(sender), senderBefore - balance, "sender total");
        assertEq(token.balanceOf(address(manager)), 0, "escrow after settle");
    }

    function testFuzz_Dispute_ReceiverGetsProvenBalance(uint192 deposit, uint192 claimed, uint192 proven) public {
        deposit = uint192(bound(deposit, 1, HALF));
        proven = uint192(bound(proven, 0, deposit));
        claimed = uint192(bound(claimed, 0, proven));
        _fund(deposit);
        uint256 senderBefore = token.balanceOf(sender);

        uint32 openBlockNumber = _open(deposit);
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, claimed);
        vm.roll(block.number + CHALLENGE_PERIOD);
        manager.cooperativeClose(
            sender,
            receiver,
            openBlockNumber,
            proven,
            _balanceSig(openBlockNumber, proven),
            _closingSig(openBlockNumber, proven)
        );

        assertEq(token.balanceOf(receiver), proven);
        assertEq(token.balanceOf(sender), senderBefore - proven);
        assertEq(token.balanceOf(address(manager)), 0);
    }
}
