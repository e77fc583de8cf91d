"""A project's access, managed in a real browser (Debian's chromium, driven
by chromedriver) against a real `gitforge serve`: the owner grants and
revokes on the Access tab, and what the grantee sees follows at once."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import git
from tests.e2e.conftest import gitforge

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def chrome(tmp_path):
    """A headless chromium session; skipped where it is not installed
    (never under CI=true, where .ci/run installs it)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        message = (
            f"{', '.join(missing)} missing: install the Debian packages "
            "chromium and chromium-driver"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    os.environ["SE_OFFLINE"] = "true"  # selenium must not look for drivers
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path}/c",
    ):
        options.add_argument(argument)  # fmt: skip
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)  # a page after a form post may still be loading
    yield driver
    driver.quit()


def _sign_in(chrome, url, name, password):
    from selenium.webdriver.common.by import By

    chrome.delete_all_cookies()
    chrome.get(f"{url}/login")
    chrome.find_element(By.NAME, "name").send_keys(name)
    chrome.find_element(By.NAME, "password").send_keys(password)
    _submit(chrome, chrome.find_element(By.CSS_SELECTOR, "form button[type=submit]"))
    chrome.find_element(By.CSS_SELECTOR, "form[action='/logout']")  # signed in


def _submit(chrome, button) -> None:
    """Click a form's button and wait for the page it leads to."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    button.click()
    WebDriverWait(chrome, 15).until(expected_conditions.staleness_of(button))


def _title_of(chrome, url, path) -> str:
    chrome.get(f"{url}{path}")
    return chrome.title


def _site_tip(forge) -> str:
    return git("rev-parse", "main", cwd=forge.home / "repositories/site.git").stdout


def test_the_owner_grants_and_revokes_access_in_the_browser(forge, chrome):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name in ("olive", "bob"):
        gitforge(forge.home, "user", "add", name, "--email", f"{name}@example.org",
                 "--password-stdin", input=f"{name}-pass-1\n")  # fmt: skip
    gitforge(forge.home, "project", "create", "secret", "--owner", "olive",
             "--private")  # fmt: skip
    url = forge.url

    _sign_in(chrome, url, "bob", "bob-pass-1")
    assert "secret" not in _title_of(chrome, url, "/secret")  # absent: 404
    assert "secret" not in chrome.find_element(By.TAG_NAME, "body").text

    _sign_in(chrome, url, "olive", "olive-pass-1")
    chrome.get(f"{url}/secret/settings/access")
    before = _site_tip(forge)
    chrome.find_element(By.NAME, "subject").send_keys("../x")
    _submit(chrome, chrome.find_element(By.XPATH, "//button[text()='Give access']"))
    assert "starting with a letter or digit" in chrome.page_source
    assert _site_tip(forge) == before  # refused, nothing written

    chrome.get(f"{url}/secret/settings/access")
    chrome.find_element(By.NAME, "subject").send_keys("bob")
    Select(chrome.find_element(By.NAME, "level")).select_by_value("collaborator")
    chrome.find_element(By.NAME, "branches").send_keys("release/*")
    _submit(chrome, chrome.find_element(By.XPATH, "//button[text()='Give access']"))
    table = chrome.find_element(By.CSS_SELECTOR, "table.access").text
    assert "bob" in table and "release/*" in chrome.page_source

    _sign_in(chrome, url, "bob", "bob-pass-1")
    assert "secret" in _title_of(chrome, url, "/secret")
    chrome.get(f"{url}/")
    assert 'href="/secret"' in chrome.page_source

    _sign_in(chrome, url, "olive", "olive-pass-1")
    chrome.get(f"{url}/secret/settings/access")
    _submit(chrome, chrome.find_element(By.XPATH, "//button[text()='Revoke']"))
    _sign_in(chrome, url, "bob", "bob-pass-1")
    assert "secret" not in _title_of(chrome, url, "/secret")
