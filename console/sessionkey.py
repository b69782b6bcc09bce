"""The key that signs session cookies: from the secrets file, else one generated once.

A generated key is kept in the data dir (mode 0600) so a restart does not log everyone
out, and so the console in the service and `run.py web` on the same data dir agree.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from config.settings import Secrets

KEY_FILE = "console-session.key"


def session_key(secrets_: Secrets, data_dir: Path) -> str:
    configured = secrets_.console.session_key
    if configured is not None:
        return configured.get_secret_value()
    path = data_dir / KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
