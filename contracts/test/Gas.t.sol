// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";

/// @notice One test per user-facing operation, each making exactly one call to the measured
/// function after a setUp that prepares it, so `forge test --match-contract GasTest --isolate
/// --gas-report` reports each operation as its own transaction (see GAS.md).
contract GasTest is ChannelsFixture {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    uint192 internal constant DEPOSIT = 100e18;

    uint32 internal openBlockNumber;
    uint32 internal closingOpenBlockNumber;

    function setUp() public override {
        super.setUp();
        // One channel to top up, withdraw from and close; one with a close request to settle.
        openBlockNumber = _open(DEPOSIT);
        vm.roll(block.number + 1);
        closingOpenBlockNumber = _open(DEPOSIT);
        vm.prank(sender);
        manager.uncooperativeClose(receiver, closingOpenBlockNumber, 30e18);
        vm.roll(block.number + 1);
        // Warm the receiver's token balance slot as in steady operation (a receiver that was paid before).
        token.transfer(receiver, 1);
    }

    function test_Gas_CreateChannelErc223() public {
        vm.prank(sender);
        token.transfer(address(manager), DEPOSIT, abi.encodePacked(sender, receiver));
    }

    function test_Gas_CreateChannelErc223WithSigner() public {
        vm.prank(sender);
        token.transfer(address(manager), DEPOSIT, abi.encodePacked(sender, receiver, delegate));
    }

    function test_Gas_CreateChannelErc20() public {
        vm.prank(sender);
        manager.createChannel(receiver, DEPOSIT);
    }

    function test_Gas_CreateChannelWithSigner() public {
        vm.prank(sender);
        manager.createChannelWithSigner(receiver, DEPOSIT, delegate);
    }

    function test_Gas_CreateChannelWithPermit() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("permitSender");
        token.transfer(owner, DEPOSIT);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(manager), DEPOSIT, 0, deadline));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(ownerKey, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
        vm.prank(owner);
        manager.createChannelWithPermit(receiver, DEPOSIT, delegate, deadline, v, r, s);
    }

    function test_Gas_TopUpErc223() public {
        vm.prank(sender);
        token.transfer(address(manager), 10e18, abi.encodePacked(sender, receiver, openBlockNumber));
    }

    function test_Gas_TopUpErc20() public {
        vm.prank(sender);
        manager.topUp(receiver, openBlockNumber, 10e18);
    }

    function test_Gas_Withdraw() public {
        bytes memory sig = _balanceSig(openBlockNumber, 40e18);
        vm.prank(receiver);
        manager.withdraw(sender, openBlockNumber, 40e18, sig);
    }

    function test_Gas_CooperativeClose() public {
        bytes memory balanceSig = _balanceSig(openBlockNumber, 40e18);
        bytes memory closingSig = _closingSig(openBlockNumber, 40e18);
        vm.prank(receiver);
        manager.cooperativeClose(sender, receiver, openBlockNumber, 40e18, balanceSig, closingSig);
    }

    function test_Gas_UncooperativeClose() public {
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 40e18);
    }

    function test_Gas_Settle() public {
        vm.roll(block.number + CHALLENGE_PERIOD + 1);
        vm.prank(sender);
        manager.settle(receiver, closingOpenBlockNumber);
    }
}
