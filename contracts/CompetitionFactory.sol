// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Competition} from "./Competition.sol";
import {ICompetition} from "./ICompetition.sol";
import {MinerPool} from "./MinerPool.sol";

/// @title CompetitionFactory
/// @notice Creates competitions as EIP-1167 clones of one Competition implementation, all of
///         them drawing their juries from the one miner pool this factory deployed, and
///         announces each, so miners and dashboards find every competition from logs.
contract CompetitionFactory {
    /// @dev CIDv1 strings are about 60 characters; the cap keeps events small.
    uint256 private constant _MAX_CID_LENGTH = 128;

    /// @notice The Competition every clone delegates to.
    address public immutable implementation;
    /// @notice The shared pool of bonded miners.
    MinerPool public immutable pool;
    /// @notice Floors every competition must meet: jury seats of its first vote, and the
    ///         shortest window of any phase (seconds).
    uint256 public immutable minSeats;
    uint256 public immutable minWindow;

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
    /// @dev What was sent does not cover the host bond and the bounties, with a prize left.
    error FundingTooSmall(uint256 sent, uint256 bondAndBounties);

    /// @param seatStake Wei one jury seat locks (a miner bonds whole seats).
    /// @param unbondingDelay Seconds between asking for a bond back and getting it; every
    ///        competition must end sooner.
    /// @param minUnits Seats a miner bonds at least.
    /// @param minSeats_ Seats of a first vote at least (21 on public networks).
    /// @param minWindow_ Seconds every phase lasts at least.
    constructor(uint256 seatStake, uint256 unbondingDelay, uint256 minUnits, uint256 minSeats_, uint256 minWindow_) {
        implementation = address(new Competition());
        pool = new MinerPool(seatStake, unbondingDelay, minUnits);
        minSeats = minSeats_;
        minWindow = minWindow_;
    }

    /// @notice Create and fund a competition; the caller becomes its host. `msg.value` is the
    ///         prize plus the host bond and the bounties (two draws, the publication).
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
        uint256 others = uint256(params.hostBond) + 2 * uint256(params.drawBounty) + params.publishBounty;
        if (msg.value <= others) revert FundingTooSmall(msg.value, others);
        uint256 prize = msg.value - others;
        // The parameters become immutable arguments in the clone's code (see Competition.Config).
        competition = Clones.cloneWithImmutableArgs(
            implementation, abi.encode(msg.sender, prize, address(pool), minSeats, minWindow, params)
        );
        pool.register(competition);
        // Announced before the call: a failed initialize reverts the event with everything else.
        emit CompetitionCreated(competition, msg.sender, datasetCid, testCid, prize, params);
        Competition(competition).initialize{value: msg.value}();
    }

    function _checkCid(string calldata cid) private pure {
        if (bytes(cid).length == 0 || bytes(cid).length > _MAX_CID_LENGTH) revert CidInvalid(bytes(cid).length, _MAX_CID_LENGTH);
    }
}
