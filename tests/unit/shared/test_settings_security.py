"""Production credentials: Kafka SASL/SSL and Elasticsearch authentication from the environment."""

from __future__ import annotations

import ssl

import pytest
from faststream.security import SASLPlaintext, SASLScram512
from pydantic import ValidationError

from shared.settings import ServiceSettings


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> ServiceSettings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings()


def test_plaintext_is_the_default_and_carries_no_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch)
    assert s.kafka_client_options() == {"security_protocol": "PLAINTEXT"}
    assert s.kafka_security() is None and s.elasticsearch_options() == {}


def test_sasl_ssl_with_scram(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="scram-sha-512",
                 KAFKA_SASL_USERNAME="svc", KAFKA_SASL_PASSWORD="pw")  # fmt: skip
    opts = s.kafka_client_options()
    assert opts["security_protocol"] == "SASL_SSL" and opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert isinstance(opts["ssl_context"], ssl.SSLContext) and opts["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("svc", "pw")
    security = s.kafka_security()
    assert isinstance(security, SASLScram512) and security.use_ssl
    assert "pw" not in repr(s)  # the password stays inside SecretStr


def test_sasl_plaintext_with_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT", KAFKA_SASL_MECHANISM="PLAIN",
                 KAFKA_SASL_USERNAME="svc", KAFKA_SASL_PASSWORD="pw")  # fmt: skip
    assert "ssl_context" not in s.kafka_client_options()
    security = s.kafka_security()
    assert isinstance(security, SASLPlaintext) and not security.use_ssl


def test_ssl_with_a_custom_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    cafile = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    s = settings(monkeypatch, KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SSL_CAFILE=cafile)
    assert isinstance(s.kafka_client_options()["ssl_context"], ssl.SSLContext)
    security = s.kafka_security()
    assert security is not None and security.use_ssl and security.ssl_context is not None


@pytest.mark.parametrize(
    "env",
    [
        {"KAFKA_SECURITY_PROTOCOL": "TLS"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "svc"},
        {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "MD5", "KAFKA_SASL_USERNAME": "svc",
         "KAFKA_SASL_PASSWORD": "pw"},
        {"ELASTICSEARCH_USERNAME": "elastic"},
        {"ELASTICSEARCH_API_KEY": "k", "ELASTICSEARCH_USERNAME": "elastic", "ELASTICSEARCH_PASSWORD": "pw"},
    ],
)  # fmt: skip
def test_half_configured_credentials_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        settings(monkeypatch, **env)


def test_elasticsearch_api_key_or_basic_auth_and_ca(monkeypatch: pytest.MonkeyPatch) -> None:
    keyed = settings(monkeypatch, ELASTICSEARCH_API_KEY="key-1")
    assert keyed.elasticsearch_options() == {"api_key": "key-1"}
    monkeypatch.delenv("ELASTICSEARCH_API_KEY")
    basic = settings(monkeypatch, ELASTICSEARCH_USERNAME="elastic", ELASTICSEARCH_PASSWORD="pw",
                     ELASTICSEARCH_CA_CERTS="/etc/es/ca.pem")  # fmt: skip
    assert basic.elasticsearch_options() == {"basic_auth": ("elastic", "pw"), "ca_certs": "/etc/es/ca.pem"}
