"""The one way a status changes: a conditional update on the state it is expected to be in."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models


def status_transition(obj: models.Model, from_states: str | Iterable[str], to_state: str, **changes) -> bool:
    """Move `obj` to `to_state` only if it is still in one of `from_states`.

    Returns True when this call moved it (a count of 0 means someone else got there
    first); the instance is updated to match.
    """
    if isinstance(from_states, str):
        from_states = (from_states,)
    moved = (
        type(obj).objects.filter(pk=obj.pk, status__in=tuple(from_states)).update(status=to_state, **changes)
    )
    if moved:
        obj.status = to_state
        for name, value in changes.items():
            setattr(obj, name, value)
    return bool(moved)
