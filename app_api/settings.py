"""One settings object for the whole service, read from ``SAFENUM_*`` variables.

Names are flat (``SAFENUM_SIP_PORT``, not ``SAFENUM_SIP__PORT``) because operators
type them into unit files and the README table documents them one per row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from proxy.asterisk.install import DEFAULT_BINARY

_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "password", "safenum"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAFENUM_", extra="ignore")

    env: Literal["development", "test", "production"] = Field(
        "development",
        description="development, test or production; production refuses placeholder secrets.",
    )
    data_dir: Path = Field(
        Path("./var"), description="SQLite file, master key, generated Asterisk configs, logs."
    )
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite at DATA_DIR/safenum.db."
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for rate limits.")
    master_key_file: Path | None = Field(
        None,
        description="32-byte master key (mode 0600), created on first run; "
        "empty means DATA_DIR/master.key.",
    )
    max_numbers_per_owner: int = Field(2, ge=1, le=20, description="Live numbers per owner.")
    number_term_days: int = Field(365, ge=1, description="Validity of an issued number.")
    quarantine_days: int = Field(
        180, ge=0, description="Days a released number rests before reuse."
    )
    sweep_interval_seconds: int = Field(
        300, ge=1, description="How often serve releases expired numbers."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API binds.")
    http_port: int = Field(8000, ge=1, le=65535, description="Port of the HTTP API.")
    sip_port: int = Field(5060, ge=1, le=65535, description="UDP port Asterisk listens on.")
    trunk_addr: str = Field(
        "127.0.0.1:5070", description="host:port of the carrier trunk, the only SIP peer."
    )
    ami_port: int = Field(5038, ge=1, le=65535, description="AMI port, bound to 127.0.0.1.")
    ami_secret: SecretStr | None = Field(
        None, description="AMI secret; empty means generated into DATA_DIR/ami.secret (0600)."
    )
    asterisk_binary: str = Field(
        str(DEFAULT_BINARY),
        description="Asterisk executable to supervise (22 LTS, built by `make system`).",
    )
    dial_timeout_seconds: int = Field(
        30, ge=1, le=300, description="How long the driver's phone rings before giving up."
    )
    reconcile_interval_seconds: int = Field(
        3600, ge=10, description="How often serve re-checks the whole AstDB replica."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO",
        description="Log level of every logger (serve; other commands log at WARNING "
        "unless it is set).",
    )

    # --- calls (issue 4) ---
    call_menu: bool = Field(
        True, description="Answer 050 calls with the move-car menu; false dials at once."
    )
    call_menu_timeout_seconds: float = Field(
        3.0, ge=0.5, le=30, description="Silence after a prompt before the caller is connected."
    )
    callback_window_seconds: int = Field(
        86400, ge=60, le=604800, description="How long the driver can call back the last caller."
    )
    call_records_retention_days: int = Field(
        90, ge=1, description="Days call records are kept before serve deletes them."
    )

    # --- HTTP API (issue 6) ---
    jwt_secret: SecretStr | None = Field(
        None,
        description="HMAC key signing access tokens; empty means generated into "
        "DATA_DIR/jwt.secret (0600).",
    )
    access_token_minutes: int = Field(15, ge=1, le=1440, description="Access token lifetime.")
    refresh_token_days: int = Field(30, ge=1, le=365, description="Refresh token lifetime.")
    otp_ttl_seconds: int = Field(
        180, ge=30, le=900, description="How long a sign-in code is valid."
    )
    otp_max_attempts: int = Field(5, ge=1, le=20, description="Tries allowed per sign-in code.")
    otp_per_phone_per_hour: int = Field(5, ge=1, description="Sign-in codes sent to one phone.")
    otp_per_client_per_hour: int = Field(
        30, ge=1, description="Sign-in codes requested from one client address."
    )
    move_car_per_card_per_hour: int = Field(
        3, ge=1, description="Move-car texts sent through one parking card."
    )
    move_car_per_client_per_hour: int = Field(
        10, ge=1, description="Move-car texts requested from one client address."
    )
    idempotency_retention_hours: int = Field(
        24, ge=1, le=24 * 30, description="How long a stored Idempotency-Key answer is kept."
    )
    http_max_body_bytes: int = Field(
        65536,
        ge=1024,
        le=10 * 1024 * 1024,
        description="Largest request body the HTTP API reads; larger ones get 413.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public address printed in the parking card's QR code (/p/{token}).",
    )

    # --- texts and blocking (issue 5) ---
    text_retention_days: int = Field(
        30, ge=1, le=365, description="Days text records (delivered and blocked) are kept."
    )
    text_sender_max_numbers: int = Field(
        5, ge=1, description="Distinct safe numbers one sender may text in the window."
    )
    text_sender_window_minutes: int = Field(
        10, ge=1, le=1440, description="Window for counting a sender's distinct safe numbers."
    )
    text_sender_per_minute: int = Field(
        10, ge=1, description="Texts one sender may send per minute (any numbers)."
    )
    text_sender_block_hours: int = Field(
        1, ge=1, le=720, description="How long a sender over a limit stays blocked everywhere."
    )
    filter_model_file: Path | None = Field(
        None,
        description="Filter model written by safenum filter retrain and read by serve "
        "(reloaded when it changes); empty means DATA_DIR/filter-model.npz.",
    )
    prompt_cache_dir: Path | None = Field(
        None,
        description="Synthesised voice prompts, kept by hash of text, voice and speed and "
        "shared by every Asterisk configured from here; empty means DATA_DIR/prompt-cache.",
    )
    filter_spam_example_days: int = Field(
        365, ge=1, le=3650, description="Days a text marked as spam is kept for retraining."
    )
    filter_ham_example_days: int = Field(
        90, ge=1, le=3650, description="Days a released text (masked) is kept for retraining."
    )
    caller_sweep_numbers: int = Field(
        10, ge=2, description="Distinct safe numbers one caller may dial in the window."
    )
    caller_sweep_window_minutes: int = Field(
        10, ge=1, le=1440, description="Window for counting a caller's distinct safe numbers."
    )
    caller_sweep_block_hours: int = Field(
        24, ge=1, le=720, description="How long a number-sweeping caller is blocked everywhere."
    )

    # --- the bridges and the outbox (issue 11) ---
    node_name: str = Field(
        "node-1",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Name of this process's bridge (one per Asterisk node).",
    )
    serve_bridge: bool = Field(
        True,
        description="serve runs this node's bridge in-process; false: API only (run "
        "`safenum bridge` for the node), so several serve processes can share a node.",
    )
    outbox_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often a bridge reads the outbox without a hint."
    )
    destruction_wait_seconds: float = Field(
        10.0, ge=0, le=120, description="How long a deletion waits for every bridge."
    )

    # --- scale-out: the Kamailio edge and N nodes (issue 14) ---
    kamailio_binary: str = Field("kamailio", description="Kamailio executable of the edge.")
    edge_rpc_socket: Path | None = Field(
        None,
        description="The edge's RPC socket; a node's bridge gates its node there. Empty means "
        "DATA_DIR/kamailio/run/rpc.sock for `safenum edge` and no gate for a bridge.",
    )
    node_sip_host: str = Field(
        "127.0.0.1", description="IPv4 address at which the edge reaches this node's Asterisk."
    )
    edge_nodes: str = Field(
        "",
        description="The Asterisk nodes behind a production edge, as name=ipv4:port, "
        "comma-separated (`safenum kamailio config`).",
    )
    edge_ping_seconds: int = Field(
        2, ge=1, le=60, description="How often the edge probes each node with OPTIONS."
    )
    edge_failover_ms: int = Field(
        1500, ge=100, le=30000, description="A node silent this long loses the call to the next."
    )
    edge_shm_mb: int = Field(
        64, ge=16, le=65536, description="Kamailio's shared memory (its number tables live there)."
    )
    edge_flood_requests: int = Field(
        2000, ge=10, description="Requests one source may send the edge per 2 s before 503."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("trunk_addr")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, e.g. 127.0.0.1:5070")
        return v

    @model_validator(mode="after")
    def _defaults_under_data_dir(self) -> Settings:
        if self.env == "production" and self.jwt_secret is not None:
            jwt = self.jwt_secret.get_secret_value()
            if len(jwt) < 32 or jwt.lower() in _PLACEHOLDERS:
                raise ValueError(
                    "SAFENUM_JWT_SECRET is a placeholder or shorter than 32 characters; "
                    "unset it to have one generated"
                )
        if self.env == "production" and self.ami_secret is not None:
            secret = self.ami_secret.get_secret_value()
            if len(secret) < 16 or secret.lower() in _PLACEHOLDERS:
                raise ValueError(
                    "SAFENUM_AMI_SECRET is a placeholder or shorter than 16 characters; "
                    "unset it to have one generated"
                )
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'safenum.db'}"
        if self.master_key_file is None:
            self.master_key_file = self.data_dir / "master.key"
        return self

    @property
    def key_file(self) -> Path:
        assert self.master_key_file is not None  # set by the validator
        return self.master_key_file

    @property
    def filter_model_path(self) -> Path:
        """Where ``safenum filter retrain`` writes the active filter model."""
        return self.filter_model_file or self.data_dir / "filter-model.npz"

    @property
    def prompt_cache_path(self) -> Path:
        return self.prompt_cache_dir or self.data_dir / "prompt-cache"

    @property
    def asterisk_dir(self) -> Path:
        return self.data_dir / "asterisk"

    @property
    def kamailio_dir(self) -> Path:
        return self.data_dir / "kamailio"
