"""`manage.py check --deploy` is clean with the production settings behind TLS (issue 11): HSTS
and the HTTPS redirect come from the environment, as the README's production section says."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BEHIND_TLS = {
    "SECRET_KEY": secrets.token_urlsafe(60),
    "DEBUG": "0",
    "ALLOWED_HOSTS": "m1.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://m1.example.com",
    "SECURE_COOKIES": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def check_deploy(tmp_path, **environment: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in BEHIND_TLS}
    env.update(PLAYGROUND_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="playground.settings")
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_deploy_check_is_clean_behind_tls(tmp_path):
    result = check_deploy(tmp_path, **BEHIND_TLS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_them_the_check_names_what_is_missing(tmp_path):
    bare = {k: v for k, v in BEHIND_TLS.items() if not k.startswith(("SECURE_HSTS", "SECURE_SSL"))}
    result = check_deploy(tmp_path, **bare)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr
