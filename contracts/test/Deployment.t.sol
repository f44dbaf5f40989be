// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {RaidenMicroTransferChannels} from "../src/RaidenMicroTransferChannels.sol";
import {ChannelFunder} from "./utils/ChannelFunder.sol";

/// @notice Construction, ownership, ERC-5267 domain and the trusted-contract (delegate) paths.
contract DeploymentTest is ChannelsFixture {
    ChannelFunder internal funder;

    function setUp() public override {
        super.setUp();
        funder = new ChannelFunder(manager);
        token.transfer(address(funder), 1_000e18);
    }

    function _list(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    // ------------------------------------------------------------------------------------------
    // Constructor
    // ------------------------------------------------------------------------------------------

    function test_Constructor_SetsState() public view {
        assertEq(address(manager.token()), address(token));
        assertEq(uint256(manager.challengePeriod()), CHALLENGE_PERIOD);
        assertEq(manager.owner(), address(this));
        assertEq(manager.version(), "1.0.0");
        assertEq(manager.domainSeparator(), _domainSeparator());
    }

    function test_RevertWhen_ConstructorTokenIsZero() public {
        vm.expectRevert(RaidenMicroTransferChannels.TokenAddressZero.selector);
        new RaidenMicroTransferChannels(address(0), CHALLENGE_PERIOD, new address[](0));
    }

    function test_RevertWhen_ConstructorTokenHasNoCode() public {
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.TokenHasNoCode.selector, stranger));
        new RaidenMicroTransferChannels(stranger, CHALLENGE_PERIOD, new address[](0));
    }

    function test_RevertWhen_ChallengePeriodBelow500() public {
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChallengePeriodTooShort.selector, 499, 500));
        new RaidenMicroTransferChannels(address(token), 499, new address[](0));
    }

    function testFuzz_Constructor_AcceptsChallengePeriodFrom500(uint32 challengePeriod) public {
        challengePeriod = uint32(bound(challengePeriod, 500, type(uint32).max));
        RaidenMicroTransferChannels deployed =
            new RaidenMicroTransferChannels(address(token), challengePeriod, new address[](0));
        assertEq(uint256(deployed.challengePeriod()), challengePeriod);
    }

    function test_Constructor_TrustsOnlyContractsWithCode() public {
        address[] memory list = new address[](2);
        list[0] = address(funder);
        list[1] = stranger;
        vm.expectEmit(true, false, false, true);
        emit TrustedContract(address(funder), true);
        RaidenMicroTransferChannels deployed = new RaidenMicroTransferChannels(address(token), 500, list);
        assertTrue(deployed.trustedContracts(address(funder)));
        assertFalse(deployed.trustedContracts(stranger));
    }

    function test_Eip712Domain_IsErc5267() public view {
        (
            bytes1 fields,
            string memory name,
            string memory domainVersion,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        ) = manager.eip712Domain();
        assertEq(fields == hex"0f", true, "fields: name, version, chainId, verifyingContract");
        assertEq(name, "MicroTransferChannels");
        assertEq(domainVersion, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(manager));
        assertEq(salt, bytes32(0));
        assertEq(extensions.length, 0);
    }

    function test_Eip712Domain_FollowsChainId() public {
        vm.chainId(5);
        (,,, uint256 chainId,,,) = manager.eip712Domain();
        assertEq(chainId, 5);
        assertEq(manager.domainSeparator(), _domainSeparator());
    }

    // ------------------------------------------------------------------------------------------
    // Trusted contracts
    // ------------------------------------------------------------------------------------------

    function test_AddTrustedContracts_ByOwner() public {
        vm.expectEmit(true, false, false, true, address(manager));
        emit TrustedContract(address(funder), true);
        manager.addTrustedContracts(_list(address(funder)));
        assertTrue(manager.trustedContracts(address(funder)));
    }

    function test_AddTrustedContracts_SkipsAddressesWithoutCode() public {
        manager.addTrustedContracts(_list(stranger));
        assertFalse(manager.trustedContracts(stranger));
    }

    function test_RevertWhen_AddTrustedContractsByNonOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.NotOwner.selector, stranger));
        manager.addTrustedContracts(_list(address(funder)));
    }

    function test_RemoveTrustedContracts_ByOwner() public {
        manager.addTrustedContracts(_list(address(funder)));
        vm.expectEmit(true, false, false, true, address(manager));
        emit TrustedContract(address(funder), false);
        manager.removeTrustedContracts(_list(address(funder)));
        assertFalse(manager.trustedContracts(address(funder)));

        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.NotTrustedContract.selector, address(funder))
        );
        funder.open(sender, receiver, 1);
    }

    function test_RevertWhen_RemoveTrustedContractsByNonOwner() public {
        manager.addTrustedContracts(_list(address(funder)));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.NotOwner.selector, stranger));
        manager.removeTrustedContracts(_list(address(funder)));
    }

    function test_CreateChannelDelegate_OpensForSenderWithFunderTokens() public {
        manager.addTrustedContracts(_list(address(funder)));
        uint32 openBlockNumber = uint32(block.number);

        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 30e18, sender);
        funder.open(sender, receiver, 30e18);

        assertEq(_deposit(sender, receiver, openBlockNumber), 30e18);
        assertEq(token.balanceOf(address(funder)), 970e18);
        assertEq(token.balanceOf(sender), SENDER_TOKENS, "the sender pays nothing");

        vm.expectEmit(true, true, true, true, address(manager));
        emit ChannelToppedUp(sender, receiver, openBlockNumber, 5e18);
        funder.topUp(sender, receiver, openBlockNumber, 5e18);
        assertEq(_deposit(sender, receiver, openBlockNumber), 35e18);
        assertEq(token.balanceOf(address(manager)), 35e18);

        // The sender owns the channel: it can close it, the funder cannot.
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 0);
    }

    function test_RevertWhen_CreateChannelDelegateByUntrustedCaller() public {
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.NotTrustedContract.selector, address(funder))
        );
        funder.open(sender, receiver, 1);

        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.NotTrustedContract.selector, sender));
        manager.createChannelDelegate(sender, receiver, 1);
    }

    function test_RevertWhen_TopUpDelegateByUntrustedCaller() public {
        uint32 openBlockNumber = _open(10);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.NotTrustedContract.selector, address(funder))
        );
        funder.topUp(sender, receiver, openBlockNumber, 1);
    }
}
