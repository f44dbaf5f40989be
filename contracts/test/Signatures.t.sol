// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ChannelsFixture} from "./utils/ChannelsFixture.sol";
import {RaidenMicroTransferChannels} from "../src/RaidenMicroTransferChannels.sol";

/// @notice Signature encoding rules (length, v, low s), digests, and delegated signers.
contract SignaturesTest is ChannelsFixture {
    uint32 internal constant OPEN_BLOCK = 1234;
    uint192 internal constant BALANCE = 5e18;

    function _parts(bytes32 digest) internal view returns (bytes32 r, bytes32 s, uint8 v) {
        (v, r, s) = vm.sign(senderKey, digest);
    }

    function _extract(bytes memory sig) internal view returns (address) {
        return manager.extractBalanceProofSignature(sender, receiver, OPEN_BLOCK, BALANCE, sig);
    }

    // ------------------------------------------------------------------------------------------
    // Digests
    // ------------------------------------------------------------------------------------------

    function test_TypeHashes() public view {
        assertEq(manager.BALANCE_PROOF_TYPEHASH(), BALANCE_PROOF_TYPEHASH);
        assertEq(manager.CLOSING_PROOF_TYPEHASH(), CLOSING_PROOF_TYPEHASH);
    }

    function testFuzz_Digests_MatchIndependentEncoding(
        address from,
        address to,
        uint32 openBlockNumber,
        uint192 balance
    ) public view {
        assertEq(
            manager.hashBalanceProof(from, to, openBlockNumber, balance),
            _balanceDigest(from, to, openBlockNumber, balance)
        );
        assertEq(
            manager.hashClosingProof(from, to, openBlockNumber, balance),
            _closingDigest(from, to, openBlockNumber, balance)
        );
        assertTrue(
            manager.hashBalanceProof(from, to, openBlockNumber, balance)
                != manager.hashClosingProof(from, to, openBlockNumber, balance),
            "the two types never share a digest"
        );
    }

    // ------------------------------------------------------------------------------------------
    // v, s, length
    // ------------------------------------------------------------------------------------------

    function test_Signature_AcceptsV27And28And0And1() public view {
        // Two balances whose signatures have different parities, so both v values are exercised.
        uint256 seen;
        for (uint192 balance = 1; seen != 3; ++balance) {
            bytes32 digest = _balanceDigest(sender, receiver, OPEN_BLOCK, balance);
            (bytes32 r, bytes32 s, uint8 v) = _parts(digest);
            seen |= v == 27 ? 1 : 2;
            assertEq(
                manager.extractBalanceProofSignature(sender, receiver, OPEN_BLOCK, balance, abi.encodePacked(r, s, v)),
                sender,
                "v 27/28"
            );
            assertEq(
                manager.extractBalanceProofSignature(
                    sender, receiver, OPEN_BLOCK, balance, abi.encodePacked(r, s, v - 27)
                ),
                sender,
                "v 0/1"
            );
        }
    }

    function test_RevertWhen_SignatureVIsNot27Or28() public {
        (bytes32 r, bytes32 s,) = _parts(_balanceDigest(sender, receiver, OPEN_BLOCK, BALANCE));
        uint8[6] memory invalid = [2, 26, 29, 35, 37, 255];
        for (uint256 i = 0; i < invalid.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidSignatureV.selector, invalid[i]));
            this.extractExternal(abi.encodePacked(r, s, invalid[i]));
        }
    }

    function test_RevertWhen_SignatureHasHighS() public {
        (bytes32 r, bytes32 s, uint8 v) = _parts(_balanceDigest(sender, receiver, OPEN_BLOCK, BALANCE));
        // (r, n - s, v ^ 1) is the same point's other valid ECDSA signature: the malleable twin.
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        uint8 flipped = v == 27 ? 28 : 27;
        vm.expectRevert(abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidSignatureS.selector, highS));
        this.extractExternal(abi.encodePacked(r, highS, flipped));
    }

    function test_RevertWhen_SignatureHasWrongLength() public {
        bytes memory sig = _balanceSig(OPEN_BLOCK, BALANCE);
        uint256[5] memory lengths = [uint256(0), 1, 64, 66, 130];
        for (uint256 i = 0; i < lengths.length; ++i) {
            bytes memory resized = new bytes(lengths[i]);
            for (uint256 j = 0; j < resized.length && j < sig.length; ++j) {
                resized[j] = sig[j];
            }
            vm.expectRevert(
                abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidSignatureLength.selector, lengths[i])
            );
            this.extractExternal(resized);
        }
    }

    function test_RevertWhen_SignatureRecoversToZero() public {
        // r = 0 is not a curve point: ecrecover returns address(0).
        vm.expectRevert(RaidenMicroTransferChannels.InvalidSignature.selector);
        this.extractExternal(abi.encodePacked(bytes32(0), bytes32(uint256(1)), uint8(27)));
    }

    /// @dev External wrapper so expectRevert sees the view call's revert.
    function extractExternal(bytes memory sig) external view returns (address) {
        return _extract(sig);
    }

    function test_ExtractClosingSignature_ReturnsReceiver() public view {
        assertEq(
            manager.extractClosingSignature(sender, receiver, OPEN_BLOCK, BALANCE, _closingSig(OPEN_BLOCK, BALANCE)),
            receiver
        );
    }

    // ------------------------------------------------------------------------------------------
    // Delegated signer
    // ------------------------------------------------------------------------------------------

    function test_DelegatedSigner_ProofsBySignerAndBySenderAccepted() public {
        uint32 openBlockNumber = _openWithSigner(100, delegate);

        bytes memory bySigner = _sign(delegateKey, _balanceDigest(sender, receiver, openBlockNumber, 10));
        assertEq(manager.extractBalanceProofSignature(sender, receiver, openBlockNumber, 10, bySigner), delegate);
        vm.prank(receiver);
        manager.withdraw(sender, openBlockNumber, 10, bySigner);

        bytes memory bySender = _balanceSig(openBlockNumber, 20);
        vm.prank(receiver);
        manager.withdraw(sender, openBlockNumber, 20, bySender);

        bytes memory finalBySigner = _sign(delegateKey, _balanceDigest(sender, receiver, openBlockNumber, 60));
        manager.cooperativeClose(sender, receiver, openBlockNumber, 60, finalBySigner, _closingSig(openBlockNumber, 60));
        assertEq(token.balanceOf(receiver), 60);
        assertEq(token.balanceOf(sender), SENDER_TOKENS - 60);
    }

    function test_RevertWhen_DelegatedSignerProofByAnyoneElse() public {
        uint32 openBlockNumber = _openWithSigner(100, delegate);
        bytes memory byStranger = _sign(strangerKey, _balanceDigest(sender, receiver, openBlockNumber, 10));
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, stranger)
        );
        manager.withdraw(sender, openBlockNumber, 10, byStranger);

        bytes memory closingSig = _closingSig(openBlockNumber, 10);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, stranger)
        );
        manager.cooperativeClose(sender, receiver, openBlockNumber, 10, byStranger, closingSig);
    }

    function test_RevertWhen_SignerOfAnotherChannelSigns() public {
        // The delegate signs for one channel of the sender; a proof by it is worthless in another.
        _openWithSigner(100, delegate);
        vm.roll(block.number + 1);
        uint32 plain = _open(100);
        bytes memory byDelegate = _sign(delegateKey, _balanceDigest(sender, receiver, plain, 10));
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, delegate)
        );
        manager.withdraw(sender, plain, 10, byDelegate);
    }

    // ------------------------------------------------------------------------------------------
    // Fuzz
    // ------------------------------------------------------------------------------------------

    function testFuzz_Signature_RecoversSigner(
        uint256 privateKey,
        address from,
        address to,
        uint32 openBlockNumber,
        uint192 balance
    ) public view {
        privateKey = bound(privateKey, 1, SECP256K1_N - 1);
        address signer = vm.addr(privateKey);
        bytes memory balanceSig = _sign(privateKey, _balanceDigest(from, to, openBlockNumber, balance));
        bytes memory closingSig = _sign(privateKey, _closingDigest(from, to, openBlockNumber, balance));
        assertEq(manager.extractBalanceProofSignature(from, to, openBlockNumber, balance, balanceSig), signer);
        assertEq(manager.extractClosingSignature(from, to, openBlockNumber, balance, closingSig), signer);
    }

    function testFuzz_Signature_GarbageNeverValidatesForSender(bytes32 r, bytes32 s, uint8 v, uint192 balance) public {
        uint32 openBlockNumber = _open(1_000e18);
        balance = uint192(bound(balance, 1, 1_000e18));
        bytes memory garbage = abi.encodePacked(r, s, v);
        try manager.extractBalanceProofSignature(sender, receiver, openBlockNumber, balance, garbage) returns (
            address recovered
        ) {
            assertNotEq(recovered, sender, "random bytes forged the sender's signature");
        } catch {}
        vm.prank(receiver);
        (bool ok,) = address(manager)
            .call(abi.encodeCall(RaidenMicroTransferChannels.withdraw, (sender, openBlockNumber, balance, garbage)));
        assertFalse(ok, "a garbage signature withdrew tokens");
        assertEq(token.balanceOf(receiver), 0);
    }

    function testFuzz_Signature_OtherKeyRejected(uint256 privateKey, uint192 balance) public {
        privateKey = bound(privateKey, 1, SECP256K1_N - 2);
        if (privateKey >= senderKey) ++privateKey; // any key but the sender's
        uint32 openBlockNumber = _open(100);
        balance = uint192(bound(balance, 1, 100));
        bytes memory sig = _sign(privateKey, _balanceDigest(sender, receiver, openBlockNumber, balance));
        vm.prank(receiver);
        vm.expectRevert(
            abi.encodeWithSelector(RaidenMicroTransferChannels.InvalidBalanceProofSigner.selector, vm.addr(privateKey))
        );
        manager.withdraw(sender, openBlockNumber, balance, sig);
    }
}
