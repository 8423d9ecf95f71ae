// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMinerPool} from "./IMinerPool.sol";

/// @title MinerPool
/// @notice Miners bond here once, in whole seat units; every competition of the factory that
///         deployed the pool draws its jury from it. A draw is weighted by bonded units, seat by
///         seat with replacement, from the hash of a block sealed before it existed; bond changes
///         wait while any draw is sealed, so nobody can re-roll a jury by moving one wei.
/// @dev The draw tree is a Fenwick tree over juror positions: O(log n) per draw and per bond
///      change. Locked units stay in the tree (a draw never writes it): a seat drawn for a
///      juror without a free unit is simply unbacked, and counts as absent. Every rule and the
///      attack it closes is in contracts/README.md.
contract MinerPool is IMinerPool, ReentrancyGuardTransient {
    /// @dev Jurors the tree can hold (2**16: sixteen levels per search).
    uint256 private constant _CAPACITY = 1 << 16;
    /// @dev EIP-2935's block-hash history contract (8,191 recent hashes), where the chain has it.
    address private constant _HISTORY = 0x0000F90827F1C53a10cb7A02335B175320002935;
    uint256 private constant _HISTORY_WINDOW = 8191;
    uint256 private constant _BLOCKHASH_WINDOW = 256;
    /// @dev A seal targets the next block but one: its hash is unknown to the sealing caller.
    uint256 private constant _SEAL_DELAY = 2;
    address private constant _BURN = address(0);

    uint256 public immutable seatStake;
    uint256 public immutable unbondingDelay;
    uint256 public immutable minUnits;
    address public immutable factory;

    uint256 public totalUnits;
    uint256 public openSeals;
    uint256 public jurorCount;

    mapping(address juror => Juror) private _jurors;
    mapping(uint256 index => address juror) private _jurorAt;
    mapping(uint256 node => uint256 units) private _tree;
    mapping(address competition => bool) public isCompetition;
    mapping(address challenger => uint256 amount) public rewards; // slashed stakes it won
    mapping(address competition => uint256 targetBlock) public sealedTarget;
    /// @dev Seats drawn so far under a competition's open seal (a jury is drawn in batches).
    mapping(address competition => uint256 seats) public drawnFor;
    mapping(address competition => mapping(address juror => uint256 seats)) public lockedFor;

    constructor(uint256 seatStake_, uint256 unbondingDelay_, uint256 minUnits_) {
        if (seatStake_ == 0 || minUnits_ == 0) revert PoolParamsInvalid(seatStake_, minUnits_);
        seatStake = seatStake_;
        unbondingDelay = unbondingDelay_;
        minUnits = minUnits_;
        factory = msg.sender;
    }

    modifier onlyCompetition() {
        if (!isCompetition[msg.sender]) revert PoolCallerNotCompetition(msg.sender);
        _;
    }

    // ---------------------------------------------------------------------------------------
    // Miners
    // ---------------------------------------------------------------------------------------

    /// @notice Bond `msg.value` (whole seat units). While a draw is sealed the units wait, and
    ///         join the draw tree once none is (applyPending).
    function bond() external payable {
        uint256 stake = seatStake;
        if (msg.value == 0 || msg.value % stake != 0) revert BondNotWholeUnits(msg.value, stake);
        uint256 units = msg.value / stake;
        Juror storage j = _jurors[msg.sender];
        if (j.index == 0) {
            if (jurorCount == _CAPACITY) revert JurorLimitReached(_CAPACITY);
            // Overflow not possible: jurorCount < _CAPACITY = 2**16.
            unchecked {
                j.index = uint32(++jurorCount);
            }
            _jurorAt[j.index] = msg.sender;
        }
        if (openSeals == 0) _applyPending(msg.sender, j);
        uint256 total = uint256(j.units) + j.pendingUnits + units;
        if (total < minUnits) revert BondTooSmall(total, minUnits);
        bool pending = openSeals != 0;
        if (pending) {
            j.pendingUnits += uint64(units);
        } else {
            j.units += uint64(units);
            _add(j.index, units);
            totalUnits += units;
        }
        emit Bonded(msg.sender, units, pending);
    }

    /// @notice Move bonds and slashes that waited for a draw into the tree (anyone may call it
    ///         for anyone, once no draw is sealed).
    function applyPending(address account) external {
        if (openSeals != 0) revert BondChangesPaused(openSeals);
        _applyPending(account, _jurors[account]);
    }

    /// @notice Ask for `units` free units back; they leave the draw at once and can be
    ///         withdrawn after the unbonding delay. Not while a draw is sealed.
    function requestUnbond(uint256 units) external {
        if (openSeals != 0) revert BondChangesPaused(openSeals);
        Juror storage j = _jurors[msg.sender];
        _applyPending(msg.sender, j);
        uint256 free = uint256(j.units) - j.locked;
        if (units == 0 || units > free) revert UnbondTooLarge(units, free);
        uint256 left = uint256(j.units) - units;
        if (left != 0 && left < minUnits) revert BondTooSmall(left, minUnits);
        j.units = uint64(left);
        j.unbonding += uint64(units);
        j.unbondAt = uint40(block.timestamp + unbondingDelay);
        _sub(j.index, units);
        totalUnits -= units;
        emit UnbondRequested(msg.sender, units, j.unbondAt);
    }

    /// @notice Pull the units whose unbonding delay has passed.
    function withdraw() external nonReentrant {
        Juror storage j = _jurors[msg.sender];
        uint256 units = j.unbonding;
        if (units == 0) revert NothingToWithdraw(msg.sender);
        if (block.timestamp < j.unbondAt) revert WithdrawTooEarly(j.unbondAt, block.timestamp);
        j.unbonding = 0;
        uint256 amount = units * seatStake;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------------------------------
    // Competitions
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IMinerPool
    function register(address competition) external {
        if (msg.sender != factory) revert PoolCallerNotFactory(msg.sender);
        isCompetition[competition] = true;
        emit CompetitionRegistered(competition);
    }

    /// @inheritdoc IMinerPool
    /// @dev Bond changes wait from here until the draw, so the jury depends on the tree as it
    ///      is now and on a block hash nobody knows yet (only its producer can grind it).
    function seal() external onlyCompetition returns (uint256 targetBlock) {
        uint256 current = sealedTarget[msg.sender];
        if (current != 0) revert DrawAlreadySealed(msg.sender, current);
        targetBlock = block.number + _SEAL_DELAY;
        sealedTarget[msg.sender] = targetBlock;
        openSeals += 1;
        emit DrawSealed(msg.sender, targetBlock);
    }

    /// @notice End a seal whose block hash can no longer be read, so bond changes resume; the
    ///         competition seals again to draw.
    function expireSeal(address competition) external {
        uint256 target = sealedTarget[competition];
        if (target == 0) revert DrawNotSealed(competition);
        uint256 expiresAfter = target + _window();
        if (block.number <= expiresAfter) revert SealNotExpired(expiresAfter, block.number);
        delete sealedTarget[competition];
        delete drawnFor[competition];
        openSeals -= 1;
        emit SealExpired(competition, target);
    }

    /// @inheritdoc IMinerPool
    function draw(uint256 count, bytes32 salt)
        external
        onlyCompetition
        returns (address[] memory jurors, bool[] memory backed)
    {
        uint256 target = sealedTarget[msg.sender];
        if (target == 0) revert DrawNotSealed(msg.sender);
        if (block.number <= target) revert DrawBlockNotMined(target, block.number);
        bytes32 hash = _blockHash(target);
        if (hash == bytes32(0)) revert DrawHashUnavailable(target, block.number);
        if (count == 0 || count > type(uint16).max) revert DrawSeatsInvalid(count);
        uint256 total = totalUnits;
        if (total < count) revert PoolTooSmall(total, count);
        // The seats of one seal continue where the last batch stopped: a jury drawn in
        // batches is the jury one draw of all its seats would give.
        uint256 first = drawnFor[msg.sender];
        drawnFor[msg.sender] = first + count;
        jurors = _pick(keccak256(abi.encode(hash, msg.sender, salt)), first, count, total);
        backed = new bool[](count);
        for (uint256 i = 0; i < count; ++i) {
            Juror storage j = _jurors[jurors[i]];
            // A unit already backing a seat, or slashed while this draw was sealed, backs
            // no other: such a seat is unbacked, and counts as absent.
            if (uint256(j.units) > uint256(j.locked) + j.pendingSlash) {
                j.locked += 1;
                lockedFor[msg.sender][jurors[i]] += 1;
                backed[i] = true;
            }
        }
    }

    /// @inheritdoc IMinerPool
    function close() external onlyCompetition {
        if (sealedTarget[msg.sender] == 0) revert DrawNotSealed(msg.sender);
        delete sealedTarget[msg.sender];
        delete drawnFor[msg.sender];
        openSeals -= 1;
    }

    /// @inheritdoc IMinerPool
    function release(address account, uint256 seats) external onlyCompetition {
        _unlock(account, seats);
        emit SeatsReleased(msg.sender, account, seats);
    }

    /// @inheritdoc IMinerPool
    /// @dev The units are burned, never paid to a juror: a majority that could collect the
    ///      minority's stakes would be paid to slash the honest. The one exception is a
    ///      majority whose root a dispute proved wrong: half of its stakes go to the challenger
    ///      (`to`, chosen by the competition, never by a vote), the rest is burned, so a
    ///      majority that challenges itself to get its stakes back still loses half.
    function slash(address account, uint256 seats, address to) external onlyCompetition nonReentrant {
        _unlock(account, seats);
        Juror storage j = _jurors[account];
        if (openSeals == 0) {
            j.units -= uint64(seats);
            _sub(j.index, seats);
            totalUnits -= seats;
        } else {
            j.pendingSlash += uint64(seats);
        }
        uint256 slashed = seats * seatStake;
        uint256 paid = to == _BURN ? 0 : slashed / 2;
        emit SeatsSlashed(msg.sender, account, seats, slashed - paid);
        if (paid != 0) {
            rewards[to] += paid;
            emit RewardCredited(to, account, paid);
        }
        Address.sendValue(payable(_BURN), slashed - paid);
    }

    /// @inheritdoc IMinerPool
    function claimReward() external nonReentrant {
        uint256 amount = rewards[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        rewards[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @notice One miner's bond.
    function juror(address account) external view returns (Juror memory) {
        return _jurors[account];
    }

    /// @notice The miner at tree position `index` (from 1).
    function jurorAt(uint256 index) external view returns (address) {
        return _jurorAt[index];
    }

    /// @notice The jury `draw` would pick with this seed from the tree as it is now (for
    ///         simulations: it locks nothing).
    function preview(bytes32 seed, uint256 seats) external view returns (address[] memory) {
        if (seats == 0 || seats > type(uint16).max) revert DrawSeatsInvalid(seats);
        uint256 total = totalUnits;
        // More seats than units: some could never be backed.
        if (total < seats) revert PoolTooSmall(total, seats);
        return _pick(seed, 0, seats, total);
    }

    /// @notice Blocks after its target within which a sealed draw must happen.
    function drawWindow() external view returns (uint256) {
        return _window();
    }

    // ---------------------------------------------------------------------------------------
    // Internals
    // ---------------------------------------------------------------------------------------

    function _pick(bytes32 seed, uint256 first, uint256 count, uint256 total)
        private
        view
        returns (address[] memory jurors)
    {
        jurors = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 point = uint256(keccak256(abi.encode(seed, first + i))) % total;
            jurors[i] = _jurorAt[_find(point)];
        }
    }

    function _unlock(address account, uint256 seats) private {
        uint256 locked = lockedFor[msg.sender][account];
        if (seats > locked) revert LockedSeatsExceeded(account, seats, locked);
        // Underflow not possible: seats <= lockedFor <= the juror's locked units.
        unchecked {
            lockedFor[msg.sender][account] = locked - seats;
            _jurors[account].locked -= uint32(seats);
        }
    }

    function _applyPending(address account, Juror storage j) private {
        uint256 bonded = j.pendingUnits;
        uint256 slashed = j.pendingSlash;
        if (bonded == 0 && slashed == 0) return;
        j.pendingUnits = 0;
        j.pendingSlash = 0;
        j.units = uint64(uint256(j.units) + bonded - slashed);
        if (bonded > slashed) {
            _add(j.index, bonded - slashed);
            totalUnits += bonded - slashed;
        } else if (slashed > bonded) {
            _sub(j.index, slashed - bonded);
            totalUnits -= slashed - bonded;
        }
        emit PendingApplied(account, bonded, slashed);
    }

    function _add(uint256 index, uint256 units) private {
        for (uint256 i = index; i <= _CAPACITY; i += i & (~i + 1)) {
            _tree[i] += units;
        }
    }

    function _sub(uint256 index, uint256 units) private {
        for (uint256 i = index; i <= _CAPACITY; i += i & (~i + 1)) {
            _tree[i] -= units;
        }
    }

    /// @dev The position whose units cover `point` (0 <= point < total): the smallest index
    ///      whose prefix sum exceeds it.
    function _find(uint256 point) private view returns (uint256) {
        uint256 pos = 0;
        for (uint256 step = _CAPACITY; step > 0; step >>= 1) {
            uint256 next = pos + step;
            if (next <= _CAPACITY) {
                uint256 units = _tree[next];
                if (units <= point) {
                    pos = next;
                    point -= units;
                }
            }
        }
        return pos + 1;
    }

    function _window() private view returns (uint256) {
        return _HISTORY.code.length == 0 ? _BLOCKHASH_WINDOW : _HISTORY_WINDOW;
    }

    /// @dev The hash of block `number`: from the EVM within 256 blocks, else from the EIP-2935
    ///      history contract where the chain has one; zero when neither knows it.
    function _blockHash(uint256 number) private view returns (bytes32) {
        if (block.number - number <= _BLOCKHASH_WINDOW) return blockhash(number);
        if (_HISTORY.code.length == 0 || block.number - number > _HISTORY_WINDOW) return bytes32(0);
        (bool ok, bytes memory answer) = _HISTORY.staticcall(abi.encode(number));
        if (!ok || answer.length != 32) return bytes32(0);
        return abi.decode(answer, (bytes32));
    }
}
