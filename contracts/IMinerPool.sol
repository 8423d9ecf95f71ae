// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IMinerPool
/// @notice The shared pool of bonded miners from which every competition of one factory draws
///         its jury (see contracts/README.md, "The miner pool").
interface IMinerPool {
    /// @notice One miner's bond, in seat units (one unit backs one jury seat).
    struct Juror {
        uint32 index; // position in the draw tree, from 1; 0 until the first bond
        uint32 locked; // units backing seats in competitions not yet settled
        uint64 units; // bonded units, drawable
        uint64 pendingUnits; // bonded while a draw was pending: drawable once none is
        uint64 pendingSlash; // slashed while a draw was pending: leave the tree once none is
        uint64 unbonding; // units asked out, paid by withdraw() from `unbondAt` on
        uint40 unbondAt;
    }

    event Bonded(address indexed juror, uint256 units, bool pending);
    event PendingApplied(address indexed juror, uint256 bonded, uint256 slashed);
    event UnbondRequested(address indexed juror, uint256 units, uint256 availableAt);
    event Withdrawn(address indexed juror, uint256 amount);
    event CompetitionRegistered(address indexed competition);
    event DrawSealed(address indexed competition, uint256 targetBlock);
    event SealExpired(address indexed competition, uint256 targetBlock);
    event SeatsReleased(address indexed competition, address indexed juror, uint256 seats);
    event SeatsSlashed(address indexed competition, address indexed juror, uint256 seats, uint256 burned);
    event RewardCredited(address indexed challenger, address indexed juror, uint256 amount);

    error PoolCallerNotFactory(address caller);
    error PoolCallerNotCompetition(address caller);
    error PoolParamsInvalid(uint256 seatStake, uint256 minUnits);
    error BondNotWholeUnits(uint256 amount, uint256 seatStake);
    error BondTooSmall(uint256 units, uint256 minUnits);
    error JurorLimitReached(uint256 limit);
    error BondChangesPaused(uint256 openSeals);
    error UnbondTooLarge(uint256 units, uint256 free);
    error NothingToWithdraw(address juror);
    error WithdrawTooEarly(uint256 availableAt, uint256 now);
    error DrawAlreadySealed(address competition, uint256 targetBlock);
    error DrawNotSealed(address competition);
    error DrawBlockNotMined(uint256 targetBlock, uint256 blockNumber);
    error DrawHashUnavailable(uint256 targetBlock, uint256 blockNumber);
    error SealNotExpired(uint256 expiresAfter, uint256 blockNumber);
    error DrawSeatsInvalid(uint256 seats);
    error PoolTooSmall(uint256 units, uint256 required);
    error LockedSeatsExceeded(address juror, uint256 seats, uint256 locked);

    /// @notice Draw the next `count` seats of the calling competition's sealed draw, weighted by
    ///         bonded units, with replacement; lock one unit per seat whose juror has a free one.
    function draw(uint256 count, bytes32 salt) external returns (address[] memory jurors, bool[] memory backed);

    /// @notice End the calling competition's draw: bond changes may resume.
    function close() external;

    /// @notice Seal the calling competition's draw to a block not yet produced.
    function seal() external returns (uint256 targetBlock);

    /// @notice Give back `seats` units a juror locked for the calling competition.
    function release(address account, uint256 seats) external;

    /// @notice Take `seats` units a juror locked for the calling competition: burned, or (`to`
    ///         not zero: a challenger that proved the juror's root wrong) half paid to `to`.
    function slash(address account, uint256 seats, address to) external;

    /// @notice Withdraw the stakes won by challenges (see `slash`).
    function claimReward() external;

    /// @notice Let `competition` (just created by the factory) draw, lock and slash.
    function register(address competition) external;

    /// @notice The block a competition's pending draw is sealed to (0: none).
    function sealedTarget(address competition) external view returns (uint256);

    function seatStake() external view returns (uint256);
    function unbondingDelay() external view returns (uint256);
    function totalUnits() external view returns (uint256);
    function openSeals() external view returns (uint256);
}
