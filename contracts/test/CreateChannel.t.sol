// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {RaidenMicroTransferChannels} from "../src/RaidenMicroTransferChannels.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice Opening channels through every path: ERC20, ERC20 with a signer, EIP-2612 permit, ERC223.
contract CreateChannelTest is ChannelsFixture {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    address internal permitSender;
    uint256 internal permitSenderKey;

    function setUp() public override {
        super.setUp();
        (permitSender, permitSenderKey) = makeAddrAndKey("permitSender");
        token.transfer(permitSender, 1_000e18);
    }

    function _assertChannel(address from, address to, uint32 openBlockNumber, uint192 deposit, address signer)
        internal
        view
    {
        (bytes32 key, uint192 stored, uint32 settleBlockNumber, uint192 closingBalance, uint192 withdrawn) =
            manager.getChannelInfo(from, to, openBlockNumber);
        assertEq(key, _key(from, to, openBlockNumber), "key");
        assertEq(key, manager.getKey(from, to, openBlockNumber), "getKey");
        assertEq(stored, deposit, "deposit");
        assertEq(uint256(settleBlockNumber), 0, "settle block");
        assertEq(closingBalance, 0, "closing balance");
        assertEq(withdrawn, 0, "withdrawn");
        assertEq(manager.getChannelSigner(from, to, openBlockNumber), signer, "signer");
    }

    function _permit(uint256 value, uint256 deadline) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, permitSender, address(manager), value, token.nonces(permitSender), deadline)
        );
        return vm.sign(permitSenderKey, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    // ------------------------------------------------------------------------------------------
    // ERC20
    // ------------------------------------------------------------------------------------------

    function test_CreateChannel_Erc20() public {
        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 10e18, sender);
        uint32 openBlockNumber = _open(10e18);

        assertEq(uint256(openBlockNumber), block.number);
        _assertChannel(sender, receiver, openBlockNumber, 10e18, sender);
        assertEq(token.balanceOf(address(manager)), 10e18);
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 10e18);
    }

    function test_CreateChannel_ZeroDepositAllowed() public {
        uint32 openBlockNumber = _open(0);
        _assertChannel(sender, receiver, openBlockNumber, 0, sender);
    }

    function test_CreateChannel_SameReceiverInAnotherBlock() public {
        uint32 first = _open(1);
        vm.roll(block.number + 1);
        uint32 second = _open(2);
        _assertChannel(sender, receiver, first, 1, sender);
        _assertChannel(sender, receiver, second, 2, sender);
    }

    function test_RevertWhen_CreateChannelTwiceInOneBlock() public {
        uint32 openBlockNumber = _open(1);
        vm.prank(sender);
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelAlreadyExists.selector, _key(sender, receiver, openBlockNumber)
            )
        );
        manager.createChannel(receiver, 1);
    }

    function test_RevertWhen_CreateChannelWithoutAllowance() public {
        vm.prank(permitSender);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(manager), 0, 1)
        );
        manager.createChannel(receiver, 1);
    }

    function test_RevertWhen_CreateChannelDepositAbove192Bits() public {
        // The ABI decoder refuses a uint192 argument with higher bits set.
        vm.prank(sender);
        (bool ok,) = address(manager)
            .call(abi.encodeWithSignature("createChannel(address,uint256)", receiver, uint256(type(uint192).max) + 1));
        assertFalse(ok);
    }

    function test_CreateChannelWithSigner() public {
        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 7, delegate);
        uint32 openBlockNumber = _openWithSigner(7, delegate);
        _assertChannel(sender, receiver, openBlockNumber, 7, delegate);
    }

    function test_CreateChannelWithSigner_ZeroSignerMeansSender() public {
        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 7, sender);
        uint32 openBlockNumber = _openWithSigner(7, address(0));
        _assertChannel(sender, receiver, openBlockNumber, 7, sender);
    }

    function test_RevertWhen_ChannelDoesNotExist() public {
        bytes32 key = _key(sender, receiver, 42);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.getChannelInfo(sender, receiver, 42);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.ChannelNotFound.selector, key));
        manager.getChannelSigner(sender, receiver, 42);
    }

    // ------------------------------------------------------------------------------------------
    // EIP-2612 permit
    // ------------------------------------------------------------------------------------------

    function test_CreateChannelWithPermit() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(25e18, deadline);
        uint32 openBlockNumber = uint32(block.number);

        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(permitSender, receiver, 25e18, delegate);
        vm.prank(permitSender);
        manager.createChannelWithPermit(receiver, 25e18, delegate, deadline, v, r, s);

        _assertChannel(permitSender, receiver, openBlockNumber, 25e18, delegate);
        assertEq(token.balanceOf(permitSender), 975e18);
        assertEq(token.allowance(permitSender, address(manager)), 0);
        assertEq(token.nonces(permitSender), 1);
    }

    function test_CreateChannelWithPermit_ToleratesFrontRunPermit() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(25e18, deadline);
        // Someone watching the mempool submits the permit first.
        vm.prank(stranger);
        token.permit(permitSender, address(manager), 25e18, deadline, v, r, s);

        vm.prank(permitSender);
        manager.createChannelWithPermit(receiver, 25e18, address(0), deadline, v, r, s);
        assertEq(_deposit(permitSender, receiver, uint32(block.number)), 25e18);
    }

    function test_RevertWhen_CreateChannelWithInvalidPermitAndNoAllowance() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(25e18, deadline);
        vm.prank(permitSender);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(manager), 0, 26e18)
        );
        manager.createChannelWithPermit(receiver, 26e18, address(0), deadline, v, r, s);
    }

    function test_RevertWhen_CreateChannelWithExpiredPermit() public {
        vm.warp(1_000_000);
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _permit(25e18, deadline);
        vm.prank(permitSender);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(manager), 0, 25e18)
        );
        manager.createChannelWithPermit(receiver, 25e18, address(0), deadline, v, r, s);
    }

    // ------------------------------------------------------------------------------------------
    // ERC223
    // ------------------------------------------------------------------------------------------

    function test_CreateChannel_Erc223() public {
        uint32 openBlockNumber = uint32(block.number);
        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 3e18, sender);
        vm.prank(sender);
        token.transfer(address(manager), 3e18, abi.encodePacked(sender, receiver));

        _assertChannel(sender, receiver, openBlockNumber, 3e18, sender);
        assertEq(token.balanceOf(address(manager)), 3e18);
    }

    function test_CreateChannel_Erc223WithSigner() public {
        uint32 openBlockNumber = uint32(block.number);
        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 3e18, delegate);
        vm.prank(sender);
        token.transfer(address(manager), 3e18, abi.encodePacked(sender, receiver, delegate));
        _assertChannel(sender, receiver, openBlockNumber, 3e18, delegate);
    }

    function test_CreateChannel_Erc223ZeroDeposit() public {
        vm.prank(sender);
        token.transfer(address(manager), 0, abi.encodePacked(sender, receiver));
        _assertChannel(sender, receiver, uint32(block.number), 0, sender);
    }

    function test_RevertWhen_Erc223DataHasWrongLength() public {
        uint256[8] memory lengths = [uint256(0), 20, 39, 41, 43, 45, 59, 61];
        for (uint256 i = 0; i < lengths.length; ++i) {
            bytes memory data = new bytes(lengths[i]);
            vm.prank(sender);
            vm.expectRevert(
                abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidTokenFallbackData.selector, lengths[i])
            );
            token.transfer(address(manager), 1, data);
        }
    }

    function test_RevertWhen_Erc223CreatesDuplicate() public {
        vm.startPrank(sender);
        token.transfer(address(manager), 1, abi.encodePacked(sender, receiver));
        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelAlreadyExists.selector, _key(sender, receiver, uint32(block.number))
            )
        );
        token.transfer(address(manager), 1, abi.encodePacked(sender, receiver));
        vm.stopPrank();
    }

    function test_RevertWhen_Erc223ValueAbove192Bits() public {
        uint256 value = uint256(type(uint192).max) + 1;
        token.ownerMint(sender, value);
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.DepositTooLarge.selector, value));
        token.transfer(address(manager), value, abi.encodePacked(sender, receiver));
    }

    function test_Erc223MaxDeposit() public {
        uint256 value = type(uint192).max;
        token.ownerMint(sender, value - token.balanceOf(sender));
        vm.prank(sender);
        token.transfer(address(manager), value, abi.encodePacked(sender, receiver));
        assertEq(_deposit(sender, receiver, uint32(block.number)), type(uint192).max);
    }

    function test_RevertWhen_TokenFallbackCalledByNonToken() public {
        vm.prank(sender);
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.NotToken.selector, sender));
        manager.tokenFallback(sender, 10, abi.encodePacked(sender, receiver));
    }
}
