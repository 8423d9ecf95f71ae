// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title StorageReveal
/// @notice A benchmark fixture: the design DeML rejects, keeping revealed model bytes in
///         contract storage, so the gas report can show what calldata saves.
contract StorageReveal {
    mapping(uint256 id => bytes model) private _models;

    /// @notice Store `model` under `id`.
    function reveal(uint256 id, bytes calldata model) external {
        _models[id] = model;
    }
}
