"""The Slack twin built into a Docker image, run with host networking, exported and imported.

Needs a Docker engine (``python -m localfactory.twins.engine ensure`` starts one). Without
one these tests are skipped, except under CI (``CI=true``), where they fail: CI must
prove the image works. The first build bootstraps the base image (a few minutes, once
per engine); later runs reuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from localfactory.config import load_settings
from localfactory.twins.docker import image_tag
from localfactory.twins.docker_run import SCOPE_LABEL, scope
from localfactory.twins.engine import connect, engine_host, engine_version
from tests.twins.served import call_admin
from tests.twins.test_twin_cli import free_port

pytestmark = [pytest.mark.docker, pytest.mark.integration]


@pytest.fixture(scope="module")
def engine() -> Iterator[object]:
    host = engine_host(load_settings().twins.docker_host)
    if engine_version(host) is None:
        reason = (
            f"No Docker engine is reachable at {host}; "
            "`python -m localfactory.twins.engine ensure` (as root) starts one."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the Docker tests to run: {reason}", pytrace=False)
        pytest.skip(reason)
    yield connect(host)


def lf(data_home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localfactory", "twin", *args],
        env={**os.environ, "XDG_DATA_HOME": str(data_home)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # so scope() names this test's containers
    yield tmp_path
    lf(tmp_path, "down", "slack")  # never leave a container behind


@pytest.mark.timeout(900)
def test_slack_image_builds_exports_imports_and_serves_slack_sdk(
    engine: object, data_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    import docker

    client: docker.DockerClient = engine  # type: ignore[assignment]
    tag = image_tag("slack")

    built = lf(data_home, "build", "slack", timeout=840)
    assert built.returncode == 0, built.stderr
    assert f"Built {tag}" in built.stdout

    # Export, remove it from the engine, import it back: what an air-gapped site does.
    archive = tmp_path_factory.mktemp("export") / "slack.tar.gz"
    exported = lf(data_home, "export", "slack", "-o", str(archive), timeout=300)
    assert exported.returncode == 0, exported.stderr
    assert archive.stat().st_size > 20_000_000  # the base layers travel with it
    client.images.remove(tag, force=True)
    missing = lf(data_home, "export", "slack", "-o", str(archive))
    assert missing.returncode == 2 and f"There is no image {tag}" in missing.stderr
    imported = lf(data_home, "import", str(archive), timeout=300)
    assert imported.returncode == 0, imported.stderr
    assert f"Imported {tag}" in imported.stdout

    port = free_port()
    up = lf(data_home, "up", "slack", "--port", str(port))
    assert up.returncode == 0, up.stderr
    assert "running in Docker" in up.stdout and f"http://127.0.0.1:{port}/api/" in up.stdout
    base = f"http://127.0.0.1:{port}"
    ours = {"label": [f"{SCOPE_LABEL}={scope()}", "io.localfactory.twin=slack"]}
    [container] = client.containers.list(filters=ours)
    assert container.attrs["HostConfig"]["NetworkMode"] == "host"

    status, health = call_admin(base, "GET", "/_twin/health")
    assert status == 200 and health["status"] == "ok" and health["twin"] == "slack"
    _, issued = call_admin(base, "POST", "/_twin/tokens", {})
    slack = WebClient(token=issued["token"], base_url=f"{base}/api/", timeout=10)
    assert slack.auth_test()["user"] == "twinbot"
    channel = slack.conversations_create(name="from-docker")["channel"]["id"]
    posted = slack.chat_postMessage(channel=channel, text="hello from a container")
    history = slack.conversations_history(channel=channel)["messages"]
    assert [(m["ts"], m["text"]) for m in history] == [(posted["ts"], "hello from a container")]

    listed = lf(data_home, "status")
    assert f"slack: {base}/api/  container {container.short_id}" in listed.stdout
    assert "healthy, 4 requests served" in listed.stdout
    assert f"slack twin: {base}/api/" in lf(data_home, "logs", "slack").stdout

    # The snapshot folder is mounted: a snapshot outlives the container and restores into a new one.
    assert call_admin(base, "POST", "/_twin/snapshot", {"name": "kept"})[0] == 200
    assert (data_home / "localfactory/twins/slack/snapshots/kept.json").is_file()
    down = lf(data_home, "down", "slack")
    assert down.returncode == 0 and f"container {container.short_id}" in down.stdout
    assert not client.containers.list(all=True, filters=ours)
    assert call_admin_fails(base)

    again = lf(data_home, "up", "slack", "--port", str(port), "--restore", "kept")
    assert again.returncode == 0, again.stderr
    kept = slack.conversations_history(channel=channel)["messages"]
    assert [m["text"] for m in kept] == ["hello from a container"]


def call_admin_fails(base: str) -> bool:
    try:
        call_admin(base, "GET", "/_twin/health")
    except OSError:
        return True
    return False


@pytest.mark.timeout(600)
def test_a_twin_of_the_user_s_own_is_packaged_into_its_image(
    engine: object, data_home: Path
) -> None:
    """`twin new` writes into the user's twins folder, outside the package: `twin build` must
    carry that folder into the image, or the container would not know the twin."""
    from tests.twins.test_twin_new import DOCUMENT

    folder = data_home / "localfactory" / "user-twins" / "shelf"
    made = lf(
        data_home, "new", "shelf", "--from", str(DOCUMENT), "--out", str(folder), "--no-model"
    )
    assert made.returncode == 0, made.stderr
    built = lf(data_home, "build", "shelf", timeout=540)
    assert built.returncode == 0, built.stderr
    port = free_port()
    try:
        up = lf(data_home, "up", "shelf", "--port", str(port))
        assert up.returncode == 0, up.stderr
        assert "running in Docker" in up.stdout
        base = f"http://127.0.0.1:{port}"
        assert call_admin(base, "GET", "/_twin/health")[1]["twin"] == "shelf"
        _, issued = call_admin(base, "POST", "/_twin/tokens", {})
        request = urllib.request.Request(
            f"{base}/v1/books",
            data=json.dumps({"title": "Dune", "author": "Frank Herbert"}).encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {issued['token']}",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            assert json.loads(response.read())["title"] == "Dune"
    finally:
        lf(data_home, "down", "shelf")
        import docker

        client: docker.DockerClient = engine  # type: ignore[assignment]
        client.images.remove(image_tag("shelf"), force=True)
