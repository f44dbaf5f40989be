// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {CustomToken} from "../../src/CustomToken.sol";
import {RaidenMicroTransferChannels} from "../../src/RaidenMicroTransferChannels.sol";
import {ChannelFunder} from "../utils/ChannelFunder.sol";

/// @notice Drives the channel manager for the invariant tests: senders open and top up channels
/// (ERC20 and ERC223, some with a delegated signer), a trusted contract opens and tops up channels
/// for them (delegate functions and ERC223), an attacker (or another sender) tries ERC223 openings
/// and top-ups in a sender's name, senders pay off-chain by signing proofs, close cooperatively or
/// uncooperatively (sometimes claiming less than they signed), receivers withdraw and dispute,
/// senders settle. It keeps a model of every channel and of every actor's expected token balance
/// (ghost state) so the invariants can compare the contract with it.
/// @dev Every action checks its preconditions and returns early when they do not hold, so the
/// invariant run can use `fail_on_revert = true`: any revert is a bug.
contract ChannelsHandler is Test {
    struct Actor {
        address account;
        uint256 key;
    }

    struct ModelChannel {
        address sender;
        address receiver;
        uint32 openBlockNumber;
        uint256 proofKey; // the key that signs this channel's balance proofs (sender's or delegate's)
        uint192 deposit;
        uint192 withdrawn;
        uint192 proven; // the highest balance the sender signed
        bool closing;
        uint192 claimed; // the balance of the uncooperative close request
        uint32 settleBlockNumber;
    }

    uint256 internal constant FUNDING = 1e30;
    uint256 internal constant MAX_AMOUNT = 1e24;
    uint32 internal immutable challengePeriod;

    RaidenMicroTransferChannels public immutable manager;
    CustomToken public immutable token;

    Actor[] internal senders;
    Actor[] internal delegates; // delegates[i] may sign for senders[i]
    Actor[] internal receivers;
    address public immutable attacker;
    ChannelFunder public immutable funder;
    address[] public actors;

    ModelChannel[] internal live;

    /// @notice The token balance each actor should have according to the model.
    mapping(address actor => uint256 balance) public expectedBalance;
    /// @notice Per receiver: the tokens the proofs they held (or the senders' own claims) entitle them to.
    mapping(address receiver => uint256 allowance) public receiverAllowance;
    /// @notice Per receiver: the tokens actually paid to them.
    mapping(address receiver => uint256 paid) public receiverPaid;

    uint256 public ghostDeposited;
    uint256 public ghostPaidOut;
    /// @notice Channels opened, and tokens deposited, by an ERC223 transfer that named a sender other
    /// than the account the tokens came from (and was no trusted contract). Must stay zero.
    uint256 public ghostForeignOpenings;
    uint256 public ghostForeignDeposits;
    mapping(bytes4 action => uint256 count) public calls;

    /// @param funder_ A contract the manager trusts, funded by `fundAccounts`.
    constructor(RaidenMicroTransferChannels manager_, CustomToken token_, ChannelFunder funder_) {
        manager = manager_;
        token = token_;
        funder = funder_;
        challengePeriod = manager_.challengePeriod();
        attacker = makeAddr("attacker");
        actors.push(attacker);
        actors.push(address(funder_));
        for (uint256 i = 0; i < 3; ++i) {
            (address s, uint256 sk) = makeAddrAndKey(string.concat("sender", vm.toString(i)));
            (address d, uint256 dk) = makeAddrAndKey(string.concat("delegate", vm.toString(i)));
            senders.push(Actor(s, sk));
            delegates.push(Actor(d, dk));
            actors.push(s);
        }
        for (uint256 i = 0; i < 2; ++i) {
            (address r, uint256 rk) = makeAddrAndKey(string.concat("receiver", vm.toString(i)));
            receivers.push(Actor(r, rk));
            actors.push(r);
        }
    }

    /// @notice Hands `FUNDING` tokens (sent to this handler beforehand) to each sender, who
    /// approves the manager, to the attacker and to the trusted funder. Called once by the test's
    /// setUp, not by the fuzzer.
    function fundAccounts() external {
        for (uint256 i = 0; i < senders.length; ++i) {
            address s = senders[i].account;
            token.transfer(s, FUNDING);
            expectedBalance[s] = FUNDING;
            vm.prank(s);
            token.approve(address(manager), type(uint256).max);
        }
        token.transfer(attacker, FUNDING);
        expectedBalance[attacker] = FUNDING;
        token.transfer(address(funder), FUNDING);
        expectedBalance[address(funder)] = FUNDING;
    }

    // ------------------------------------------------------------------------------------------
    // Views for the invariants
    // ------------------------------------------------------------------------------------------

    function liveCount() external view returns (uint256) {
        return live.length;
    }

    function liveChannel(uint256 i) external view returns (address, address, uint32) {
        ModelChannel storage c = live[i];
        return (c.sender, c.receiver, c.openBlockNumber);
    }

    /// @notice The deposit and signer the model expects of live channel `i`: only its sender's and
    /// the trusted funder's deposits, and the signer its sender chose.
    function liveFunding(uint256 i) external view returns (uint192 deposit, address signer) {
        ModelChannel storage c = live[i];
        return (c.deposit, vm.addr(c.proofKey));
    }

    /// @notice Σ over live channels of deposit − withdrawn, from the model.
    function modelEscrow() external view returns (uint256 total) {
        for (uint256 i = 0; i < live.length; ++i) {
            total += live[i].deposit - live[i].withdrawn;
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function receiverAt(uint256 i) external view returns (address) {
        return receivers[i].account;
    }

    function receiverCount() external view returns (uint256) {
        return receivers.length;
    }

    // ------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------

    function open(uint256 senderSeed, uint256 receiverSeed, uint256 deposit, bool withSigner, bool viaErc223) external {
        calls[this.open.selector]++;
        vm.roll(block.number + 1); // one channel per pair and block
        uint256 si = senderSeed % senders.length;
        Actor memory s = senders[si];
        Actor memory r = receivers[receiverSeed % receivers.length];
        uint192 amount = uint192(bound(deposit, 0, MAX_AMOUNT));
        address signer = withSigner ? delegates[si].account : address(0);

        vm.prank(s.account);
        if (viaErc223) {
            token.transfer(address(manager), amount, _creationData(s.account, r.account, signer));
        } else {
            manager.createChannelWithSigner(r.account, amount, signer);
        }
        _opened(si, r.account, withSigner, amount, s.account);
    }

    /// @notice The trusted funder opens a channel for a sender with its own tokens (delegate function
    /// or ERC223; a signer only through ERC223, the delegate function has none).
    function openByTrusted(uint256 senderSeed, uint256 receiverSeed, uint256 deposit, bool withSigner, bool viaErc223)
        external
    {
        calls[this.openByTrusted.selector]++;
        vm.roll(block.number + 1);
        uint256 si = senderSeed % senders.length;
        address s = senders[si].account;
        address r = receivers[receiverSeed % receivers.length].account;
        uint192 amount = uint192(bound(deposit, 0, MAX_AMOUNT));
        withSigner = withSigner && viaErc223;

        if (viaErc223) {
            funder.transferWithData(amount, _creationData(s, r, withSigner ? delegates[si].account : address(0)));
        } else {
            funder.open(s, r, amount);
        }
        _opened(si, r, withSigner, amount, address(funder));
    }

    /// @notice Someone other than the sender (the attacker or another sender) tries to open a channel
    /// in the sender's name through ERC223, with a signer of its own, then the sender opens its own
    /// channel in the same block (the front-run). The attempt must revert; if it did not, the
    /// opening is counted as foreign (and the sender's own opening then reverts).
    function openInAnotherName(
        uint256 fromSeed,
        uint256 senderSeed,
        uint256 receiverSeed,
        uint256 deposit,
        bool withSigner,
        bool senderOpensToo
    ) external {
        calls[this.openInAnotherName.selector]++;
        vm.roll(block.number + 1);
        uint256 si = senderSeed % senders.length;
        address s = senders[si].account;
        address from = _otherThan(s, fromSeed);
        address r = receivers[receiverSeed % receivers.length].account;
        uint192 amount = uint192(bound(deposit, 0, MAX_AMOUNT));

        vm.prank(from);
        try token.transfer(address(manager), amount, _creationData(s, r, withSigner ? from : address(0))) {
            ghostForeignOpenings++;
            ghostForeignDeposits += amount;
            return;
        } catch (bytes memory reason) {
            _requireSenderMismatch(reason, from, s);
        }
        if (senderOpensToo) {
            vm.prank(s);
            manager.createChannel(r, 0);
            _opened(si, r, false, 0, s);
        }
    }

    function topUp(uint256 channelSeed, uint256 added, bool viaErc223) external {
        if (live.length == 0) return;
        ModelChannel storage c = live[channelSeed % live.length];
        if (c.closing) return;
        calls[this.topUp.selector]++;
        uint192 amount = uint192(bound(added, 1, MAX_AMOUNT));

        vm.prank(c.sender);
        if (viaErc223) {
            token.transfer(address(manager), amount, _topUpData(c));
        } else {
            manager.topUp(c.receiver, c.openBlockNumber, amount);
        }
        _deposited(c, amount, c.sender);
    }

    function topUpByTrusted(uint256 channelSeed, uint256 added, bool viaErc223) external {
        if (live.length == 0) return;
        ModelChannel storage c = live[channelSeed % live.length];
        if (c.closing) return;
        calls[this.topUpByTrusted.selector]++;
        uint192 amount = uint192(bound(added, 1, MAX_AMOUNT));

        if (viaErc223) {
            funder.transferWithData(amount, _topUpData(c));
        } else {
            funder.topUp(c.sender, c.receiver, c.openBlockNumber, amount);
        }
        _deposited(c, amount, address(funder));
    }

    /// @notice Someone other than the sender tries an ERC223 top-up of the sender's channel: it must
    /// revert; if it did not, the tokens are counted as a foreign deposit.
    function topUpInAnotherName(uint256 fromSeed, uint256 channelSeed, uint256 added) external {
        if (live.length == 0) return;
        ModelChannel storage c = live[channelSeed % live.length];
        calls[this.topUpInAnotherName.selector]++;
        address from = _otherThan(c.sender, fromSeed);
        uint192 amount = uint192(bound(added, 1, MAX_AMOUNT));

        vm.prank(from);
        try token.transfer(address(manager), amount, _topUpData(c)) {
            ghostForeignDeposits += amount;
        } catch (bytes memory reason) {
            _requireSenderMismatch(reason, from, c.sender);
        }
    }

    /// @notice An off-chain payment: the sender signs a higher balance (no transaction).
    function pay(uint256 channelSeed, uint256 amount) external {
        if (live.length == 0) return;
        ModelChannel storage c = live[channelSeed % live.length];
        if (c.proven == c.deposit) return;
        calls[this.pay.selector]++;
        uint192 increment = uint192(bound(amount, 1, c.deposit - c.proven));
        c.proven += increment;
        receiverAllowance[c.receiver] += increment;
    }

    function withdraw(uint256 channelSeed) external {
        if (live.length == 0) return;
        ModelChannel storage c = live[channelSeed % live.length];
        if (c.closing || c.proven <= c.withdrawn) return;
        calls[this.withdraw.selector]++;

        bytes memory sig =
            _sign(c.proofKey, manager.hashBalanceProof(c.sender, c.receiver, c.openBlockNumber, c.proven));
        vm.prank(c.receiver);
        manager.withdraw(c.sender, c.openBlockNumber, c.proven, sig);

        _pay(c.receiver, c.proven - c.withdrawn);
        c.withdrawn = c.proven;
    }

    /// @notice Cooperative close with the last proof; during a challenge period this is the dispute.
    function cooperativeClose(uint256 channelSeed, uint256 callerSeed) external {
        if (live.length == 0) return;
        uint256 index = channelSeed % live.length;
        ModelChannel memory c = live[index];
        calls[this.cooperativeClose.selector]++;

        bytes memory balanceSig =
            _sign(c.proofKey, manager.hashBalanceProof(c.sender, c.receiver, c.openBlockNumber, c.proven));
        bytes memory closingSig = _sign(
            _receiverKey(c.receiver), manager.hashClosingProof(c.sender, c.receiver, c.openBlockNumber, c.proven)
        );
        vm.prank(actors[callerSeed % actors.length]);
        manager.cooperativeClose(c.sender, c.receiver, c.openBlockNumber, c.proven, balanceSig, closingSig);

        _pay(c.receiver, c.proven - c.withdrawn);
        _pay(c.sender, c.deposit - c.proven);
        _remove(index);
    }

    /// @notice The sender requests a close claiming any balance from what was withdrawn to the deposit:
    /// below the last proof (cheating) or above it (generous).
    function uncooperativeClose(uint256 channelSeed, uint256 claimedSeed) external {
        if (live.length == 0) return;
        ModelChannel storage c = live[channelSeed % live.length];
        if (c.closing) return;
        calls[this.uncooperativeClose.selector]++;
        uint192 claimed = uint192(bound(claimedSeed, c.withdrawn, c.deposit));

        vm.prank(c.sender);
        manager.uncooperativeClose(c.receiver, c.openBlockNumber, claimed);

        c.closing = true;
        c.claimed = claimed;
        c.settleBlockNumber = uint32(block.number) + challengePeriod;
        // A sender's own claim above its last proof entitles the receiver to the difference.
        if (claimed > c.proven) receiverAllowance[c.receiver] += claimed - c.proven;
    }

    function settle(uint256 channelSeed) external {
        if (live.length == 0) return;
        uint256 index = channelSeed % live.length;
        ModelChannel memory c = live[index];
        if (!c.closing) return;
        calls[this.settle.selector]++;
        if (block.number <= c.settleBlockNumber) vm.roll(uint256(c.settleBlockNumber) + 1);

        vm.prank(c.sender);
        manager.settle(c.receiver, c.openBlockNumber);

        _pay(c.receiver, c.claimed - c.withdrawn);
        _pay(c.sender, c.deposit - c.claimed);
        _remove(index);
    }

    // ------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------

    function _creationData(address sender, address receiver, address signer) internal pure returns (bytes memory) {
        return signer == address(0) ? abi.encodePacked(sender, receiver) : abi.encodePacked(sender, receiver, signer);
    }

    function _topUpData(ModelChannel storage c) internal view returns (bytes memory) {
        return abi.encodePacked(c.sender, c.receiver, c.openBlockNumber);
    }

    /// @dev Adds the channel senders[si] → receiver opened in this block to the model, funded by `payer`.
    function _opened(uint256 si, address receiver, bool withSigner, uint192 amount, address payer) internal {
        live.push(
            ModelChannel({
                sender: senders[si].account,
                receiver: receiver,
                openBlockNumber: uint32(block.number),
                proofKey: withSigner ? delegates[si].key : senders[si].key,
                deposit: amount,
                withdrawn: 0,
                proven: 0,
                closing: false,
                claimed: 0,
                settleBlockNumber: 0
            })
        );
        expectedBalance[payer] -= amount;
        ghostDeposited += amount;
    }

    function _deposited(ModelChannel storage c, uint192 amount, address payer) internal {
        c.deposit += amount;
        expectedBalance[payer] -= amount;
        ghostDeposited += amount;
    }

    /// @dev The attacker or a sender other than `sender`, picked by `seed`.
    function _otherThan(address sender, uint256 seed) internal view returns (address) {
        uint256 pick = seed % (senders.length + 1);
        if (pick == senders.length || senders[pick].account == sender) return attacker;
        return senders[pick].account;
    }

    /// @dev Any revert but the refusal of a foreign sender is a bug.
    function _requireSenderMismatch(bytes memory reason, address from, address sender) internal pure {
        bytes memory expected =
            abi.encodeWithSelector(RaidenMicroTransferChannels.TokenSenderMismatch.selector, from, sender);
        if (keccak256(reason) != keccak256(expected)) {
            assembly {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    function _pay(address to, uint256 amount) internal {
        expectedBalance[to] += amount;
        ghostPaidOut += amount;
        if (_isReceiver(to)) receiverPaid[to] += amount;
    }

    function _remove(uint256 index) internal {
        live[index] = live[live.length - 1];
        live.pop();
    }

    function _isReceiver(address account) internal view returns (bool) {
        for (uint256 i = 0; i < receivers.length; ++i) {
            if (receivers[i].account == account) return true;
        }
        return false;
    }

    function _receiverKey(address account) internal view returns (uint256) {
        for (uint256 i = 0; i < receivers.length; ++i) {
            if (receivers[i].account == account) return receivers[i].key;
        }
        revert("unknown receiver");
    }

    function _sign(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }
}
