// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ICompetition
/// @notice The types, events and errors of a DeML competition, protocol v2 (see
///         contracts/README.md for every rule and the attack it closes).
interface ICompetition {
    /// @notice Where a competition stands; derived from the clock and its own state only.
    enum Phase {
        Submit, // commit models with the buy-in; the jury is drawn once this ends
        Reveal, // reveal models (the test key is still secret)
        Key, // the host reveals the test key
        VoteCommit, // jurors commit the hash of their vote
        VoteReveal, // jurors reveal their vote: one root, or HOST_FAULT
        Tally, // no root had a majority: jurors publish their score vectors
        Revote, // the first vote decided nothing: a jury of 2n+1 seats is being drawn
        Settle, // anyone settles and finalizes
        Finalized // everyone claims
    }

    /// @notice How the pool was split at finalization.
    enum Outcome {
        Pending,
        Winner, // the jury named a winner: it gets its share, the host its bond back
        HostFault, // a majority of seats voted HOST_FAULT: the host's bond is burned
        KeyWithheld, // the host never revealed the key: its bond is burned
        Void, // models and key revealed, nothing scored: the prize to the revealed models
        NoEntries // no model was revealed: the host gets its prize and bond back
    }

    /// @notice A submission's state (its score lives in the vote: the winning root's published
    ///         leaves, or a tally).
    enum Status {
        None,
        Committed,
        Revealed
    }

    /// @notice A juror's state in one vote.
    enum Vote {
        None, // drawn, no commitment yet
        Committed,
        Revealed,
        Settled // its seats were released or burned, its reward credited
    }

    /// @notice How models are revealed, fixed at creation: in the reveal's calldata (chains
    ///         without blobs: L2s, py-evm), or in EIP-4844 blobs, which the commitment binds by
    ///         their versioned hashes and the contract checks with `blobhash`.
    enum RevealMode {
        Calldata,
        Blob
    }

    /// @notice Everything the host fixes at creation (amounts in wei, times in seconds).
    struct Params {
        uint128 entryFee; // exact buy-in per submission
        uint128 hostBond; // at least the prize; burned if the key is withheld or faulty
        uint128 drawBounty; // to whoever draws a jury (prepaid twice: a re-vote draws again)
        uint128 publishBounty; // shared by whoever publishes the winning scores
        uint40 submitDeadline;
        uint40 revealDeadline; // models are revealed before it; the key only from it on
        uint40 keyDeadline;
        uint40 voteCommitDeadline;
        uint40 voteRevealDeadline;
        uint32 tallyDuration; // how long jurors publish vectors when no root has a majority
        uint32 testSetSize; // a score is a count of correct test samples
        uint24 maxModelBytes;
        uint16 maxSubmissions; // per competitor
        uint16 seats; // jury seats of the first vote (odd); a re-vote draws 2 * seats + 1
        uint16 winnerBps; // the winner's share; the jury gets the rest
        bytes32 testKeyHash; // keccak256 of the 32-byte key of the encrypted test split
        RevealMode revealMode;
        bytes32 samplesRoot; // Merkle root of the plaintext test samples (see isTestSample)
    }

    /// @notice One submission, as `submission(id)` returns it.
    struct Submission {
        address owner; // zero until revealed: the commitment binds it
        Status status;
        uint24 size; // revealed model bytes
        bytes32 hash; // the commitment until revealed, then keccak256(model bytes)
    }

    /// @notice One vote: its jury, its windows and its leading vote.
    struct Round {
        uint16 seats; // seats drawn; absent and unbacked ones count against every vote
        uint16 backedSeats; // seats whose juror locked a unit: only these vote
        uint16 revealedSeats;
        uint16 leaderSeats; // seats behind the leading vote
        uint16 publishedSeats; // a tally: seats of jurors whose whole vector is published
        uint16 dissentSeats; // a tally: seats proven to disagree with a settled score
        uint32 settled; // a tally: submissions settled
        uint40 drawnAt; // 0 until the jury is drawn
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint40 tallyDeadline;
        bytes32 leader; // the vote with the most seats (the first to reach that count)
    }

