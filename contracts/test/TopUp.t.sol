// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {RaidenMicroTransferChannels} from "../src/RaidenMicroTransferChannels.sol";

/// @notice Topping up through ERC20 `topUp` and ERC223 44-byte data.
contract TopUpTest is ChannelsFixture {
    uint32 internal openBlockNumber;

    function setUp() public override {
        super.setUp();
        openBlockNumber = _open(10e18);
        vm.roll(block.number + 3);
    }

    function test_TopUp_Erc20() public {
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelToppedUp(sender, receiver, openBlockNumber, 5e18);
        vm.prank(sender);
        manager.topUp(receiver, openBlockNumber, 5e18);

        assertEq(_deposit(sender, receiver, openBlockNumber), 15e18);
        assertEq(token.balanceOf(address(manager)), 15e18);
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 15e18);
    }

    function test_TopUp_Erc223() public {
        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelToppedUp(sender, receiver, openBlockNumber, 2e18);
        vm.prank(sender);
        token.transfer(address(manager), 2e18, abi.encodePacked(sender, receiver, openBlockNumber));

        assertEq(_deposit(sender, receiver, openBlockNumber), 12e18);
        assertEq(token.balanceOf(address(manager)), 12e18);
    }

    function test_TopUp_ZeroDepositChannel() public {
        vm.roll(block.number + 1);
        uint32 empty = _open(0);
        vm.prank(sender);
        manager.topUp(receiver, empty, 1);
        assertEq(_deposit(sender, receiver, empty), 1);
    }

    function test_RevertWhen_TopUpAddsZero() public {
        vm.prank(sender);
        vm.expectRevert(RaidenMicroTransferChannels.ZeroTopUp.selector);
        manager.topUp(receiver, openBlockNumber, 0);

        vm.prank(sender);
        vm.expectRevert(RaidenMicroTransferChannels.ZeroTopUp.selector);
        token.transfer(address(manager), 0, abi.encodePacked(sender, receiver, openBlockNumber));
    }

    function test_RevertWhen_TopUpWrongOpenBlock() public {
        bytes32 key = _key(sender, receiver, openBlockNumber + 1);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.topUp(receiver, openBlockNumber + 1, 1);

        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        token.transfer(address(manager), 1, abi.encodePacked(sender, receiver, openBlockNumber + 1));
    }

    function test_RevertWhen_TopUpWrongReceiver() public {
        bytes32 key = _key(sender, stranger, openBlockNumber);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.topUp(stranger, openBlockNumber, 1);

        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        token.transfer(address(manager), 1, abi.encodePacked(sender, stranger, openBlockNumber));
    }

    function test_RevertWhen_TopUpByAnotherSender() public {
        token.transfer(stranger, 10);
        vm.startPrank(stranger);
        token.approve(address(manager), 10);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelNotFound.selector, _key(stranger, receiver, openBlockNumber)
            )
        );
        manager.topUp(receiver, openBlockNumber, 1);
        vm.stopPrank();
    }

    function test_RevertWhen_TopUpAfterCloseRequest() public {
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 1e18);
        uint32 settleBlockNumber = uint32(block.number) + CHALLENGE_PERIOD;
        bytes memory expected = abi.encodeWithSelector(
            RaidenMicroTransferChannels.ChannelClosing.selector,
            _key(sender, receiver, openBlockNumber),
            settleBlockNumber
        );

        vm.prank(sender);
        vm.expectRevert(expected);
        manager.topUp(receiver, openBlockNumber, 1);

        vm.prank(sender);
        vm.expectRevert(expected);
        token.transfer(address(manager), 1, abi.encodePacked(sender, receiver, openBlockNumber));
    }

    function test_RevertWhen_TopUpAfterSettlement() public {
        vm.prank(stranger);
        manager.cooperativeClose(
            sender,
            receiver,
            openBlockNumber,
            1e18,
            _balanceSig(openBlockNumber, 1e18),
            _closingSig(openBlockNumber, 1e18)
        );
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelNotFound.selector, _key(sender, receiver, openBlockNumber)
            )
        );
        manager.topUp(receiver, openBlockNumber, 1);
    }

    function test_RevertWhen_TopUpOverflowsDeposit() public {
        uint192 room = type(uint192).max - 10e18;
        token.ownerMint(sender, uint256(room) + 1);
        vm.prank(sender);
        manager.topUp(receiver, openBlockNumber, room);
        assertEq(_deposit(sender, receiver, openBlockNumber), type(uint192).max);

        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.DepositTooLarge.selector, uint256(type(uint192).max) + 1)
        );
        manager.topUp(receiver, openBlockNumber, 1);
    }
}
