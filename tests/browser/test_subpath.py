"""Behind a real reverse proxy under a sub-path: https://host/tagmyphotos/ through Debian's nginx.

The proxy terminates TLS, strips /tagmyphotos, sends X-Forwarded-Prefix and rewrites Host to the
backend's address (a common, naive configuration), so only `server.public_url` tells the app
which origin the browser uses. A real Chromium logs in over the proxied websocket; every
redirect (login gate, deep link, login completion, logout) stays under the sub-path; a websocket
handshake from a foreign origin is refused.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagmyphotos_lab.appserver import app_env, run_server, stop, wait_healthy
from tagmyphotos_lab.servers import free_port
from tests.support.base import FACES, copy_tree

pytestmark = pytest.mark.browser

PREFIX = "/tagmyphotos"
PASSWORD = "subpath-password-1"
WAIT_S = 60
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
  access_log {tmp}/nginx-access.log;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {tmp}/cert.pem;
    ssl_certificate_key {tmp}/key.pem;
    location {prefix}/ {{
      proxy_pass http://127.0.0.1:{app}/;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host 127.0.0.1:{app};
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Prefix {prefix};
    }}
  }}
}}
"""


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[str]:
    """`tagmyphotos serve` behind nginx at https://127.0.0.1:PORT/tagmyphotos/; yields that URL."""
    if not shutil.which("nginx"):
        pytest.fail("nginx is missing: scripts/install.sh --test installs it")
    tmp = Path(tempfile.mkdtemp(prefix="tmp-subpath-"))
    tmp.chmod(0o755)  # nginx workers run as nobody
    port = free_port()
    public = f"https://127.0.0.1:{port}{PREFIX}/"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
                   capture_output=True, check=True)  # fmt: skip
    env = app_env(copy_tree(FACES, tmp_path / "lib", "img1*.jpg"), tmp_path / "data", TAGMYPHOTOS_PASSWORD=PASSWORD,
                  TAGMYPHOTOS_SERVER__PUBLIC_URL=public)  # fmt: skip
    try:
        with run_server(env, cwd=tmp_path, log=tmp_path / "serve.log") as app:
            (tmp / "nginx.conf").write_text(NGINX_CONF.format(tmp=tmp, port=port, app=app.port, prefix=PREFIX))
            nginx_args = ["-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(tmp / "nginx.conf")]
            nginx = subprocess.Popen(
                ["nginx", *nginx_args], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
            )  # its own group: stop() signals the group
            try:
                wait_healthy(public + "healthz", nginx, tmp / "nginx-error.log")
                yield public
            finally:
                stop(nginx)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _location(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=ssl._create_unverified_context())
    )
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as resp:
            return resp.status, resp.headers.get("Location", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


def test_redirects_stay_under_the_sub_path(proxied: str) -> None:
    assert _location(proxied) == (307, f"{PREFIX}/login?next=/")
    assert _location(proxied + "people") == (307, f"{PREFIX}/login?next=/people")
    assert _location(proxied + "logout") == (303, f"{PREFIX}/login")
    assert _location(proxied + "login/complete?ticket=stale") == (303, f"{PREFIX}/login?expired=1")


def test_websocket_accepts_the_public_origin_only(proxied: str) -> None:
    handshake = proxied + "_nicegui_ws/socket.io/?EIO=4&transport=polling"
    public_origin = proxied.split(PREFIX)[0]
    assert _location(handshake, {"Origin": public_origin})[0] == 200
    assert _location(handshake, {"Origin": "https://evil.example"})[0] == 400


def test_login_and_navigation_in_a_browser(proxied: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.browser import CHROME_FLAGS

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="tmp-subpath-chromium-")
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}", "--ignore-certificate-errors"):
        options.add_argument(flag)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    d.set_page_load_timeout(WAIT_S)
    wait = WebDriverWait(d, WAIT_S)
    try:
        d.get(proxied + "people")  # a deep link: the gate sends it to the login, under the prefix
        wait.until(lambda _: d.current_url.startswith(proxied + "login"))
        box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid='password']")))
        box.send_keys(PASSWORD + Keys.ENTER)  # over the proxied websocket
        wait.until(lambda _: d.current_url == proxied + "people")
        cookie = d.get_cookie("tagmyphotos_session")
        assert cookie and cookie["secure"] and cookie["httpOnly"], cookie
        wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(normalize-space(.), 'People')]")))
        d.get(proxied)
        wait.until(lambda _: d.current_url == proxied)
        d.get(proxied + "logout")
        wait.until(lambda _: d.current_url.startswith(proxied + "login"))
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)
