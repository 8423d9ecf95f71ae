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
    uint256 private constant _BPS = 10_000;
    uint256 private constant _MAX_SEATS = 255;
    /// @dev Six blobs of 126,976 payload bytes, less the payload's 5-byte header (Competition).
    uint256 private constant _MAX_BLOB_PAYLOAD = 6 * 126_976 - 5;

    /// @notice The Competition every clone delegates to.
    address public immutable implementation;
    /// @notice The shared pool of bonded miners.
    MinerPool public immutable pool;
    /// @notice Floors every competition must meet: jury seats of its first vote, and the
    ///         shortest window of any phase (seconds).
    uint256 public immutable minSeats;
    uint256 public immutable minWindow;
    /// @notice The dispute contract every competition of this factory answers to
    ///         (contracts/Disputes.sol): it alone may overturn a decided root.
    address public immutable disputes;

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
    /// @dev The dispute contract given at deployment has no code.
    error DisputesInvalid(address disputes);

    /// @param seatStake Wei one jury seat locks (a miner bonds whole seats).
    /// @param unbondingDelay Seconds between asking for a bond back and getting it; every
    ///        competition must end sooner.
    /// @param minUnits Seats a miner bonds at least.
    /// @param minSeats_ Seats of a first vote at least (21 on public networks).
    /// @param minWindow_ Seconds every phase lasts at least.
    /// @param disputes_ The dispute contract (deployed first: it needs no factory).
    constructor(
        uint256 seatStake,
        uint256 unbondingDelay,
        uint256 minUnits,
        uint256 minSeats_,
        uint256 minWindow_,
        address disputes_
    ) {
        implementation = address(new Competition());
        pool = new MinerPool(seatStake, unbondingDelay, minUnits);
        minSeats = minSeats_;
        minWindow = minWindow_;
        // Every decided root asks it before settling: a factory without one could settle none.
        if (disputes_.code.length == 0) revert DisputesInvalid(disputes_);
        disputes = disputes_;
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
        _checkDeadlines(params);
        uint256 others = uint256(params.hostBond) + 2 * uint256(params.drawBounty) + params.publishBounty;
        if (msg.value <= others) revert FundingTooSmall(msg.value, others);
        uint256 prize = msg.value - others;
        _checkParams(params, prize);
        // The parameters become immutable arguments in the clone's code (see Competition.Config).
        competition = Clones.cloneWithImmutableArgs(
            implementation, abi.encode(msg.sender, prize, address(pool), disputes, params)
        );
        pool.register(competition);
        // Announced before the call: a failed initialize reverts the event with everything else.
        emit CompetitionCreated(competition, msg.sender, datasetCid, testCid, prize, params);
        Competition(competition).initialize{value: msg.value}();
    }

    /// @dev Deadlines in order, each window at least `minWindow` (a competition made by hand,
    ///      outside the factory, is not in the pool and cannot draw a jury).
    function _checkDeadlines(ICompetition.Params calldata cfg) private view {
        if (
            block.timestamp >= cfg.submitDeadline || cfg.submitDeadline >= cfg.revealDeadline
                || cfg.revealDeadline >= cfg.keyDeadline || cfg.keyDeadline >= cfg.voteCommitDeadline
                || cfg.voteCommitDeadline >= cfg.voteRevealDeadline
        ) {
            revert ICompetition.DeadlinesOutOfOrder(
                block.timestamp,
                cfg.submitDeadline,
                cfg.revealDeadline,
                cfg.keyDeadline,
                cfg.voteCommitDeadline,
                cfg.voteRevealDeadline
            );
        }
        uint256 minimum = minWindow;
        uint256[6] memory windows = [
            uint256(cfg.submitDeadline) - block.timestamp,
            uint256(cfg.revealDeadline) - cfg.submitDeadline,
            uint256(cfg.keyDeadline) - cfg.revealDeadline,
            uint256(cfg.voteCommitDeadline) - cfg.keyDeadline,
            uint256(cfg.voteRevealDeadline) - cfg.voteCommitDeadline,
            uint256(cfg.tallyDuration)
        ];
        for (uint256 i = 0; i < windows.length; ++i) {
            if (windows[i] < minimum) revert ICompetition.WindowTooShort(i, windows[i], minimum);
        }
    }

    /// @dev The rest of the parameters, and the pool, for a competition of `prize`.
    function _checkParams(ICompetition.Params calldata cfg, uint256 prize) private view {
        if (prize > type(uint128).max) revert ICompetition.AmountTooLarge(prize);
        if (cfg.winnerBps == 0 || cfg.winnerBps >= _BPS) revert ICompetition.SharesInvalid(cfg.winnerBps);
        if (cfg.hostBond < prize) revert ICompetition.HostBondTooSmall(cfg.hostBond, prize);
        if (cfg.entryFee == 0) revert ICompetition.EntryFeeInvalid(cfg.entryFee);
        if (cfg.seats < minSeats || cfg.seats % 2 == 0 || cfg.seats > _MAX_SEATS) {
            revert ICompetition.SeatsInvalid(cfg.seats, minSeats);
        }
        if (cfg.testSetSize == 0) revert ICompetition.TestSetSizeInvalid(cfg.testSetSize);
        if (cfg.samplesRoot == bytes32(0)) revert ICompetition.SamplesRootInvalid();
        if (cfg.maxModelBytes == 0) revert ICompetition.ModelCapInvalid(cfg.maxModelBytes);
        if (cfg.revealMode == ICompetition.RevealMode.Blob && cfg.maxModelBytes > _MAX_BLOB_PAYLOAD) {
            revert ICompetition.ModelCapInvalid(cfg.maxModelBytes);
        }
        if (cfg.maxSubmissions == 0) revert ICompetition.SubmissionCapInvalid(cfg.maxSubmissions);
        MinerPool miners = pool;
        uint256 revoteSeats = 2 * uint256(cfg.seats) + 1;
        if (miners.totalUnits() < revoteSeats) revert ICompetition.PoolTooSmall(miners.totalUnits(), revoteSeats);
        // The longest life: both votes, each with a tally and its dispute window. A juror's
        // bond must still be in the pool when the last of them ends.
        uint256 vote = uint256(cfg.voteRevealDeadline) - cfg.keyDeadline + 2 * uint256(cfg.tallyDuration);
        uint256 longest = uint256(cfg.keyDeadline) - block.timestamp + 2 * vote;
        if (longest >= miners.unbondingDelay()) revert ICompetition.CompetitionTooLong(longest, miners.unbondingDelay());
    }

    function _checkCid(string calldata cid) private pure {
        if (bytes(cid).length == 0 || bytes(cid).length > _MAX_CID_LENGTH) revert CidInvalid(bytes(cid).length, _MAX_CID_LENGTH);
    }
}