    /// @notice One juror's part in one vote.
    struct Seat {
        uint16 seats; // seats drawn for it
        uint16 backed; // of which backed by a unit it locked in the pool
        Vote state;
        bool dissent; // a tally: proven to disagree with a settled score
        uint32 cursor; // a tally: leaves of its vector published so far
        uint32 lastId; // a tally: the last submission id it published
        bytes32 hash; // its commitment until revealed, then its vote
    }

    /// @notice What a vote says, as its reveal gave it.
    struct Verdict {
        bytes32 root; // Merkle root of its score vector (zero for HOST_FAULT)
        uint32 count; // leaves in the vector: every revealed submission, by ascending id
        uint32 winnerId;
        uint32 winnerScore;
    }

    /// @notice Counters and results, as `summary()` returns them.
    struct Summary {
        Phase phase;
        Outcome outcome;
        bool keyRevealed;
        uint8 round; // the vote under way (1, or 2 for the re-vote)
        uint32 submissions;
        uint32 revealed;
        uint32 winnerId;
        uint32 winnerScore;
        uint128 prize;
        uint128 pool; // everything taken in and not yet paid or burned (the internal ledger)
        uint128 winnerAmount;
        uint128 juryAmount; // shared by the seats that earned it
        uint128 perSeat; // the jury's pay per earning seat
        uint128 prizePerReveal; // Void, HostFault, KeyWithheld: each revealed model's part
        uint128 burned;
    }

    event SubmissionCommitted(uint256 indexed id, address indexed committer, bytes32 commitment);
    /// @dev The model bytes are in the event: every reader gets them from logs, whoever sent
    ///      the transaction (a contract wallet's call leaves no top-level calldata to read).
    event ModelRevealed(uint256 indexed id, address indexed owner, bytes32 modelHash, uint256 size, bytes model);
    /// @dev A model revealed in blobs: their versioned hashes (the blobs themselves are kept by
    ///      consensus nodes for about 18 days) and, since they expire, the CID of a copy of the
    ///      payload in content storage, checked by readers against the same hashes.
    ///      `modelHash` is keccak256(abi.encode(size, versionedHashes)).
    event ModelRevealedInBlobs(
        uint256 indexed id,
        address indexed owner,
        bytes32 modelHash,
        uint256 size,
        bytes32[] versionedHashes,
        string cid
    );
    event TestKeyRevealed(bytes32 key);
    event JuryDrawn(uint256 indexed round, address[] jurors, bool[] backed, uint256 commitDeadline);
    event VoteCommitted(uint256 indexed round, address indexed juror, bytes32 commitment);
    event VoteRevealed(
        uint256 indexed round,
        address indexed juror,
        bytes32 vote,
        bytes32 root,
        uint256 count,
        uint256 winnerId,
        uint256 winnerScore,
        uint256 seats
    );
    event ScoresPublished(uint256 indexed round, uint256 firstLeaf, bytes leaves);
    event VectorPublished(uint256 indexed round, address indexed juror, uint256 firstLeaf, bytes leaves);
    event SubmissionSettled(uint256 indexed round, uint256 indexed id, bool validated, uint32 score, uint16 seats);
    event DissentProven(uint256 indexed round, address indexed juror, uint256 id, uint32 score, uint32 settledScore);
    event RevoteStarted(uint256 seats);
    /// @notice A decided root was proven wrong (a dispute), or never published with its bitmaps
    ///         (challenger zero): its majority is slashed, and a re-vote follows (round 1) or
    ///         the competition is void (round 2).
    event RootOverturned(uint256 indexed round, address challenger);
    event Finalized(
        Outcome outcome,
        uint256 winnerId,
        uint256 winnerAmount,
        uint256 juryAmount,
        uint256 perSeat,
        uint256 prizePerReveal,
        uint256 burned
    );
    event JurorSettled(uint256 indexed round, address indexed juror, uint256 kept, uint256 burned, uint256 reward);
    event Credited(address indexed account, uint256 amount, string reason);
    event Claimed(address indexed account, address indexed to, uint256 amount);

