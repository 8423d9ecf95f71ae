// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

interface IInitialize {
    function initialize() external payable;
}

/// @title CloneMaker
/// @notice A test fixture: makes a competition clone with arbitrary immutable arguments and
///         initializes it with any value, as someone bypassing the factory could.
contract CloneMaker {
    /// @notice Clone `implementation` with `args` and initialize it with `msg.value`.
    function make(address implementation, bytes calldata args) external payable returns (address clone) {
        clone = Clones.cloneWithImmutableArgs(implementation, args);
        IInitialize(clone).initialize{value: msg.value}();
    }
}
