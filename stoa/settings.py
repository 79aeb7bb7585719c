"""Stoa's settings: read once at the edge (the CLI, the app factory) and passed in as values.

Every field can come from an environment variable prefixed ``STOA_``; list values are JSON
(``STOA_ICE_SERVERS='["stun:stun.example.org:3478"]'``). The README's settings table is the
reference for operators.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEV_SECRET_FILE = "secret_key"
_BROKER_SCHEMES = ("amqp://", "amqps://", "redis://", "rediss://")


class IceServer(BaseModel):
    """A STUN or TURN server, as browsers' ``RTCIceServer`` takes it."""

    model_config = ConfigDict(frozen=True)

    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STOA_", frozen=True)

    data_dir: Path = Field(
        default=Path(".data"),
        description="Folder for the embedded database, secret key and local object storage.",
    )
    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the HTTP server.")
    public_url: str | None = Field(
        default=None,
        description=(
            "The address people reach Stoa at (e.g. https://spaces.example.org), for links in "
            "preview cards. Default: the address each request came to."
        ),
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the catalog; default SQLite in the data folder.",
    )
    secret_key: str | None = Field(
        default=None,
        description=(
            "Key that signs participant tokens (at least 32 characters). Default: a random key "
            "kept in the data folder, which suits one machine; set it when running several."
        ),
    )
    token_ttl_seconds: int = Field(
        default=12 * 3600, gt=0, description="Lifetime of a participant token."
    )
    host_token_ttl_seconds: int = Field(
        default=90 * 86400,
        gt=0,
        description="Lifetime of a host's token, their key to the space's transcript.",
    )
    ice_servers: list[IceServer] = Field(
        default_factory=list,
        description=(
            "STUN/TURN servers for the relay and browsers: objects with urls, username, "
            "credential, or plain URLs. Default: none."
        ),
    )
    rtc_announced_address: str | None = Field(
        default=None,
        description="Public address the relay announces in its ICE candidates (1:1 NAT).",
    )
    rtc_bind_addresses: list[str] = Field(
        default_factory=list,
        description="Interface addresses the relay gathers ICE candidates on. Default: all.",
    )
    storage: Literal["local", "s3"] = Field(
        default="local", description="Where recordings go: the data folder, or S3."
    )
    s3_bucket: str | None = Field(default=None, description="S3 bucket (storage s3).")
    s3_prefix: str = Field(default="", description="Key prefix inside the bucket.")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 endpoint for S3-compatible stores (MinIO, R2, ...)."
    )
    s3_region: str | None = Field(default=None, description="S3 region.")
    s3_access_key_id: str | None = Field(
        default=None, description="S3 credentials; default: the standard AWS chain."
    )
    s3_secret_access_key: str | None = Field(default=None, description="S3 secret key.")
    reaction_burst: int = Field(default=5, ge=1, description="Reactions allowed in a burst.")
    reaction_per_second: float = Field(
        default=0.5, gt=0, description="Reactions refilled per second for each participant."
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest accepted request body."
    )
    broker_url: str | None = Field(
        default=None,
        description=(
            "Message broker of the processing workers: amqp://... (RabbitMQ) or redis://... "
            "Default: none, and `stoa up` processes recordings in its own worker threads."
        ),
    )
    broker_namespace: str = Field(
        default="stoa",
        pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$",
        description="Queue name (RabbitMQ) and key prefix (Redis) of the workers' messages.",
    )
    redis_heartbeat_timeout_seconds: int = Field(
        default=60,
        ge=5,
        description=(
            "Redis broker only: seconds a worker goes without a heartbeat (it sends one about "
            "every second) before it counts as dead and the parts it held go back to the "
            "queue, for another worker to do again, about a tenth of this later. Shorter "
            "brings a killed worker's work back sooner, but a worker cut off from Redis that "
            "long has its part done twice, and the machines' clocks must agree well within it."
        ),
    )
    transcribe_piece_seconds: int = Field(
        default=300,
        ge=30,
        description=(
            "Longest piece of a track that one transcription message recognizes: a longer "
            "track is split in silence into pieces this long at most, which separate workers "
            "recognize at once. Takes effect for runs started after it changes."
        ),
    )
    worker_threads: int = Field(
        default=2,
        ge=1,
        description="Worker threads of the in-process pipeline (no broker URL).",
    )
    whisper_model: str = Field(
        default="small",
        description=(
            "Whisper model: a name (tiny, base, small, medium, large-v3, or a Hugging Face id), "
            "downloaded on first use into the Hugging Face cache, or a local model directory."
        ),
    )
    whisper_device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto", description="Where recognition runs; auto: CUDA when a GPU is visible."
    )
    whisper_compute_type: str = Field(
        default="auto",
        description="CTranslate2 compute type; auto: int8 on CPU, float16 on CUDA.",
    )
    whisper_beam_size: int = Field(default=5, ge=1, description="Beam size for decoding.")
    whisper_language: str | None = Field(
        default=None,
        description="Language code of the speech (en, fr, ...); default: detected per track.",
    )
    vad_min_silence_ms: int = Field(
        default=500,
        ge=0,
        description="Silence (ms) that ends a stretch of speech; shorter pauses stay inside it.",
    )
    vad_speech_pad_ms: int = Field(
        default=30, ge=0, description="Padding (ms) kept around each stretch of speech."
    )

    @field_validator("ice_servers", mode="before")
    @classmethod
    def _url_shorthand(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"urls": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_BROKER_SCHEMES):
            raise ValueError(f"STOA_BROKER_URL must start with {', '.join(_BROKER_SCHEMES)}")
        return value

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 32:
            raise ValueError("STOA_SECRET_KEY must be at least 32 characters long")
        return value

    @model_validator(mode="after")
    def _absolute_data_dir(self) -> Settings:
        object.__setattr__(self, "data_dir", self.data_dir.expanduser().resolve())
        if self.storage == "s3" and not self.s3_bucket:
            raise ValueError("STOA_STORAGE=s3 needs STOA_S3_BUCKET")
        return self

    @property
    def catalog_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'stoa.db'}"

    def signing_key(self) -> str:
        """The token signing key: the configured one, or one kept in the data folder."""
        if self.secret_key is not None:
            return self.secret_key
        path = self.data_dir / _DEV_SECRET_FILE
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # Created readable by its owner only, from the first byte.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
