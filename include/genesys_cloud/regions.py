"""Where a Genesys Cloud organisation lives: region shorthand → API base URL → login (OAuth) base URL.

Hosts come from the SDK's `purecloud_region_hosts.py`; the login host is the API host with `//api.`
replaced by `//login.` (the SDK's `get_conf_url` does the same). Any other URL, such as the local sandbox
on 127.0.0.1, serves OAuth on the same host.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

REGION_API_HOSTS: dict[str, str] = {
    "us_east_1": "api.mypurecloud.com",
    "eu_west_1": "api.mypurecloud.ie",
    "ap_southeast_2": "api.mypurecloud.com.au",
    "ap_northeast_1": "api.mypurecloud.jp",
    "eu_central_1": "api.mypurecloud.de",
    "us_west_2": "api.usw2.pure.cloud",
    "ca_central_1": "api.cac1.pure.cloud",
    "ap_northeast_2": "api.apne2.pure.cloud",
    "eu_west_2": "api.euw2.pure.cloud",
    "ap_south_1": "api.aps1.pure.cloud",
    "us_east_2": "api.use2.us-gov-pure.cloud",
    "sa_east_1": "api.sae1.pure.cloud",
    "me_central_1": "api.mec1.pure.cloud",
    "ap_northeast_3": "api.apne3.pure.cloud",
    "eu_central_2": "api.euc2.pure.cloud",
    "mx_central_1": "api.mxc1.pure.cloud",
    "ap_southeast_1": "api.apse1.pure.cloud",
    "eusc_de_east_1": "api.edee1.eusc-pure.cloud",
}


def region_api_url(region: str) -> str:
    """`eu_west_1` (or `eu-west-1`) → `https://api.mypurecloud.ie`."""
    key = region.strip().lower().replace("-", "_")
    try:
        return f"https://{REGION_API_HOSTS[key]}"
    except KeyError:
        known = ", ".join(sorted(REGION_API_HOSTS))
        raise ValueError(f"unknown Genesys Cloud region {region!r}; expected one of: {known}") from None


def api_base_url(
    host: str | None, *, port: int | None = None, schema: str | None = None, region: str | None = None
) -> str:
    """The API base URL (no trailing slash) from an Airflow connection's fields.

    `host` may be a full URL (`https://api.mypurecloud.ie`, `http://127.0.0.1:8080`) or a bare host name;
    a bare loopback host defaults to http, any other to https (or `schema` when it is http/https). An empty
    host falls back to the `region` shorthand.
    """
    host = (host or "").strip()
    if not host:
        if not region:
            raise ValueError(
                "the Genesys Cloud connection needs a host (API URL such as https://api.mypurecloud.ie) "
                'or an extra {"region": "eu_west_1"}'
            )
        return region_api_url(region)
    if "://" not in host:
        scheme = schema if schema in ("http", "https") else ("http" if _is_loopback(host) else "https")
        host = f"{scheme}://{host}"
    url = host.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("the Genesys Cloud connection host is not an http(s) URL")
    if port and parts.port is None:
        url = f"{parts.scheme}://{parts.netloc}:{port}{parts.path}".rstrip("/")
    return url


def login_base_url(api_url: str) -> str:
    """`https://api.mypurecloud.ie` → `https://login.mypurecloud.ie`; other URLs are returned unchanged."""
    return api_url.replace("//api.", "//login.", 1)


def _is_loopback(host: str) -> bool:
    name = host.split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
