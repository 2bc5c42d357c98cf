"""Bearer JWTs: every way a token can be wrong gets a 401 that leaks nothing, and a
valid token reaches only the sites and permissions it names (403 otherwise)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi.testclient import TestClient

from api.query.auth import AuthError, TokenVerifier
from tests.api.query_support import (
    SECRET,
    FakeClock,
    PipelineData,
    api_settings,
    bearer,
    claims,
    make_token,
    serve,
)

pytest_plugins = ["tests.api.query_fixtures"]

STATS = "/v1/sites/shop.example.com/stats"
# Text that would betray internals if it showed up in an answer.
LEAKS = ("Traceback", "SELECT", "pyjwt", "jwt.exceptions", 'File "', "clickhouse", "chdb")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A token built by hand, for the malformed cases PyJWT refuses to make."""
    signing_input = f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(payload))}"
    signature = b""
    if key is not None:
        signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private: Any) -> bytes:
    pem: bytes = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


@pytest.fixture
def hs_client(pipeline_data: PipelineData, clock: FakeClock) -> Iterator[TestClient]:
    with serve(pipeline_data, clock) as client:
        yield client


def assert_unauthorized(response: Any, *, missing: bool = False) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="insightlite"')
    assert ("invalid_token" in challenge) is not missing
    body = response.json()
    assert body["error"] == "unauthorized"
    for leak in LEAKS:
        assert leak.lower() not in response.text.lower()


def test_valid_token_is_accepted(hs_client: TestClient, clock: FakeClock) -> None:
    response = hs_client.get(STATS, headers=bearer(make_token(clock)))
    assert response.status_code == 200, response.text
    assert response.json()["pageviews"] > 0


def test_missing_or_malformed_header(hs_client: TestClient) -> None:
    assert_unauthorized(hs_client.get(STATS), missing=True)
    assert_unauthorized(hs_client.get(STATS, headers={"Authorization": "Basic abc"}), missing=True)
    assert_unauthorized(hs_client.get(STATS, headers={"Authorization": "Bearer"}), missing=True)
    for garbage in ("abc", "a.b.c", "....", "x" * 9000, "eyJhbGciOiJIUzI1NiJ9.e30."):
        assert_unauthorized(hs_client.get(STATS, headers=bearer(garbage)))


def test_alg_none_is_refused(hs_client: TestClient, clock: FakeClock) -> None:
    for name in ("none", "None", "NONE"):
        token = raw_token({"alg": name, "typ": "JWT"}, claims(clock), key=None)
        assert_unauthorized(hs_client.get(STATS, headers=bearer(token)))


def test_algorithm_not_configured_is_refused(hs_client: TestClient, clock: FakeClock) -> None:
    # HS512 is a fine algorithm, but not the one this deployment names.
    token = jwt.encode(claims(clock), SECRET * 2, algorithm="HS512")
    assert_unauthorized(hs_client.get(STATS, headers=bearer(token)))


def test_tampered_signature_and_payload(hs_client: TestClient, clock: FakeClock) -> None:
    token = make_token(clock)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    assert_unauthorized(hs_client.get(STATS, headers=bearer(f"{header}.{payload}.{flipped}")))
    forged = _b64(orjson.dumps(claims(clock, sites=["evil.example"])))
    assert_unauthorized(hs_client.get(STATS, headers=bearer(f"{header}.{forged}.{signature}")))
    wrong_key = make_token(clock, key="another-secret-of-enough-length-0123456789")
    assert_unauthorized(hs_client.get(STATS, headers=bearer(wrong_key)))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "aud", "iss"])
def test_missing_required_claim(hs_client: TestClient, clock: FakeClock, claim: str) -> None:
    token = jwt.encode(claims(clock, **{claim: None}), SECRET, algorithm="HS256")
    assert_unauthorized(hs_client.get(STATS, headers=bearer(token)))


