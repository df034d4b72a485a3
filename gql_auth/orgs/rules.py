"""Who may do what inside an organization: pure rules, checked again under the lock.

Only an OWNER grants or takes OWNER; an ADMIN manages MEMBERs and ADMINs; a
MEMBER manages nobody. The permission classes at the edge ask these before
any work; the policy asks them again under the organization's row lock,
with the roles as they are then.
"""

from __future__ import annotations

import re

from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.orgs.models import OrgRole
from gql_auth.security.validation import clean_label

# A DNS label: lower-case letters, digits and inner hyphens, 2 to 63 characters.
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,61}[a-z0-9]")
NAME_MAX_LENGTH = 100


def may_grant(actor: OrgRole | None, role: OrgRole) -> bool:
    """Whether someone with role `actor` may give (or take away) `role`."""
    if actor is None or not actor.includes(OrgRole.ADMIN):
        return False
    return role is not OrgRole.OWNER or actor is OrgRole.OWNER


def may_change(actor: OrgRole | None, *, current: OrgRole, new: OrgRole | None) -> bool:
    """Whether `actor` may move a member from `current` to `new` (None: out of the organization)."""
    return may_grant(actor, current) and (new is None or may_grant(actor, new))


def loses_an_owner(current: OrgRole, new: OrgRole | None) -> bool:
    return current is OrgRole.OWNER and new is not OrgRole.OWNER


def clean_slug(slug: str) -> str:
    """The slug as given, or BAD_USER_INPUT on slug: never folded, so what is shown is kept."""
    if SLUG.fullmatch(slug) is None:
        raise InvalidInput(
            Subject.SLUG,
            Reason.INVALID,
            "A slug is 2 to 63 lower-case letters, digits and inner hyphens.",
        )
    return slug


def clean_name(name: str) -> str:
    """An organization's name: 1 to 100 printable characters, surrounding spaces dropped."""
    return clean_label(name, max_length=NAME_MAX_LENGTH)
