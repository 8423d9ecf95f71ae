// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Probe
/// @notice A small fixture contract for the toolchain tests: it reverts with a custom error
///         that carries data, emits an event and keeps one value in storage, so tests can
///         check error decoding, receipts and state that survives a node restart.
contract Probe {
    /// @dev The value is above the limit the caller asked for.
    error ProbeValueTooLarge(uint256 value, uint256 limit);
    /// @dev Carries an address and a string, to test decoding of dynamic types.
    error ProbeUnauthorized(address caller, string reason);
    /// @dev The block came at or after the deadline: a revert that depends on the block time.
    error ProbeTooLate(uint256 deadline, uint256 timestamp);

    event ValueStored(address indexed by, uint256 value);

    uint256 private _value;

    /// @notice Stores `value`, reverting with ProbeValueTooLarge when it exceeds `limit`.
    function store(uint256 value, uint256 limit) external {
        if (value > limit) revert ProbeValueTooLarge(value, limit);
        _value = value;
        emit ValueStored(msg.sender, value);
    }

    /// @notice Stores `value` if the block's time is before `deadline`.
    function storeBefore(uint256 value, uint256 deadline) external {
        if (block.timestamp >= deadline) revert ProbeTooLate(deadline, block.timestamp);
        _value = value;
    }

    /// @notice Always reverts with ProbeUnauthorized naming the caller.
    function forbidden() external view {
        revert ProbeUnauthorized(msg.sender, "forbidden");
    }

    /// @notice Reverts with a plain string reason, as `require` does.
    function failWithReason() external pure {
        require(false, "plain reason");
    }

    /// @notice The stored value.
    function value() external view returns (uint256) {
        return _value;
    }
}
