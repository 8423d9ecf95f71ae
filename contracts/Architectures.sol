// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Architectures
/// @notice The model architectures a dispute can be about, and the one fact a dispute must
///         not take on trust: which KZG commitment a model's weights have.
/// @dev A dispute's zk proof (EZKL, weights committed) verifies under its architecture's
///      verifier and carries the commitment C of the weights it ran. Whether C is *this*
///      model's weights is settled here, by anyone, without trusting anyone:
///
///          C = B + Σ_k w_k · L_k
///
///      w: the model's weights as the circuit's fixed-point integers (int32, big-endian);
///      L_k: the SRS's Lagrange-basis points; B: the circuit's blinding rows (the commitment of
///      no weights). Both are pinned at registration (B, and the keccak of each chunk of
///      points); anyone can regenerate them from the pinned SRS and settings
///      (deml/zk/binding.py). The sum is computed in steps of `CHUNK` weights, each one a
///      transaction under the 2^24 gas cap and the 128 KiB transaction size nodes relay,
///      with the points in calldata. The state is keyed by (architecture, weights root), so
///      a model's commitment is computed once and read by every dispute about it.
///
///      A weights root names a model's weights: keccak256 of the keccak256 of each chunk's
///      int32 words (deml.zk.binding.weights_root), so each step checks its own chunk only.
contract Architectures {
    uint256 public constant CHUNK = 1024; // weights a step: 64 KiB of points, about 7 M gas
    // BN254's scalar field: a negative weight w is the scalar R + w.
    uint256 internal constant R =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    struct Architecture {
        address verifier; // the EZKL verifier of its proofs
        uint32 weights; // how many weights a model of it has
        uint32 inputs; // the proof's public values: `inputs` features, then `classes` logits
        uint16 classes;
        uint8 inputScale; // features enter the circuit as round(x * 2**inputScale)
        uint64 margin; // a proof counts when its top logit leads by this much (fixed point)
        uint256 bx; // B, the blinding rows' commitment
        uint256 by;
        bytes32[] pointChunks; // keccak256 of each chunk's Lagrange points (x, y: 64 bytes)
    }

    struct Sum {
        uint256 x; // the running sum, B first
        uint256 y;
        uint32 next; // the next chunk; all of them: the sum is the commitment
        address by; // who added the last chunk (a dispute pays it when the sum refutes a claim)
    }

    address public immutable registrar;
    mapping(bytes32 => Architecture) internal _architectures;
    mapping(bytes32 => mapping(bytes32 => Sum)) internal _sums;

    event ArchitectureRegistered(bytes32 indexed id, address verifier, uint32 weights);
    event CommitmentComputed(bytes32 indexed architecture, bytes32 indexed weightsRoot, uint256 x, uint256 y);

    error NotRegistrar();
    error ArchitectureExists();
    error ArchitectureUnknown();
    error ArchitectureInvalid();
    error WeightsRootMismatch();
    error ChunkMismatch(uint256 chunk);
    error PointsMismatch(uint256 chunk);
    error AlreadyComputed();
    error PrecompileFailed();

    constructor() {
        registrar = msg.sender;
    }

    /// @notice Pin an architecture: its verifier, its sizes, B and its points' chunk hashes.
    ///         Once registered it never changes (disputes in flight rely on it).
    function register(bytes32 id, Architecture calldata a) external {
        if (msg.sender != registrar) revert NotRegistrar();
        if (_architectures[id].weights != 0) revert ArchitectureExists();
        bool sized = a.weights != 0 && a.inputs != 0 && a.classes > 1 && a.inputScale <= 30;
        if (a.verifier.code.length == 0 || !sized || a.pointChunks.length != _chunks(a.weights)) {
            revert ArchitectureInvalid();
        }
        _architectures[id] = a;
        emit ArchitectureRegistered(id, a.verifier, a.weights);
    }

    function architecture(bytes32 id) external view returns (Architecture memory) {
        return _architectures[id];
    }

    /// @notice Add the next chunk of a model's weights to its commitment. Anyone may; each chunk
    ///         is checked against the weights root (`chunkHashes` are every chunk's hashes) and
    ///         its points against the pinned ones. Returns whether the commitment is complete.
    function step(
        bytes32 id,
        bytes32 weightsRoot,
        bytes32[] calldata chunkHashes,
        bytes calldata weights,
        bytes calldata points
    ) external returns (bool done) {
        Architecture storage a = _architectures[id];
        uint256 total = a.weights;
        if (total == 0) revert ArchitectureUnknown();
        uint256 chunks = _chunks(total);
        if (chunkHashes.length != chunks || keccak256(abi.encodePacked(chunkHashes)) != weightsRoot) {
            revert WeightsRootMismatch();
        }
        Sum storage sum = _sums[id][weightsRoot];
        uint256 c = sum.next;
        if (c == chunks) revert AlreadyComputed();
        uint256 n = c + 1 == chunks ? total - c * CHUNK : CHUNK;
        if (weights.length != 4 * n || keccak256(weights) != chunkHashes[c]) revert ChunkMismatch(c);
        if (points.length != 64 * n || keccak256(points) != a.pointChunks[c]) revert PointsMismatch(c);
        (uint256 x, uint256 y) = c == 0 ? (a.bx, a.by) : (sum.x, sum.y);
        (x, y) = _accumulate(x, y, weights, points);
        (sum.x, sum.y, sum.next, sum.by) = (x, y, uint32(c + 1), msg.sender);
        done = c + 1 == chunks;
        if (done) emit CommitmentComputed(id, weightsRoot, x, y);
    }

    /// @notice The commitment of the weights named by `weightsRoot`, once every chunk is in,
    ///         and who added the last chunk.
    function commitmentOf(bytes32 id, bytes32 weightsRoot)
        external
        view
        returns (bool done, uint256 x, uint256 y, address by)
    {
        Sum storage sum = _sums[id][weightsRoot];
        uint256 total = _architectures[id].weights;
        done = total != 0 && sum.next == _chunks(total);
        if (done) (x, y, by) = (sum.x, sum.y, sum.by);
    }

    /// @notice Chunks computed so far for these weights (what the next `step` must bring).
    function progress(bytes32 id, bytes32 weightsRoot) external view returns (uint256 next, uint256 chunks) {
        return (_sums[id][weightsRoot].next, _chunks(_architectures[id].weights));
    }

    function _chunks(uint256 total) internal pure returns (uint256) {
        return (total + CHUNK - 1) / CHUNK;
    }

    /// @dev (x, y) + Σ w_i · P_i with the ecMul (0x07) and ecAdd (0x06) precompiles; a zero
    ///      weight adds nothing and is skipped.
    function _accumulate(uint256 x, uint256 y, bytes calldata weights, bytes calldata points)
        internal
        view
        returns (uint256, uint256)
    {
        bool ok = true;
        assembly ("memory-safe") {
            let buf := mload(0x40) // [0, 64): the sum; [64, 128): a point, then w·P; [128, 160): w
            mstore(0x40, add(buf, 160))
            mstore(buf, x)
            mstore(add(buf, 32), y)
            let n := div(weights.length, 4)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let w := signextend(3, shr(224, calldataload(add(weights.offset, mul(i, 4)))))
                if w {
                    if slt(w, 0) { w := add(R, w) }
                    calldatacopy(add(buf, 64), add(points.offset, mul(i, 64)), 64)
                    mstore(add(buf, 128), w)
                    // Their exact prices (EIP-1108): a failing precompile burns what it is given.
                    ok := and(ok, staticcall(6000, 7, add(buf, 64), 96, add(buf, 64), 64))
                    ok := and(ok, staticcall(150, 6, buf, 128, buf, 64))
                }
            }
            x := mload(buf)
            y := mload(add(buf, 32))
        }
        if (!ok) revert PrecompileFailed();
        return (x, y);
    }
}
