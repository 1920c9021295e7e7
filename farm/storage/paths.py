"""Checks a database path before a run starts, so a bad one fails in one clear line."""

from __future__ import annotations

import os

__all__ = ["check_writable_path"]


def check_writable_path(field_name: str, path: str) -> None:
    """Raise ``ValueError`` naming ``field_name`` unless a database file can be written at ``path``.

    The file itself need not exist; its directory must, and must be writable.
    """
    absolute = os.path.abspath(path)
    directory = os.path.dirname(absolute)
    if os.path.isdir(absolute):
        raise ValueError(f"{field_name} {path!r} is a directory, not a database file")
    if not os.path.exists(directory):
        raise ValueError(f"{field_name} {path!r}: directory {directory!r} does not exist")
    if not os.path.isdir(directory):
        raise ValueError(f"{field_name} {path!r}: {directory!r} is not a directory")
    if os.path.exists(absolute):
        if not os.path.isfile(absolute):
            raise ValueError(f"{field_name} {path!r} is not a regular file")
        if not os.access(absolute, os.R_OK | os.W_OK):
            raise ValueError(f"{field_name} {path!r} is not writable")
    elif not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(f"{field_name} {path!r}: directory {directory!r} is not writable")
