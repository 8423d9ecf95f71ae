// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICompetition} from "./ICompetition.sol";
import {IDisputes} from "./IDisputes.sol";
import {IMinerPool} from "./IMinerPool.sol";
import {ScoreTree} from "./ScoreTree.sol";

/// @title Competition
/// @notice One DeML competition, protocol v2: commit-reveal model submissions; a host bond of
///         at least the prize; a jury drawn from the factory's miner pool when submissions
///         close; the test key only after the models; one-hash votes (a Merkle root of the
///         scores, or HOST_FAULT) that a strict majority of all seats decides; per-submission
///         tallies, then one re-vote by 2n+1 seats, when no root has a majority; pull payments.
/// @dev Every rule and the attack it closes is in contracts/README.md. No function loops over
///      all submissions or all jurors: each loop runs over the caller's own input, or over the
///      seats of one jury (capped at 2 * 255 + 1).
contract Competition is ICompetition, ReentrancyGuardTransient {
    uint256 private constant _BPS = 10_000;
    /// @dev The vote of a juror who finds the host at fault: the key does not open the test
    ///      split, or its size or manifest is wrong.
    bytes32 public constant HOST_FAULT = keccak256("deml.v2.host-fault");
    address private constant _BURN = address(0);
    uint256 private constant _DRAW_BATCH = 16;
    /// @dev A blob carries 4,096 field elements of 31 payload bytes; a payload is prefixed by
    ///      one byte of encoding version and four of length (deml/chain/blobs.py).
    uint256 private constant _BLOB_DATA = 126_976;
    uint256 private constant _BLOB_HEADER = 5;

    /// @dev Creation parameters, as immutable arguments in the clone's code (EIP-1167 with
    ///      appended data): abi.encode(host, prize, pool, disputes, Params). The factory's
    ///      floors are checked there, at creation, so they are not carried (each byte of a
    ///      clone's code costs 200 gas at every creation).
    struct Config {
        address host;
        uint256 prize;
        address pool;
        address disputes; // the factory's dispute contract: it alone overturns a root
        uint128 entryFee;
        uint128 hostBond;
        uint128 drawBounty;
        uint128 publishBounty;
        uint40 submitDeadline;
        uint40 revealDeadline;
        uint40 keyDeadline;
        uint40 voteCommitDeadline;
        uint40 voteRevealDeadline;
        uint32 tallyDuration;
        uint32 testSetSize;
        uint24 maxModelBytes;
        uint16 maxSubmissions;
        uint16 seats;
        uint16 winnerBps;
        bytes32 testKeyHash;
        RevealMode revealMode;
        bytes32 samplesRoot;
    }

    /// @dev What every action reads, in one slot.
    struct State {
        bool initialized;
        bool keyRevealed;
        bool finalized;
        Outcome outcome;
        uint8 round;
        uint8 draws; // juries drawn in full
        uint32 submissions;
        uint32 revealed;
        uint32 winnerId; // the named winner; during a tally, the best settled so far
        uint32 winnerScore;
        uint40 revoteAt; // when the re-vote was called
        uint8 overturned; // bit r: round r's decided root was overturned
    }

    struct Money {
        uint128 winnerAmount;
        uint128 juryAmount;
        uint128 perSeat;
        uint128 prizePerReveal;
        uint128 burned;
        uint128 paid;
        uint128 published; // leaves of the winning vector published (each paid its bounty)
        uint128 drawPaid; // draw bounty credited so far (per seat drawn)
    }

    struct Participant {
        uint32 commits;
        uint32 reveals;
        bool claimed; // its final amount (prize, refund, bond) is paid
        uint128 credits; // bounties and jury pay, claimable at any time
    }

    /// @dev A tally's count for one submission: the most common score and its seats.
    struct Count {
        uint32 topScore;
        uint16 topSeats;
        bool settled;
        bool validated;
    }

    State private _state;
    Money private _money;
    bytes32 private _testKey;
    mapping(uint256 id => Submission) private _submissions;
    mapping(address account => Participant) private _participants;
    mapping(uint256 round => Round) private _rounds;
    mapping(uint256 round => mapping(address juror => Seat)) private _seats;
    mapping(uint256 round => mapping(bytes32 vote => uint16 seats)) private _voteSeats;
    mapping(bytes32 vote => Verdict) private _verdicts;
    mapping(uint256 round => mapping(uint256 id => Count)) private _counts;
    mapping(uint256 round => mapping(uint256 id => mapping(uint32 score => uint16 seats))) private _otherSeats;
    mapping(uint256 word => uint256 bits) private _publishedLeaves;
    mapping(uint256 round => address challenger) private _challengers;

    constructor() {
        // The implementation behind the clones can never be initialized itself.
        _state.initialized = true;
    }

    /// @notice Check the parameters in this clone's code against the floors and take the prize,
    ///         the host bond and the bounties; called once, by the factory, at creation.
    function initialize() external payable {
        if (_state.initialized) revert AlreadyInitialized();
        Config memory cfg = _config();
        // The parameters are checked by the factory (CompetitionFactory._checkParams): a clone
        // made by hand is not in the pool and cannot draw a jury. Here, the funding only.
        if (cfg.prize == 0) revert PrizeInvalid(cfg.prize);
        if (cfg.prize > type(uint128).max) revert AmountTooLarge(cfg.prize);
        uint256 funding = cfg.prize + cfg.hostBond + 2 * uint256(cfg.drawBounty) + cfg.publishBounty;
        if (msg.value != funding) revert FundingMismatch(funding, msg.value);
        _state.initialized = true;
        _state.round = 1;
    }

    // ---------------------------------------------------------------------------------------
    // Submit and reveal; the key
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
        if (entry.commits >= cfg.maxSubmissions) revert SubmissionLimitReached(msg.sender, cfg.maxSubmissions);
        // Overflow not possible: commits <= maxSubmissions < 2**16, and ids cannot reach 2**32
        // within any submit window's gas.
        unchecked {
            entry.commits += 1;
            id = ++_state.submissions;
        }
        _submissions[id].hash = commitment;
        emit SubmissionCommitted(id, msg.sender, commitment);
    }

    /// @notice Reveal a committed model, before the test key can be. The bytes go into the
    ///         event, where every juror reads them; the contract keeps their hash and size.
    function reveal(uint256 id, bytes calldata model, bytes32 salt) external {
        Config memory cfg = _config();
        if (cfg.revealMode != RevealMode.Calldata) revert WrongRevealMode(cfg.revealMode);
        _checkReveal(cfg, id, model.length);
        bytes32 modelHash = keccak256(model);
        _revealed(id, modelHash, model.length, salt);
        emit ModelRevealed(id, msg.sender, modelHash, model.length, model);
    }

    /// @notice Reveal a committed model carried in this transaction's blobs: `size` payload
    ///         bytes take exactly ceil((size + 5) / 126,976) blobs, every one of them present and
    ///         no more. The commitment binds the size and the blobs' versioned hashes; `cid` names
    ///         a copy in content storage, for readers once the blobs expire.
    function revealBlobs(uint256 id, uint256 size, bytes32 salt, string calldata cid) external {
        Config memory cfg = _config();
        if (cfg.revealMode != RevealMode.Blob) revert WrongRevealMode(cfg.revealMode);
        _checkReveal(cfg, id, size);
        uint256 count = (size + _BLOB_HEADER + _BLOB_DATA - 1) / _BLOB_DATA;
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            hashes[i] = blobhash(i);
            if (hashes[i] == bytes32(0)) revert BlobMissing(id, i);
        }
        if (blobhash(count) != bytes32(0)) revert ExtraBlob(id, count);
        bytes32 modelHash = keccak256(abi.encode(size, hashes));
        _revealed(id, modelHash, size, salt);
        emit ModelRevealedInBlobs(id, msg.sender, modelHash, size, hashes, cid);
    }

    function _checkReveal(Config memory cfg, uint256 id, uint256 size) private view {
        if (block.timestamp < cfg.submitDeadline) revert RevealTooEarly(cfg.submitDeadline, block.timestamp);
        if (block.timestamp >= cfg.revealDeadline) revert RevealTooLate(cfg.revealDeadline, block.timestamp);
        Submission storage s = _submissions[id];
        if (s.hash == bytes32(0)) revert SubmissionUnknown(id);
        if (s.status != Status.None) revert SubmissionAlreadyRevealed(id);
        if (size == 0) revert ModelEmpty(id);
        if (size > cfg.maxModelBytes) revert ModelTooLarge(id, size, cfg.maxModelBytes);
    }

    /// @dev The commitment opened by `modelHash` and `salt` from the caller: the submission is
    ///      the caller's, revealed, of `size` bytes (checked against the uint24 cap).
    function _revealed(uint256 id, bytes32 modelHash, uint256 size, bytes32 salt) private {
        Submission storage s = _submissions[id];
        if (keccak256(abi.encode(modelHash, salt, msg.sender, address(this))) != s.hash) {
            revert CommitmentMismatch(id, msg.sender);
        }
        s.owner = msg.sender;
        s.status = Status.Revealed;
        s.size = uint24(size); // fits: at most maxModelBytes, a uint24
        s.hash = modelHash;
        // Overflow not possible: each is at most the number of commits.
        unchecked {
            _participants[msg.sender].reveals += 1;
            _state.revealed += 1;
        }
    }

    /// @notice The host reveals the key of the encrypted test split, once no model can be
    ///         revealed any more and before the key deadline; a host who does not loses its bond.
    function revealTestKey(bytes32 key) external {
        Config memory cfg = _config();
        if (msg.sender != cfg.host) revert CallerNotHost(msg.sender, cfg.host);
        if (block.timestamp < cfg.revealDeadline) revert KeyTooEarly(cfg.revealDeadline, block.timestamp);
        if (block.timestamp >= cfg.keyDeadline) revert KeyTooLate(cfg.keyDeadline, block.timestamp);
        if (_state.keyRevealed) revert TestKeyAlreadyRevealed();
        bytes32 given = keccak256(abi.encodePacked(key));
        if (given != cfg.testKeyHash) revert TestKeyMismatch(cfg.testKeyHash, given);
        _testKey = key;
        _state.keyRevealed = true;
        emit TestKeyRevealed(key);
    }

    // ---------------------------------------------------------------------------------------
    // The jury
    // ---------------------------------------------------------------------------------------

    /// @notice Draw the jury of the current vote, in calls by anyone: the first seals the draw
    ///         to a future block; later ones draw from that block's hash, up to 16 seats each,
    ///         each earning the draw bounty's part for its seats. The first jury is drawn from
    ///         the submit deadline on.
    /// @return drawn Whether the jury is complete after this call (false: sealed, or partly drawn).
    function drawJury() external returns (bool drawn) {
        Config memory cfg = _config();
        State memory st = _state;
        uint256 r = st.round;
        Round storage rnd = _rounds[r];
        if (st.finalized || rnd.drawnAt != 0) revert NoDrawDue(r);
        if (r == 1) {
            if (block.timestamp < cfg.submitDeadline) revert DrawTooEarly(cfg.submitDeadline, block.timestamp);
            if (st.submissions == 0) revert NoDrawDue(r);
        }
        IMinerPool miners = IMinerPool(cfg.pool);
        if (miners.sealedTarget(address(this)) == 0) {
            miners.seal();
            return false;
        }
        // A batch per call keeps every call far below 2M gas (about 70k a new juror), however
        // large the jury: the draw goes on where the last batch stopped, under the same seal.
        uint256 seats = r == 1 ? cfg.seats : 2 * uint256(cfg.seats) + 1;
        uint256 first = rnd.seats;
        uint256 n = seats - first < _DRAW_BATCH ? seats - first : _DRAW_BATCH;
        (address[] memory jurors, bool[] memory backed) = miners.draw(n, bytes32(r));
        uint256 backedSeats = rnd.backedSeats;
        for (uint256 i = 0; i < n; ++i) {
            Seat storage place = _seats[r][jurors[i]];
            // Overflow not possible: at most 2 * 255 + 1 seats.
            unchecked {
                place.seats += 1;
                if (backed[i]) {
                    place.backed += 1;
                    backedSeats += 1;
                }
            }
        }
        rnd.seats = uint16(first + n);
        rnd.backedSeats = uint16(backedSeats);
        // The bounty per seat drawn, the last batch taking the remainder.
        uint256 bounty = cfg.drawBounty * (first + n) / seats - cfg.drawBounty * first / seats;
        _money.drawPaid += uint128(bounty);
        _credit(msg.sender, bounty, "draw");
        drawn = first + n == seats;
        if (drawn) {
            miners.close();
            rnd.drawnAt = uint40(block.timestamp);
            if (r == 1) {
                rnd.commitDeadline = cfg.voteCommitDeadline;
                rnd.revealDeadline = cfg.voteRevealDeadline;
            } else {
                rnd.commitDeadline = uint40(block.timestamp + cfg.voteCommitDeadline - cfg.keyDeadline);
                rnd.revealDeadline = rnd.commitDeadline + cfg.voteRevealDeadline - cfg.voteCommitDeadline;
            }
            rnd.tallyDeadline = rnd.revealDeadline + cfg.tallyDuration;
            _state.draws = st.draws + 1;
        }
        emit JuryDrawn(r, jurors, backed, rnd.commitDeadline);
    }

    /// @notice Commit the hash of this juror's vote for the current round; may be replaced
    ///         until the commit deadline.
    /// @param commitment keccak256(abi.encode(vote, salt, msg.sender, address(this)))
    function commitVote(bytes32 commitment) external {
        uint256 r = _state.round;
        Round storage rnd = _rounds[r];
        // Fix: with no model revealed there is nothing to vote on, and the vote never opens. A
        // vote there let a root be decided after a NoEntries finalization (which needs only the
        // reveal deadline): its publication bounty, already back with the host, was paid again,
        // and a settled juror's seat was reopened (its next settlement then reverted).
        if (rnd.drawnAt == 0 || (r == 1 && !_state.keyRevealed) || _state.revealed == 0) {
            revert VoteCommitTooEarly(r);
        }
        if (block.timestamp >= rnd.commitDeadline) revert VoteCommitTooLate(rnd.commitDeadline, block.timestamp);
        Seat storage place = _seats[r][msg.sender];
        if (place.backed == 0) revert NotJuror(r, msg.sender);
        place.state = Vote.Committed;
        place.hash = commitment;
        emit VoteCommitted(r, msg.sender, commitment);
    }

    /// @notice Reveal a vote for a score vector: the Merkle root of its leaves (one per revealed
    ///         submission by ascending id: id, score, hash of the per-sample correctness bitmap),
    ///         their count, and the winner it names (the best score; a tie goes to the lower id).
    function revealVote(bytes32 root, uint32 count, uint32 winnerId, uint32 winnerScore, bytes32 salt) external {
        bytes32 vote = keccak256(abi.encode(root, count, winnerId, winnerScore));
        _reveal(vote, salt);
        if (_verdicts[vote].count == 0) _verdicts[vote] = Verdict(root, count, winnerId, winnerScore);
        emit VoteRevealed(_state.round, msg.sender, vote, root, count, winnerId, winnerScore, _seat().backed);
    }

    /// @notice Reveal a HOST_FAULT vote: the key does not open the test split, or the split is
    ///         not what the manifest and the parameters declare.
    function revealHostFault(bytes32 salt) external {
        _reveal(HOST_FAULT, salt);
        emit VoteRevealed(_state.round, msg.sender, HOST_FAULT, bytes32(0), 0, 0, 0, _seat().backed);
    }

    // ---------------------------------------------------------------------------------------
    // Scores: published against the winning root, or tallied when no root won
    // ---------------------------------------------------------------------------------------

    /// @notice Publish a chunk of the winning vector (an aligned subtree of 2**level leaves,
    ///         checked against the winning root), for the leaderboard; each leaf published for
    ///         the first time earns its share of the publication bounty.
    function publishScores(uint256 level, uint256 index, bytes calldata leaves, bytes32[] calldata proof) external {
        uint256 r = _state.round;
        Verdict storage ruling = _verdicts[_rounds[r].leader];
        if (!_rootDecided(r) || _rounds[r].leader == HOST_FAULT) revert NoWinningRoot(r);
        uint256 first = _checkChunk(ruling.root, ruling.count, level, index, leaves, proof);
        uint256 n = leaves.length / ScoreTree.LEAF_SIZE;
        uint256 fresh = 0;
        for (uint256 i = 0; i < n; ++i) {
            uint256 position = first + i;
            uint256 bit = 1 << (position % 256);
            uint256 bits = _publishedLeaves[position / 256];
            if (bits & bit == 0) {
                _publishedLeaves[position / 256] = bits | bit;
                fresh += 1;
            }
        }
        if (fresh == 0) revert AlreadyPublished(first);
        Config memory cfg = _config();
        // The bounty per leaf; the last leaf takes the remainder, so all of it is paid.
        uint256 total = _money.published + fresh;
        uint256 owed = cfg.publishBounty * total / ruling.count - cfg.publishBounty * _money.published / ruling.count;
        _money.published = uint128(total);
        _credit(msg.sender, owed, "publish");
        emit ScoresPublished(r, first, leaves);
    }

    /// @notice While no root has a majority: publish a chunk of a juror's vector (in order,
    ///         checked against the root it revealed), adding its scores to the tally with its
    ///         seats. A juror whose whole vector is not published by the tally deadline is absent.
    function publishVector(
        address juror,
        uint256 level,
        uint256 index,
        bytes calldata leaves,
        bytes32[] calldata proof
    ) external {
        uint256 r = _state.round;
        Round storage rnd = _rounds[r];
        if (rnd.drawnAt == 0 || block.timestamp < rnd.revealDeadline || _rootDecided(r)) revert TallyNotOpen(r);
        if (block.timestamp >= rnd.tallyDeadline) revert TallyClosed(rnd.tallyDeadline, block.timestamp);
        Seat storage place = _seats[r][juror];
        if (place.state != Vote.Revealed || place.hash == HOST_FAULT) revert NotJuror(r, juror);
        uint256 revealed = _state.revealed;
        if (place.cursor >= revealed) revert VectorComplete(juror);
        Verdict storage ruling = _verdicts[place.hash];
        uint256 first = _checkChunk(ruling.root, ruling.count, level, index, leaves, proof);
        if (first != place.cursor) revert VectorOutOfOrder(place.cursor, first);
        uint256 n = leaves.length / ScoreTree.LEAF_SIZE;
        uint32 testSetSize = _config().testSetSize;
        uint256 lastId = place.lastId;
        uint16 weight = place.backed;
        for (uint256 i = 0; i < n; ++i) {
            (uint32 id, uint32 score,) = ScoreTree.leafAt(leaves, i);
            // Ascending revealed ids, exactly `revealed` of them: the vector covers every
            // revealed submission once.
            if (id <= lastId || _submissions[id].owner == address(0) || score > testSetSize) {
                revert LeafInvalid(first + i, id);
            }
            lastId = id;
            _count(r, id, score, weight);
        }
        uint256 cursor = first + n;
        if (cursor > revealed) revert LeafInvalid(cursor - 1, lastId);
        place.cursor = uint32(cursor);
        place.lastId = uint32(lastId);
        if (cursor == revealed) rnd.publishedSeats += weight;
        emit VectorPublished(r, juror, first, leaves);
    }

    /// @notice After the tally deadline: settle submissions by their tallies. One is validated
    ///         when a strict majority of all seats gave it the same score; otherwise it scores 0
    ///         and slashes nobody. Once all are settled the best validated one (score above 0;
    ///         a tie goes to the lower id) wins; with none, the first vote is followed by a
    ///         re-vote of 2n+1 seats, and a failed re-vote leaves the competition void.
    function settleSubmissions(uint256[] calldata ids) external {
        uint256 r = _state.round;
        Round storage rnd = _rounds[r];
        // Fix: no tally without the key (nobody could vote). Settling one anyway started a
        // re-vote under a withheld key, whose jurors KeyWithheld then paid per seat on top of
        // the first jury's seats, more than the jury's amount.
        if (rnd.drawnAt == 0 || _rootDecided(r) || !_state.keyRevealed) revert TallyNotOpen(r);
        if (block.timestamp < rnd.tallyDeadline) revert TallyStillOpen(rnd.tallyDeadline, block.timestamp);
        State memory st = _state;
        uint256 settled = rnd.settled;
        uint256 seats = rnd.seats;
        for (uint256 i = 0; i < ids.length; ++i) {
            uint256 id = ids[i];
            Count storage count = _counts[r][id];
            if (count.settled || _submissions[id].owner == address(0)) continue;
            bool validated = uint256(count.topSeats) * 2 > seats;
            count.settled = true;
            count.validated = validated;
            settled += 1;
            uint32 score = validated ? count.topScore : 0;
            if (score > 0 && (score > st.winnerScore || (score == st.winnerScore && id < st.winnerId))) {
                st.winnerId = uint32(id);
                st.winnerScore = score;
            }
            emit SubmissionSettled(r, id, validated, score, validated ? count.topSeats : 0);
        }
        rnd.settled = uint32(settled);
        if (settled == st.revealed && st.winnerId == 0 && r == 1) {
            st.round = 2;
            st.revoteAt = uint40(block.timestamp);
            emit RevoteStarted(2 * uint256(_config().seats) + 1);
        }
        _state = st;
    }

    /// @notice During a tally's dispute window: show that a juror's vector gave a validated
    ///         submission another score; the juror's seats are burned and earn nothing.
    function proveDissent(address juror, uint256 position, bytes calldata leaf, bytes32[] calldata proof) external {
        uint256 r = _state.round;
        if (_state.finalized) revert AlreadyFinalized();
        Seat storage place = _seats[r][juror];
        if (place.state != Vote.Revealed || place.hash == HOST_FAULT || place.dissent) revert NotJuror(r, juror);
        Verdict storage ruling = _verdicts[place.hash];
        _checkChunk(ruling.root, ruling.count, 0, position, leaf, proof);
        (uint32 id, uint32 score,) = ScoreTree.leafAt(leaf, 0);
        Count storage count = _counts[r][id];
        if (!count.settled) revert SubmissionNotSettled(id);
        if (!count.validated || count.topScore == score) revert NotDissent(id, score, count.topScore);
        place.dissent = true;
        // Fix: only seats counted in publishedSeats may be taken off the earners. A juror whose
        // vector was never published in full earns nothing anyway; subtracting its seats too
        // made finalize pay the jury per fewer seats than it pays (the last claims then fail).
        if (place.cursor == _state.revealed) _rounds[r].dissentSeats += place.backed;
        emit DissentProven(r, juror, id, score, count.topScore);
    }

    /// @notice Called by the dispute contract when a decided root is proven wrong (or was never
    ///         published with its bitmaps, `challenger` zero): the root's majority is slashed,
    ///         half of it to the challenger, and round 1 goes to a re-vote; round 2 is void.
    function overturn(address challenger) external {
        State memory st = _state;
        uint256 r = st.round;
        bool decided = _rootDecided(r) && _rounds[r].leader != HOST_FAULT && st.overturned & (1 << r) == 0;
        if (msg.sender != _config().disputes || st.finalized || !decided) {
            revert NotOverturnable(r);
        }
        st.overturned |= uint8(1 << r);
        _challengers[r] = challenger;
        if (r == 1) {
            st.round = 2;
            st.revoteAt = uint40(block.timestamp);
            emit RevoteStarted(2 * uint256(_config().seats) + 1);
        }
        _state = st;
        emit RootOverturned(r, challenger);
    }

    // ---------------------------------------------------------------------------------------
    // Finalize, settle jurors, claim (permissionless bookkeeping)
    // ---------------------------------------------------------------------------------------

    /// @notice Decide the outcome and the amounts, once the clock and the votes allow it.
    ///         Constant work, callable by anyone, once.
    function finalize() external {
        State memory st = _state;
        if (st.finalized) revert AlreadyFinalized();
        Config memory cfg = _config();
        // Fix: not while this competition's draw is sealed. Finalizing then orphaned the seal
        // (drawJury reverts NoDrawDue once finalized): every bond change in the pool waited
        // for its expiry (8,191 blocks with EIP-2935), a pause anyone could renew at the cost
        // of an empty competition. Now the seal is drawn, or expires, first.
        if (IMinerPool(cfg.pool).sealedTarget(address(this)) != 0) revert SettlementTooEarly(uint256(phase()));
        Money memory m = _money;
        uint256 r = st.round;
        Round storage rnd = _rounds[r];
        uint256 juryPrize = cfg.prize * (_BPS - cfg.winnerBps) / _BPS;
        uint256 earning = 0; // seats the jury's amount is divided by
        uint256 unpaid = 0; // of which seats whose share is burned (proven dissenters)
        Outcome outcome;
        if (st.revealed == 0) {
            if (block.timestamp < cfg.revealDeadline) revert SettlementTooEarly(uint256(Phase.Reveal));
            outcome = Outcome.NoEntries;
        } else if (!st.keyRevealed) {
            if (block.timestamp < cfg.keyDeadline) revert SettlementTooEarly(uint256(Phase.Key));
            outcome = Outcome.KeyWithheld;
            earning = _rounds[1].backedSeats;
        } else if (_rootDecided(r)) {
            earning = rnd.leaderSeats;
            if (rnd.leader == HOST_FAULT) {
                outcome = Outcome.HostFault;
            } else if (st.overturned & (1 << r) != 0) {
                outcome = Outcome.Void; // the re-vote's root overturned too
                earning = 0;
            } else {
                // The dispute window: as long as a tally's. Then every challenge must be closed
                // and the vector published with its bitmaps (else it is overturned).
                uint256 disputesEnd = uint256(rnd.revealDeadline) + cfg.tallyDuration;
                if (block.timestamp < disputesEnd || !IDisputes(cfg.disputes).cleared(address(this), r)) {
                    revert SettlementTooEarly(uint256(Phase.Settle));
                }
                Verdict storage ruling = _verdicts[rnd.leader];
                Submission storage best = _submissions[ruling.winnerId];
                bool valid = ruling.count == st.revealed && best.owner != address(0) && ruling.winnerScore > 0
                    && ruling.winnerScore <= cfg.testSetSize;
                outcome = valid ? Outcome.Winner : Outcome.Void;
                if (valid) (st.winnerId, st.winnerScore) = (ruling.winnerId, ruling.winnerScore);
            }
        } else if (rnd.drawnAt != 0 && rnd.settled == st.revealed) {
            // A tally decided: the dispute window (as long as the tally) must have passed.
            uint256 disputesEnd = uint256(rnd.tallyDeadline) + cfg.tallyDuration;
            if (block.timestamp < disputesEnd) revert SettlementTooEarly(uint256(Phase.Tally));
            outcome = st.winnerId != 0 ? Outcome.Winner : Outcome.Void;
            // A proven dissenter's share is burned, not shared: proving a dissent pays nobody.
            earning = rnd.publishedSeats;
            unpaid = rnd.dissentSeats;
        } else if (rnd.drawnAt == 0) {
            // Nobody drew this vote's jury (or the pool could not) in the time a vote takes.
            uint256 vote = uint256(cfg.voteRevealDeadline) - cfg.keyDeadline + cfg.tallyDuration;
            uint256 lapse = r == 1 ? uint256(cfg.keyDeadline) + vote : uint256(st.revoteAt) + vote;
            if (block.timestamp < lapse) revert SettlementTooEarly(uint256(phase()));
            outcome = Outcome.Void;
        } else {
            revert SettlementTooEarly(uint256(phase()));
        }
        uint256 buyIns = uint256(cfg.entryFee) * st.submissions;
        if (outcome == Outcome.Winner) {
            // Buy-ins count towards the winner's share only up to prize * minerBps / winnerBps:
            // a host entry fitted to the test split can then win at most its own prize back.
            uint256 cap = cfg.prize * (_BPS - cfg.winnerBps) / cfg.winnerBps;
            m.winnerAmount = uint128((cfg.prize + _min(buyIns, cap)) * cfg.winnerBps / _BPS);
            m.juryAmount = uint128(cfg.prize + buyIns - m.winnerAmount);
        } else if (outcome != Outcome.NoEntries) {
            // The prize never returns to the host once a model is public: the jury gets its
            // share of it, the revealed models the rest (buy-ins are refunded).
            m.juryAmount = earning == 0 ? 0 : uint128(juryPrize);
            uint256 split = cfg.prize - m.juryAmount;
            m.prizePerReveal = uint128(split / st.revealed);
            m.burned += uint128(split % st.revealed); // rounding dust
        }
        if (m.juryAmount != 0 && earning == 0) {
            m.burned += m.juryAmount; // nobody earned it (a tally whose every juror dissented)
        } else if (m.juryAmount != 0) {
            m.perSeat = uint128(m.juryAmount / earning);
            // Rounding dust, and the dissenters' shares.
            m.burned += uint128(m.juryAmount % earning + uint256(m.perSeat) * unpaid);
        }
        if (outcome == Outcome.HostFault || outcome == Outcome.KeyWithheld) m.burned += cfg.hostBond;
        st.finalized = true;
        st.outcome = outcome;
        _state = st;
        _money = m;
        emit Finalized(outcome, st.winnerId, m.winnerAmount, m.juryAmount, m.perSeat, m.prizePerReveal, m.burned);
        if (m.burned != 0) Address.sendValue(payable(_BURN), m.burned);
    }

    /// @notice After finalization: release the seats each juror earned back, burn the others,
    ///         and credit its pay. Anyone may settle anyone; a juror's claim settles its own.
    function settleJurors(uint256 r, address[] calldata jurors) external nonReentrant {
        if (!_state.finalized) revert NotFinalized();
        for (uint256 i = 0; i < jurors.length; ++i) {
            _settleJuror(r, jurors[i]);
        }
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

    /// @notice The current phase (derived from the clock and this competition's state).
    function phase() public view returns (Phase) {
        State storage st = _state;
        if (st.finalized) return Phase.Finalized;
        Config memory cfg = _config();
        if (block.timestamp < cfg.submitDeadline) return Phase.Submit;
        if (block.timestamp < cfg.revealDeadline) return Phase.Reveal;
        if (st.revealed == 0) return Phase.Settle;
        if (!st.keyRevealed) return block.timestamp < cfg.keyDeadline ? Phase.Key : Phase.Settle;
        uint256 r = st.round;
        Round storage rnd = _rounds[r];
        if (rnd.drawnAt == 0) return r == 2 ? Phase.Revote : Phase.VoteCommit;
        if (block.timestamp < rnd.commitDeadline) return Phase.VoteCommit;
        if (block.timestamp < rnd.revealDeadline) return Phase.VoteReveal;
        if (_rootDecided(r)) return Phase.Settle;
        if (block.timestamp < rnd.tallyDeadline || rnd.settled < st.revealed) return Phase.Tally;
        return Phase.Settle;
    }

    /// @notice The dispute contract this competition answers to (contracts/Disputes.sol).
    function disputes() external view returns (address) {
        return _config().disputes;
    }

    /// @notice Bit r: round r's decided root was overturned (see `overturn`).
    function overturned() external view returns (uint8) {
        return _state.overturned;
    }

    /// @notice The host.
    function host() external view returns (address) {
        return _config().host;
    }

    /// @notice The miner pool juries are drawn from.
    function pool() external view returns (address) {
        return _config().pool;
    }

    /// @notice The prize (what the host funded besides its bond and the bounties).
    function prize() external view returns (uint256) {
        return _config().prize;
    }

    /// @notice The creation parameters.
    function params() external view returns (Params memory p) {
        Config memory cfg = _config();
        p = Params({
            entryFee: cfg.entryFee,
            hostBond: cfg.hostBond,
            drawBounty: cfg.drawBounty,
            publishBounty: cfg.publishBounty,
            submitDeadline: cfg.submitDeadline,
            revealDeadline: cfg.revealDeadline,
            keyDeadline: cfg.keyDeadline,
            voteCommitDeadline: cfg.voteCommitDeadline,
            voteRevealDeadline: cfg.voteRevealDeadline,
            tallyDuration: cfg.tallyDuration,
            testSetSize: cfg.testSetSize,
            maxModelBytes: cfg.maxModelBytes,
            maxSubmissions: cfg.maxSubmissions,
            seats: cfg.seats,
            winnerBps: cfg.winnerBps,
            testKeyHash: cfg.testKeyHash,
            revealMode: cfg.revealMode,
            samplesRoot: cfg.samplesRoot
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

    /// @notice One vote's jury, windows and leader.
    function round(uint256 r) external view returns (Round memory) {
        return _rounds[r];
    }

    /// @notice One juror's part in one vote.
    function seat(uint256 r, address juror) external view returns (Seat memory) {
        return _seats[r][juror];
    }

    /// @notice What a revealed vote says.
    function verdict(bytes32 vote) external view returns (Verdict memory) {
        return _verdicts[vote];
    }

    /// @notice Seats behind `vote` in round `r`.
    function votesFor(uint256 r, bytes32 vote) external view returns (uint256) {
        return _voteSeats[r][vote];
    }

    /// @notice A tally's count for one submission in round `r`.
    function tally(uint256 r, uint256 id) external view returns (uint32 topScore, uint16 topSeats, bool settled, bool validated) {
        Count storage c = _counts[r][id];
        return (c.topScore, c.topSeats, c.settled, c.validated);
    }

    /// @notice One address's submissions, claim and credits.
    function participant(address account)
        external
        view
        returns (uint32 commits, uint32 reveals, bool claimed, uint128 credits)
    {
        Participant storage p = _participants[account];
        return (p.commits, p.reveals, p.claimed, p.credits);
    }

    /// @notice Counters, phase and payout figures in one call.
    function summary() external view returns (Summary memory) {
        State storage st = _state;
        Money storage m = _money;
        return Summary({
            phase: phase(),
            outcome: st.outcome,
            keyRevealed: st.keyRevealed,
            round: st.round,
            submissions: st.submissions,
            revealed: st.revealed,
            winnerId: st.winnerId,
            winnerScore: st.winnerScore,
            prize: uint128(_config().prize),
            pool: uint128(liabilities()),
            winnerAmount: m.winnerAmount,
            juryAmount: m.juryAmount,
            perSeat: m.perSeat,
            prizePerReveal: m.prizePerReveal,
            burned: m.burned
        });
    }

    /// @notice The internal ledger: every wei taken in and neither paid out nor burned. The
    ///         balance equals it, unless someone forced ether in (which no payout counts on).
    function liabilities() public view returns (uint256) {
        Config memory cfg = _config();
        uint256 funded = cfg.prize + cfg.hostBond + 2 * uint256(cfg.drawBounty) + cfg.publishBounty;
        return funded + uint256(cfg.entryFee) * _state.submissions - _money.paid - _money.burned;
    }

    /// @notice What `account` can claim now, in all its roles.
    function claimable(address account) public view returns (uint256 amount) {
        Participant storage p = _participants[account];
        amount = p.credits;
        if (!_state.finalized) return amount;
        for (uint256 r = 1; r <= 2; ++r) {
            Seat storage s = _seats[r][account];
            if (s.backed != 0 && s.state != Vote.Settled) {
                (,, uint256 reward) = _jurorOutcome(r, s);
                amount += reward;
            }
        }
        if (!p.claimed) amount += _finalAmount(account, p);
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    function _reveal(bytes32 vote, bytes32 salt) private {
        uint256 r = _state.round;
        Round storage rnd = _rounds[r];
        if (rnd.drawnAt == 0 || block.timestamp < rnd.commitDeadline) {
            revert VoteRevealTooEarly(rnd.commitDeadline, block.timestamp);
        }
        if (block.timestamp >= rnd.revealDeadline) revert VoteRevealTooLate(rnd.revealDeadline, block.timestamp);
        Seat storage place = _seats[r][msg.sender];
        if (place.state != Vote.Committed) {
            if (place.state == Vote.Revealed) revert VoteAlreadyRevealed(r, msg.sender);
            revert VoteNotCommitted(r, msg.sender);
        }
        if (keccak256(abi.encode(vote, salt, msg.sender, address(this))) != place.hash) {
            revert VoteCommitmentMismatch(r, msg.sender);
        }
        place.state = Vote.Revealed;
        place.hash = vote;
        uint16 weight = place.backed;
        // Overflow not possible: seats <= 2 * 255 + 1.
        unchecked {
            uint16 seats = _voteSeats[r][vote] + weight;
            _voteSeats[r][vote] = seats;
            rnd.revealedSeats += weight;
            if (seats > rnd.leaderSeats) {
                rnd.leaderSeats = seats;
                rnd.leader = vote;
            }
        }
    }

    function _seat() private view returns (Seat storage) {
        return _seats[_state.round][msg.sender];
    }

    /// @dev Whether a vote of round `r` is decided by its roots: its reveal window has closed
    ///      and one vote has a strict majority of all seats (absent ones count against it).
    function _rootDecided(uint256 r) private view returns (bool) {
        Round storage rnd = _rounds[r];
        return rnd.drawnAt != 0 && block.timestamp >= rnd.revealDeadline
            && uint256(rnd.leaderSeats) * 2 > rnd.seats;
    }

    /// @dev Check a chunk of a vector against its root; return the position of its first leaf.
    function _checkChunk(
        bytes32 root,
        uint256 count,
        uint256 level,
        uint256 index,
        bytes calldata leaves,
        bytes32[] calldata proof
    ) private pure returns (uint256 first) {
        uint256 n = leaves.length / ScoreTree.LEAF_SIZE;
        if (n == 0 || leaves.length % ScoreTree.LEAF_SIZE != 0 || level > 32 || n > (1 << level)) {
            revert ChunkInvalid(level, index, n);
        }
        first = index << level;
        if (first + n > count) revert ChunkInvalid(level, index, n);
        // A chunk short of 2**level leaves must be the vector's last one (zero padding).
        if (n < (1 << level) && first + n != count) revert ChunkInvalid(level, index, n);
        if (!ScoreTree.verify(root, count, level, index, leaves, proof)) revert ProofInvalid();
    }

    function _count(uint256 r, uint256 id, uint32 score, uint16 weight) private {
        Count storage c = _counts[r][id];
        // Overflow not possible: a juror's vector covers each id once, and seats <= 511.
        unchecked {
            if (c.topSeats == 0) {
                c.topScore = score;
                c.topSeats = weight;
            } else if (score == c.topScore) {
                c.topSeats += weight;
            } else {
                uint16 seats = _otherSeats[r][id][score] + weight;
                if (seats > c.topSeats) {
                    _otherSeats[r][id][c.topScore] = c.topSeats;
                    delete _otherSeats[r][id][score];
                    c.topScore = score;
                    c.topSeats = seats;
                } else {
                    _otherSeats[r][id][score] = seats;
                }
            }
        }
    }

    /// @dev How many of a juror's backed seats in round `r` it keeps, how many are burned, and
    ///      the pay it earned, given the finalized outcome.
    function _jurorOutcome(uint256 r, Seat storage s)
        private
        view
        returns (uint256 kept, uint256 burned, uint256 reward)
    {
        State storage st = _state;
        Outcome outcome = st.outcome;
        uint256 backed = s.backed;
        bool earns;
        if (outcome == Outcome.NoEntries || outcome == Outcome.KeyWithheld) {
            // Nothing was put to the vote: every drafted seat is released.
            kept = backed;
            earns = outcome == Outcome.KeyWithheld;
        } else if (st.overturned & (1 << r) != 0) {
            // A root proven wrong: its majority is slashed; the other present seats are
            // released, unpaid.
            kept = s.state == Vote.Revealed && s.hash != _rounds[r].leader ? backed : 0;
        } else if (r != st.round) {
            // The first vote, followed by a re-vote: present seats are released, unpaid.
            kept = s.state == Vote.Revealed ? backed : 0;
        } else if (_rootDecided(r)) {
            earns = s.state == Vote.Revealed && s.hash == _rounds[r].leader;
            kept = earns ? backed : 0;
        } else if (_rounds[r].drawnAt != 0) {
            // Decided by a tally: jurors whose whole vector counted and never dissented earn;
            // a HOST_FAULT vote is kept (not paid) unless a winner proves it wrong.
            bool published = s.state == Vote.Revealed && s.hash != HOST_FAULT && s.cursor == st.revealed;
            earns = published && !s.dissent;
            bool excused = s.state == Vote.Revealed && s.hash == HOST_FAULT && outcome != Outcome.Winner;
            kept = earns || excused ? backed : 0;
        }
        burned = backed - kept;
        if (earns) reward = uint256(_money.perSeat) * backed;
    }

    function _settleJuror(uint256 r, address juror) private {
        Seat storage s = _seats[r][juror];
        if (s.backed == 0 || s.state == Vote.Settled) revert JurorAlreadySettled(r, juror);
        (uint256 kept, uint256 burned, uint256 reward) = _jurorOutcome(r, s);
        s.state = Vote.Settled;
        IMinerPool miners = IMinerPool(_config().pool);
        if (kept != 0) miners.release(juror, kept);
        if (burned != 0) {
            bool majority = _state.overturned & (1 << r) != 0 && s.hash == _rounds[r].leader;
            miners.slash(juror, burned, majority ? _challengers[r] : _BURN);
        }
        // Its JurorSettled event says what it earned: no Credited event (it would cost each
        // juror's settlement about 2.5k gas more).
        if (reward != 0) _participants[juror].credits += uint128(reward);
        emit JurorSettled(r, juror, kept, burned, reward);
    }

    function _finalAmount(address account, Participant storage p) private view returns (uint256 amount) {
        Config memory cfg = _config();
        State storage st = _state;
        Money storage m = _money;
        Outcome outcome = st.outcome;
        if (outcome == Outcome.Winner) {
            if (_submissions[st.winnerId].owner == account) amount += m.winnerAmount;
        } else {
            // Every buy-in back; each revealed model its part of the prize.
            amount += uint256(cfg.entryFee) * p.commits + uint256(m.prizePerReveal) * p.reveals;
        }
        if (account == cfg.host) {
            bool bondBack = outcome == Outcome.Winner || outcome == Outcome.Void || outcome == Outcome.NoEntries;
            if (bondBack) amount += cfg.hostBond;
            if (outcome == Outcome.NoEntries) amount += cfg.prize;
            // The bounties nobody earned: draws not needed, and (without a winning root to
            // publish) the publication bounty.
            amount += 2 * uint256(cfg.drawBounty) - _money.drawPaid;
            // Fix: the bounty is the publishers' whenever publishScores accepts chunks, i.e. a
            // root other than HOST_FAULT won the vote, whatever the outcome (a decided root that
            // names no valid winner, all models scoring 0, say, voids): the host had it back as
            // well, a double payment.
            bool publishable = _rootDecided(st.round) && _rounds[st.round].leader != HOST_FAULT;
            if (!publishable) amount += cfg.publishBounty;
        }
    }

    function _claim(address payable to) private returns (uint256 amount) {
        Participant storage p = _participants[msg.sender];
        if (_state.finalized) {
            for (uint256 r = 1; r <= 2; ++r) {
                Seat storage s = _seats[r][msg.sender];
                if (s.backed != 0 && s.state != Vote.Settled) _settleJuror(r, msg.sender);
            }
            if (!p.claimed) {
                amount = _finalAmount(msg.sender, p);
                p.claimed = true;
            }
        }
        amount += p.credits;
        if (amount == 0) revert NothingToClaim(msg.sender);
        p.credits = 0;
        _money.paid += uint128(amount);
        emit Claimed(msg.sender, to, amount);
        Address.sendValue(to, amount);
    }

    function _credit(address account, uint256 amount, string memory reason) private {
        if (amount == 0) return;
        _participants[account].credits += uint128(amount);
        emit Credited(account, amount, reason);
    }

    function _config() private view returns (Config memory) {
        return abi.decode(Clones.fetchCloneArgs(address(this)), (Config));
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
