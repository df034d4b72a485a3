"""Pure pieces of the key handling: the RFC 7638 thumbprint, Hasura's claims, file names."""

from __future__ import annotations

from pathlib import Path

import pytest
from jose import jwk

from gql_auth.cli.keys import public_key_path
from gql_auth.security.signing_keys import (
    new_private_key_pem,
    public_jwk,
    public_key_pem,
    thumbprint,
)
from gql_auth.security.tokens import hasura_claims

# RFC 7638 section 3.1: this key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
RFC_7638_KEY = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
    "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


class TestThumbprint:
    def test_it_matches_rfc_7638s_example(self) -> None:
        assert thumbprint(RFC_7638_KEY) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

    def test_members_outside_the_required_ones_do_not_change_it(self) -> None:
        assert thumbprint({**RFC_7638_KEY, "use": "sig", "kid": "other"}) == thumbprint(
            RFC_7638_KEY
        )

    @pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
    def test_a_public_jwk_is_named_by_its_thumbprint_and_carries_nothing_private(
        self, algorithm: str
    ) -> None:
        public_pem = public_key_pem(new_private_key_pem(algorithm))

        member = public_jwk(jwk.construct(public_pem, algorithm))

        assert member["kid"] == thumbprint(member)
        assert (member["alg"], member["use"]) == (algorithm, "sig")
        assert not {"d", "p", "q", "dp", "dq", "qi"} & member.keys()


class TestHasuraClaims:
    def test_a_user_holds_only_the_user_role(self) -> None:
        assert hasura_claims(user_id=7, role="USER") == {
            "x-hasura-default-role": "USER",
            "x-hasura-allowed-roles": ["USER"],
            "x-hasura-user-id": "7",
        }

    def test_an_admin_holds_every_role_below_too(self) -> None:
        claims = hasura_claims(user_id=1, role="ADMIN")

        assert claims["x-hasura-default-role"] == "ADMIN"
        assert claims["x-hasura-allowed-roles"] == ["USER", "ADMIN"]


@pytest.mark.parametrize(
    ("private", "public"),
    [("keys/next.pem", "keys/next.pub.pem"), ("signing", "signing.pub.pem")],
)
def test_gen_key_puts_the_public_key_beside_the_private_one(private: str, public: str) -> None:
    assert public_key_path(Path(private)) == Path(public)
