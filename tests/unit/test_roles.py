"""Role order: roles rise in privilege in declaration order, and a higher role holds
every lower one (HasRole and IsSelfOrAdmin decide with includes)."""

from __future__ import annotations

import itertools

import pytest

from gql_auth.core.models import Role


class TestRoleOrder:
    def test_user_ranks_below_admin(self) -> None:
        assert Role.USER.rank < Role.ADMIN.rank

    def test_ranks_follow_the_declaration_order(self) -> None:
        assert [role.rank for role in Role] == list(range(len(Role)))

    @pytest.mark.parametrize("role", list(Role))
    def test_every_role_includes_itself(self, role: Role) -> None:
        assert role.includes(role)

    def test_an_admin_holds_what_a_user_holds(self) -> None:
        assert Role.ADMIN.includes(Role.USER)

    def test_a_user_does_not_hold_admin(self) -> None:
        assert not Role.USER.includes(Role.ADMIN)

    @pytest.mark.parametrize(("higher", "lower"), list(itertools.combinations(reversed(Role), 2)))
    def test_inclusion_only_runs_downhill(self, higher: Role, lower: Role) -> None:
        assert higher.includes(lower)
        assert not lower.includes(higher)
