// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Architectures} from "./Architectures.sol";
import {ICompetition} from "./ICompetition.sol";
import {IDisputes} from "./IDisputes.sol";
import {ScoreTree} from "./ScoreTree.sol";

/// @title Disputes
/// @notice One honest party beats any majority: a decided root stands unless someone proves,
///         with one zk proof about one test sample, that it is wrong (docs/disputes.md).
/// @dev The game, for a competition whose vote decided a root:
///      1. The winning vector's bitmaps are published here (`publishBitmaps`), each checked
///         against its leaf. Until every one is, the competition cannot settle; if they are
///         not all published by the end of the dispute window, the root is overturned
///         (`annul`): a vector nobody can check does not stand.
///      2. A submission revealed as a disputable payload ("DMLW": an architecture and its
///         weights) is bound to its weights root (`bind`).
///      3. In the dispute window (a tally's length after the vote's reveal deadline), anyone
///         challenges with a bond: the jury's bitmap for the submission, a test sample with its
///         proof against the committed samples root, and a proof, under the architecture's
///         verifier, that the model with weight commitment C predicts class c on it, leading
///         by the architecture's margin. It reverts unless the jury's bit for that sample
///         disagrees with `c == label`.
///      4. C is the challenger's claim. If the registry already has the submission's commitment
///         it is compared at once; otherwise anyone may compute it there (contracts/
///         Architectures.sol) until the contest ends (twice the tally length after the reveal
///         deadline). A commitment that differs fails the challenge: its bond goes to whoever
///         completed the computation. Otherwise the challenge stands: the bond comes back and
///         the competition overturns the root (its majority slashed, half to the challenger;
///         a re-vote, or void after a second overturn).
contract Disputes is IDisputes, ReentrancyGuardTransient {
    bytes4 public constant PAYLOAD_MAGIC = "DMLW"; // then a version byte, the architecture, the weights
    uint8 public constant PAYLOAD_VERSION = 1;
    uint256 private constant _PAYLOAD_HEADER = 37;
    bytes32 private constant _HOST_FAULT = keccak256("deml.v2.host-fault"); // Competition.HOST_FAULT
    // BN254's scalar field: a proof's public values are elements of it.
    uint256 private constant _R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    struct Binding {
        bytes32 architecture;
        bytes32 weightsRoot;
    }

    /// @notice Everything a challenge presents (see the contract's notes, step 3).
    struct Evidence {
        uint256 position; // the submission's leaf in the winning vector
        bytes leaf; // 40 bytes: id, score, bitmap hash
        bytes32[] leafProof;
        bytes bitmap; // the jury's correctness bitmap for the submission
        uint32 sample; // the test sample's index
        uint32 label;
        bytes features; // big-endian float32, as the samples root commits them
        bytes32[] sampleProof;
        bytes proof; // EZKL's proof: its first 64 bytes are the weights' commitment C
        uint256[] instances; // the sample in fixed point, then the logits
    }

    struct Challenge {
        ICompetition competition;
        uint8 round;
        bool open;
        address challenger;
        uint40 contestEnd;
        bytes32 architecture;
        bytes32 weightsRoot;
        uint256 cx;
        uint256 cy;
    }

    struct Publication {
        uint32 published; // leaves of the winning vector whose bitmaps are out
        uint32 pending; // challenges not yet resolved
    }

    Architectures public immutable architectures;
    uint256 public immutable bond; // what a challenge puts up: it must pay for a contest

    mapping(address competition => mapping(uint256 id => Binding)) private _bindings;
    mapping(address competition => mapping(uint256 round => Publication)) private _publications;
    mapping(address competition => mapping(uint256 round => mapping(uint256 word => uint256))) private _bitmapsOut;
    mapping(uint256 id => Challenge) private _challenges;
    mapping(address account => uint256) public credits;
    uint256 public challenges;

    event Bound(address indexed competition, uint256 indexed id, bytes32 architecture, bytes32 weightsRoot);
    /// @dev The leaves with their bitmaps: a challenger rebuilds the winning vector from these
    ///      events alone, whoever made the call (a contract wallet's calldata is not the call's).
    event BitmapsPublished(address indexed competition, uint256 indexed round, uint256 first, bytes leaves, bytes bitmaps);
    event Challenged(
        uint256 indexed challenge,
        address indexed competition,
        uint256 round,
        uint256 submission,
        uint256 sample,
        uint256 predicted,
        address challenger
    );
    event ChallengeResolved(uint256 indexed challenge, bool stands, address paid);
    event Annulled(address indexed competition, uint256 round);

    error PayloadInvalid();
    error PayloadMismatch(uint256 id);
    error AlreadyBound(uint256 id);
    error NoDecidedRoot(uint256 round);
    error DisputeWindowClosed(uint256 end, uint256 now);
    error ChunkInvalid(uint256 level, uint256 index, uint256 leaves);
    error BitmapMismatch(uint256 position);
    error AlreadyPublished(uint256 first);
    error BondMismatch(uint256 bond, uint256 sent);
    error NotDisputable(uint256 id);
    error SampleInvalid(uint256 sample);
    error ProofInvalid();
    error MarginTooSmall(uint256 lead, uint256 margin);
    error JuryAgrees(uint256 sample, bool correct);
    error ChallengeClosed(uint256 challenge);
    error ContestOpen(uint256 end, uint256 now);
    error NotAnnullable(uint256 round);
    error NothingToClaim(address account);

    constructor(Architectures architectures_, uint256 bond_) {
        architectures = architectures_;
        bond = bond_;
    }

    // ---------------------------------------------------------------------------------------
    // Binding a submission to its weights; publishing the jury's bitmaps
    // ---------------------------------------------------------------------------------------

    /// @notice Bind a submission revealed in calldata as a disputable payload: "DMLW", version
    ///         1, the architecture id, then its weights as int32 big-endian words (what the
    ///         circuit commits). Anyone may, with the revealed bytes.
    function bind(ICompetition competition, uint256 id, bytes calldata payload) external {
        if (_bindings[address(competition)][id].weightsRoot != 0) revert AlreadyBound(id);
        ICompetition.Submission memory s = competition.submission(id);
        if (s.status != ICompetition.Status.Revealed || keccak256(payload) != s.hash) revert PayloadMismatch(id);
        if (payload.length < _PAYLOAD_HEADER || bytes4(payload[:4]) != PAYLOAD_MAGIC || uint8(payload[4]) != PAYLOAD_VERSION) {
            revert PayloadInvalid();
        }
        bytes32 arch = bytes32(payload[5:_PAYLOAD_HEADER]);
        bytes calldata weights = payload[_PAYLOAD_HEADER:];
        Architectures.Architecture memory a = architectures.architecture(arch);
        if (a.weights == 0 || weights.length != 4 * uint256(a.weights)) revert PayloadInvalid();
        uint256 size = 4 * architectures.CHUNK();
        uint256 chunks = (weights.length + size - 1) / size;
        bytes32[] memory hashes = new bytes32[](chunks);
        for (uint256 c = 0; c < chunks; ++c) {
            uint256 end = (c + 1) * size < weights.length ? (c + 1) * size : weights.length;
            hashes[c] = keccak256(weights[c * size:end]);
        }
        bytes32 root = keccak256(abi.encodePacked(hashes));
        _bindings[address(competition)][id] = Binding(arch, root);
        emit Bound(address(competition), id, arch, root);
    }

    function binding(address competition, uint256 id) external view returns (Binding memory) {
        return _bindings[competition][id];
    }

    /// @notice Publish the bitmaps of a chunk of the winning vector (an aligned subtree of
    ///         2**level leaves, checked against the winning root), each checked against its
    ///         leaf's bitmap hash. Every one must be out before the competition settles.
    function publishBitmaps(
        ICompetition competition,
        uint256 level,
        uint256 index,
        bytes calldata leaves,
        bytes calldata bitmaps,
        bytes32[] calldata proof
    ) external {
        (uint256 r,, ICompetition.Verdict memory v, ICompetition.Params memory p) = _decided(competition);
        uint256 n = leaves.length / ScoreTree.LEAF_SIZE;
        uint256 first = index << level;
        bool aligned = n != 0 && leaves.length % ScoreTree.LEAF_SIZE == 0 && level <= 32 && n <= (1 << level);
        if (!aligned || first + n > v.count || (n < (1 << level) && first + n != v.count)) {
            revert ChunkInvalid(level, index, n);
        }
        if (!ScoreTree.verify(v.root, v.count, level, index, leaves, proof)) revert ChunkInvalid(level, index, n);
        uint256 size = (uint256(p.testSetSize) + 7) / 8;
        if (bitmaps.length != n * size) revert BitmapMismatch(first);
        Publication storage pub = _publications[address(competition)][r];
        uint256 fresh = 0;
        for (uint256 i = 0; i < n; ++i) {
            (, uint32 score, bytes32 correct) = ScoreTree.leafAt(leaves, i);
            bytes calldata bitmap = bitmaps[i * size:(i + 1) * size];
            // A leaf's score must be its bitmap's count: a score inflated over honest bitmaps
            // would differ from them on no sample, so no challenge could reach it. Such bitmaps
            // cannot be published, and the root is annulled at the window's end.
            if (keccak256(bitmap) != correct || _ones(bitmap, p.testSetSize) != score) {
                revert BitmapMismatch(first + i);
            }
            uint256 position = first + i;
            mapping(uint256 => uint256) storage out = _bitmapsOut[address(competition)][r];
            uint256 bit = 1 << (position % 256);
            if (out[position / 256] & bit == 0) {
                out[position / 256] |= bit;
                fresh += 1;
            }
        }
        if (fresh == 0) revert AlreadyPublished(first);
        pub.published += uint32(fresh);
        emit BitmapsPublished(address(competition), r, first, leaves, bitmaps);
    }

    /// @inheritdoc IDisputes
    function cleared(address competition, uint256 round) external view returns (bool) {
        Publication storage pub = _publications[competition][round];
        ICompetition c = ICompetition(competition);
        return pub.pending == 0 && pub.published == c.verdict(c.round(round).leader).count;
    }

    /// @notice After the dispute window, with no challenge open: overturn a decided root whose
    ///         bitmaps are not all published (nobody could check it). Its majority is slashed.
    function annul(ICompetition competition) external {
        (uint256 r, ICompetition.Round memory rnd, ICompetition.Verdict memory v, ICompetition.Params memory p) =
            _decided(competition);
        Publication storage pub = _publications[address(competition)][r];
        uint256 end = uint256(rnd.revealDeadline) + p.tallyDuration;
        if (block.timestamp < end || pub.pending != 0 || pub.published == v.count) revert NotAnnullable(r);
        emit Annulled(address(competition), r);
        competition.overturn(address(0));
    }

    // ---------------------------------------------------------------------------------------
    // Challenges
    // ---------------------------------------------------------------------------------------

    /// @notice Challenge the decided root's bit for one submission on one sample (see the
    ///         contract's notes, step 3), sending exactly `bond`. Decided at once when the
    ///         submission's commitment is known; otherwise at the end of the contest.
    function challenge(ICompetition competition, Evidence calldata e) external payable returns (uint256 id) {
        if (msg.value != bond) revert BondMismatch(bond, msg.value);
        (uint256 r, ICompetition.Round memory rnd, ICompetition.Verdict memory v, ICompetition.Params memory p) =
            _decided(competition);
        uint256 end = uint256(rnd.revealDeadline) + p.tallyDuration;
        if (block.timestamp >= end) revert DisputeWindowClosed(end, block.timestamp);
        if (!ScoreTree.verify(v.root, v.count, 0, e.position, e.leaf, e.leafProof)) revert ChunkInvalid(0, e.position, 1);
        (uint32 submission,, bytes32 correct) = ScoreTree.leafAt(e.leaf, 0);
        if (e.bitmap.length != (uint256(p.testSetSize) + 7) / 8 || keccak256(e.bitmap) != correct) {
            revert BitmapMismatch(e.position);
        }
        Binding memory b = _bindings[address(competition)][submission];
        if (b.weightsRoot == 0) revert NotDisputable(submission);
        bytes32 sampleLeaf = keccak256(abi.encodePacked(e.sample, e.label, e.features));
        if (!ScoreTree.verifyLeaf(p.samplesRoot, p.testSetSize, e.sample, sampleLeaf, e.sampleProof)) {
            revert SampleInvalid(e.sample);
        }
        uint256 predicted = _checkProof(architectures.architecture(b.architecture), e);
        bool juryBit = (uint8(e.bitmap[e.sample / 8]) >> (e.sample % 8)) & 1 == 1;
        if (juryBit == (predicted == e.label)) revert JuryAgrees(e.sample, juryBit);
        id = ++challenges;
        _challenges[id] = Challenge({
            competition: competition,
            round: uint8(r),
            open: true,
            challenger: msg.sender,
            contestEnd: uint40(end + p.tallyDuration),
            architecture: b.architecture,
            weightsRoot: b.weightsRoot,
            cx: uint256(bytes32(e.proof[0:32])),
            cy: uint256(bytes32(e.proof[32:64]))
        });
        _publications[address(competition)][r].pending += 1;
        emit Challenged(id, address(competition), r, submission, e.sample, predicted, msg.sender);
        (bool known,,,) = architectures.commitmentOf(b.architecture, b.weightsRoot);
        if (known) resolve(id);
    }

    /// @notice Decide a challenge: once the submission's commitment is known, or the contest is
    ///         over. A commitment other than the proof's fails it (the bond to whoever computed
    ///         the commitment); otherwise it stands (the bond back, the root overturned).
    function resolve(uint256 id) public {
        Challenge storage c = _challenges[id];
        if (!c.open) revert ChallengeClosed(id);
        (bool known, uint256 x, uint256 y, address by) = architectures.commitmentOf(c.architecture, c.weightsRoot);
        if (!known && block.timestamp < c.contestEnd) revert ContestOpen(c.contestEnd, block.timestamp);
        c.open = false;
        _publications[address(c.competition)][c.round].pending -= 1;
        bool stands = !known || (x == c.cx && y == c.cy);
        address paid = stands ? c.challenger : by;
        credits[paid] += bond;
        emit ChallengeResolved(id, stands, paid);
        // A root already overturned (another challenge, the same round) is not overturned again.
        if (stands && c.competition.summary().round == c.round && !_overturned(c.competition, c.round)) {
            c.competition.overturn(c.challenger);
        }
    }

    function challengeOf(uint256 id) external view returns (Challenge memory) {
        return _challenges[id];
    }

    /// @notice Withdraw bonds won or returned.
    function claim() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        credits[msg.sender] = 0;
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    /// @dev The current round of `competition` with its decided root (not HOST_FAULT, not
    ///      overturned, not finalized), or a revert.
    function _decided(ICompetition competition)
        private
        view
        returns (uint256 r, ICompetition.Round memory rnd, ICompetition.Verdict memory v, ICompetition.Params memory p)
    {
        ICompetition.Summary memory s = competition.summary();
        r = s.round;
        rnd = competition.round(r);
        bool decided = rnd.drawnAt != 0 && block.timestamp >= rnd.revealDeadline && uint256(rnd.leaderSeats) * 2 > rnd.seats;
        if (!decided || s.phase == ICompetition.Phase.Finalized || rnd.leader == _HOST_FAULT) {
            revert NoDecidedRoot(r);
        }
        if (_overturned(competition, r)) revert NoDecidedRoot(r);
        v = competition.verdict(rnd.leader);
        p = competition.params();
    }

    /// @dev The set bits of a bitmap of `bits` samples; type(uint256).max if a bit past them is
    ///      set (no score is that large). Word by word, SWAR popcount.
    function _ones(bytes calldata bitmap, uint256 bits) private pure returns (uint256 count) {
        uint256 tail = bits % 8;
        if (tail != 0 && uint8(bitmap[bitmap.length - 1]) >> tail != 0) return type(uint256).max;
        for (uint256 off = 0; off < bitmap.length; off += 32) {
            uint256 end = off + 32 < bitmap.length ? off + 32 : bitmap.length;
            uint256 w = uint256(bytes32(bitmap[off:end])); // a short last word is zero-padded
            unchecked {
                w -= (w >> 1) & 0x5555555555555555555555555555555555555555555555555555555555555555;
                w = (w & 0x3333333333333333333333333333333333333333333333333333333333333333)
                    + ((w >> 2) & 0x3333333333333333333333333333333333333333333333333333333333333333);
                w = (w + (w >> 4)) & 0x0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f;
                // 16-bit lanes (each at most 16), summed into the top lane (at most 256).
                w = (w & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff)
                    + ((w >> 8) & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff);
                count += (w * 0x0001000100010001000100010001000100010001000100010001000100010001) >> 240;
            }
        }
    }

    function _overturned(ICompetition competition, uint256 r) private view returns (bool) {
        return competition.overturned() & (1 << r) != 0;
    }

    /// @dev Check the proof and its public values; return the class it shows.
    function _checkProof(Architectures.Architecture memory a, Evidence calldata e) private returns (uint256 predicted) {
        uint256 inputs = a.inputs;
        if (e.features.length != 4 * inputs || e.instances.length != inputs + a.classes || e.proof.length < 64) {
            revert ProofInvalid();
        }
        for (uint256 i = 0; i < inputs; ++i) {
            if (e.instances[i] != _fixedPoint(uint32(bytes4(e.features[4 * i:4 * i + 4])), a.inputScale)) {
                revert ProofInvalid();
            }
        }
        // EZKL's verifier reverts on a malformed proof and returns false on a wrong one.
        try IVerifier(a.verifier).verifyProof(e.proof, e.instances) returns (bool ok) {
            if (!ok) revert ProofInvalid();
        } catch {
            revert ProofInvalid();
        }
        // The top logit and its lead over the runner-up (the first of equal tops, as argmax).
        int256 top = type(int256).min;
        int256 second = type(int256).min;
        for (uint256 k = 0; k < a.classes; ++k) {
            uint256 raw = e.instances[inputs + k];
            int256 logit = raw > _R / 2 ? -int256(_R - raw) : int256(raw);
            if (logit > top) {
                (second, top, predicted) = (top, logit, k);
            } else if (logit > second) {
                second = logit;
            }
        }
        uint256 lead = uint256(top - second);
        if (lead < a.margin) revert MarginTooSmall(lead, a.margin);
    }

    /// @dev A big-endian float32 as the circuit's input: round(x * 2**scale), halves away from
    ///      zero, negatives as R - |v| (deml.zk.circuit.fixed_point). NaN and infinities never
    ///      match a proof's inputs.
    function _fixedPoint(uint32 bits, uint256 scale) private pure returns (uint256) {
        uint256 exponent = (bits >> 23) & 0xff;
        if (exponent == 0xff) return type(uint256).max;
        uint256 mantissa = bits & 0x7fffff;
        // value = mantissa' * 2**(exponent - 150), mantissa' with its hidden bit when normal.
        if (exponent != 0) mantissa |= 1 << 23;
        else exponent = 1;
        uint256 magnitude = 0;
        if (exponent + scale >= 150) {
            magnitude = mantissa << (exponent + scale - 150);
        } else {
            uint256 shift = 150 - exponent - scale;
            if (shift < 26) magnitude = (mantissa + (uint256(1) << (shift - 1))) >> shift;
        }
        return bits >> 31 == 1 && magnitude != 0 ? _R - magnitude : magnitude;
    }
}

/// @notice An EZKL verifier (one per architecture).
interface IVerifier {
    function verifyProof(bytes calldata proof, uint256[] calldata instances) external returns (bool);
}