def test_time_claims_use_the_injected_clock(hs_client: TestClient, clock: FakeClock) -> None:
    now = int(clock())
    expired = make_token(clock, iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    assert_unauthorized(hs_client.get(STATS, headers=bearer(expired)))
    not_yet = make_token(clock, nbf=now + 3600)
    assert_unauthorized(hs_client.get(STATS, headers=bearer(not_yet)))
    issued_in_future = make_token(clock, iat=now + 3600, nbf=None)
    assert_unauthorized(hs_client.get(STATS, headers=bearer(issued_in_future)))
    # Within the leeway (30 s by default) a skewed issuer clock is tolerated.
    skewed = make_token(clock, iat=now + 10, nbf=now + 10)
    assert hs_client.get(STATS, headers=bearer(skewed)).status_code == 200
    # A token valid now stops working once the clock passes exp + leeway.
    token = make_token(clock, exp=now + 60)
    assert hs_client.get(STATS, headers=bearer(token)).status_code == 200
    clock.advance(60 + 31)
    assert_unauthorized(hs_client.get(STATS, headers=bearer(token)))


def test_wrong_audience_or_issuer(hs_client: TestClient, clock: FakeClock) -> None:
    assert_unauthorized(hs_client.get(STATS, headers=bearer(make_token(clock, aud="other-api"))))
    assert_unauthorized(hs_client.get(STATS, headers=bearer(make_token(clock, iss="someone"))))
    both = make_token(clock, aud=["other-api", "yet-another"])
    assert_unauthorized(hs_client.get(STATS, headers=bearer(both)))


@pytest.mark.parametrize(
    "override",
    [
        {"sites": "shop.example.com"},
        {"sites": [1, 2]},
        {"sites": ["bad site"]},
        {"permissions": "stats:read"},
        {"tier": "platinum"},
        {"sub": ""},
        {"sub": 42},
        {"exp": "tomorrow"},
        {"jti": {"nested": True}},
    ],
)
def test_malformed_claims(
    hs_client: TestClient, clock: FakeClock, override: dict[str, Any]
) -> None:
    assert_unauthorized(hs_client.get(STATS, headers=bearer(make_token(clock, **override))))


def test_site_not_granted(hs_client: TestClient, clock: FakeClock) -> None:
    token = make_token(clock, sites=["blog.example.org"])
    response = hs_client.get(STATS, headers=bearer(token))
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden", "message": "site not granted by this token"}
    # A site that does not exist at all answers the same: nothing to learn by probing.
    other = hs_client.get("/v1/sites/unknown.example/stats", headers=bearer(token))
    assert other.status_code == 403
    assert other.json() == response.json()


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        ("/stats", "stats:read"),
        ("/stats/timeseries", "stats:read"),
        ("/stats/breakdown", "stats:read"),
        ("/errors", "stats:read"),
        ("/sessions", "sessions:read"),
        ("/sessions/00000000-0000-0000-0000-000000000000", "sessions:read"),
        ("/heatmap?path=/", "heatmaps:read"),
        ("/heatmap.png?path=/", "heatmaps:read"),
        ("/scroll-depth?path=/", "heatmaps:read"),
        ("/exports/0123456789abcdef0123456789abcdef", "export:write"),
    ],
)
def test_permission_not_granted(
    hs_client: TestClient, clock: FakeClock, path: str, permission: str
) -> None:
    others = [
        p
        for p in ("stats:read", "sessions:read", "heatmaps:read", "export:write")
        if p != permission
    ]
    token = make_token(clock, permissions=others)
    response = hs_client.get(f"/v1/sites/shop.example.com{path}", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["message"] == f"permission {permission} not granted by this token"


def test_unknown_permissions_are_ignored(hs_client: TestClient, clock: FakeClock) -> None:
    token = make_token(clock, permissions=["stats:read", "admin:everything"])
    assert hs_client.get(STATS, headers=bearer(token)).status_code == 200
    sessions = hs_client.get("/v1/sites/shop.example.com/sessions", headers=bearer(token))
    assert sessions.status_code == 403


def test_rs256_deployment_refuses_key_confusion(
    pipeline_data: PipelineData, clock: FakeClock, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = public_pem(rsa_key)
    settings = api_settings(
        pipeline_data, jwt_algorithms="RS256", jwt_public_key=pem.decode(), jwt_secret=None
    )
    with serve(pipeline_data, clock, settings) as client:
        good = make_token(clock, key=rsa_key, algorithm="RS256")
        assert client.get(STATS, headers=bearer(good)).status_code == 200
        # The classic attack: HS256 "signed" with the public key as the HMAC secret.
        confused = raw_token({"alg": "HS256", "typ": "JWT"}, claims(clock), key=pem)
        assert_unauthorized(client.get(STATS, headers=bearer(confused)))
        # Even if HS256 were accepted, the verifier's key is an RSA key object, which
        # PyJWT never uses as an HMAC secret.
        verifier = TokenVerifier(
            algorithms=["RS256", "HS256"],
            key=serialization.load_pem_public_key(pem),
            audience="insightlite-api",
            issuer="insightlite",
            clock=clock,
        )
        with pytest.raises(AuthError):
            verifier.verify(confused)
        assert_unauthorized(
            client.get(STATS, headers=bearer(raw_token({"alg": "none"}, claims(clock), key=None)))
        )
        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert_unauthorized(
            client.get(STATS, headers=bearer(make_token(clock, key=other_key, algorithm="RS256")))
        )


def test_eddsa_tokens(clock: FakeClock) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    verifier = TokenVerifier(
        algorithms=["EdDSA"],
        key=private.public_key(),
        audience="insightlite-api",
        issuer="insightlite",
        clock=clock,
    )
    principal = verifier.verify(make_token(clock, key=private, algorithm="EdDSA", jti=None))
    assert principal.tier == "enterprise"
    # No jti: keyed by the subject, issue time and a hash of the verified claims.
    assert principal.rate_key.startswith("sub:tester:iat:")
    with pytest.raises(AuthError):
        verifier.verify(make_token(clock))  # HS256 with the test secret


def test_rate_key_uses_subject_and_token_id(clock: FakeClock) -> None:
    verifier = TokenVerifier(
        algorithms=["HS256"],
        key=SECRET.encode(),
        audience="insightlite-api",
        issuer="insightlite",
        clock=clock,
    )
    principal = verifier.verify(make_token(clock, sub="alice", jti="t-1"))
    assert principal.rate_key == "sub:alice:jti:t-1"
    assert principal.sites == frozenset(
        {"shop.example.com", "blog.example.org", "docs.example.net"}
    )


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", 1e300),
        ("exp", float("inf")),
        ("exp", 2**40),
        ("exp", True),
        ("iat", 1.5),
        ("iat", -1),
        ("nbf", float("nan")),
        ("nbf", None),
    ],
)
def test_time_claims_must_be_integer_seconds_in_range(
    hs_client: TestClient, clock: FakeClock, claim: str, value: Any
) -> None:
    payload = claims(clock)
    payload[claim] = value
    # Built by hand: JSON has no Infinity or NaN, but Python's parser (and PyJWT's)
    # reads them, so a token can carry them.
    text = _b64(json.dumps(payload).encode())
    signing_input = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"})) + "." + text
    signature = hmac.new(SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    response = hs_client.get(STATS, headers=bearer(f"{signing_input}.{_b64(signature)}"))
    assert_unauthorized(response)
    assert response.json()["message"] == "token time claims must be integer Unix seconds"


def test_padding_does_not_make_a_new_rate_bucket(
    pipeline_data: PipelineData, clock: FakeClock
) -> None:
    with serve(pipeline_data, clock, api_settings(pipeline_data, api_rate_limit_free=3)) as client:
        token = make_token(clock, tier="free", jti=None)
        padded = token + "="  # PyJWT's base64 decoding accepts it: the same signature
        statuses = [
            client.get(STATS, headers=bearer(t)).status_code for t in (token, padded, token)
        ]
        assert statuses == [200, 200, 200]
        assert client.get(STATS, headers=bearer(padded)).status_code == 429
        assert client.get(STATS, headers=bearer(token)).status_code == 429


def test_ecdsa_signature_malleability_does_not_make_a_new_rate_bucket(clock: FakeClock) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    verifier = TokenVerifier(
        algorithms=["ES256"],
        key=private.public_key(),
        audience="insightlite-api",
        issuer="insightlite",
        clock=clock,
    )
    token = make_token(clock, key=private, algorithm="ES256", jti=None)
    head, payload, signature = token.split(".")
    raw = base64.urlsafe_b64decode(signature + "==")
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    twin = r.to_bytes(32, "big") + (order - s).to_bytes(32, "big")  # also valid
    other = f"{head}.{payload}.{_b64(twin)}"
    assert other != token
    assert verifier.verify(other).rate_key == verifier.verify(token).rate_key


SITE_WITH_NEWLINE = "shop.example.com\n"


def test_a_trailing_newline_is_not_a_site(hs_client: TestClient, clock: FakeClock) -> None:
    token = make_token(clock)
    path = hs_client.get("/v1/sites/shop.example.com%0A/stats", headers=bearer(token))
    assert 400 <= path.status_code < 500 and path.status_code != 404
    for query in ("country=US%0A", "path=/%0A"):
        response = hs_client.get(f"{STATS}?{query}", headers=bearer(token))
        assert response.status_code == 422
    body = hs_client.post(
        "/graphql",
        json={
            "query": "query($id: String!) { site(id: $id) { stats { pageviews } } }",
            "variables": {"id": SITE_WITH_NEWLINE},
        },
        headers=bearer(make_token(clock, sites=["shop.example.com", SITE_WITH_NEWLINE])),
    )
    # The token's sites claim holds a site id with a newline: the token is refused.
    assert_unauthorized(body)
    graphql = hs_client.post(
        "/graphql",
        json={
            "query": "query($id: String!) { site(id: $id) { id } }",
            "variables": {"id": SITE_WITH_NEWLINE},
        },
        headers=bearer(token),
    ).json()
    assert graphql["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


def test_patterns_match_whole_strings_even_with_an_old_site_pattern(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's checks hold with a ``^...$`` site pattern too, which ``.match`` would
    let a trailing newline through."""
    import api.query.auth as auth

    monkeypatch.setattr(auth, "SITE_ID_PATTERN", re.compile(r"^[A-Za-z0-9._-]{1,64}$"))
    verifier = TokenVerifier(
        algorithms=["HS256"],
        key=SECRET.encode(),
        audience="insightlite-api",
        issuer="insightlite",
        clock=clock,
    )
    for override in (
        {"sites": [SITE_WITH_NEWLINE]},
        {"sub": "tester\n"},
        {"jti": "token-1\n"},
    ):
        with pytest.raises(AuthError):
            verifier.verify(make_token(clock, **override))
    with pytest.raises(ValueError, match="site id"):
        auth.TokenRequest("tester", (SITE_WITH_NEWLINE,), ("stats:read",), "free", 60)
    with pytest.raises(ValueError, match="subject"):
        auth.TokenRequest("tester\n", ("shop.example.com",), ("stats:read",), "free", 60)
