// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ICompetition
/// @notice The types, events and errors of a DeML competition (see contracts/README.md).
interface ICompetition {
    /// @notice Where a competition stands; derived from the clock and the finalize flag only,
    ///         so it never goes backwards.
    enum Phase {
        Submit, // commit models with the buy-in
        Reveal, // reveal models; the host reveals the test key
        VoteCommit, // bonded miners commit a hash of their scores
        VoteReveal, // miners reveal their scores
        Settle, // anyone settles submissions and miners, then finalizes
        Finalized // everyone claims
    }

    /// @notice How the pool was split at finalization.
    enum Outcome {
        Pending,
        Winner, // a validated best submission exists
        NoWinner, // nothing validated: buy-ins refunded, prize back to the host
        KeyWithheld // the host never revealed the test key: prize to the revealed submissions
    }

    /// @notice A submission's state: committed, revealed, then settled one way or the other.
    enum Status {
        None,
        Committed,
        Revealed,
        Rejected, // settled without a validated score
        Validated // settled with a validated score
    }

    /// @notice A miner's state.
    enum MinerStatus {
        None,
        Registered,
        Committed,
        Revealed,
        Settled, // its votes were checked against the validated scores; stake kept
        Slashed // committed without revealing, or mostly disagreed: stake lost
    }

    /// @notice Everything the host fixes at creation.
    struct Params {
        uint128 entryFee; // exact buy-in per submission, in wei
        uint128 minerStake; // exact bond per miner, in wei
        uint40 submitDeadline;
        uint40 revealDeadline;
        uint40 voteCommitDeadline;
        uint40 voteRevealDeadline;
        uint32 testSetSize; // number of test samples; a score is a count of correct ones
        uint24 maxModelBytes; // cap on a revealed model's size
        uint16 maxSubmissions; // per competitor
        uint16 quorum; // miners who must score a submission before it can be validated
        uint16 winnerBps; // the winner's share of the pool; miners get the rest
        bytes32 testKeyHash; // keccak256 of the 32-byte key of the encrypted test split
    }

    /// @notice One submission, as `submission(id)` returns it.
    struct Submission {
        address owner; // zero until revealed: the commitment binds it
        Status status;
        uint24 size; // revealed model bytes
        uint16 votes; // miners who scored it
        uint16 topVotes; // votes for the most common score
        uint32 topScore; // the most common score (the validated one, once Validated)
        bytes32 hash; // the commitment until revealed, then keccak256(model bytes)
    }

    /// @notice One address's part in the competition, whatever its roles.
    struct Participant {
        uint32 commits; // submissions committed (each paid the entry fee)
        uint32 reveals; // submissions revealed
        bool claimed;
        MinerStatus minerStatus;
        uint32 agreeingVotes; // votes equal to the validated score, once settled
        bytes32 voteCommitment;
    }

    /// @notice Counters and results, as `summary()` returns them.
    struct Summary {
        Phase phase;
        Outcome outcome;
        bool testKeyRevealed;
        uint32 submissions;
        uint32 revealed;
        uint32 settled;
        uint16 miners;
        uint16 minersRevealed;
        uint16 minersSettled;
        uint16 minersSlashed;
        uint32 bestId;
        uint128 prize;
        uint128 pool; // prize + buy-ins + stakes still held (the internal ledger)
        uint128 winnerAmount;
        uint128 rewardPerVote;
        uint128 hostAmount;
    }

    event SubmissionCommitted(uint256 indexed id, address indexed committer, bytes32 commitment);
    event ModelRevealed(uint256 indexed id, address indexed owner, bytes32 modelHash, uint256 size);
    event TestKeyRevealed(bytes32 key);
    event MinerRegistered(address indexed miner);
    event VotesCommitted(address indexed miner, bytes32 commitment);
    event VotesRevealed(address indexed miner, uint256 count);
    event SubmissionSettled(uint256 indexed id, bool validated, uint32 score, uint16 votes, uint16 agreeing);
    event MinerSettled(address indexed miner, uint32 agreeing, uint32 disagreeing, bool slashed);
    event Finalized(
        Outcome outcome, uint256 winnerId, uint256 winnerAmount, uint256 rewardPerVote, uint256 hostAmount
    );
    event Claimed(address indexed account, address indexed to, uint256 amount);

    error AlreadyInitialized();
    error DeadlinesOutOfOrder(uint256 now, uint256 submit, uint256 reveal, uint256 voteCommit, uint256 voteReveal);
    error SharesInvalid(uint256 winnerBps);
    error PrizeMismatch(uint256 required, uint256 sent);
    error QuorumInvalid(uint256 quorum);
    error TestSetSizeInvalid(uint256 testSetSize);
    error ModelCapInvalid(uint256 maxModelBytes);
    error SubmissionCapInvalid(uint256 maxSubmissions);

    error CommitTooLate(uint256 deadline, uint256 now);
    error RevealTooEarly(uint256 opensAt, uint256 now);
    error RevealTooLate(uint256 deadline, uint256 now);
    error RegistrationTooLate(uint256 deadline, uint256 now);
    error VoteCommitTooEarly(uint256 opensAt, uint256 now);
    error VoteCommitTooLate(uint256 deadline, uint256 now);
    error VoteRevealTooEarly(uint256 opensAt, uint256 now);
    error VoteRevealTooLate(uint256 deadline, uint256 now);
    error SettlementTooEarly(uint256 opensAt, uint256 now);

    error EntryFeeMismatch(uint256 required, uint256 sent);
    error StakeMismatch(uint256 required, uint256 sent);
    error HostCannotCompete(address host);
    error SubmissionLimitReached(address competitor, uint256 limit);
    error SubmissionUnknown(uint256 id);
    error SubmissionAlreadyRevealed(uint256 id);
    error CommitmentInvalid();
    error CommitmentMismatch(uint256 id, address caller);
    error ModelEmpty(uint256 id);
    error ModelTooLarge(uint256 id, uint256 size, uint256 limit);

    error CallerNotHost(address caller, address host);
    error TestKeyAlreadyRevealed();
    error TestKeyMismatch(bytes32 expectedHash, bytes32 givenHash);
    error TestKeyWithheld();

    error MinerAlreadyRegistered(address miner);
    error MinerLimitReached(uint256 limit);
    error MinerNotRegistered(address miner);
    error VotesAlreadyRevealed(address miner);
    error VotesNotCommitted(address miner);
    error VoteCommitmentMismatch(address miner);
    error VoteLengthMismatch(uint256 ids, uint256 scores);
    error VoteIdsNotAscending(uint256 index, uint256 id);
    error VoteOnUnrevealedSubmission(uint256 id);
    error VoteOnOwnSubmission(uint256 id, address miner);
    error ScoreOutOfRange(uint256 id, uint256 score, uint256 testSetSize);

    error SubmissionsUnsettled(uint256 settled, uint256 revealed);
    error MinerNotRevealed(address miner);
    error SettlementIncomplete(uint256 submissionsLeft, uint256 minersLeft);
    error AlreadyFinalized();
    error NotFinalized();
    error AlreadyClaimed(address account);
    error NothingToClaim(address account);
}
