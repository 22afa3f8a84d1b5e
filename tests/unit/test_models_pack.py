"""Model packs: carrying verified models across an air gap, and refusing anything tampered with."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from test_models_fixtures import Folders, install_fake, make_chunked_model, make_folders

from localfactory.config import ModelsSettings, Settings
from localfactory.errors import ChecksumMismatch, ModelNotFound, UserError
from localfactory.models import catalog
from localfactory.models.pack import pack
from localfactory.models.unpack import unpack


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Folders:
    return make_folders(tmp_path, monkeypatch)


def far_side(folders: Folders) -> Settings:
    """Another machine: its own empty cache, and no manifest of the fake model."""
    (folders.root / "far-manifests").mkdir()
    return Settings(
        models=ModelsSettings(
            manifest_dirs=[folders.root / "far-manifests"], cache_dir=folders.root / "far-cache"
        ),
        project_dir=folders.root,
    )


def members(pack_file: Path) -> dict[str, bytes]:
    with tarfile.open(pack_file) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def write_tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_pack_and_unpack_carry_a_model_to_a_machine_that_does_not_know_it(folders: Folders) -> None:
    model = install_fake(folders)
    pack_file = folders.root / "models.tar"

    index = pack([model.name], pack_file, folders.settings())

    files = members(pack_file)
    gguf_member = f"models/{model.name}.gguf"
    assert set(files) == {"index.json", f"manifests/{model.name}.toml", gguf_member}
    assert files[gguf_member] == model.data  # stored, not compressed
    listed = json.loads(files["index.json"])["models"][0]
    assert (listed["size"], listed["sha256"]) == (
        len(model.data),
        hashlib.sha256(model.data).hexdigest(),
    )
    assert index.models[0].name == model.name

    far = far_side(folders)
    (result,) = unpack(pack_file, far)

    assert result.action == "installed"
    assert (
        result.new_manifest == folders.data_home / "localfactory" / "models" / f"{model.name}.toml"
    )
    assert catalog.installed_gguf(model.name, far).read_bytes() == model.data
    assert (
        catalog.get_manifest(model.name, far).gguf
        == catalog.get_manifest(model.name, folders.settings()).gguf
    )

    (again,) = unpack(pack_file, far)
    assert again.action == "already installed"


def test_unpack_refuses_a_gguf_changed_in_the_pack(folders: Folders) -> None:
    model = install_fake(folders)
    pack_file = folders.root / "models.tar"
    pack([model.name], pack_file, folders.settings())
    with tarfile.open(pack_file) as tar:
        offset = tar.getmember(f"models/{model.name}.gguf").offset_data
    with pack_file.open("r+b") as fh:  # flip one byte of the weights, sizes unchanged
        fh.seek(offset + 10)
        byte = fh.read(1)
        fh.seek(offset + 10)
        fh.write(bytes([byte[0] ^ 0xFF]))
    far = far_side(folders)

    with pytest.raises(ChecksumMismatch) as caught:
        unpack(pack_file, far)

    assert model.name in caught.value.message
    assert hashlib.sha256(model.data).hexdigest() in caught.value.message
    assert sorted(p.name for p in (folders.root / "far-cache").iterdir()) == [".locks"]
    with pytest.raises(ModelNotFound):
        catalog.get_manifest(model.name, far)  # the manifest of a refused model is not kept


def test_unpack_refuses_a_model_that_differs_from_the_local_manifest(folders: Folders) -> None:
    model = install_fake(folders)
    pack_file = folders.root / "models.tar"
    pack([model.name], pack_file, folders.settings())
    files = members(pack_file)
    other = os.urandom(len(model.data))
    other_sha = hashlib.sha256(other).hexdigest()
    real_sha = hashlib.sha256(model.data).hexdigest()
    index = json.loads(files["index.json"])
    index["models"][0]["sha256"] = other_sha
    files["index.json"] = json.dumps(index).encode()
    toml = f"manifests/{model.name}.toml"
    files[toml] = files[toml].replace(real_sha.encode(), other_sha.encode())
    files[f"models/{model.name}.gguf"] = other
    forged = write_tar(folders.root / "forged.tar", files)
    here = folders.settings().model_copy(
        update={
            "models": ModelsSettings(
                manifest_dirs=[folders.manifests], cache_dir=folders.root / "c2"
            )
        }
    )

    with pytest.raises(ChecksumMismatch) as caught:
        unpack(forged, here)

    assert f"not the {model.name} this machine knows" in caught.value.message
    assert real_sha in caught.value.message and other_sha in caught.value.message
    assert not (folders.root / "c2" / f"{model.name}.gguf").exists()


@pytest.mark.parametrize("bad_name", ["../evil.toml", "/tmp/evil.toml", "models/../../evil.toml"])
def test_unpack_refuses_paths_outside_the_pack(folders: Folders, bad_name: str) -> None:
    model = install_fake(folders)
    pack_file = folders.root / "models.tar"
    pack([model.name], pack_file, folders.settings())
    files = members(pack_file)
    files[bad_name] = b"owned"
    evil = write_tar(folders.root / "evil.tar", files)

    with pytest.raises(UserError) as caught:
        unpack(evil, far_side(folders))

    assert "a path outside the pack" in caught.value.message
    assert not (folders.root / "evil.toml").exists()
    assert not (folders.root / "far-cache").exists()


def test_unpack_refuses_links(folders: Folders) -> None:
    evil = folders.root / "links.tar"
    with tarfile.open(evil, "w") as tar:
        link = tarfile.TarInfo("models/x.gguf")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)

    with pytest.raises(UserError, match="link or special file"):
        unpack(evil, far_side(folders))


def test_only_verified_models_can_be_packed(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)
    with pytest.raises(ModelNotFound, match="Only verified models can be packed"):
        pack([model.name], folders.root / "models.tar", folders.settings())
    assert not (folders.root / "models.tar").exists()


def test_packing_a_file_changed_since_verification_writes_no_pack(folders: Folders) -> None:
    model = install_fake(folders)
    settings = folders.settings()
    gguf = catalog.installed_gguf(model.name, settings)
    stat = gguf.stat()
    data = bytearray(gguf.read_bytes())
    data[5] ^= 0xFF
    gguf.write_bytes(bytes(data))
    os.utime(gguf, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # hide the change from the marker

    with pytest.raises(ChecksumMismatch, match="changed since it was verified"):
        pack([model.name], folders.root / "models.tar", settings)

    assert list(folders.root.glob("models.tar*")) == []
    with pytest.raises(ModelNotFound):
        catalog.installed_gguf(model.name, settings)
