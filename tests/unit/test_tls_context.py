"""The shared TLS context's CA bundle (`app_server.agent.providers.tls_context`)."""

from __future__ import annotations

import certifi

from app_server.agent.providers.tls_context import certifi_bundle
from tests.unit.test_startup_imports import printed_json


def test_the_bundle_is_the_one_certifi_names() -> None:
    assert certifi_bundle() == certifi.where()


def test_finding_the_bundle_imports_neither_certifi_nor_importlib_resources() -> None:
    imported = printed_json(
        "import json, sys\n"
        "from app_server.agent.providers.tls_context import certifi_bundle\n"
        "certifi_bundle()\n"
        "print(json.dumps(['certifi' in sys.modules, 'importlib.resources' in sys.modules]))"
    )
    assert imported == [False, False]
