// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {CustomToken} from "../src/CustomToken.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @dev A contract that does not implement `tokenFallback`.
contract NotAReceiver {}

/// @notice The demo token: supply, decimals, EIP-2612, ERC223 transfer, faucet and owner functions.
contract CustomTokenTest is Test {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    CustomToken internal token;
    address internal owner;
    address internal alice;
    uint256 internal aliceKey;
    address internal bob;

    function setUp() public {
        owner = makeAddr("owner");
        (alice, aliceKey) = makeAddrAndKey("alice");
        bob = makeAddr("bob");
        vm.prank(owner);
        token = new CustomToken(1_000, 6, "Demo Token", "DEMO");
    }

    function test_Constructor_MintsSupplyInBaseUnitsToDeployer() public view {
        assertEq(token.totalSupply(), 1_000e6);
        assertEq(token.balanceOf(owner), 1_000e6);
        assertEq(uint256(token.decimals()), 6);
        assertEq(token.name(), "Demo Token");
        assertEq(token.symbol(), "DEMO");
        assertEq(token.owner(), owner);
    }

    function test_Permit_SetsAllowance() public {
        uint256 deadline = block.timestamp + 1;
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, 123, token.nonces(alice), deadline));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(aliceKey, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
        token.permit(alice, bob, 123, deadline, v, r, s);
        assertEq(token.allowance(alice, bob), 123);
        assertEq(token.nonces(alice), 1);

        (, string memory name, string memory version,, address verifyingContract,,) = token.eip712Domain();
        assertEq(name, "Demo Token");
        assertEq(version, "1");
        assertEq(verifyingContract, address(token));
    }

    function test_Erc223Transfer_ToEoaWithoutCallback() public {
        vm.prank(owner);
        assertTrue(token.transfer(alice, 5e6, hex"deadbeef"));
        assertEq(token.balanceOf(alice), 5e6);
    }

    function test_RevertWhen_Erc223TransferToContractWithoutFallback() public {
        address target = address(new NotAReceiver());
        vm.prank(owner);
        vm.expectRevert();
        token.transfer(target, 5e6, "");
    }

    function test_Mint_GivesFiftyTokensPerTenthOfEther() public {
        vm.deal(alice, 2 ether);
        vm.startPrank(alice);
        token.mint{value: 0.1 ether}();
        assertEq(token.balanceOf(alice), 50e6);
        token.mint{value: 1 ether}();
        assertEq(token.balanceOf(alice), 550e6);
        vm.stopPrank();
        assertEq(address(token).balance, 1.1 ether);
    }

    function testFuzz_Mint_IsProportional(uint256 value) public {
        value = bound(value, 1 ether / 500e6, 1_000 ether);
        vm.deal(alice, value);
        vm.prank(alice);
        token.mint{value: value}();
        assertEq(token.balanceOf(alice), value * 500e6 / 1 ether);
    }

    function test_RevertWhen_MintWithoutEther() public {
        vm.prank(alice);
        vm.expectRevert(CustomToken.ZeroMint.selector);
        token.mint();
    }

    function test_OwnerMint() public {
        vm.prank(owner);
        token.ownerMint(alice, 7);
        assertEq(token.balanceOf(alice), 7);
        assertEq(token.totalSupply(), 1_000e6 + 7);
    }

    function test_RevertWhen_OwnerMintByNonOwner() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        token.ownerMint(alice, 7);
    }

    function test_TransferFunds_SendsEtherToOwner() public {
        vm.deal(alice, 1 ether);
        vm.prank(alice);
        token.mint{value: 1 ether}();

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        token.transferFunds();

        vm.prank(owner);
        token.transferFunds();
        assertEq(owner.balance, 1 ether);
        assertEq(address(token).balance, 0);
    }
}
