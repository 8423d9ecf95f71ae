// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ICompetition} from "../ICompetition.sol";
import {ScoreTree} from "../ScoreTree.sol";

/// @title SampleCheck
/// @notice A fixture for the tests of the test-samples root: it checks one sample against the
///         root a competition committed at creation, as the dispute contract will (leaf:
///         keccak256(uint32 index ++ uint32 label ++ big-endian float32 features)).
contract SampleCheck {
    function isTestSample(
        ICompetition competition,
        uint256 index,
        uint32 label,
        bytes calldata features,
        bytes32[] calldata proof
    ) external view returns (bool) {
        ICompetition.Params memory p = IParams(address(competition)).params();
        bytes32 leaf = keccak256(abi.encodePacked(uint32(index), label, features));
        return ScoreTree.verifyLeaf(p.samplesRoot, p.testSetSize, index, leaf, proof);
    }
}

interface IParams {
    function params() external view returns (ICompetition.Params memory);
}