    // -- creation: each floor refused with its own error ---------------------------------
    error AlreadyInitialized();
    error DeadlinesOutOfOrder(
        uint256 now, uint256 submit, uint256 reveal, uint256 key, uint256 voteCommit, uint256 voteReveal
    );
    error WindowTooShort(uint256 phase, uint256 seconds_, uint256 minimum);
    error SharesInvalid(uint256 winnerBps);
    error FundingMismatch(uint256 required, uint256 sent);
    error PrizeInvalid(uint256 prize);
    error HostBondTooSmall(uint256 hostBond, uint256 prize);
    error EntryFeeInvalid(uint256 entryFee);
    error SeatsInvalid(uint256 seats, uint256 minimum);
    error TestSetSizeInvalid(uint256 testSetSize);
    error SamplesRootInvalid();
    error ModelCapInvalid(uint256 maxModelBytes);
    error SubmissionCapInvalid(uint256 maxSubmissions);
    error PoolTooSmall(uint256 units, uint256 required);
    error CompetitionTooLong(uint256 seconds_, uint256 unbondingDelay);
    error AmountTooLarge(uint256 amount);

    // -- submissions -----------------------------------------------------------------------
    error CommitTooLate(uint256 deadline, uint256 now);
    error RevealTooEarly(uint256 opensAt, uint256 now);
    error RevealTooLate(uint256 deadline, uint256 now);
    error EntryFeeMismatch(uint256 required, uint256 sent);
    error HostCannotCompete(address host);
    error SubmissionLimitReached(address competitor, uint256 limit);
    error SubmissionUnknown(uint256 id);
    error SubmissionAlreadyRevealed(uint256 id);
    error CommitmentInvalid();
    error CommitmentMismatch(uint256 id, address caller);
    error ModelEmpty(uint256 id);
    error ModelTooLarge(uint256 id, uint256 size, uint256 limit);
    error WrongRevealMode(RevealMode mode);
    error BlobMissing(uint256 id, uint256 index);
    error ExtraBlob(uint256 id, uint256 index);

    // -- the key ---------------------------------------------------------------------------
    error CallerNotHost(address caller, address host);
    error KeyTooEarly(uint256 opensAt, uint256 now);
    error KeyTooLate(uint256 deadline, uint256 now);
    error TestKeyAlreadyRevealed();
    error TestKeyMismatch(bytes32 expectedHash, bytes32 givenHash);

    // -- the jury and its votes --------------------------------------------------------------
    error DrawTooEarly(uint256 opensAt, uint256 now);
    error NoDrawDue(uint256 round);
    error NotJuror(uint256 round, address account);
    error VoteCommitTooEarly(uint256 round);
    error VoteCommitTooLate(uint256 deadline, uint256 now);
    error VoteRevealTooEarly(uint256 opensAt, uint256 now);
    error VoteRevealTooLate(uint256 deadline, uint256 now);
    error VoteNotCommitted(uint256 round, address juror);
    error VoteAlreadyRevealed(uint256 round, address juror);
    error VoteCommitmentMismatch(uint256 round, address juror);
    error NoWinningRoot(uint256 round);
    error TallyNotOpen(uint256 round);
    error TallyClosed(uint256 deadline, uint256 now);
    error VectorOutOfOrder(uint256 cursor, uint256 firstLeaf);
    error VectorComplete(address juror);
    error LeafInvalid(uint256 position, uint256 id);
    error ProofInvalid();
    error ChunkInvalid(uint256 level, uint256 index, uint256 leaves);
    error AlreadyPublished(uint256 firstLeaf);
    error TallyStillOpen(uint256 deadline, uint256 now);
    error NotDissent(uint256 id, uint32 score, uint32 settledScore);
    error SubmissionNotSettled(uint256 id);

    // -- settlement and claims -----------------------------------------------------------
    error SettlementTooEarly(uint256 phase);
    error AlreadyFinalized();
    error NotOverturnable(uint256 round);
    error NotFinalized();
    error JurorAlreadySettled(uint256 round, address juror);
    error NothingToClaim(address account);

    // The views and the hook the dispute contract uses (contracts/Disputes.sol).
    function summary() external view returns (Summary memory);
    function round(uint256 r) external view returns (Round memory);
    function verdict(bytes32 vote) external view returns (Verdict memory);
    function submission(uint256 id) external view returns (Submission memory);
    function params() external view returns (Params memory);
    function overturned() external view returns (uint8);
    function overturn(address challenger) external;
}
