// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title ScoreTree
/// @notice A juror's score vector as a Merkle tree, and the chunks of it anyone can publish;
///         the same tree also holds a competition's test samples (`verifyLeaf`).
/// @dev Leaf i (i < count) is keccak256 of 40 packed bytes: uint32 id, uint32 score and the
///      bytes32 keccak256 of the submission's per-sample correctness bitmap; leaves past
///      `count` up to the next power of two are zero. A node is keccak256(left ++ right). A
///      chunk is an aligned subtree: 2**level leaves from position index * 2**level (fewer
///      only at the end, the rest zero). deml/contracts/score_tree.py builds the same tree.
library ScoreTree {
    uint256 internal constant LEAF_SIZE = 40;

    /// @notice Leaf `i` of packed `leaves`: (id, score, correctness hash).
    function leafAt(bytes calldata leaves, uint256 i) internal pure returns (uint32 id, uint32 score, bytes32 correct) {
        uint256 offset = i * LEAF_SIZE;
        id = uint32(bytes4(leaves[offset:offset + 4]));
        score = uint32(bytes4(leaves[offset + 4:offset + 8]));
        correct = bytes32(leaves[offset + 8:offset + 40]);
    }

    /// @notice Whether `leaves` are the chunk (`level`, `index`) of the tree of `count` leaves
    ///         whose root is `root`, given the siblings of the chunk's root from below up.
    function verify(
        bytes32 root,
        uint256 count,
        uint256 level,
        uint256 index,
        bytes calldata leaves,
        bytes32[] calldata proof
    ) internal pure returns (bool) {
        if (proof.length + level != depth(count)) return false;
        return _climb(subtree(leaves, level), index, proof) == root;
    }

    /// @notice Whether `leaf` (a hash) is at `index` of the tree of `count` leaves whose root
    ///         is `root`, given its siblings from below up. The same tree holds other leaves
    ///         than scores: Competition's test samples.
    function verifyLeaf(bytes32 root, uint256 count, uint256 index, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (index >= count || proof.length != depth(count)) return false;
        return _climb(leaf, index, proof) == root;
    }

    function _climb(bytes32 node, uint256 index, bytes32[] calldata proof) private pure returns (bytes32) {
        for (uint256 i = 0; i < proof.length; ++i) {
            node = index & 1 == 0 ? _pair(node, proof[i]) : _pair(proof[i], node);
            index >>= 1;
        }
        return node;
    }

    /// @notice Levels of the tree of `count` leaves (0 for one leaf).
    function depth(uint256 count) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < count) ++d;
    }

    /// @notice The root of 2**level leaves, `leaves` first and zeros after.
    function subtree(bytes calldata leaves, uint256 level) internal pure returns (bytes32) {
        uint256 width = 1 << level;
        bytes32[] memory nodes = new bytes32[](width);
        uint256 n = leaves.length / LEAF_SIZE;
        for (uint256 i = 0; i < n; ++i) {
            nodes[i] = keccak256(leaves[i * LEAF_SIZE:(i + 1) * LEAF_SIZE]);
        }
        while (width > 1) {
            width >>= 1;
            for (uint256 i = 0; i < width; ++i) {
                nodes[i] = _pair(nodes[2 * i], nodes[2 * i + 1]);
            }
        }
        return nodes[0];
    }

    function _pair(bytes32 left, bytes32 right) private pure returns (bytes32 hashed) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            hashed := keccak256(0x00, 0x40)
        }
    }
}
