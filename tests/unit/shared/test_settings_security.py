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


SASL_ENV = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "KAFKA_SASL_USERNAME": "svc", "KAFKA_SASL_PASSWORD": "s3cr3t-kafka-pw",
            "KAFKA_SSL_KEY_PASSWORD": "s3cr3t-key-pw", "ELASTICSEARCH_API_KEY": "s3cr3t-es-key"}  # fmt: skip


@pytest.mark.parametrize("client", ["producer", "consumer", "admin"])
async def test_the_options_are_what_aiokafka_clients_take(monkeypatch: pytest.MonkeyPatch, client: str) -> None:
    """aiokafka validates protocol, mechanism and credentials in its constructors: these must pass them."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient

    opts = settings(monkeypatch, **SASL_ENV).kafka_client_options()
    assert set(opts) == {"security_protocol", "ssl_context", "sasl_mechanism", "sasl_plain_username",
                         "sasl_plain_password"}  # fmt: skip
    assert opts["sasl_mechanism"] == "SCRAM-SHA-256" and opts["sasl_plain_password"] == "s3cr3t-kafka-pw"
    made: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient
    if client == "producer":
        made = AIOKafkaProducer(bootstrap_servers="kafka:9093", acks="all", enable_idempotence=True, **opts)
        await made.stop()
    elif client == "consumer":
        made = AIOKafkaConsumer(bootstrap_servers="kafka:9093", group_id="g", **opts)
        await made.stop()
    else:
        made = AIOKafkaAdminClient(bootstrap_servers="kafka:9093", **opts)
        await made.close()
    without_tls = {k: v for k, v in opts.items() if k != "ssl_context"}
    with pytest.raises(ValueError, match="ssl_context"):  # the check is real: aiokafka refuses SASL_SSL without TLS
        AIOKafkaAdminClient(bootstrap_servers="kafka:9093", **without_tls)


def test_secrets_never_reach_repr_dumps_or_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    s = settings(monkeypatch, **SASL_ENV)
    secrets = ("s3cr3t-kafka-pw", "s3cr3t-key-pw", "s3cr3t-es-key")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("settings: %s / %r", s, s)
    shown = [repr(s), str(s), s.model_dump_json(), str(s.model_dump()), caplog.text]
    for text in shown:
        assert not any(secret in text for secret in secrets), text
    assert "**********" in repr(s)  # present, and masked
    assert s.kafka_sasl_password is not None and s.kafka_sasl_password.get_secret_value() == "s3cr3t-kafka-pw"
