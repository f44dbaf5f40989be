// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {CustomToken} from "../../src/CustomToken.sol";
import {RaidenMicroTransferChannels} from "../../src/RaidenMicroTransferChannels.sol";

/// @notice Shared setup for the channel manager tests: a token, a manager with the minimum
/// challenge period, named actors with keys, and signing helpers that compute the EIP-712 digests
/// independently of the contract (so a wrong type hash or domain in the contract is caught).
abstract contract ChannelsFixture is Test {
    uint32 internal constant CHALLENGE_PERIOD = 500;
    uint256 internal constant SENDER_TOKENS = 1_000_000e18;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant BALANCE_PROOF_TYPEHASH =
        keccak256("BalanceProof(address sender,address receiver,uint32 openBlockNumber,uint192 balance)");
    bytes32 internal constant CLOSING_PROOF_TYPEHASH =
        keccak256("ClosingProof(address sender,address receiver,uint32 openBlockNumber,uint192 balance)");

    /// @dev secp256k1 group order, for building high-s signatures.
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    CustomToken internal token;
    RaidenMicroTransferChannels internal manager;

    address internal sender;
    uint256 internal senderKey;
    address internal receiver;
    uint256 internal receiverKey;
    address internal delegate;
    uint256 internal delegateKey;
    address internal stranger;
    uint256 internal strangerKey;

    // Mirrors of the contract's events, for expectEmit.
    event ChannelCreated(address indexed sender, address indexed receiver, uint192 deposit, address signer);
    event ChannelToppedUp(
        address indexed sender, address indexed receiver, uint32 indexed openBlockNumber, uint192 addedDeposit
    );
    event ChannelCloseRequested(
        address indexed sender, address indexed receiver, uint32 indexed openBlockNumber, uint192 balance
    );
    event ChannelSettled(
        address indexed sender,
        address indexed receiver,
        uint32 indexed openBlockNumber,
        uint192 balance,
        uint192 receiverTokens
    );
    event ChannelWithdraw(
        address indexed sender, address indexed receiver, uint32 indexed openBlockNumber, uint192 withdrawnBalance
    );
    event TrustedContract(address indexed trustedContract, bool trustedStatus);

    function setUp() public virtual {
        (sender, senderKey) = makeAddrAndKey("sender");
        (receiver, receiverKey) = makeAddrAndKey("receiver");
        (delegate, delegateKey) = makeAddrAndKey("delegate");
        (stranger, strangerKey) = makeAddrAndKey("stranger");

        vm.roll(100);
        token = new CustomToken(10_000_000, 18, "CustomToken", "TKN");
        manager = new RaidenMicroTransferChannels(address(token), CHALLENGE_PERIOD, new address[](0));
        vm.label(address(token), "token");
        vm.label(address(manager), "manager");

        token.transfer(sender, SENDER_TOKENS);
        vm.prank(sender);
        token.approve(address(manager), type(uint256).max);
    }

    // ------------------------------------------------------------------------------------------
    // Channels
    // ------------------------------------------------------------------------------------------

    /// @dev Opens a sender → receiver channel with the ERC20 path and returns its open block.
    function _open(uint192 deposit) internal returns (uint32 openBlockNumber) {
        openBlockNumber = uint32(block.number);
        vm.prank(sender);
        manager.createChannel(receiver, deposit);
    }

    function _openWithSigner(uint192 deposit, address signer) internal returns (uint32 openBlockNumber) {
        openBlockNumber = uint32(block.number);
        vm.prank(sender);
        manager.createChannelWithSigner(receiver, deposit, signer);
    }

    function _deposit(address from, address to, uint32 openBlockNumber) internal view returns (uint192 deposit) {
        (, deposit,,,) = manager.getChannelInfo(from, to, openBlockNumber);
    }

    function _key(address from, address to, uint32 openBlockNumber) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(from, to, openBlockNumber));
    }

    // ------------------------------------------------------------------------------------------
    // EIP-712
    // ------------------------------------------------------------------------------------------

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("MicroTransferChannels"), keccak256("1"), block.chainid, address(manager)
            )
        );
    }

    function _balanceDigest(address from, address to, uint32 openBlockNumber, uint192 balance)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(BALANCE_PROOF_TYPEHASH, from, to, openBlockNumber, balance));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    function _closingDigest(address from, address to, uint32 openBlockNumber, uint192 balance)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(CLOSING_PROOF_TYPEHASH, from, to, openBlockNumber, balance));
        return keccak256(abi.encodePacked("\x19\x01", _domainSeparator(), structHash));
    }

    function _sign(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The sender's balance proof for its channel to the receiver.
    function _balanceSig(uint32 openBlockNumber, uint192 balance) internal view returns (bytes memory) {
        return _sign(senderKey, _balanceDigest(sender, receiver, openBlockNumber, balance));
    }

    /// @dev The receiver's closing proof for the sender's channel.
    function _closingSig(uint32 openBlockNumber, uint192 balance) internal view returns (bytes memory) {
        return _sign(receiverKey, _closingDigest(sender, receiver, openBlockNumber, balance));
    }
}
