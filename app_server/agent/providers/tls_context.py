"""The verifying TLS context every provider client shares, loadable in the background.

Loading the CA bundle (`load_verify_locations`, the `certifi` bundle) takes ~20 ms; each new
client used to pay it on its first turn, and a freshly spawned server paid it between
`turn/start` and the first request to the model. OpenSSL parses the bundle without holding the
GIL, so `load_in_background` loads it in a thread started right after `initialize` is answered
(`app_server.startup`), on the second core while the server proper is imported; a turn that
needs it before the thread is done waits for it (`default_ssl_context`).

The context is the one `httpx.create_ssl_context()` makes (`SSL_CERT_FILE` / `SSL_CERT_DIR`
when set, else `certifi`'s bundle), built without importing `httpx`, so the thread takes nothing
from the import of the server proper. Nor does it import `certifi`: its `where()` goes through
`importlib.resources` (~5 ms of imports, holding the GIL while the server proper is imported)
to name the `cacert.pem` beside its module, which `certifi_bundle` finds directly; only an
unusual install (a zip) falls back to `certifi.where()`.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import ssl
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_context: ssl.SSLContext | None = None


def _build() -> ssl.SSLContext:
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi_bundle())


def certifi_bundle() -> str:
    """The path of `certifi`'s `cacert.pem`, as `certifi.where()` gives it."""
    spec = importlib.util.find_spec("certifi")
    for folder in (spec and spec.submodule_search_locations) or ():
        bundle = os.path.join(folder, "cacert.pem")
        if os.path.isfile(bundle):
            return bundle
    import certifi

    return certifi.where()


def default_ssl_context() -> ssl.SSLContext:
    """The process's one verifying context (built now, or waited for if a thread builds it)."""
    global _context
    with _lock:
        if _context is None:
            _context = _build()
        return _context


def load_in_background() -> None:
    """Start building the context in a daemon thread (a failure is left to the first client,
    which builds it again and reports it)."""

    def load() -> None:
        try:
            default_ssl_context()
        except Exception:  # the first provider client builds it again and fails visibly
            log.debug("loading the TLS context in the background failed", exc_info=True)

    threading.Thread(target=load, name="tls context", daemon=True).start()
