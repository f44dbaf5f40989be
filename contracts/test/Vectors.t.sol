// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {CustomToken} from "../src/CustomToken.sol";
import {RaidenMicroTransferChannels} from "../src/RaidenMicroTransferChannels.sol";

/// @notice Checks the contract against the shared EIP-712 known-answer vectors
/// (`tests/vectors/eip712.json`, generated independently with viem), which the Rust crate and the
/// wasm client check too. Each case's `typedData` (the JSON a wallet signs with
/// `eth_signTypedData_v4`) is hashed by forge's own EIP-712 implementation and by the contract.
contract VectorsTest is Test {
    string internal constant VECTORS = "../tests/vectors/eip712.json";

    /// @dev anvil's account 0 (from its public development mnemonic): it deploys the token at nonce
    /// 0 and the channel manager at nonce 1, which gives the vectors' `verifyingContract`.
    uint256 internal constant ANVIL_ACCOUNT0_KEY = 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80;

    string internal json;
    RaidenMicroTransferChannels internal manager;

    function setUp() public {
        json = vm.readFile(VECTORS);

        vm.chainId(vm.parseJsonUint(json, ".domain.chainId"));
        address deployer = vm.addr(ANVIL_ACCOUNT0_KEY);
        vm.setNonce(deployer, 0);
        vm.prank(deployer);
        CustomToken token = new CustomToken(1_000, 18, "CustomToken", "TKN");
        vm.prank(deployer);
        manager = new RaidenMicroTransferChannels(address(token), 500, new address[](0));
    }

    function test_Vectors_Domain() public view {
        assertEq(address(manager), vm.parseJsonAddress(json, ".domain.verifyingContract"), "verifyingContract");
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            manager.eip712Domain();
        assertEq(name, vm.parseJsonString(json, ".domain.name"), "name");
        assertEq(version, vm.parseJsonString(json, ".domain.version"), "version");
        assertEq(chainId, vm.parseJsonUint(json, ".domain.chainId"), "chainId");
        assertEq(verifyingContract, address(manager), "eip712Domain verifyingContract");
        assertEq(manager.domainSeparator(), vm.parseJsonBytes32(json, ".domainSeparator"), "domainSeparator");
        assertEq(manager.BALANCE_PROOF_TYPEHASH(), vm.parseJsonBytes32(json, ".typeHashes.BalanceProof"));
        assertEq(manager.CLOSING_PROOF_TYPEHASH(), vm.parseJsonBytes32(json, ".typeHashes.ClosingProof"));
    }

    function test_Vectors_Cases() public view {
        string[] memory typedData = _extractAll(json, '"typedData"');
        assertGt(typedData.length, 0, "the vector file has cases");

        for (uint256 i = 0; i < typedData.length; ++i) {
            string memory path = string.concat(".cases[", vm.toString(i), "]");
            assertTrue(vm.keyExistsJson(json, path), "one typedData per case");
            _checkCase(path, typedData[i]);
        }
        assertFalse(
            vm.keyExistsJson(json, string.concat(".cases[", vm.toString(typedData.length), "]")),
            "one typedData per case"
        );
    }

    /// @dev One vector case, as read from the file.
    struct Case {
        string name;
        bool isBalanceProof;
        address from;
        address to;
        uint32 openBlockNumber;
        uint192 balance;
        address signer;
        uint256 privateKey;
        bytes32 structHash;
        bytes32 digest;
        bytes signature;
    }

    function _readCase(string memory path, string memory typedData) internal view returns (Case memory c) {
        c.name = vm.parseJsonString(json, string.concat(path, ".name"));
        string memory primaryType = vm.parseJsonString(json, string.concat(path, ".primaryType"));
        c.isBalanceProof = keccak256(bytes(primaryType)) == keccak256("BalanceProof");
        assertTrue(c.isBalanceProof || keccak256(bytes(primaryType)) == keccak256("ClosingProof"), c.name);
        c.from = vm.parseJsonAddress(json, string.concat(path, ".message.sender"));
        c.to = vm.parseJsonAddress(json, string.concat(path, ".message.receiver"));
        uint256 openBlockNumber = vm.parseJsonUint(json, string.concat(path, ".message.openBlockNumber"));
        uint256 balance = vm.parseJsonUint(json, string.concat(path, ".message.balance"));
        assertLe(openBlockNumber, type(uint32).max, c.name);
        assertLe(balance, type(uint192).max, c.name);
        // forge-lint: disable-next-line(unsafe-typecast)
        (c.openBlockNumber, c.balance) = (uint32(openBlockNumber), uint192(balance));
        c.signer = vm.parseJsonAddress(json, string.concat(path, ".signer"));
        c.privateKey = uint256(vm.parseJsonBytes32(json, string.concat(path, ".privateKey")));
        c.structHash = vm.parseJsonBytes32(json, string.concat(path, ".structHash"));
        c.digest = vm.parseJsonBytes32(json, string.concat(path, ".digest"));
        c.signature = vm.parseJsonBytes(json, string.concat(path, ".signature"));

        // The typed-data JSON found by the scanner belongs to this case.
        assertEq(vm.parseJsonString(typedData, ".primaryType"), primaryType, c.name);
        assertEq(vm.parseJsonAddress(typedData, ".message.sender"), c.from, c.name);
        assertEq(vm.parseJsonAddress(typedData, ".message.receiver"), c.to, c.name);
        assertEq(vm.parseJsonUint(typedData, ".message.openBlockNumber"), openBlockNumber, c.name);
        assertEq(vm.parseJsonUint(typedData, ".message.balance"), balance, c.name);
    }

    function _checkCase(string memory path, string memory typedData) internal view {
        Case memory c = _readCase(path, typedData);

        // forge's EIP-712 implementation agrees with the vector.
        assertEq(vm.eip712HashTypedData(typedData), c.digest, string.concat(c.name, ": eip712HashTypedData"));

        // The contract agrees with the vector.
        bytes32 typeHash = c.isBalanceProof ? manager.BALANCE_PROOF_TYPEHASH() : manager.CLOSING_PROOF_TYPEHASH();
        bytes32 structHash = keccak256(abi.encode(typeHash, c.from, c.to, c.openBlockNumber, c.balance));
        assertEq(structHash, c.structHash, string.concat(c.name, ": structHash"));

        bytes32 contractDigest = c.isBalanceProof
            ? manager.hashBalanceProof(c.from, c.to, c.openBlockNumber, c.balance)
            : manager.hashClosingProof(c.from, c.to, c.openBlockNumber, c.balance);
        assertEq(contractDigest, c.digest, string.concat(c.name, ": contract digest"));

        address recovered = c.isBalanceProof
            ? manager.extractBalanceProofSignature(c.from, c.to, c.openBlockNumber, c.balance, c.signature)
            : manager.extractClosingSignature(c.from, c.to, c.openBlockNumber, c.balance, c.signature);
        assertEq(recovered, c.signer, string.concat(c.name, ": recovered signer"));

        // The key, the signer and the (RFC 6979, deterministic) signature belong together.
        assertEq(vm.addr(c.privateKey), c.signer, c.name);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(c.privateKey, c.digest);
        assertEq(abi.encodePacked(r, s, v), c.signature, string.concat(c.name, ": signature"));
    }

    // ------------------------------------------------------------------------------------------
    // Raw JSON extraction
    // ------------------------------------------------------------------------------------------

    /// @dev forge's JSON cheatcodes return values, not raw JSON text, but `eip712HashTypedData` takes
    /// text: return, in order, the raw text of every object that follows `key:` in `source`. A
    /// small scanner that matches braces and skips string literals (with escapes).
    function _extractAll(string memory source, string memory key) internal pure returns (string[] memory found) {
        bytes memory text = bytes(source);
        bytes memory needle = bytes(key);
        string[] memory buffer = new string[](64);
        uint256 count;
        uint256 i;
        while (true) {
            uint256 at = _indexOf(text, needle, i);
            if (at == type(uint256).max) break;
            uint256 start = at + needle.length;
            while (start < text.length && text[start] != "{") ++start;
            uint256 end = _matchingBrace(text, start);
            require(count < buffer.length, "too many cases");
            buffer[count++] = _slice(text, start, end + 1);
            i = end + 1;
        }
        found = new string[](count);
        for (uint256 k = 0; k < count; ++k) {
            found[k] = buffer[k];
        }
    }

    function _indexOf(bytes memory text, bytes memory needle, uint256 from) internal pure returns (uint256) {
        if (text.length < needle.length) return type(uint256).max;
        for (uint256 i = from; i + needle.length <= text.length; ++i) {
            uint256 j = 0;
            while (j < needle.length && text[i + j] == needle[j]) ++j;
            if (j == needle.length) return i;
        }
        return type(uint256).max;
    }

    function _matchingBrace(bytes memory text, uint256 open) internal pure returns (uint256) {
        require(open < text.length && text[open] == "{", "no object after key");
        uint256 depth;
        bool inString;
        for (uint256 i = open; i < text.length; ++i) {
            bytes1 c = text[i];
            if (inString) {
                if (c == "\\") ++i;
                else if (c == '"') inString = false;
            } else if (c == '"') {
                inString = true;
            } else if (c == "{") {
                ++depth;
            } else if (c == "}") {
                if (--depth == 0) return i;
            }
        }
        revert("unbalanced JSON");
    }

    function _slice(bytes memory text, uint256 start, uint256 end) internal pure returns (string memory) {
        bytes memory out = new bytes(end - start);
        for (uint256 i = 0; i < out.length; ++i) {
            out[i] = text[start + i];
        }
        return string(out);
    }
}
