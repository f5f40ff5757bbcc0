"""services/content.py: the one cache of pipelines by content version, and the folder of the
service's own that the files of each version are read from."""
from __future__ import annotations

import os
import stat

import pytest

from configurator.content.problems import ContentError
from configurator.services import content as served
from configurator.services.configurations import configure
from configurator.services.content import Content

from helpers import REPO


def _older_files(content: Content) -> dict[str, bytes]:
    """The served pack's files with one price changed: another content version."""
    files = dict(content.pack.files)
    before = files["catalog/platform.yaml"]
    after = before.replace(b"amount: 1200,", b"amount: 1100,", 1)
    assert after != before
    return {**files, "catalog/platform.yaml": after}


def test_an_old_version_is_built_once_and_its_stored_files_read_only_then(content,
                                                                          example_profiles):
    files = _older_files(content)
    reads = []

    def stored(version: str) -> dict[str, bytes]:
        reads.append(version)
        return files

    first = content.pipeline_for("old-version", stored)
    again = content.pipeline_for("old-version", stored)
    assert first is again and reads == ["old-version"]
    assert first.pack.files["catalog/platform.yaml"] == files["catalog/platform.yaml"]
    document = configure(first, example_profiles[0]["profile"])
    assert document["content_version"] == first.pack.version != content.pack.version
    # the served version never reads stored files
    assert content.pipeline_for(content.pack.version, stored) is content.pipeline
    assert reads == ["old-version"]


def test_the_files_of_each_version_are_in_a_folder_only_this_user_can_open(content):
    folder = served.version_folder("some-version", _older_files(content))
    base = folder.parent
    info = base.lstat()
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
    assert info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) == 0
    assert (folder / "catalog" / "platform.yaml").is_file()
    assert (folder / ".complete").read_text() == "some-version"


def test_a_folder_opened_to_others_is_not_used_again(content):
    first = served.version_folder("opened-version", _older_files(content)).parent
    os.chmod(first, 0o777)       # someone (or something) opened it up: it is not trusted now
    try:
        second = served.version_folder("opened-version", _older_files(content)).parent
        assert second != first
        assert second.lstat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) == 0
    finally:
        os.chmod(first, 0o700)


def test_stored_file_names_cannot_leave_the_version_folder(content):
    with pytest.raises(ValueError, match="not a path inside a content pack"):
        served.version_folder("hostile-version", {"../../outside.yaml": b"x: 1\n"})


def test_a_content_without_a_usable_pack_has_no_pipeline_for_any_version(tmp_path):
    broken = Content(tmp_path / "nothing-here", trial=False)
    assert not broken.load().ok
    with pytest.raises(ContentError):
        broken.pipeline_for("any", lambda version: {})


def test_the_demo_pack_is_served_from_a_private_copy_not_the_repository(content):
    root = content.pack.root
    assert root != REPO and root.name == content.pack.version
    assert root.parent.lstat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) == 0
    assert (root / "rules" / "profile.yaml").read_bytes() == \
        (REPO / "rules" / "profile.yaml").read_bytes()
