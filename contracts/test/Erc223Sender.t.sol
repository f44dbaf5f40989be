// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {RaidenMicroTransferChannels} from "../src/RaidenMicroTransferChannels.sol";
import {ChannelFunder} from "./utils/ChannelFunder.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice ERC223 deposits: a channel's sender is always the account the tokens come from (only
/// the owner's trusted contracts may name another sender). Without that rule anyone could open a
/// channel in a victim's name with a signer of their choice: it reverts the victim's own opening in
/// the same block (same key), and a client that adopts the newest channel and tops it up hands the
/// deposit to the attacker's signer.
contract Erc223SenderTest is ChannelsFixture {
    address internal attacker;
    uint256 internal attackerKey;
    ChannelFunder internal funder;

    function setUp() public override {
        super.setUp();
        (attacker, attackerKey) = makeAddrAndKey("attacker");
        token.transfer(attacker, 1_000e18);
        funder = new ChannelFunder(manager);
        token.transfer(address(funder), 1_000e18);
    }

    function _mismatch(address from, address channelSender) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(RaidenMicroTransferChannels.TokenSenderMismatch.selector, from, channelSender);
    }

    function _trustFunder() internal {
        address[] memory list = new address[](1);
        list[0] = address(funder);
        manager.addTrustedContracts(list);
    }

    // ------------------------------------------------------------------------------------------
    // Opening in another account's name
    // ------------------------------------------------------------------------------------------

    function test_RevertWhen_Erc223ZeroValueCreatesInAnotherSendersNameWithSigner() public {
        vm.prank(attacker);
        vm.expectRevert(_mismatch(attacker, sender));
        token.transfer(address(manager), 0, abi.encodePacked(sender, receiver, attacker));
    }

    function test_RevertWhen_Erc223CreatesInAnotherSendersName() public {
        vm.startPrank(attacker);
        vm.expectRevert(_mismatch(attacker, sender));
        token.transfer(address(manager), 0, abi.encodePacked(sender, receiver));
        vm.expectRevert(_mismatch(attacker, sender));
        token.transfer(address(manager), 5e18, abi.encodePacked(sender, receiver));
        vm.expectRevert(_mismatch(attacker, sender));
        token.transfer(address(manager), 5e18, abi.encodePacked(sender, receiver, attacker));
        vm.stopPrank();
        assertEq(token.balanceOf(attacker), 1_000e18, "nothing moved");
    }

    /// @notice The front-run: an attempt in the victim's name in the victim's block leaves the
    /// victim's own opening working, with the victim as its only signer.
    function test_RevertWhen_Erc223FrontRunsTheVictimsCreateChannel() public {
        uint32 openBlockNumber = uint32(block.number);
        vm.prank(attacker);
        vm.expectRevert(_mismatch(attacker, sender));
        token.transfer(address(manager), 0, abi.encodePacked(sender, receiver, attacker));

        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 10e18, sender);
        vm.prank(sender);
        manager.createChannel(receiver, 10e18);

        assertEq(_deposit(sender, receiver, openBlockNumber), 10e18);
        assertEq(manager.getChannelSigner(sender, receiver, openBlockNumber), sender);
    }

    /// @notice The whole attack: the attacker's opening in the victim's block fails, so the victim's
    /// own opening, the top-up its client then makes and the receiver's withdrawal all concern the
    /// victim's channel, which the attacker's key cannot spend (on the old contract, all succeeded
    /// with the attacker's channel and the receiver was paid the top-up on the attacker's proof).
    function test_RevertWhen_Erc223HijackFundsTheAttackersSigner() public {
        uint32 openBlockNumber = uint32(block.number);
        // 1. The attacker opens sender → receiver with its own signer, in the victim's block.
        vm.prank(attacker);
        (bool hijacked,) = address(token)
            .call(
                abi.encodeWithSignature(
                    "transfer(address,uint256,bytes)", address(manager), 0, abi.encodePacked(sender, receiver, attacker)
                )
            );
        assertFalse(hijacked, "a channel was opened in the sender's name with the attacker's signer");

        // 2. The victim's own opening in the same block goes through.
        vm.prank(sender);
        manager.createChannel(receiver, 0);
        // 3. A client that adopts the newest channel and tops it up funds a channel the sender signs for.
        vm.prank(sender);
        manager.topUp(receiver, openBlockNumber, 10e18);

        // 4. The attacker's signature spends nothing of it.
        vm.roll(block.number + 1);
        bytes memory byAttacker = _sign(attackerKey, _balanceDigest(sender, receiver, openBlockNumber, 10e18));
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, attacker)
        );
        manager.withdraw(sender, openBlockNumber, 10e18, byAttacker);
    }

    /// @notice Whatever the data, a transfer naming another sender opens or tops up nothing: the
    /// three known shapes are refused for the sender, any other length for its length.
    function testFuzz_RevertWhen_Erc223DataNamesAnotherSender(
        uint256 shape,
        uint256 length,
        bytes32 seed,
        address channelSender,
        uint256 value
    ) public {
        if (channelSender == attacker) channelSender = sender; // the rule under test is about others
        uint256[3] memory known = [uint256(40), 44, 60];
        shape = bound(shape, 0, 3);
        length = shape < 3 ? known[shape] : bound(length, 0, 100);
        value = bound(value, 0, 1_000e18);
        bytes memory data = new bytes(length);
        for (uint256 i = 0; i < length; ++i) {
            data[i] = i < 20 ? bytes20(channelSender)[i] : keccak256(abi.encode(seed, i))[0];
        }

        bool wellFormed = length == 40 || length == 44 || length == 60;
        vm.prank(attacker);
        vm.expectRevert(
            wellFormed
                ? _mismatch(attacker, channelSender)
                : abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidTokenFallbackData.selector, length)
        );
        token.transfer(address(manager), value, data);
    }

    // ------------------------------------------------------------------------------------------
    // Topping up another account's channel
    // ------------------------------------------------------------------------------------------

    /// @notice A top-up in another's name would be an irreversible gift to the channel's sender (the
    /// remainder goes to the sender at settlement, not to the payer): refused like a creation, so a
    /// wrong sender in the data never loses the payer's tokens and every deposit is the sender's own.
    function test_RevertWhen_Erc223TopsUpAnotherSendersChannel() public {
        uint32 openBlockNumber = _open(10e18);
        vm.prank(attacker);
        vm.expectRevert(_mismatch(attacker, sender));
        token.transfer(address(manager), 1e18, abi.encodePacked(sender, receiver, openBlockNumber));
        assertEq(_deposit(sender, receiver, openBlockNumber), 10e18);
    }

    // ------------------------------------------------------------------------------------------
    // Own channels and trusted contracts
    // ------------------------------------------------------------------------------------------

    function test_Erc223CreateAndTopUpOwnChannel() public {
        uint32 openBlockNumber = uint32(block.number);
        vm.startPrank(sender);
        token.transfer(address(manager), 0, abi.encodePacked(sender, receiver, delegate));
        vm.roll(block.number + 1);
        token.transfer(address(manager), 4e18, abi.encodePacked(sender, receiver, openBlockNumber));
        vm.stopPrank();
        assertEq(_deposit(sender, receiver, openBlockNumber), 4e18);
        assertEq(manager.getChannelSigner(sender, receiver, openBlockNumber), delegate);
    }

    function test_Erc223TrustedContractCreatesAndTopsUpForAnotherSender() public {
        _trustFunder();
        uint32 openBlockNumber = uint32(block.number);
        vm.expectEmit(true, true, false, true, address(manager));
        emit ChannelCreated(sender, receiver, 30e18, sender);
        funder.transferWithData(30e18, abi.encodePacked(sender, receiver));
        vm.roll(block.number + 1);
        funder.transferWithData(5e18, abi.encodePacked(sender, receiver, openBlockNumber));
        assertEq(_deposit(sender, receiver, openBlockNumber), 35e18);

        // With a signer the sender chose (the trusted contract passes it on).
        funder.transferWithData(1e18, abi.encodePacked(sender, receiver, delegate));
        assertEq(manager.getChannelSigner(sender, receiver, uint32(block.number)), delegate);
        assertEq(token.balanceOf(sender), SENDER_TOKENS, "the sender paid nothing");
        assertEq(token.balanceOf(address(funder)), 1_000e18 - 36e18);

        // The sender owns the channel: it settles to the sender, not to the funder.
        vm.prank(sender);
        manager.uncooperativeClose(receiver, openBlockNumber, 0);
        vm.roll(block.number + CHALLENGE_PERIOD + 1);
        vm.prank(sender);
        manager.settle(receiver, openBlockNumber);
        assertEq(token.balanceOf(sender), SENDER_TOKENS + 35e18);
    }

    function test_RevertWhen_Erc223UntrustedContractNamesAnotherSender() public {
        vm.expectRevert(_mismatch(address(funder), sender));
        funder.transferWithData(1e18, abi.encodePacked(sender, receiver));

        _trustFunder();
        address[] memory list = new address[](1);
        list[0] = address(funder);
        manager.removeTrustedContracts(list);
        vm.expectRevert(_mismatch(address(funder), sender));
        funder.transferWithData(1e18, abi.encodePacked(sender, receiver));
    }

    // ------------------------------------------------------------------------------------------
    // The ERC20 paths open the caller's channel only
    // ------------------------------------------------------------------------------------------

    /// @notice A permit is the caller's own: someone replaying the sender's permit signature opens
    /// nothing in the sender's name (the permit is for another owner, and the caller has no allowance).
    function test_RevertWhen_CreateChannelWithAnotherAccountsPermit() public {
        bytes32 permitTypehash =
            keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash =
            keccak256(abi.encode(permitTypehash, sender, address(manager), 5e18, token.nonces(sender), deadline));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(senderKey, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));

        vm.prank(attacker);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(manager), 0, 5e18)
        );
        manager.createChannelWithPermit(receiver, 5e18, attacker, deadline, v, r, s);

        vm.expectRevert(
            abi.encodeWithSelector(
                RaidenMicroTransferChannels.ChannelNotFound.selector, _key(sender, receiver, uint32(block.number))
            )
        );
        manager.getChannelInfo(sender, receiver, uint32(block.number));
    }
}
