"""The web configuration file of /metrics: TLS and basic auth, in the Prometheus exporter style.

The format is the exporter-toolkit's `web.config` file, so that an operator who secures a
node exporter secures Salespulse the same way:

    tls_server_config:
      cert_file: salespulse.crt
      key_file: salespulse.key
    basic_auth_users:
      prometheus: $2b$12$hNf2lSsxfm0.i4a.1kVpSOVyBCfIB51VRjgBUyv6kdnyTlgWj81Ay

Passwords are stored as bcrypt hashes (`salespulse web-password` makes one). Relative file
names are read from the folder of the web configuration file.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from salespulse.models.errors import ConfigError
from salespulse.models.yaml_source import load_yaml

BcryptHash = Annotated[str, StringConstraints(pattern=r"^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$")]


class TlsServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path
    key_file: Path
    client_auth_type: Literal["NoClientCert", "RequireAndVerifyClientCert"] = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: Literal["TLS12", "TLS13"] = "TLS12"


class WebConfig(BaseModel):
    """What `--web-config FILE` holds; without the file, /metrics is plain HTTP without auth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tls_server_config: TlsServerConfig | None = None
    basic_auth_users: dict[Annotated[str, StringConstraints(min_length=1, pattern=r"^[^:]+$")], BcryptHash] = {}

    def ssl_context(self) -> ssl.SSLContext | None:
        """Return the server's TLS context, or None for plain HTTP."""
        tls = self.tls_server_config
        if tls is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_3 if tls.min_version == "TLS13" else ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(tls.cert_file, tls.key_file)
        if tls.client_auth_type == "RequireAndVerifyClientCert":
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(tls.client_ca_file)
        return context


def load_web_config(path: str | Path) -> WebConfig:
    """Read and check a web configuration file; every mistake names the file and the key."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the web configuration: {exc.strerror}") from None
    data: Any = load_yaml(text, str(file))
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the web configuration must be a mapping")
    try:
        config = WebConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            message = err["msg"]
            if err["loc"][:1] == ("basic_auth_users",) and "pattern" in message:
                message = "not a bcrypt hash (make one with `salespulse web-password`)"
            lines.append(f"{file}: {key}: {message}")
        raise ConfigError("\n".join(lines)) from None
    tls = config.tls_server_config
    if tls is not None:
        tls = _resolved(tls, file.parent)
        for key in ("cert_file", "key_file", "client_ca_file"):
            name = getattr(tls, key)
            if name is not None and not name.is_file():
                raise ConfigError(f"{file}: tls_server_config.{key}: {name} is not a readable file")
        if tls.client_auth_type == "RequireAndVerifyClientCert" and tls.client_ca_file is None:
            raise ConfigError(f"{file}: tls_server_config.client_ca_file is required with RequireAndVerifyClientCert")
        config = config.model_copy(update={"tls_server_config": tls})
        try:
            config.ssl_context()
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"{file}: tls_server_config: cannot load the certificate or key: {exc}") from None
    return config


def _resolved(tls: TlsServerConfig, folder: Path) -> TlsServerConfig:
    def full(name: Path | None) -> Path | None:
        return None if name is None else (name if name.is_absolute() else folder / name)

    return tls.model_copy(
        update={key: full(getattr(tls, key)) for key in ("cert_file", "key_file", "client_ca_file")}
    )


