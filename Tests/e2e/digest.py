"""Digest credentials (RFC 7616 with qop=auth, RFC 8760 algorithms) for the raw SIP UA:
the Authorization value answering one WWW-Authenticate challenge."""
from __future__ import annotations

import hashlib
import re

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def challenge_params(header: str) -> dict[str, str]:
    """The parameters of a `Digest ...` challenge, unquoted."""
    assert header.startswith("Digest "), header
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
            for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', header[7:])}


def authorization(challenge: str, method: str, uri: str, user: str, password: str, nc: int = 1,
                  cnonce: str = "0a4f113b") -> str:
    p = challenge_params(challenge)
    algorithm = p.get("algorithm", "MD5")
    h = lambda text: ALGORITHMS[algorithm](text.encode()).hexdigest()  # noqa: E731
    ha1 = h(f"{user}:{p['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    nc_text = f"{nc:08x}"
    response = h(f"{ha1}:{p['nonce']}:{nc_text}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{p["realm"]}", nonce="{p["nonce"]}", uri="{uri}", '
            f'response="{response}", algorithm={algorithm}, qop=auth, nc={nc_text}, cnonce="{cnonce}"')
