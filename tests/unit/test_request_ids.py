"""Request ids: 32 hex digits, unique, and a forked worker does not repeat its parent's."""

from __future__ import annotations

import os
import re

from gql_auth.web.edge import new_request_id


def test_a_request_id_is_32_hex_digits() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", new_request_id())


def test_request_ids_do_not_repeat() -> None:
    ids = {new_request_id() for _ in range(100_000)}
    assert len(ids) == 100_000


def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next ids, to the parent
        os.close(read_end)
        os.write(write_end, "".join(new_request_id() for _ in range(5)).encode())
        os._exit(0)
    os.close(write_end)
    parents = "".join(new_request_id() for _ in range(5))
    with os.fdopen(read_end) as pipe:
        childs = pipe.read()
    os.waitpid(child, 0)

    assert len(childs) == len(parents) == 160
    assert childs != parents
