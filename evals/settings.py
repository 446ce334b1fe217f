"""Every environment variable goldgate reads, read here once and handed down as frozen settings: the
parts below the CLI take what they need as arguments and never look at the environment themselves."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from engine.model_store import DEFAULT_HOME

DB_VARIABLE, HOME_VARIABLE, SALT_VARIABLE = "GOLDGATE_DB", "GOLDGATE_HOME", "GOLDGATE_USER_SALT"
SLO_VARIABLE = "GOLDGATE_SLO"  # the SLO file the dashboard shows (`goldgate dashboard --slo FILE` sets it)
DEFAULT_DB = Path(".goldgate/goldgate.duckdb")  # in the working directory


@dataclass(frozen=True)
class Settings:
    db: Path  # the DuckDB store: $GOLDGATE_DB, else DEFAULT_DB
    home: Path  # the model cache's root: $GOLDGATE_HOME, else ~/.cache/goldgate
    slo: Path | None = None  # $GOLDGATE_SLO: the SLOs the dashboard's first tier shows
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)  # OTEL_* and API keys, read-only

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = MappingProxyType(dict(os.environ if environ is None else environ))
        return cls(db=Path(env.get(DB_VARIABLE) or DEFAULT_DB), home=Path(env.get(HOME_VARIABLE) or DEFAULT_HOME),
                   slo=Path(env[SLO_VARIABLE]) if env.get(SLO_VARIABLE) else None, environ=env)

    def user_salt(self) -> bytes:
        """The key user ids are hashed under: $GOLDGATE_USER_SALT, else one made once and kept in the home
        folder (readable by its owner only), so a user's hash is the same across restarts."""
        if self.environ.get(SALT_VARIABLE):
            return self.environ[SALT_VARIABLE].encode()
        path = self.home / "user-salt"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(secrets.token_hex(32))
        except FileExistsError:  # made before (or just now, by a second server)
            pass
        return path.read_text().strip().encode()

    def secret(self, variable: str | None) -> str:
        """The value of an API-key variable a suite names ("" when unset or not named)."""
        return self.environ.get(variable, "") if variable else ""
