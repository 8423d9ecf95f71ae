// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Actor
/// @notice A test fixture: a contract account that plays a role in a competition (competitor,
///         miner or host) through `exec`, and misbehaves when paid, as an attacker would.
contract Actor {
    enum Mode {
        Accept, // take the ether
        Reenter, // call back into the payer's claim() before returning
        Revert, // refuse the ether
        BurnGas // spin until the call runs out of gas
    }

    Mode public mode;
    address public target;
    uint256 public received;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;
    bytes public reentryError;

    /// @notice Choose how to behave when paid, and whose claim() to re-enter.
    function setMode(Mode newMode, address newTarget) external {
        mode = newMode;
        target = newTarget;
    }

    /// @notice Call `to` with `data` and `msg.value`, as this contract; bubble up any revert.
    function exec(address to, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory result) = to.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        return result;
    }

    receive() external payable {
        if (mode == Mode.Revert) revert("Actor: no ether accepted");
        if (mode == Mode.BurnGas) {
            while (true) {}
        }
        received += msg.value;
        if (mode == Mode.Reenter && reentryAttempts == 0) {
            reentryAttempts += 1;
            (bool ok, bytes memory err) = target.call(abi.encodeWithSignature("claim()"));
            reentrySucceeded = ok;
            reentryError = err;
        }
    }
}
