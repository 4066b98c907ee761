"""Settings every service shares: broker, Elasticsearch, HTTP endpoint; env first, then a YAML file."""

from __future__ import annotations

import os
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, Self

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from shared.config_file import ConfigError, describe_validation_error, line_of, read_yaml
from shared.topics import ALL_TOPICS

KAFKA_PROTOCOLS: Final = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS: Final = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
MAX_RETENTION_S: Final = 10 * 365 * 86400.0
"""The longest retention a setting takes (ten years; infinity would overflow a ``timedelta``): 0 means never."""


class YamlFileSource(PydanticBaseSettingsSource):
    """Values from the YAML file named by ``IR_CONFIG_FILE`` (or ``config_file=``), below the env."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path
        self.data, self.node = read_yaml(path) if path is not None else ({}, None)
        known = set(settings_cls.model_fields)
        for key in self.data:
            if key not in known:
                line = line_of(self.node, (key,))
                raise ConfigError(f"{path}:{line}: {key}: unknown setting (known: {', '.join(sorted(known))})")

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k in self.settings_cls.model_fields}


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and sets ``env_prefix`` for its own fields."""

    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__", populate_by_name=True)
    service_name: ClassVar[str] = "service"

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_security_protocol: str = Field("PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: str | None = Field(None, validation_alias="KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str | None = Field(None, validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(None, validation_alias="KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: str | None = Field(None, validation_alias="KAFKA_SSL_CAFILE", description="CA bundle (PEM)")
    kafka_ssl_certfile: str | None = Field(None, validation_alias="KAFKA_SSL_CERTFILE", description="client cert")
    kafka_ssl_keyfile: str | None = Field(None, validation_alias="KAFKA_SSL_KEYFILE", description="client key")
    kafka_ssl_key_password: SecretStr | None = Field(None, validation_alias="KAFKA_SSL_KEY_PASSWORD")
    kafka_replication_factor: int = Field(
        1, ge=1, validation_alias="KAFKA_REPLICATION_FACTOR",
        description="replicas of every topic created (3 on a 3-broker cluster; 1 for the embedded broker)",
    )  # fmt: skip
    kafka_min_insync_replicas: int = Field(
        1, ge=1, validation_alias="KAFKA_MIN_INSYNC_REPLICAS",
        description="min.insync.replicas of every topic created: an acks=all write needs this many (2 of 3)",
    )  # fmt: skip
    kafka_topic_retention_ms: dict[str, int] = Field(
        default_factory=dict, validation_alias="KAFKA_TOPIC_RETENTION_MS",
        description='retention.ms per topic name, e.g. {"collector.metrics.v1": 86400000} (-1: forever); '
        "others keep the contract's (shared/topics.py)",
    )  # fmt: skip
    kafka_dlq_retention_ms: int = Field(
        30 * 24 * 3600 * 1000, ge=-1, validation_alias="KAFKA_DLQ_RETENTION_MS",
        description="retention.ms of every dead-letter topic (-1: forever)",
    )  # fmt: skip
    kafka_enable_idempotence: Literal["auto", "true", "false"] = Field(
        "auto", validation_alias="KAFKA_ENABLE_IDEMPOTENCE",
        description="idempotent producer: auto = on where the broker grants a producer id (logged if not)",
    )  # fmt: skip
    elasticsearch_url: str = Field("http://127.0.0.1:9200", validation_alias="ELASTICSEARCH_URL")
    elasticsearch_api_key: SecretStr | None = Field(None, validation_alias="ELASTICSEARCH_API_KEY")
    elasticsearch_username: str | None = Field(None, validation_alias="ELASTICSEARCH_USERNAME")
    elasticsearch_password: SecretStr | None = Field(None, validation_alias="ELASTICSEARCH_PASSWORD")
    elasticsearch_ca_certs: str | None = Field(None, validation_alias="ELASTICSEARCH_CA_CERTS", description="CA (PEM)")
    http_host: str = Field("127.0.0.1", validation_alias="HTTP_HOST")
    http_port: int = Field(0, validation_alias="HTTP_PORT", description="health and metrics; 0 = free port")
    log_level: str = Field("INFO", validation_alias="LOG_LEVEL")
    topic_prefix: str = Field("", validation_alias="TOPIC_PREFIX", description="isolates stacks sharing a cluster")
    instance_id: str = Field(
        default_factory=lambda: f"{os.uname().nodename}-{os.getpid()}",
        validation_alias="IR_INSTANCE_ID",
        description="names this instance in its consumer groups; keep it across restarts (pod or slot name)",
    )
    heartbeat_interval_s: float = Field(30.0, gt=0, validation_alias="IR_HEARTBEAT_INTERVAL_S")
    stall_after_s: float = Field(
        120.0, gt=0, validation_alias="IR_STALL_AFTER_S", description="liveness fails when a consumer is stuck longer"
    )
    join_timeout_s: float = Field(30.0, gt=0, validation_alias="IR_JOIN_TIMEOUT_S")
    fetch_idle_share: float = Field(
        0.25, gt=0, validation_alias="IR_FETCH_IDLE_SHARE",
        description="brokers that answer an empty fetch at once: the next fetch waits this share of the idle "
        "time (1 ms to 100 ms); a large value gives a fixed 100 ms",
    )  # fmt: skip
    session_timeout_ms: int = Field(10_000, ge=1000, validation_alias="KAFKA_SESSION_TIMEOUT_MS")
    rebuild_window_records: int = Field(
        50_000, ge=1, validation_alias="IR_REBUILD_WINDOW_RECORDS",
        description="start-up rebuilds state and dedup ledgers from the last N records of each partition",
    )  # fmt: skip
    max_event_skew_s: float = Field(
        300.0,
        gt=0,
        validation_alias="EVENT_MAX_SKEW_S",
        description="an event time further than this after its record's broker time is dead-lettered",
    )
    max_event_age_s: float | None = Field(
        None,
        gt=0,
        validation_alias="EVENT_MAX_AGE_S",
        description="an event time older than this before its record's time is dead-lettered; none = no bound "
        "(replays, backfills and re-driven dead letters carry old times)",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get("IR_CONFIG_FILE")
        yaml_source = YamlFileSource(settings_cls, Path(path) if path else None)
        return init_settings, env_settings, yaml_source

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Build settings from env and the optional YAML file; errors name file, line and field."""
        path = os.environ.get("IR_CONFIG_FILE")
        try:
            return cls(**overrides)
        except ValidationError as exc:
            if path:
                _, node = read_yaml(Path(path))
                raise ConfigError(describe_validation_error(Path(path), node, exc)) from exc
            raise ConfigError(str(exc)) from exc

    @model_validator(mode="after")
    def _credentials_are_complete(self) -> Self:
        """Refuse half-configured broker and Elasticsearch credentials at start-up, not at first use."""
        protocol = self.kafka_security_protocol.upper()
        if protocol not in KAFKA_PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_PROTOCOLS)}")
        if protocol.startswith("SASL_"):
            if (self.kafka_sasl_mechanism or "").upper() not in SASL_MECHANISMS:
                raise ValueError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)} with {protocol}")
            if not self.kafka_sasl_username or self.kafka_sasl_password is None:
                raise ValueError(f"{protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError(
                f"KAFKA_MIN_INSYNC_REPLICAS ({self.kafka_min_insync_replicas}) must not exceed "
                f"KAFKA_REPLICATION_FACTOR ({self.kafka_replication_factor}): no write could ever succeed"
            )
        self._check_retention()
        if bool(self.elasticsearch_username) != (self.elasticsearch_password is not None):
            raise ValueError("give both ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD (or neither)")
        if self.elasticsearch_api_key is not None and self.elasticsearch_username:
            raise ValueError("give ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/PASSWORD, not both")
        return self

    def _check_retention(self) -> None:
        known = {t.name for t in ALL_TOPICS}
        for name, value in self.kafka_topic_retention_ms.items():
            if name not in known:
                raise ValueError(f"KAFKA_TOPIC_RETENTION_MS: no topic {name!r} (known: {', '.join(sorted(known))})")
            if value < -1 or value == 0:
                raise ValueError(f"KAFKA_TOPIC_RETENTION_MS: {name}: {value} must be -1 (forever) or positive")
        if self.kafka_dlq_retention_ms == 0:
            raise ValueError("KAFKA_DLQ_RETENTION_MS must be -1 (forever) or positive")

    def kafka_ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for SSL and SASL_SSL (system CAs unless ``KAFKA_SSL_CAFILE``); None for plaintext."""
        if not self.kafka_security_protocol.upper().endswith("SSL"):
            return None
        context = ssl.create_default_context(cafile=self.kafka_ssl_cafile)
        if self.kafka_ssl_certfile:
            password = self.kafka_ssl_key_password.get_secret_value() if self.kafka_ssl_key_password else None
            context.load_cert_chain(self.kafka_ssl_certfile, self.kafka_ssl_keyfile, password)
        return context

    def kafka_security(self) -> BaseSecurity | None:
        """FastStream's security object for the broker (``make_broker``): TLS and/or SASL PLAIN/SCRAM."""
        protocol = self.kafka_security_protocol.upper()
        context = self.kafka_ssl_context()
        if not protocol.startswith("SASL_"):
            return BaseSecurity(ssl_context=context, use_ssl=True) if context is not None else None
        kinds = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        kind = kinds[(self.kafka_sasl_mechanism or "").upper()]
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        return kind(self.kafka_sasl_username or "", password, ssl_context=context, use_ssl=context is not None)

    def elasticsearch_options(self) -> dict[str, Any]:
        """Credentials and TLS options for ``AsyncElasticsearch`` (API key or basic auth, custom CA)."""
        opts: dict[str, Any] = {}
        if self.elasticsearch_api_key is not None:
            opts["api_key"] = self.elasticsearch_api_key.get_secret_value()
        if self.elasticsearch_username and self.elasticsearch_password is not None:
            opts["basic_auth"] = (self.elasticsearch_username, self.elasticsearch_password.get_secret_value())
        if self.elasticsearch_ca_certs:
            opts["ca_certs"] = self.elasticsearch_ca_certs
        return opts

    @property
    def max_event_skew(self) -> timedelta:
        """How far ahead of its record's broker time an event may be dated."""
        return timedelta(seconds=self.max_event_skew_s)

    @property
    def max_event_age(self) -> timedelta | None:
        """How far behind its record's broker time an event may be dated (None: any age)."""
        return timedelta(seconds=self.max_event_age_s) if self.max_event_age_s is not None else None

    def kafka_client_options(self) -> dict[str, Any]:
        """Connection options for aiokafka/FastStream clients (secrets stay inside ``SecretStr``)."""
        opts: dict[str, Any] = {"security_protocol": self.kafka_security_protocol.upper()}
        context = self.kafka_ssl_context()
        if context is not None:
            opts["ssl_context"] = context
        if self.kafka_security_protocol.upper().startswith("SASL_"):
            opts |= {
                "sasl_mechanism": (self.kafka_sasl_mechanism or "").upper(),
                "sasl_plain_username": self.kafka_sasl_username,
                "sasl_plain_password": (
                    self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
                ),
            }
        return opts
