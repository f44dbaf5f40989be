// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ITokenFallback} from "./interfaces/ITokenFallback.sol";

/// @title RaidenMicroTransferChannels
/// @notice Unidirectional ERC20 payment channels from many senders to a receiver (µRaiden).
/// A sender locks a deposit in a channel, then pays off-chain by signing cumulative EIP-712
/// `BalanceProof`s; the receiver closes the channel with the last proof (and may withdraw earned
/// tokens before that). Without the receiver's cooperation the sender can request a close and, after
/// a challenge period in which the receiver can still submit a better proof, settle alone.
/// @dev Invariant: the token balance of this contract equals the sum over live channels of
/// `deposit - withdrawn`. The token must be a plain ERC20 (no fee on transfer, no rebasing).
///
/// Deviation from the original argument lists: the signed messages contain the sender and a channel
/// may delegate signing to another key, so the sender cannot be recovered from a signature;
/// `cooperativeClose`, `withdraw`, `extractBalanceProofSignature` and `extractClosingSignature`
/// therefore take the sender explicitly.
contract RaidenMicroTransferChannels is EIP712, ITokenFallback {
    using SafeERC20 for IERC20;

    // ------------------------------------------------------------------------------------------
    // Types and constants
    // ------------------------------------------------------------------------------------------

    /// @dev One storage slot: the open block doubles as the "channel exists" flag (never zero).
    struct Channel {
        uint192 deposit;
        uint32 openBlockNumber;
    }

    /// @dev One storage slot: a non-zero settle block means the sender requested a close.
    struct ClosingRequest {
        uint192 closingBalance;
        uint32 settleBlockNumber;
    }

    /// @notice The contract's version (independent of the EIP-712 domain version).
    string public constant version = "1.0.0";

    /// @notice EIP-712 type hash of the proof the sender (or its delegated signer) signs.
    bytes32 public constant BALANCE_PROOF_TYPEHASH =
        keccak256("BalanceProof(address sender,address receiver,uint32 openBlockNumber,uint192 balance)");

    /// @notice EIP-712 type hash of the proof the receiver signs to agree to a cooperative close.
    bytes32 public constant CLOSING_PROOF_TYPEHASH =
        keccak256("ClosingProof(address sender,address receiver,uint32 openBlockNumber,uint192 balance)");

    /// @notice The shortest challenge period, in blocks, the constructor accepts.
    uint32 public constant MIN_CHALLENGE_PERIOD = 500;

    /// @notice The token every channel holds.
    IERC20 public immutable token;

    /// @notice Blocks the receiver has, after the sender requests an uncooperative close, to dispute it.
    uint32 public immutable challengePeriod;

    /// @notice The deployer; the only account that may change the trusted contracts.
    address public immutable owner;

    /// @notice Contracts allowed to open and top up channels on behalf of senders (delegate functions,
    /// or ERC223 data naming another sender). A trusted contract must only name the account it acts
    /// for: a channel opened in someone's name blocks that account's own opening in the same block.
    mapping(address trustedContract => bool trusted) public trustedContracts;

    mapping(bytes32 key => Channel) internal _channels;
    /// @dev Zero means "the sender itself": storing a signer is paid only by channels that delegate.
    mapping(bytes32 key => address) internal _signers;
    mapping(bytes32 key => ClosingRequest) internal _closingRequests;
    mapping(bytes32 key => uint192) internal _withdrawnBalances;

    // ------------------------------------------------------------------------------------------
    // Events
    // ------------------------------------------------------------------------------------------

    /// @notice A channel was opened; its open block number is the block of this log.
    /// @param signer The key whose balance proofs are accepted besides the sender's (the sender if none).
    event ChannelCreated(address indexed sender, address indexed receiver, uint192 deposit, address signer);

    /// @notice Tokens were added to a channel's deposit.
    event ChannelToppedUp(
        address indexed sender, address indexed receiver, uint32 indexed openBlockNumber, uint192 addedDeposit
    );

    /// @notice The sender requested an uncooperative close; the challenge period started.
    event ChannelCloseRequested(
        address indexed sender, address indexed receiver, uint32 indexed openBlockNumber, uint192 balance
    );

    /// @notice A channel was settled and deleted.
    /// @param balance The final cumulative balance owed to the receiver.
    /// @param receiverTokens The tokens paid to the receiver now (`balance` minus earlier withdrawals).
    event ChannelSettled(
        address indexed sender,
        address indexed receiver,
        uint32 indexed openBlockNumber,
        uint192 balance,
        uint192 receiverTokens
    );

    /// @notice The receiver withdrew earned tokens without closing the channel.
    /// @param withdrawnBalance The tokens paid out by this withdrawal (not the cumulative total).
    event ChannelWithdraw(
        address indexed sender, address indexed receiver, uint32 indexed openBlockNumber, uint192 withdrawnBalance
    );

    /// @notice A contract was added to (`true`) or removed from (`false`) the trusted contracts.
    event TrustedContract(address indexed trustedContract, bool trustedStatus);

    // ------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------

    /// @notice The token address is zero.
    error TokenAddressZero();
    /// @notice The token address holds no contract code.
    error TokenHasNoCode(address token);
    /// @notice The challenge period is shorter than `MIN_CHALLENGE_PERIOD` blocks.
    error ChallengePeriodTooShort(uint32 challengePeriod, uint32 minimum);
    /// @notice Only the owner may call this function.
    error NotOwner(address caller);
    /// @notice Only a trusted contract may call this function.
    error NotTrustedContract(address caller);
    /// @notice Only the channel token may call `tokenFallback`.
    error NotToken(address caller);
    /// @notice ERC223 data must be 40 (create), 60 (create with signer) or 44 (top up) bytes long.
    error InvalidTokenFallbackData(uint256 length);
    /// @notice The ERC223 data names `channelSender` as the channel's sender but the tokens came from
    /// `from`: put `from` first in the data (only trusted contracts may act for another sender).
    error TokenSenderMismatch(address from, address channelSender);
    /// @notice A deposit or a resulting channel deposit does not fit in uint192.
    error DepositTooLarge(uint256 deposit);
    /// @notice The current block number does not fit in uint32, so no channel can be opened.
    error BlockNumberTooLarge(uint256 blockNumber);
    /// @notice A channel with this key already exists (same sender, receiver and block).
    error ChannelAlreadyExists(bytes32 key);
    /// @notice No open channel has this key (wrong sender, receiver or open block, or already settled).
    error ChannelNotFound(bytes32 key);
    /// @notice A top-up must add at least one token.
    error ZeroTopUp();
    /// @notice The sender requested a close for this channel, so it can no longer be topped up or withdrawn from.
    error ChannelClosing(bytes32 key, uint32 settleBlockNumber);
    /// @notice The balance is larger than the channel deposit.
    error BalanceExceedsDeposit(uint192 balance, uint192 deposit);
    /// @notice The balance is lower than what the receiver already withdrew.
    error BalanceBelowWithdrawn(uint192 balance, uint192 withdrawn);
    /// @notice A withdrawal needs a balance above what was already withdrawn.
    error NothingToWithdraw(uint192 balance, uint192 withdrawn);
    /// @notice The sender already requested a close for this channel.
    error CloseAlreadyRequested(bytes32 key, uint32 settleBlockNumber);
    /// @notice `block.number + challengePeriod` does not fit in uint32.
    error SettleBlockTooLarge(uint256 settleBlockNumber);
    /// @notice `settle` needs an earlier `uncooperativeClose`.
    error CloseNotRequested(bytes32 key);
    /// @notice `settle` is allowed only in a block after `settleBlockNumber`.
    error ChallengePeriodNotOver(uint32 settleBlockNumber, uint256 currentBlock);
    /// @notice Signatures are exactly 65 bytes: r (32) ‖ s (32) ‖ v (1).
    error InvalidSignatureLength(uint256 length);
    /// @notice `v` must be 27 or 28 (0 or 1 are accepted and normalised).
    error InvalidSignatureV(uint8 v);
    /// @notice `s` is in the upper half of the curve order (a malleable signature).
    error InvalidSignatureS(bytes32 s);
    /// @notice The signature recovers to no address.
    error InvalidSignature();
    /// @notice The balance proof was signed by neither the sender nor the channel's signer.
    error InvalidBalanceProofSigner(address recovered);
    /// @notice The closing proof was not signed by the receiver.
    error InvalidClosingSigner(address recovered);

    // ------------------------------------------------------------------------------------------
    // Modifiers and construction
    // ------------------------------------------------------------------------------------------

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyTrustedContract() {
        if (!trustedContracts[msg.sender]) revert NotTrustedContract(msg.sender);
        _;
    }

    /// @param tokenAddress The ERC20 (optionally EIP-2612 and ERC223) token every channel holds.
    /// @param challengePeriod_ Blocks the receiver has to dispute an uncooperative close (at least 500).
    /// @param trustedContracts_ Contracts allowed to call the delegate functions; addresses without code are skipped.
    constructor(address tokenAddress, uint32 challengePeriod_, address[] memory trustedContracts_)
        EIP712("MicroTransferChannels", "1")
    {
        if (tokenAddress == address(0)) revert TokenAddressZero();
        if (tokenAddress.code.length == 0) revert TokenHasNoCode(tokenAddress);
        if (challengePeriod_ < MIN_CHALLENGE_PERIOD) {
            revert ChallengePeriodTooShort(challengePeriod_, MIN_CHALLENGE_PERIOD);
        }
        token = IERC20(tokenAddress);
        challengePeriod = challengePeriod_;
        owner = msg.sender;
        _addTrustedContracts(trustedContracts_);
    }

    // ------------------------------------------------------------------------------------------
    // Opening and topping up
    // ------------------------------------------------------------------------------------------

    /// @notice Opens a channel to `receiver` funded with `deposit` tokens taken from the caller
    /// (approve this contract first). The caller signs its own balance proofs.
    /// @param receiver The account that will be paid through the channel.
    /// @param deposit The tokens to lock; zero is allowed (top up later).
    function createChannel(address receiver, uint192 deposit) external {
        _createChannel(msg.sender, receiver, deposit, address(0));
        token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice Opens a channel like `createChannel` and lets `signer` sign balance proofs too
    /// (e.g. a session key held by the sender's browser).
    /// @param receiver The account that will be paid through the channel.
    /// @param deposit The tokens to lock; zero is allowed.
    /// @param signer The delegated signer; zero means the sender only.
    function createChannelWithSigner(address receiver, uint192 deposit, address signer) external {
        _createChannel(msg.sender, receiver, deposit, signer);
        token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice Opens a channel in one transaction without a prior `approve`, using the token's
    /// EIP-2612 `permit` signed by the caller for `deposit` tokens to this contract.
    /// @dev A permit that fails (for example because someone front-ran it) is ignored: the transfer
    /// then relies on the allowance it already set, and reverts if there is none. As with any
    /// EIP-2612 permit, a successful one replaces the allowance the caller had given this contract.
    /// @param receiver The account that will be paid through the channel.
    /// @param deposit The tokens to lock, equal to the permit's value.
    /// @param signer The delegated signer; zero means the sender only.
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function createChannelWithPermit(
        address receiver,
        uint192 deposit,
        address signer,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), deposit, deadline, v, r, s) {} catch {}
        _createChannel(msg.sender, receiver, deposit, signer);
        token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice ERC223 entry point: the token calls it after transferring `value` tokens here.
    /// `data` selects the action: sender(20) ‖ receiver(20) opens a channel, sender(20) ‖ receiver(20)
    /// ‖ signer(20) opens one with a delegated signer, sender(20) ‖ receiver(20) ‖ openBlockNumber(4,
    /// big-endian) tops one up. The sender must be `from`, the account the tokens came from, unless
    /// `from` is a trusted contract.
    /// @dev Without the sender check anyone could open a channel in another account's name with a
    /// signer of their choice: that reverts the account's own opening in the same block (same key),
    /// and a client that adopts the newest channel and tops it up funds the stranger's signer. Top-ups
    /// are held to the same rule: a stranger's top-up would be an irreversible gift (the remainder
    /// goes to the channel's sender), so a wrong sender in the data never costs the payer its tokens.
    /// @param from The account whose tokens were transferred.
    /// @param value The tokens received, in base units; must fit in uint192.
    /// @param data The action, as above; any other length reverts.
    function tokenFallback(address from, uint256 value, bytes calldata data) external {
        if (msg.sender != address(token)) revert NotToken(msg.sender);
        if (value > type(uint192).max) revert DepositTooLarge(value);
        // casting to 'uint192' is safe because larger values reverted above
        // forge-lint: disable-next-line(unsafe-typecast)
        uint192 deposit = uint192(value);

        uint256 length = data.length;
        if (length != 40 && length != 44 && length != 60) revert InvalidTokenFallbackData(length);
        address sender = address(bytes20(data[0:20]));
        if (sender != from && !trustedContracts[from]) revert TokenSenderMismatch(from, sender);
        address receiver = address(bytes20(data[20:40]));
        if (length == 44) {
            _topUp(sender, receiver, uint32(bytes4(data[40:44])), deposit);
        } else {
            address signer = length == 60 ? address(bytes20(data[40:60])) : address(0);
            _createChannel(sender, receiver, deposit, signer);
        }
    }

    /// @notice Adds `addedDeposit` tokens from the caller (approve first) to the caller's channel.
    /// @param receiver The channel's receiver.
    /// @param openBlockNumber The block in which the channel was opened.
    /// @param addedDeposit The tokens to add; must be positive.
    function topUp(address receiver, uint32 openBlockNumber, uint192 addedDeposit) external {
        _topUp(msg.sender, receiver, openBlockNumber, addedDeposit);
        token.safeTransferFrom(msg.sender, address(this), addedDeposit);
    }

    // ------------------------------------------------------------------------------------------
    // Trusted contracts
    // ------------------------------------------------------------------------------------------

    /// @notice Opens a channel for `sender`, funded by the calling trusted contract.
    /// @param sender The channel's sender (the account that signs balance proofs).
    /// @param receiver The channel's receiver.
    /// @param deposit The tokens to lock, taken from the trusted contract (approve first).
    function createChannelDelegate(address sender, address receiver, uint192 deposit) external onlyTrustedContract {
        _createChannel(sender, receiver, deposit, address(0));
        token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice Tops up `sender`'s channel with tokens from the calling trusted contract.
    /// @param sender The channel's sender.
    /// @param receiver The channel's receiver.
    /// @param openBlockNumber The block in which the channel was opened.
    /// @param addedDeposit The tokens to add, taken from the trusted contract (approve first).
    function topUpDelegate(address sender, address receiver, uint32 openBlockNumber, uint192 addedDeposit)
        external
        onlyTrustedContract
    {
        _topUp(sender, receiver, openBlockNumber, addedDeposit);
        token.safeTransferFrom(msg.sender, address(this), addedDeposit);
    }

    /// @notice Trusts the given contracts (owner only); addresses without code are skipped.
    /// @param contracts The contracts to trust.
    function addTrustedContracts(address[] calldata contracts) external onlyOwner {
        _addTrustedContracts(contracts);
    }

    /// @notice Stops trusting the given contracts (owner only).
    /// @param contracts The contracts to remove.
    function removeTrustedContracts(address[] calldata contracts) external onlyOwner {
        for (uint256 i = 0; i < contracts.length; ++i) {
            if (trustedContracts[contracts[i]]) {
                trustedContracts[contracts[i]] = false;
                emit TrustedContract(contracts[i], false);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Withdrawing and closing
    // ------------------------------------------------------------------------------------------

    /// @notice Pays the caller (the receiver) `balance` minus what it already withdrew, keeping the
    /// channel open. Not allowed once the sender requested a close: use `cooperativeClose` then.
    /// @param sender The channel's sender.
    /// @param openBlockNumber The block in which the channel was opened.
    /// @param balance The cumulative balance of the proof.
    /// @param balanceMsgSig The `BalanceProof` signature of the sender or the channel's signer.
    function withdraw(address sender, uint32 openBlockNumber, uint192 balance, bytes calldata balanceMsgSig) external {
        address receiver = msg.sender;
        bytes32 key = getKey(sender, receiver, openBlockNumber);
        uint192 deposit = _requireChannel(key).deposit;
        uint32 settleBlockNumber = _closingRequests[key].settleBlockNumber;
        if (settleBlockNumber != 0) revert ChannelClosing(key, settleBlockNumber);
        if (balance > deposit) revert BalanceExceedsDeposit(balance, deposit);
        uint192 withdrawn = _withdrawnBalances[key];
        if (balance <= withdrawn) revert NothingToWithdraw(balance, withdrawn);
        _verifyBalanceProof(key, sender, receiver, openBlockNumber, balance, balanceMsgSig);

        uint192 amount = balance - withdrawn;
        _withdrawnBalances[key] = balance;
        emit ChannelWithdraw(sender, receiver, openBlockNumber, amount);
        token.safeTransfer(receiver, amount);
    }

    /// @notice Closes and settles a channel at once with a balance proof and the receiver's closing
    /// proof for the same balance. Anyone may submit it, also during a challenge period (this is how
    /// the receiver disputes a low `uncooperativeClose`).
    /// @param sender The channel's sender.
    /// @param receiver The channel's receiver.
    /// @param openBlockNumber The block in which the channel was opened.
    /// @param balance The final cumulative balance owed to the receiver.
    /// @param balanceMsgSig The `BalanceProof` signature of the sender or the channel's signer.
    /// @param closingSig The receiver's `ClosingProof` signature.
    function cooperativeClose(
        address sender,
        address receiver,
        uint32 openBlockNumber,
        uint192 balance,
        bytes calldata balanceMsgSig,
        bytes calldata closingSig
    ) external {
        bytes32 key = getKey(sender, receiver, openBlockNumber);
        uint192 deposit = _requireChannel(key).deposit;
        if (balance > deposit) revert BalanceExceedsDeposit(balance, deposit);
        _verifyBalanceProof(key, sender, receiver, openBlockNumber, balance, balanceMsgSig);
        address closer = _recover(_closingProofDigest(sender, receiver, openBlockNumber, balance), closingSig);
        if (closer != receiver) revert InvalidClosingSigner(closer);
        _settle(key, sender, receiver, openBlockNumber, deposit, balance);
    }

    /// @notice The sender asks to close the channel paying the receiver `balance`, without the
    /// receiver's signature. Starts a challenge period of `challengePeriod` blocks during which the
    /// receiver can still `cooperativeClose` with a higher proof; then the sender can `settle`.
    /// @param receiver The channel's receiver.
    /// @param openBlockNumber The block in which the channel was opened.
    /// @param balance The balance the sender claims to owe; at least what was already withdrawn.
    function uncooperativeClose(address receiver, uint32 openBlockNumber, uint192 balance) external {
        address sender = msg.sender;
        bytes32 key = getKey(sender, receiver, openBlockNumber);
        uint192 deposit = _requireChannel(key).deposit;
        uint32 requested = _closingRequests[key].settleBlockNumber;
        if (requested != 0) revert CloseAlreadyRequested(key, requested);
        if (balance > deposit) revert BalanceExceedsDeposit(balance, deposit);
        uint192 withdrawn = _withdrawnBalances[key];
        if (balance < withdrawn) revert BalanceBelowWithdrawn(balance, withdrawn);
        uint256 settleBlockNumber = block.number + challengePeriod;
        if (settleBlockNumber > type(uint32).max) revert SettleBlockTooLarge(settleBlockNumber);

        // casting to 'uint32' is safe because larger values reverted above
        // forge-lint: disable-next-line(unsafe-typecast)
        _closingRequests[key] = ClosingRequest({closingBalance: balance, settleBlockNumber: uint32(settleBlockNumber)});
        emit ChannelCloseRequested(sender, receiver, openBlockNumber, balance);
    }

    /// @notice Settles the caller's channel with the balance of its close request, strictly after
    /// the challenge period ended.
    /// @param receiver The channel's receiver.
    /// @param openBlockNumber The block in which the channel was opened.
    function settle(address receiver, uint32 openBlockNumber) external {
        address sender = msg.sender;
        bytes32 key = getKey(sender, receiver, openBlockNumber);
        uint192 deposit = _requireChannel(key).deposit;
        ClosingRequest memory request = _closingRequests[key];
        if (request.settleBlockNumber == 0) revert CloseNotRequested(key);
        if (block.number <= request.settleBlockNumber) {
            revert ChallengePeriodNotOver(request.settleBlockNumber, block.number);
        }
        _settle(key, sender, receiver, openBlockNumber, deposit, request.closingBalance);
    }

    // ------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------

    /// @notice The key of a channel: keccak256(sender ‖ receiver ‖ uint32 openBlockNumber), packed.
    function getKey(address sender, address receiver, uint32 openBlockNumber) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(sender, receiver, openBlockNumber));
    }

    /// @notice A channel's state; reverts with `ChannelNotFound` when there is no such channel.
    /// @return key The channel key.
    /// @return deposit The tokens deposited in total.
    /// @return settleBlockNumber The last block of the challenge period, or zero without a close request.
    /// @return closingBalance The balance of the close request, or zero without one.
    /// @return withdrawnBalance The tokens the receiver already withdrew.
    function getChannelInfo(address sender, address receiver, uint32 openBlockNumber)
        external
        view
        returns (
            bytes32 key,
            uint192 deposit,
            uint32 settleBlockNumber,
            uint192 closingBalance,
            uint192 withdrawnBalance
        )
    {
        key = getKey(sender, receiver, openBlockNumber);
        deposit = _requireChannel(key).deposit;
        ClosingRequest memory request = _closingRequests[key];
        return (key, deposit, request.settleBlockNumber, request.closingBalance, _withdrawnBalances[key]);
    }

    /// @notice The key whose balance proofs a channel accepts besides the sender's (the sender itself
    /// when it delegated to no one); reverts with `ChannelNotFound` when there is no such channel.
    function getChannelSigner(address sender, address receiver, uint32 openBlockNumber)
        external
        view
        returns (address)
    {
        bytes32 key = getKey(sender, receiver, openBlockNumber);
        _requireChannel(key);
        return _signerOf(key, sender);
    }

    /// @notice The EIP-712 domain separator of this contract ("MicroTransferChannels", "1").
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The EIP-712 digest a `BalanceProof` signature signs.
    function hashBalanceProof(address sender, address receiver, uint32 openBlockNumber, uint192 balance)
        external
        view
        returns (bytes32)
    {
        return _balanceProofDigest(sender, receiver, openBlockNumber, balance);
    }

    /// @notice The EIP-712 digest a `ClosingProof` signature signs.
    function hashClosingProof(address sender, address receiver, uint32 openBlockNumber, uint192 balance)
        external
        view
        returns (bytes32)
    {
        return _closingProofDigest(sender, receiver, openBlockNumber, balance);
    }

    /// @notice The address that signed a `BalanceProof`; reverts for a malformed signature.
    /// @dev It does not check that the address may sign for the channel.
    function extractBalanceProofSignature(
        address sender,
        address receiver,
        uint32 openBlockNumber,
        uint192 balance,
        bytes calldata balanceMsgSig
    ) external view returns (address signer) {
        return _recover(_balanceProofDigest(sender, receiver, openBlockNumber, balance), balanceMsgSig);
    }

    /// @notice The address that signed a `ClosingProof`; reverts for a malformed signature.
    function extractClosingSignature(
        address sender,
        address receiver,
        uint32 openBlockNumber,
        uint192 balance,
        bytes calldata closingSig
    ) external view returns (address) {
        return _recover(_closingProofDigest(sender, receiver, openBlockNumber, balance), closingSig);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _createChannel(address sender, address receiver, uint192 deposit, address signer) internal {
        if (block.number > type(uint32).max) revert BlockNumberTooLarge(block.number);
        uint32 openBlockNumber = uint32(block.number);
        bytes32 key = getKey(sender, receiver, openBlockNumber);
        if (_channels[key].openBlockNumber != 0) revert ChannelAlreadyExists(key);

        _channels[key] = Channel({deposit: deposit, openBlockNumber: openBlockNumber});
        if (signer == address(0)) {
            signer = sender;
        } else if (signer != sender) {
            _signers[key] = signer;
        }
        emit ChannelCreated(sender, receiver, deposit, signer);
    }

    function _topUp(address sender, address receiver, uint32 openBlockNumber, uint192 addedDeposit) internal {
        if (addedDeposit == 0) revert ZeroTopUp();
        bytes32 key = getKey(sender, receiver, openBlockNumber);
        Channel storage channel = _requireChannel(key);
        uint32 settleBlockNumber = _closingRequests[key].settleBlockNumber;
        if (settleBlockNumber != 0) revert ChannelClosing(key, settleBlockNumber);
        uint256 newDeposit = uint256(channel.deposit) + addedDeposit;
        if (newDeposit > type(uint192).max) revert DepositTooLarge(newDeposit);

        // casting to 'uint192' is safe because larger values reverted above
        // forge-lint: disable-next-line(unsafe-typecast)
        channel.deposit = uint192(newDeposit);
        emit ChannelToppedUp(sender, receiver, openBlockNumber, addedDeposit);
    }

    /// @dev Pays out and deletes the channel; `balance` is at most `deposit` (checked by callers).
    function _settle(
        bytes32 key,
        address sender,
        address receiver,
        uint32 openBlockNumber,
        uint192 deposit,
        uint192 balance
    ) internal {
        uint192 withdrawn = _withdrawnBalances[key];
        if (balance < withdrawn) revert BalanceBelowWithdrawn(balance, withdrawn);
        uint192 receiverTokens = balance - withdrawn;
        uint192 senderTokens = deposit - balance;

        delete _channels[key];
        if (_closingRequests[key].settleBlockNumber != 0) delete _closingRequests[key];
        if (withdrawn != 0) delete _withdrawnBalances[key];
        if (_signers[key] != address(0)) delete _signers[key];
        emit ChannelSettled(sender, receiver, openBlockNumber, balance, receiverTokens);

        if (receiverTokens != 0) token.safeTransfer(receiver, receiverTokens);
        if (senderTokens != 0) token.safeTransfer(sender, senderTokens);
    }

    function _addTrustedContracts(address[] memory contracts) internal {
        for (uint256 i = 0; i < contracts.length; ++i) {
            address candidate = contracts[i];
            if (candidate.code.length != 0 && !trustedContracts[candidate]) {
                trustedContracts[candidate] = true;
                emit TrustedContract(candidate, true);
            }
        }
    }

    function _requireChannel(bytes32 key) internal view returns (Channel storage channel) {
        channel = _channels[key];
        if (channel.openBlockNumber == 0) revert ChannelNotFound(key);
    }

    function _signerOf(bytes32 key, address sender) internal view returns (address) {
        address signer = _signers[key];
        return signer == address(0) ? sender : signer;
    }

    function _verifyBalanceProof(
        bytes32 key,
        address sender,
        address receiver,
        uint32 openBlockNumber,
        uint192 balance,
        bytes calldata signature
    ) internal view {
        address recovered = _recover(_balanceProofDigest(sender, receiver, openBlockNumber, balance), signature);
        if (recovered != sender && recovered != _signers[key]) revert InvalidBalanceProofSigner(recovered);
    }

    function _balanceProofDigest(address sender, address receiver, uint32 openBlockNumber, uint192 balance)
        internal
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(BALANCE_PROOF_TYPEHASH, sender, receiver, openBlockNumber, balance))
        );
    }

    function _closingProofDigest(address sender, address receiver, uint32 openBlockNumber, uint192 balance)
        internal
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(CLOSING_PROOF_TYPEHASH, sender, receiver, openBlockNumber, balance))
        );
    }

    /// @dev Recovers a 65-byte r ‖ s ‖ v signature with OpenZeppelin's ECDSA (low s only); v 0/1 is
    /// normalised to 27/28 and any other v is refused, as wallets and the clients produce 27/28.
    function _recover(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) revert InvalidSignatureLength(signature.length);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 2) v += 27;
        if (v != 27 && v != 28) revert InvalidSignatureV(v);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, v, r, s);
        if (err == ECDSA.RecoverError.InvalidSignatureS) revert InvalidSignatureS(s);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
        return recovered;
    }
}
