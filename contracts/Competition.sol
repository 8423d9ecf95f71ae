// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICompetition} from "./ICompetition.sol";

/// @title Competition
/// @notice One DeML competition: commit-reveal model submissions, an encrypted test split whose
///         key the host reveals, commit-reveal score votes by bonded miners, majority validation,
///         and pull payments. Deployed as an EIP-1167 clone by CompetitionFactory.
/// @dev Every rule and the attack it closes is in contracts/README.md. No function loops over
///      all submissions or all miners: each loop runs over the caller's own input.
contract Competition is ICompetition, ReentrancyGuardTransient {
    uint256 private constant _BPS = 10_000;

    /// @dev Creation parameters. They never change, so they live in the clone's own code as
    ///      immutable arguments (EIP-1167 with appended data), not in storage: reading them all
    ///      costs about 1k gas instead of 2.1k per cold slot, and creation skips four SSTOREs.
    ///      The layout is abi.encode(host, prize, Params): a static tuple encodes inline, so
    ///      this flat struct decodes it.
    struct Config {
        address host;
        uint256 prize;
        uint128 entryFee;
        uint128 minerStake;
        uint40 submitDeadline;
        uint40 revealDeadline;
        uint40 voteCommitDeadline;
        uint40 voteRevealDeadline;
        uint32 testSetSize;
        uint24 maxModelBytes;
        uint16 maxSubmissions;
        uint16 quorum;
        uint16 winnerBps;
        bytes32 testKeyHash;
    }

    /// @dev The counters every action updates, in one slot. `initialized` is set at creation,
    ///      so the first commit pays for a changed slot, not a new one.
    struct Counters {
        bool initialized;
        bool keyRevealed;
        bool finalized;
        Outcome outcome;
        uint32 submissions;
        uint32 revealed;
        uint32 settled;
        uint32 bestId;
        uint16 miners;
        uint16 minersCommitted;
        uint16 minersRevealed;
        uint16 minersSettled;
        uint16 minersSlashed;
    }

    /// @dev What finalization decided, plus the running totals it needs.
    struct Results {
        uint128 winnerAmount;
        uint128 rewardPerVote;
        uint128 hostAmount;
        uint128 prizePerReveal;
        uint128 totalPaid;
        uint64 rewardVotes; // agreeing votes of the miners who kept their stake
        uint32 bestScore;
    }

    Counters private _counters;
    Results private _results;
    bytes32 private _testKey;
    mapping(uint256 id => Submission) private _submissions;
    mapping(address account => Participant) private _participants;
    /// @dev Votes per score, for every score but the submission's current top score, whose count
    ///      lives in the Submission itself: when miners agree, a vote writes one slot.
    mapping(uint256 id => mapping(uint32 score => uint16 votes)) private _otherVotes;

    constructor() {
        // The implementation behind the clones can never be initialized itself.
        _counters.initialized = true;
    }

    /// @notice Check the parameters in this clone's code and take the prize; called once, by
    ///         the factory, in the transaction that creates the clone.
    function initialize() external payable {
        if (_counters.initialized) revert AlreadyInitialized();
        Config memory cfg = _config();
        if (
            block.timestamp >= cfg.submitDeadline || cfg.submitDeadline >= cfg.revealDeadline
                || cfg.revealDeadline >= cfg.voteCommitDeadline || cfg.voteCommitDeadline >= cfg.voteRevealDeadline
        ) {
            revert DeadlinesOutOfOrder(
                block.timestamp, cfg.submitDeadline, cfg.revealDeadline, cfg.voteCommitDeadline, cfg.voteRevealDeadline
            );
        }
        if (cfg.winnerBps > _BPS) revert SharesInvalid(cfg.winnerBps);
        if (cfg.quorum == 0) revert QuorumInvalid(cfg.quorum);
        if (cfg.testSetSize == 0) revert TestSetSizeInvalid(cfg.testSetSize);
        if (cfg.maxModelBytes == 0) revert ModelCapInvalid(cfg.maxModelBytes);
        if (cfg.maxSubmissions == 0) revert SubmissionCapInvalid(cfg.maxSubmissions);
        if (msg.value != cfg.prize) revert PrizeMismatch(cfg.prize, msg.value);
        _counters.initialized = true;
    }

    // ---------------------------------------------------------------------------------------
    // Submit and reveal
    // ---------------------------------------------------------------------------------------

    /// @notice Commit to a model, paying exactly the entry fee. Until the reveal nothing about
    ///         the model is public, so nobody can copy it.
    /// @param commitment keccak256(abi.encode(keccak256(modelBytes), salt, msg.sender, address(this)))
    /// @return id The submission's id (ids start at 1).
    function commit(bytes32 commitment) external payable returns (uint256 id) {
        Config memory cfg = _config();
        if (block.timestamp >= cfg.submitDeadline) revert CommitTooLate(cfg.submitDeadline, block.timestamp);
        if (msg.sender == cfg.host) revert HostCannotCompete(msg.sender);
        if (msg.value != cfg.entryFee) revert EntryFeeMismatch(cfg.entryFee, msg.value);
        if (commitment == bytes32(0)) revert CommitmentInvalid();
        Participant storage entry = _participants[msg.sender];
        if (entry.commits >= cfg.maxSubmissions) {
            revert SubmissionLimitReached(msg.sender, cfg.maxSubmissions);
        }
        // Overflow not possible: commits <= maxSubmissions < 2**16, and one id per commit cannot
        // reach 2**32 within the block gas limit's reach of any realistic submit window.
        unchecked {
            entry.commits += 1;
            id = ++_counters.submissions;
        }
        _submissions[id].hash = commitment;
        emit SubmissionCommitted(id, msg.sender, commitment);
    }

    /// @notice Reveal a committed model. The bytes stay in this transaction's calldata, where
    ///         miners read them; the contract keeps only their hash and size.
    /// @param id The submission's id.
    /// @param model The packed model bytes (see deml/codec.py).
    /// @param salt The salt used in the commitment.
    function reveal(uint256 id, bytes calldata model, bytes32 salt) external {
        Config memory cfg = _config();
        _requireRevealWindow(cfg);
        Submission storage s = _submissions[id];
        if (s.hash == bytes32(0)) revert SubmissionUnknown(id);
        if (s.status != Status.None) revert SubmissionAlreadyRevealed(id);
        if (model.length == 0) revert ModelEmpty(id);
        if (model.length > cfg.maxModelBytes) revert ModelTooLarge(id, model.length, cfg.maxModelBytes);
        bytes32 modelHash = keccak256(model);
        if (keccak256(abi.encode(modelHash, salt, msg.sender, address(this))) != s.hash) {
            revert CommitmentMismatch(id, msg.sender);
        }
        s.owner = msg.sender;
        s.status = Status.Revealed;
        s.size = uint24(model.length); // fits: checked against the uint24 cap above
        s.hash = modelHash;
        // Overflow not possible: each is at most the number of commits.
        unchecked {
            _participants[msg.sender].reveals += 1;
            _counters.revealed += 1;
        }
        emit ModelRevealed(id, msg.sender, modelHash, model.length);
    }

    /// @notice The host reveals the key of the encrypted test split, after the submit deadline.
    ///         A host who never does loses the prize to the revealed submissions.
    /// @param key The 32-byte AES-256-GCM key whose keccak256 was fixed at creation.
    function revealTestKey(bytes32 key) external {
        Config memory cfg = _config();
        if (msg.sender != cfg.host) revert CallerNotHost(msg.sender, cfg.host);
        _requireRevealWindow(cfg);
        if (_counters.keyRevealed) revert TestKeyAlreadyRevealed();
        bytes32 given = keccak256(abi.encodePacked(key));
        if (given != cfg.testKeyHash) revert TestKeyMismatch(cfg.testKeyHash, given);
        _testKey = key;
        _counters.keyRevealed = true;
        emit TestKeyRevealed(key);
    }

    // ---------------------------------------------------------------------------------------
    // Miners
    // ---------------------------------------------------------------------------------------

    /// @notice Register as a miner, bonding exactly the miner stake, before the vote-commit deadline.
    function registerMiner() external payable {
        Config memory cfg = _config();
        Counters storage c = _counters;
        if (block.timestamp >= cfg.voteCommitDeadline) {
            revert RegistrationTooLate(cfg.voteCommitDeadline, block.timestamp);
        }
        if (block.timestamp >= cfg.revealDeadline && !c.keyRevealed) revert TestKeyWithheld();
        if (msg.value != cfg.minerStake) revert StakeMismatch(cfg.minerStake, msg.value);
        Participant storage entry = _participants[msg.sender];
        if (entry.minerStatus != MinerStatus.None) revert MinerAlreadyRegistered(msg.sender);
        if (c.miners == type(uint16).max) revert MinerLimitReached(type(uint16).max);
        entry.minerStatus = MinerStatus.Registered;
        // Overflow not possible: checked against the maximum just above.
        unchecked {
            c.miners += 1;
        }
        emit MinerRegistered(msg.sender);
    }

    /// @notice Commit a hash over all of this miner's scores; may be replaced until the deadline.
    /// @param commitment keccak256(abi.encode(ids, scores, salt, msg.sender, address(this)))
    function commitVotes(bytes32 commitment) external {
        Config memory cfg = _config();
        if (block.timestamp < cfg.revealDeadline) revert VoteCommitTooEarly(cfg.revealDeadline, block.timestamp);
        if (block.timestamp >= cfg.voteCommitDeadline) {
            revert VoteCommitTooLate(cfg.voteCommitDeadline, block.timestamp);
        }
        Counters storage c = _counters;
        if (!c.keyRevealed) revert TestKeyWithheld();
        Participant storage entry = _participants[msg.sender];
        if (entry.minerStatus == MinerStatus.None) revert MinerNotRegistered(msg.sender);
        if (entry.minerStatus == MinerStatus.Registered) {
            entry.minerStatus = MinerStatus.Committed;
            // Overflow not possible: at most one per registered miner, and miners < 2**16.
            unchecked {
                c.minersCommitted += 1;
            }
        }
        entry.voteCommitment = commitment;
        emit VotesCommitted(msg.sender, commitment);
    }

    /// @notice Reveal the committed scores: for each revealed submission in `ids` (strictly
    ///         ascending, none of the miner's own), the number of test samples it got right.
    function revealVotes(uint256[] calldata ids, uint32[] calldata scores, bytes32 salt) external {
        Config memory cfg = _config();
        if (block.timestamp < cfg.voteCommitDeadline) {
            revert VoteRevealTooEarly(cfg.voteCommitDeadline, block.timestamp);
        }
        if (block.timestamp >= cfg.voteRevealDeadline) {
            revert VoteRevealTooLate(cfg.voteRevealDeadline, block.timestamp);
        }
        Participant storage entry = _participants[msg.sender];
        if (entry.minerStatus != MinerStatus.Committed) {
            if (entry.minerStatus == MinerStatus.Revealed) revert VotesAlreadyRevealed(msg.sender);
            revert VotesNotCommitted(msg.sender);
        }
        if (ids.length != scores.length) revert VoteLengthMismatch(ids.length, scores.length);
        if (_voteCommitment(ids, scores, salt, msg.sender) != entry.voteCommitment) {
            revert VoteCommitmentMismatch(msg.sender);
        }
        uint32 testSetSize = cfg.testSetSize;
        uint256 previous = 0;
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            // Ascending ids make a second vote on the same submission impossible.
            if (id <= previous) revert VoteIdsNotAscending(i, id);
            previous = id;
            Submission storage s = _submissions[id];
            if (s.status != Status.Revealed) revert VoteOnUnrevealedSubmission(id);
            if (s.owner == msg.sender) revert VoteOnOwnSubmission(id, msg.sender);
            if (scores[i] > testSetSize) revert ScoreOutOfRange(id, scores[i], testSetSize);
            _tally(s, id, scores[i]);
        }
        entry.minerStatus = MinerStatus.Revealed;
        // Overflow not possible: at most one per registered miner, and miners < 2**16.
        unchecked {
            _counters.minersRevealed += 1;
        }
        emit VotesRevealed(msg.sender, ids.length);
    }

    // ---------------------------------------------------------------------------------------
    // Settle, finalize, claim (permissionless bookkeeping)
    // ---------------------------------------------------------------------------------------

    /// @notice Settle revealed submissions after voting: validated when at least `quorum` miners
    ///         scored it and strictly more than half of them gave the same score. Ids that need
    ///         no settling are skipped, so overlapping batches from several callers are harmless.
    function settle(uint256[] calldata ids) external {
        Counters memory c = _requireSettlement();
        uint16 quorum = _config().quorum;
        Results storage r = _results;
        uint32 bestScore = r.bestScore;
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            Submission storage s = _submissions[id];
            if (s.status != Status.Revealed) continue;
            uint16 votes = s.votes;
            uint16 top = s.topVotes;
            bool validated = votes >= quorum && uint256(top) * 2 > votes;
            s.status = validated ? Status.Validated : Status.Rejected;
            if (validated) {
                uint32 score = s.topScore;
                // Ties go to the lower id: it was committed first.
                if (c.bestId == 0 || score > bestScore || (score == bestScore && id < c.bestId)) {
                    c.bestId = uint32(id); // ids are issued as uint32
                    bestScore = score;
                }
            }
            // Overflow not possible: at most one per revealed submission.
            unchecked {
                c.settled += 1;
            }
            emit SubmissionSettled(id, validated, s.topScore, votes, validated ? top : 0);
        }
        _counters = c;
        r.bestScore = bestScore;
    }

    /// @notice Check a revealed miner's votes against the settled scores, once every revealed
    ///         submission is settled. Anyone may call it with the miner's revealed data (public
    ///         in the revealVotes calldata). A miner whose votes on validated submissions mostly
    ///         disagree is slashed; the others keep their stake and earn by agreeing votes.
    function settleMiner(address miner, uint256[] calldata ids, uint32[] calldata scores, bytes32 salt) external {
        Counters memory c = _requireSettlement();
        if (c.settled != c.revealed) revert SubmissionsUnsettled(c.settled, c.revealed);
        Participant storage entry = _participants[miner];
        if (entry.minerStatus != MinerStatus.Revealed) revert MinerNotRevealed(miner);
        if (ids.length != scores.length) revert VoteLengthMismatch(ids.length, scores.length);
        if (_voteCommitment(ids, scores, salt, miner) != entry.voteCommitment) {
            revert VoteCommitmentMismatch(miner);
        }
        uint32 agreeing = 0;
        uint32 disagreeing = 0;
        for (uint256 i = 0; i < ids.length; ++i) {
            Submission storage s = _submissions[ids[i]];
            if (s.status != Status.Validated) continue;
            // Overflow not possible: each is at most ids.length, far below 2**32 in one call.
            unchecked {
                if (scores[i] == s.topScore) agreeing += 1;
                else disagreeing += 1;
            }
        }
        bool slashed = disagreeing > agreeing;
        // Overflow not possible: one per revealed miner (< 2**16); votes < 2**32 per miner and
        // fewer than 2**16 miners keep rewardVotes below 2**48.
        unchecked {
            if (slashed) {
                entry.minerStatus = MinerStatus.Slashed;
                c.minersSlashed += 1;
            } else {
                entry.minerStatus = MinerStatus.Settled;
                entry.agreeingVotes = agreeing;
                _results.rewardVotes += agreeing;
            }
            c.minersSettled += 1;
        }
        _counters = c;
        emit MinerSettled(miner, agreeing, disagreeing, slashed);
    }

    /// @notice Decide the payouts once everything is settled (or at the reveal deadline when the
    ///         host withheld the key). Constant work, callable by anyone, once.
    function finalize() external {
        Counters memory c = _counters;
        if (c.finalized) revert AlreadyFinalized();
        Config memory cfg = _config();
        Results storage r = _results;
        uint256 prize = cfg.prize;
        if (!c.keyRevealed) {
            if (block.timestamp < cfg.revealDeadline) revert SettlementTooEarly(cfg.revealDeadline, block.timestamp);
            c.outcome = Outcome.KeyWithheld;
            if (c.revealed == 0) {
                r.hostAmount = uint128(prize);
            } else {
                // The remainder of the split is rounding dust: it goes to the host.
                r.prizePerReveal = uint128(prize / c.revealed);
                r.hostAmount = uint128(prize % c.revealed);
            }
        } else {
            if (block.timestamp < cfg.voteRevealDeadline) {
                revert SettlementTooEarly(cfg.voteRevealDeadline, block.timestamp);
            }
            uint256 minersLeft = c.bestId == 0 ? 0 : c.minersRevealed - c.minersSettled;
            if (c.settled != c.revealed || minersLeft != 0) {
                revert SettlementIncomplete(c.revealed - c.settled, minersLeft);
            }
            // Miners who committed votes but never revealed them lose their stake.
            uint256 forfeited = uint256(cfg.minerStake) * (c.minersCommitted - c.minersRevealed);
            if (c.bestId == 0) {
                c.outcome = Outcome.NoWinner;
                r.hostAmount = uint128(prize + forfeited);
            } else {
                c.outcome = Outcome.Winner;
                uint256 pool = prize + uint256(cfg.entryFee) * c.submissions;
                uint256 winnerAmount = pool * cfg.winnerBps / _BPS;
                uint256 minerPool = pool - winnerAmount + forfeited + uint256(cfg.minerStake) * c.minersSlashed;
                r.winnerAmount = uint128(winnerAmount);
                uint256 rewardVotes = r.rewardVotes;
                if (rewardVotes == 0) {
                    r.hostAmount = uint128(minerPool); // no honest agreeing miner to pay
                } else {
                    r.rewardPerVote = uint128(minerPool / rewardVotes);
                    r.hostAmount = uint128(minerPool % rewardVotes); // rounding dust
                }
            }
        }
        c.finalized = true;
        _counters = c;
        emit Finalized(c.outcome, c.bestId, r.winnerAmount, r.rewardPerVote, r.hostAmount);
    }

    /// @notice Pull everything owed to the caller, in every role, to the caller.
    function claim() external nonReentrant returns (uint256) {
        return _claim(payable(msg.sender));
    }

    /// @notice Pull everything owed to the caller to another address (for callers that cannot
    ///         receive ether themselves).
    function claimTo(address payable to) external nonReentrant returns (uint256) {
        return _claim(to);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @notice The current phase (never goes backwards).
    function phase() public view returns (Phase) {
        Counters storage c = _counters;
        if (c.finalized) return Phase.Finalized;
        Config memory cfg = _config();
        if (block.timestamp < cfg.submitDeadline) return Phase.Submit;
        if (block.timestamp < cfg.revealDeadline) return Phase.Reveal;
        if (!c.keyRevealed) return Phase.Settle; // nothing to vote on: straight to the payout
        if (block.timestamp < cfg.voteCommitDeadline) return Phase.VoteCommit;
        if (block.timestamp < cfg.voteRevealDeadline) return Phase.VoteReveal;
        return Phase.Settle;
    }

    /// @notice The host.
    function host() external view returns (address) {
        return _config().host;
    }

    /// @notice The creation parameters.
    function params() external view returns (Params memory p) {
        Config memory cfg = _config();
        p = Params({
            entryFee: cfg.entryFee,
            minerStake: cfg.minerStake,
            submitDeadline: cfg.submitDeadline,
            revealDeadline: cfg.revealDeadline,
            voteCommitDeadline: cfg.voteCommitDeadline,
            voteRevealDeadline: cfg.voteRevealDeadline,
            testSetSize: cfg.testSetSize,
            maxModelBytes: cfg.maxModelBytes,
            maxSubmissions: cfg.maxSubmissions,
            quorum: cfg.quorum,
            winnerBps: cfg.winnerBps,
            testKeyHash: cfg.testKeyHash
        });
    }

    /// @notice The revealed test key (zero until the host reveals it).
    function testKey() external view returns (bytes32) {
        return _testKey;
    }

    /// @notice One submission; a committed, unrevealed one has status Committed.
    function submission(uint256 id) external view returns (Submission memory s) {
        s = _submissions[id];
        if (s.status == Status.None && s.hash != bytes32(0)) s.status = Status.Committed;
    }

    /// @notice Votes for `score` on submission `id`.
    function votesFor(uint256 id, uint32 score) external view returns (uint256) {
        Submission storage s = _submissions[id];
        if (s.votes > 0 && s.topScore == score) return s.topVotes;
        return _otherVotes[id][score];
    }

    /// @notice One address's part in the competition.
    function participant(address account) external view returns (Participant memory) {
        return _participants[account];
    }

    /// @notice Counters, phase and payout figures in one call.
    function summary() external view returns (Summary memory) {
        Counters storage c = _counters;
        Results storage r = _results;
        return Summary({
            phase: phase(),
            outcome: c.outcome,
            testKeyRevealed: c.keyRevealed,
            submissions: c.submissions,
            revealed: c.revealed,
            settled: c.settled,
            miners: c.miners,
            minersRevealed: c.minersRevealed,
            minersSettled: c.minersSettled,
            minersSlashed: c.minersSlashed,
            bestId: c.bestId,
            prize: uint128(_config().prize),
            pool: uint128(liabilities()),
            winnerAmount: r.winnerAmount,
            rewardPerVote: r.rewardPerVote,
            hostAmount: r.hostAmount
        });
    }

    /// @notice The internal ledger: every wei taken in and not yet paid out. The balance equals
    ///         it, unless someone forced ether in (which no payout ever counts on).
    function liabilities() public view returns (uint256) {
        Config memory cfg = _config();
        Counters storage c = _counters;
        return uint256(cfg.prize) + uint256(cfg.entryFee) * c.submissions + uint256(cfg.minerStake) * c.miners
            - _results.totalPaid;
    }

    /// @notice What `account` can claim now, in all its roles (zero before finalization).
    function claimable(address account) public view returns (uint256 amount) {
        Counters storage c = _counters;
        Participant storage p = _participants[account];
        if (!c.finalized || p.claimed) return 0;
        Config memory cfg = _config();
        Results storage r = _results;
        Outcome outcome = c.outcome;
        if (outcome == Outcome.Winner) {
            if (_submissions[c.bestId].owner == account) amount += r.winnerAmount;
        } else if (outcome == Outcome.NoWinner) {
            amount += uint256(cfg.entryFee) * p.commits;
        } else {
            amount += uint256(cfg.entryFee) * p.commits + uint256(r.prizePerReveal) * p.reveals;
        }
        if (account == cfg.host) amount += r.hostAmount;
        MinerStatus status = p.minerStatus;
        if (status == MinerStatus.Registered || status == MinerStatus.Revealed) {
            amount += cfg.minerStake; // did no harm: stake back (Revealed: nothing was validated)
        } else if (status == MinerStatus.Settled) {
            amount += uint256(cfg.minerStake) + uint256(r.rewardPerVote) * p.agreeingVotes;
        }
        // Committed (never revealed) and Slashed miners get nothing: their stake was pooled.
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    function _claim(address payable to) private returns (uint256 amount) {
        if (!_counters.finalized) revert NotFinalized();
        Participant storage p = _participants[msg.sender];
        if (p.claimed) revert AlreadyClaimed(msg.sender);
        amount = claimable(msg.sender);
        if (amount == 0) revert NothingToClaim(msg.sender);
        p.claimed = true;
        _results.totalPaid += uint128(amount);
        emit Claimed(msg.sender, to, amount);
        Address.sendValue(to, amount);
    }

    function _tally(Submission storage s, uint256 id, uint32 score) private {
        // Overflow not possible: a submission gets at most one vote per miner, and miners < 2**16.
        unchecked {
            uint16 votes = s.votes + 1;
            s.votes = votes;
            if (votes == 1) {
                s.topScore = score;
                s.topVotes = 1;
            } else if (score == s.topScore) {
                s.topVotes += 1;
            } else {
                uint16 count = _otherVotes[id][score] + 1;
                if (count > s.topVotes) {
                    // The new score overtakes: the old top's count moves to the mapping. The top
                    // always holds a most common score, since counts grow one at a time.
                    _otherVotes[id][s.topScore] = s.topVotes;
                    delete _otherVotes[id][score];
                    s.topScore = score;
                    s.topVotes = count;
                } else {
                    _otherVotes[id][score] = count;
                }
            }
        }
    }

    function _requireRevealWindow(Config memory cfg) private view {
        if (block.timestamp < cfg.submitDeadline) revert RevealTooEarly(cfg.submitDeadline, block.timestamp);
        if (block.timestamp >= cfg.revealDeadline) revert RevealTooLate(cfg.revealDeadline, block.timestamp);
    }

    function _requireSettlement() private view returns (Counters memory c) {
        c = _counters;
        if (c.finalized) revert AlreadyFinalized();
        uint40 opensAt = _config().voteRevealDeadline;
        if (block.timestamp < opensAt) revert SettlementTooEarly(opensAt, block.timestamp);
        if (!c.keyRevealed) revert TestKeyWithheld();
    }

    function _config() private view returns (Config memory) {
        return abi.decode(Clones.fetchCloneArgs(address(this)), (Config));
    }

    function _voteCommitment(uint256[] calldata ids, uint32[] calldata scores, bytes32 salt, address miner)
        private
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(ids, scores, salt, miner, address(this)));
    }
}
