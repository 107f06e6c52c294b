"""Settings of the HTTP channel (arguments of `create_app`, else environment variables).

| variable | default | meaning |
|---|---|---|
| AIGUILLAGE_MAX_BODY_BYTES | 4096 | largest request body on the API paths (413 above) |
| AIGUILLAGE_RATE_LIMIT_PER_MINUTE | 60 | requests per minute and client address on the API paths |
| AIGUILLAGE_RATE_LIMIT_BURST | 20 | requests per 10 seconds and client address (short bursts) |
| AIGUILLAGE_REDIS_URL | "" | shared locks and rate limits between workers |
| AIGUILLAGE_CORS_ORIGINS | * | comma-separated origins allowed to call the API (widget) |
| AIGUILLAGE_LOG_CONTENT | 0 | 1 logs message texts — debugging only |
| AIGUILLAGE_FORWARDED_ALLOW_IPS | "" | proxies trusted for X-Forwarded-For ("" trusts none) |
| AIGUILLAGE_API_DOCS | 1 | 0 removes /docs (Swagger UI, pinned with Subresource Integrity) |
| AIGUILLAGE_WORKERS | 1 | uvicorn worker processes |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


@dataclass
class HttpSettings:
    max_body_bytes: int = 4096
    rate_per_minute: float = 60.0
    rate_burst: int = 20
    redis_url: str = ""
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    log_content: bool = False
    #: Redis key prefix of the shared rate-limit counters
    rate_key_prefix: str = "aiguillage:rate:"
    #: addresses of the reverse proxies whose X-Forwarded-For is believed (none by default)
    trusted_proxies: list[str] = field(default_factory=list)
    api_docs: bool = True

    @classmethod
    def from_env(cls) -> HttpSettings:
        return cls(
            max_body_bytes=env_int("AIGUILLAGE_MAX_BODY_BYTES", 4096),
            rate_per_minute=env_float("AIGUILLAGE_RATE_LIMIT_PER_MINUTE", 60.0),
            rate_burst=env_int("AIGUILLAGE_RATE_LIMIT_BURST", 20),
            redis_url=os.environ.get("AIGUILLAGE_REDIS_URL", ""),
            cors_origins=env_list("AIGUILLAGE_CORS_ORIGINS", "*"),
            log_content=os.environ.get("AIGUILLAGE_LOG_CONTENT", "") in {"1", "true", "yes"},
            trusted_proxies=env_list("AIGUILLAGE_FORWARDED_ALLOW_IPS", ""),
            api_docs=os.environ.get("AIGUILLAGE_API_DOCS", "1") not in {"0", "false", "no"},
        )
