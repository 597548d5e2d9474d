"""The web configuration file: what it accepts, and how it says what is wrong."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import bcrypt
import pytest

from salespulse.exporters.web_auth import BasicAuth, hash_password
from salespulse.models.errors import ConfigError
from salespulse.models.web_config import load_web_config
from tests.tls_files import write_tls_files

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()


def header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_tls_files_are_read_relative_to_the_file(tmp_path: Path) -> None:
    write_tls_files(tmp_path)
    config = tmp_path / "web.yml"
    config.write_text(f"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '{HASH}'\n")
    web = load_web_config(config)
    assert web.tls_server_config is not None
    assert web.tls_server_config.cert_file == tmp_path / "server.crt"
    context = web.ssl_context()
    assert isinstance(context, ssl.SSLContext) and context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert web.basic_auth_users == {"prometheus": HASH}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("basic_auth_users:\n  prometheus: hunter2\n",
         "basic_auth_users.prometheus: not a bcrypt hash (make one with `salespulse web-password`)"),
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n",
         "tls_server_config.cert_file: {folder}/missing.crt is not a readable file"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n",
         "tls_server_config.client_ca_file is required with RequireAndVerifyClientCert"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: ca.crt\n",
         "tls_server_config: cannot load the certificate or key"),
        ("http_server_config:\n  http2: true\n", "http_server_config: Extra inputs are not permitted"),
        ("- a list\n", "the web configuration must be a mapping"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    write_tls_files(tmp_path)
    config = tmp_path / "web.yml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_web_config(config)
    assert str(info.value).startswith(f"{config}: {message.format(folder=tmp_path)}")


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the web configuration: No such file or directory"):
        load_web_config(tmp_path / "nope.yml")


def test_basic_auth_accepts_the_password_of_the_hash_only() -> None:
    auth = BasicAuth({"prometheus": HASH})
    assert auth.allows(header("prometheus", "s3cret"))
    assert auth.allows(header("prometheus", "s3cret"))  # remembered, same answer
    assert not auth.allows(header("prometheus", "s3cret "))
    assert not auth.allows(header("grafana", "s3cret"))
    assert not auth.allows(None)
    assert not auth.allows("Bearer abc")
    assert not auth.allows("Basic not-base64!")


def test_a_remembered_password_does_not_open_another_user() -> None:
    auth = BasicAuth({"a": HASH, "b": bcrypt.hashpw(b"other", bcrypt.gensalt(rounds=4)).decode()})
    assert auth.allows(header("a", "s3cret"))
    assert not auth.allows(header("b", "s3cret"))


def test_hash_password_makes_a_hash_the_check_accepts() -> None:
    made = hash_password("correct horse")
    assert made.startswith("$2b$12$")
    assert BasicAuth({"u": made}).allows(header("u", "correct horse"))
