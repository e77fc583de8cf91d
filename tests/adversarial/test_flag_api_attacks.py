"""Hostile input to the CI flag API (`/api/0/<project>/pull-request/N/flag`).

Every refusal must be a JSON error that names the problem, and must leave
the request repo as it was. The client here gets the 500 page a real server
sends instead of the exception the TESTING mode would raise, so a crash
shows up as a wrong status code.
"""

from __future__ import annotations

import json

import pytest

from tests.web import test_api as api_tests
from tests.web.request_support import request_tip
from tests.web.test_api import FLAG_URL, _flags, _token

# The API tests' fixture, by name: project foo with pull request #1.
pull_request = api_tests.pull_request


@pytest.fixture
def api(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app.test_client()


def _post_json_text(api, token: str, body: str, url: str = FLAG_URL):
    """Post `body` as it is, declared as JSON."""
    headers = {"Authorization": f"token {token}"}
    return api.post(url, data=body, content_type="application/json", headers=headers)


def _assert_refused(response, field: str | None = None) -> None:
    assert response.status_code == 400, (response.status_code, response.data[:300])
    assert response.json["error_code"] == "EINVALIDREQ"
    if field is not None:
        assert field in response.json.get("errors", {}), response.json


@pytest.mark.parametrize("body", ['["CI", "success"]', '"CI"', "42", "true"])
def test_flag_body_that_is_not_a_json_object_is_a_json_400(
    api, site_home, pull_request, body
):
    before = request_tip(site_home)
    refused = _post_json_text(api, _token(site_home), body)
    _assert_refused(refused)
    assert request_tip(site_home) == before


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"name": 5, "status": "success"}, "name"),
        ({"name": ["CI"], "status": "success"}, "name"),
        ({"name": "CI", "status": 1}, "status"),
        ({"name": "CI", "status": ["success"]}, "status"),
        ({"name": "CI", "status": "success", "url": 5}, "url"),
        ({"name": "CI", "status": "success", "comment": {"text": "x"}}, "comment"),
    ],
)
def test_flag_field_of_the_wrong_json_type_is_refused_by_name(
    api, site_home, pull_request, fields, field
):
    before = request_tip(site_home)
    refused = _post_json_text(api, _token(site_home), json.dumps(fields))
    _assert_refused(refused, field)
    assert _flags(site_home) == [] and request_tip(site_home) == before


def test_flag_name_with_a_lone_surrogate_is_refused_by_name(
    api, site_home, pull_request
):
    # Valid JSON, but no UTF-8 text: the flag's uid is a hash of the name.
    body = '{"name": "CI \\ud800", "status": "success"}'
    before = request_tip(site_home)
    _assert_refused(_post_json_text(api, _token(site_home), body), "name")
    assert request_tip(site_home) == before


@pytest.mark.parametrize("percent", [50.7, True])
def test_flag_percent_that_is_not_a_whole_number_is_refused(
    api, site_home, pull_request, percent
):
    # Neither is silently turned into another number (50 or 1).
    body = json.dumps({"name": "CI", "status": "success", "percent": percent})
    _assert_refused(_post_json_text(api, _token(site_home), body), "percent")
    assert _flags(site_home) == []


def test_flag_on_a_number_past_the_database_range_is_a_json_404(
    api, site_home, pull_request
):
    # The pages answer 404 for numbers past MAX_NUMBER; the API must too.
    url = "/api/0/foo/pull-request/99999999999999999999/flag"
    body = json.dumps({"name": "CI", "status": "success"})
    missing = _post_json_text(api, _token(site_home), body, url)
    assert missing.status_code == 404, (missing.status_code, missing.data[:200])
    assert missing.json["error_code"] == "ENOREQ"


def test_hostile_flag_text_is_escaped_on_the_pull_request_pages(
    api, site_home, pull_request
):
    fields = {
        "name": "<script>alert(1)</script>",
        "status": "failure",
        "comment": "<b onmouseover=alert(2)>hover</b>",
        "url": 'https://ci.example.org/"onmouseover="alert(3)',
    }
    posted = _post_json_text(api, _token(site_home), json.dumps(fields))
    assert posted.status_code == 201
    for page in ("/foo/pull-request/1", "/foo/pull-requests?status=all"):
        html = api.get(page).text
        assert "<script>alert(1)" not in html and "<b onmouseover" not in html
        assert '"onmouseover="' not in html
    html = api.get("/foo/pull-request/1").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://ci.example.org/&#34;onmouseover=&#34;alert(3)"' in html
