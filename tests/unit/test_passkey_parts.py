"""Fast specs of the pieces passkeys are made of: the test authenticator speaks WebAuthn as
the library reads it, and stored transports become descriptors a browser accepts."""

from __future__ import annotations

import json

import webauthn
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.structs import AuthenticatorTransport

from gql_auth.factors.models import Passkey
from gql_auth.passkeys.passkeys import descriptor
from tests.support.authenticator import SoftAuthenticator

RP_ID = "auth.example.com"
ORIGIN = f"https://{RP_ID}"
CHALLENGE = b"a challenge of thirty-two bytes!"


def creation_options() -> str:
    return webauthn.options_to_json(
        webauthn.generate_registration_options(
            rp_id=RP_ID, rp_name="test", user_name="alice", challenge=CHALLENGE
        )
    )


class TestSoftAuthenticator:
    def test_its_attestation_verifies_with_the_library(self) -> None:
        authenticator = SoftAuthenticator(origin=ORIGIN)

        verified = webauthn.verify_registration_response(
            credential=authenticator.create(creation_options()),
            expected_challenge=CHALLENGE,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            require_user_verification=True,
        )

        assert verified.credential_id == authenticator.only_credential_id
        assert verified.sign_count == 0
        assert verified.fmt == "none"

    def test_its_assertions_verify_and_count_up(self) -> None:
        authenticator = SoftAuthenticator(origin=ORIGIN)
        registered = webauthn.verify_registration_response(
            credential=authenticator.create(creation_options()),
            expected_challenge=CHALLENGE,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
        )
        request = webauthn.options_to_json(
            webauthn.generate_authentication_options(rp_id=RP_ID, challenge=CHALLENGE)
        )

        counts = [
            webauthn.verify_authentication_response(
                credential=authenticator.get(request),
                expected_challenge=CHALLENGE,
                expected_rp_id=RP_ID,
                expected_origin=ORIGIN,
                credential_public_key=registered.credential_public_key,
                credential_current_sign_count=previous,
                require_user_verification=True,
            ).new_sign_count
            for previous in (0, 1)
        ]

        assert counts == [1, 2]

    def test_the_user_handle_is_the_one_the_options_gave(self) -> None:
        authenticator = SoftAuthenticator(origin=ORIGIN)
        options = creation_options()
        authenticator.create(options)
        request = webauthn.options_to_json(
            webauthn.generate_authentication_options(rp_id=RP_ID, challenge=CHALLENGE)
        )

        sent = json.loads(authenticator.get(request))["response"]["userHandle"]

        assert sent == json.loads(options)["user"]["id"]


class TestDescriptor:
    def test_known_transports_are_kept_and_unknown_ones_dropped(self) -> None:
        passkey = Passkey(credential_id=bytes_to_base64url(b"id"), transports="internal,teleport")

        found = descriptor(passkey)

        assert found.id == b"id"
        assert found.transports == [AuthenticatorTransport.INTERNAL]

    def test_no_transports_are_left_out_rather_than_empty(self) -> None:
        assert descriptor(Passkey(credential_id="aWQ", transports=None)).transports is None
