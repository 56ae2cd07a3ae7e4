"""Attack 7: unasked network access.

No network unless a flag asks for it (`--allow-network`): not frictionless fetching a remote
`profile`/`$schema`, not a `--profile` JSON Schema's remote `$ref`, not a remote resource path.
Every URL points at a listener the test runs on 127.0.0.1, which counts the connections it gets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import (
    CountingServer,
    Runner,
    assert_no_traceback,
    assert_usable,
    edit_descriptor,
    edit_schema,
    read_rows,
    resource_of,
)


def _remote_schema(pkg: Path, url: str) -> None:
    edit_descriptor(pkg, lambda d: d.update({"$schema": url}))


def _remote_profile(pkg: Path, url: str) -> None:
    edit_descriptor(pkg, lambda d: d.update(profile=url))


def _remote_table_schema_profile(pkg: Path, url: str) -> None:
    edit_schema(pkg, "policy_events", lambda s: s.update({"$schema": url}))


def _remote_resource_profile(pkg: Path, url: str) -> None:
    edit_descriptor(pkg, lambda d: resource_of(d, "policy_events").update({"$schema": url}))


def _remote_table_path(pkg: Path, url: str) -> None:
    edit_descriptor(pkg, lambda d: resource_of(d, "policy_events").update(path=url))


def _remote_untyped_path(pkg: Path, url: str) -> None:
    edit_descriptor(pkg, lambda d: d["resources"].append({"name": "remote-extra", "path": url, "format": "csv"}))


def _remote_text_path(pkg: Path, url: str) -> None:
    edit_descriptor(pkg, lambda d: d["resources"].append({"name": "remote-text", "path": url, "format": "txt"}))


PLANTS = {
    "descriptor-$schema": (_remote_schema, "profile.json"),
    "descriptor-profile": (_remote_profile, "profile.json"),
    "table-schema-$schema": (_remote_table_schema_profile, "tableschema.json"),
    "resource-$schema": (_remote_resource_profile, "dataresource.json"),
    "table-path": (_remote_table_path, "policy_events.csv"),
    "untyped-resource-path": (_remote_untyped_path, "extra.csv"),
    "text-resource-path": (_remote_text_path, "text.txt"),
}


@pytest.mark.parametrize("plant", list(PLANTS))
@pytest.mark.parametrize("command", ["validate", "build"])
def test_no_connection_without_allow_network(
    plant: str, command: str, pkg: Path, cli: Runner, listener: CountingServer, tmp_path: Path
) -> None:
    change, path = PLANTS[plant]
    change(pkg, listener.url(path))
    args = ["validate", pkg] if command == "validate" else ["build", pkg, "--out", tmp_path / "out"]
    result = cli(*args)
    assert listener.connections == 0, f"{listener.connections} connection(s) reached the listener:\n{result.brief()}"
    assert_usable(result, allowed=(0, 1, 2))


def test_a_profile_with_a_remote_ref_makes_no_connection(
    pkg: Path, cli: Runner, listener: CountingServer, tmp_path: Path
) -> None:
    """`--profile` is the user's, but a `$ref` inside it to a URL is still a fetch nobody asked for."""
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"name": {"$ref": listener.url("name.json")}},
    }), encoding="utf-8")
    result = cli("validate", pkg, "--profile", profile)
    assert listener.connections == 0, f"{listener.connections} connection(s) reached the listener:\n{result.brief()}"
    assert_usable(result, allowed=(1, 2))


def test_a_profile_with_a_remote_metaschema_makes_no_connection(
    pkg: Path, cli: Runner, listener: CountingServer, tmp_path: Path
) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"$schema": listener.url("meta.json"), "type": "object"}), encoding="utf-8")
    result = cli("validate", pkg, "--profile", profile)
    assert listener.connections == 0, f"{listener.connections} connection(s) reached the listener:\n{result.brief()}"
    assert_no_traceback(result)


def test_allow_network_is_the_flag_that_permits_it(pkg: Path, cli: Runner, listener: CountingServer) -> None:
    """With `--allow-network` a remote profile may be fetched: the flag exists and the run completes."""
    _remote_profile(pkg, listener.url("profile.json"))
    result = cli("validate", pkg, "--allow-network")
    assert "unrecognized arguments" not in result.err, f"--allow-network is not a flag of validate:\n{result.brief()}"
    assert_usable(result, allowed=(0, 1))


def test_the_listener_counts(listener: CountingServer) -> None:
    """Control: a real connection is counted (so zero above means zero)."""
    import urllib.request

    with urllib.request.urlopen(listener.url("x.json"), timeout=10) as response:
        assert response.status == 200
    assert listener.connections == 1


def test_remote_table_is_named_in_the_message(pkg: Path, cli: Runner, listener: CountingServer) -> None:
    """A table that lives at a URL is refused by name, not fetched."""
    url = listener.url("policy_events.csv")
    _remote_table_path(pkg, url)
    result = cli("validate", pkg)
    assert listener.connections == 0
    assert_usable(result)
    assert "policy_events" in result.text
    assert read_rows(pkg, "policy_events")  # the package itself is untouched
