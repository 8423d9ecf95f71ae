// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ForceSend
/// @notice A test fixture: forces ether into `target` with selfdestruct, which no receive()
///         can refuse (since Cancun it still sends the balance when created and destroyed in
///         one transaction).
contract ForceSend {
    constructor(address payable target) payable {
        selfdestruct(target);
    }
}
