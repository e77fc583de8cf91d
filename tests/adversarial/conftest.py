"""The adversarial tests use the web tests' site, app and client."""

from tests.web.conftest import app, client, site_home  # noqa: F401
