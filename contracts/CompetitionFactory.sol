// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Competition} from "./Competition.sol";
import {ICompetition} from "./ICompetition.sol";

/// @title CompetitionFactory
/// @notice Creates competitions as EIP-1167 clones of one Competition implementation, and
///         announces each one, so miners and dashboards can find every competition from logs.
contract CompetitionFactory {
    /// @dev CIDv1 strings are about 60 characters; the cap keeps events small.
    uint256 private constant _MAX_CID_LENGTH = 128;

    /// @notice The Competition every clone delegates to.
    address public immutable implementation;

    event CompetitionCreated(
        address indexed competition,
        address indexed host,
        string datasetCid,
        string testCid,
        uint256 prize,
        ICompetition.Params params
    );

    /// @dev A dataset or test-split CID is empty or longer than the cap. (Not the CID itself:
    ///      eth-tester cannot tell an error whose only argument is a string from a plain reason.)
    error CidInvalid(uint256 length, uint256 maxLength);

    constructor() {
        implementation = address(new Competition());
    }

    /// @notice Create and fund a competition; the caller becomes its host, `msg.value` its prize.
    /// @param params The competition's parameters (see ICompetition.Params).
    /// @param datasetCid CID of the dataset manifest (public train split).
    /// @param testCid CID of the encrypted test split.
    /// @return competition The new competition's address.
    function create(ICompetition.Params calldata params, string calldata datasetCid, string calldata testCid)
        external
        payable
        returns (address competition)
    {
        _checkCid(datasetCid);
        _checkCid(testCid);
        // The parameters become immutable arguments in the clone's code (see Competition.Config).
        competition = Clones.cloneWithImmutableArgs(implementation, abi.encode(msg.sender, msg.value, params));
        // Announced before the call: a failed initialize reverts the event with everything else.
        emit CompetitionCreated(competition, msg.sender, datasetCid, testCid, msg.value, params);
        Competition(competition).initialize{value: msg.value}();
    }

    function _checkCid(string calldata cid) private pure {
        if (bytes(cid).length == 0 || bytes(cid).length > _MAX_CID_LENGTH) revert CidInvalid(bytes(cid).length, _MAX_CID_LENGTH);
    }
}
