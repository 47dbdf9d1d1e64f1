"""HTTP and RTSP authentication (RFC 2617; RTSP 1.0 uses it unchanged, RFC 2326 D.1): challenges and responses.

Rule 1: one computation of the Digest response serves both sides: the kit's probes answer a challenge with
        `digest_authorization`, the reference camera checks an answer with `digest_response`.
Rule 2: MD5 only (RFC 2617 3.2.1; the "algorithm" a side offers or accepts is its own decision, not ours here);
        qop "auth" when offered, else the RFC 2069 form (RFC 2617 3.2.2.1).
Rule 3: parameters are read leniently (quoted or token values, any order, RFC 2617 1.2); names lower-case.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re

# RFC 2617 1.2: auth-param = token "=" ( token | quoted-string ), separated by commas
_AUTH_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')


def parse_challenge(value: str) -> tuple[str, dict[str, str]]:
    """Split a WWW-Authenticate (or Authorization) value into (scheme lower-case, params)."""
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for m in _AUTH_PARAM.finditer(rest):
        raw = m.group(2)
        params[m.group(1).lower()] = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
    return scheme.lower(), params


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324  (RFC 2617 mandates MD5)


def digest_response(
    user: str, realm: str, password: str, method: str, uri: str, nonce: str, *, qop: str | None = None,
    nc: str = "", cnonce: str = "",
) -> str:  # fmt: skip
    """The request-digest of RFC 2617 3.2.2.1 (lower-case hex): with qop "auth", or the RFC 2069 form without."""
    ha1 = _md5(f"{user}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop == "auth":
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def digest_authorization(params: dict[str, str], method: str, uri: str, user: str, password: str) -> str:
    """RFC 2617 3.2.2 response to a Digest challenge (qop=auth if offered, else RFC 2069 style)."""
    realm, nonce = params.get("realm", ""), params["nonce"]
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    fields = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"', "algorithm=MD5"]
    if "auth" in qops:
        cnonce, nc = os.urandom(8).hex(), "00000001"
        response = digest_response(user, realm, password, method, uri, nonce, qop="auth", nc=nc, cnonce=cnonce)
        fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        response = digest_response(user, realm, password, method, uri, nonce)
    fields.append(f'response="{response}"')
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


def authorization(
    challenges: list[str], method: str, uri: str, user: str, password: str, prefer: str = "digest"
) -> str | None:
    """An Authorization header value answering one of `challenges` (Digest preferred), or None."""
    parsed = [parse_challenge(c) for c in challenges]
    order = ["digest", "basic"] if prefer == "digest" else ["basic", "digest"]
    for scheme in order:
        for name, params in parsed:
            if name != scheme:
                continue
            if scheme == "basic":
                return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
            if params.get("algorithm", "MD5").upper() != "MD5" or "nonce" not in params:
                continue
            return digest_authorization(params, method, uri, user, password)
    return None
