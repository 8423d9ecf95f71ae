// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

interface ICompetitionViews {
    function liabilities() external view returns (uint256);
    function phase() external view returns (uint8);
    function claimable(address account) external view returns (uint256);
}

/// @title Inspector
/// @notice A test fixture: reads everything the property tests check after each step in one
///         call, instead of one round trip per value.
contract Inspector {
    /// @notice The competition's balance, ledger, phase and what each account can claim.
    function inspect(address competition, address[] calldata accounts)
        external
        view
        returns (uint256 balance, uint256 liabilities, uint8 phase, uint256[] memory claimable)
    {
        ICompetitionViews c = ICompetitionViews(competition);
        balance = competition.balance;
        liabilities = c.liabilities();
        phase = c.phase();
        claimable = new uint256[](accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            claimable[i] = c.claimable(accounts[i]);
        }
    }
}
