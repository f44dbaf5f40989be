// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice A minimal test base for forge (forge-std cannot be installed offline): the cheatcode
/// handle, assertions that revert with a readable message, `bound`, named keys, and the target
/// lists forge reads from invariant test contracts.
abstract contract Test {
    /// @dev What forge's invariant runner reads from `targetSelectors()`.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice Marks this contract as a test contract for tools that look for it.
    bool public IS_TEST = true;

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;
    address[] private _excludeSenders;

    // ------------------------------------------------------------------------------------------
    // Assertions (each reverts, which forge reports as the test's failure reason)
    // ------------------------------------------------------------------------------------------

    /// @notice Always false: assertions here revert instead of recording a failure.
    function failed() public pure returns (bool) {
        return false;
    }

    function fail(string memory message) internal pure {
        revert(message);
    }

    function assertTrue(bool condition) internal pure {
        if (!condition) fail("assertTrue failed");
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) fail(string.concat("assertTrue failed: ", message));
    }

    function assertFalse(bool condition) internal pure {
        if (condition) fail("assertFalse failed");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) fail(string.concat("assertFalse failed: ", message));
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(uint256 left, uint256 right, string memory message) internal pure {
        if (left != right) {
            fail(_describe("assertEq(uint256)", vm.toString(left), vm.toString(right), message));
        }
    }

    function assertEq(address left, address right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(address left, address right, string memory message) internal pure {
        if (left != right) {
            fail(_describe("assertEq(address)", vm.toString(left), vm.toString(right), message));
        }
    }

    function assertEq(bytes32 left, bytes32 right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes32 left, bytes32 right, string memory message) internal pure {
        if (left != right) {
            fail(_describe("assertEq(bytes32)", vm.toString(left), vm.toString(right), message));
        }
    }

    function assertEq(bool left, bool right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bool left, bool right, string memory message) internal pure {
        if (left != right) {
            fail(_describe("assertEq(bool)", left ? "true" : "false", right ? "true" : "false", message));
        }
    }

    function assertEq(string memory left, string memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(string memory left, string memory right, string memory message) internal pure {
        if (keccak256(bytes(left)) != keccak256(bytes(right))) {
            fail(_describe("assertEq(string)", left, right, message));
        }
    }

    function assertEq(bytes memory left, bytes memory right) internal pure {
        assertEq(left, right, "");
    }

    function assertEq(bytes memory left, bytes memory right, string memory message) internal pure {
        if (keccak256(left) != keccak256(right)) {
            fail(_describe("assertEq(bytes)", vm.toString(left), vm.toString(right), message));
        }
    }

    function assertNotEq(address left, address right, string memory message) internal pure {
        if (left == right) fail(_describe("assertNotEq(address)", vm.toString(left), vm.toString(right), message));
    }

    function assertGt(uint256 left, uint256 right, string memory message) internal pure {
        if (left <= right) fail(_describe("assertGt(uint256)", vm.toString(left), vm.toString(right), message));
    }

    function assertGe(uint256 left, uint256 right, string memory message) internal pure {
        if (left < right) fail(_describe("assertGe(uint256)", vm.toString(left), vm.toString(right), message));
    }

    function assertLt(uint256 left, uint256 right, string memory message) internal pure {
        if (left >= right) fail(_describe("assertLt(uint256)", vm.toString(left), vm.toString(right), message));
    }

    function assertLe(uint256 left, uint256 right, string memory message) internal pure {
        if (left > right) fail(_describe("assertLe(uint256)", vm.toString(left), vm.toString(right), message));
    }

    function _describe(string memory what, string memory left, string memory right, string memory message)
        private
        pure
        returns (string memory)
    {
        string memory text = string.concat(what, " failed: left ", left, ", right ", right);
        return bytes(message).length == 0 ? text : string.concat(text, " (", message, ")");
    }

    // ------------------------------------------------------------------------------------------
    // Fuzzing helpers
    // ------------------------------------------------------------------------------------------

    /// @notice Maps `x` into [min, max], keeping values already in range (so the fuzzer's edge
    /// cases survive) and wrapping the others.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1; // cannot overflow: the full range returned above
        return min + x % size;
    }

    /// @notice A deterministic private key and its address for `name`, labelled in traces.
    function makeAddrAndKey(string memory name) internal returns (address account, uint256 privateKey) {
        privateKey = uint256(keccak256(bytes(name)));
        account = vm.addr(privateKey);
        vm.label(account, name);
    }

    /// @notice A deterministic address for `name`, labelled in traces.
    function makeAddr(string memory name) internal returns (address account) {
        (account,) = makeAddrAndKey(name);
    }

    // ------------------------------------------------------------------------------------------
    // Invariant targets (read by forge's invariant runner)
    // ------------------------------------------------------------------------------------------

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    function excludeSender(address sender) internal {
        _excludeSenders.push(sender);
    }

    /// @notice Contracts the invariant runner calls.
    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    /// @notice Functions of the target contracts the invariant runner calls.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    /// @notice Addresses the invariant runner never uses as `msg.sender`.
    function excludeSenders() public view returns (address[] memory) {
        return _excludeSenders;
    }
}
