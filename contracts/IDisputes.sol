// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IDisputes
/// @notice What a competition asks the factory's dispute contract (contracts/Disputes.sol).
interface IDisputes {
    /// @notice Whether round `round` of `competition` may settle on its decided root: its
    ///         winning vector is published with every bitmap, and no challenge is open.
    function cleared(address competition, uint256 round) external view returns (bool);
}
