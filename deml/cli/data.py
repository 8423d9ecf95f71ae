"""The `deml data` and `deml ipfs` commands: the dataset pipeline and content storage."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from deml._fs import atomic_writer
from deml.cli.context import err, out, settings
from deml.dataset import crypto, datapackage, pipeline, project
from deml.exceptions import DemlError
from deml.storage import storage_from_settings, unixfs
from deml.storage.base import DEFAULT_MAX_SIZE, Storage
from deml.storage.gateway import GatewayStore

data_app = typer.Typer(help="Prepare, publish and fetch datasets.", no_args_is_help=True)
ipfs_app = typer.Typer(
    help="Content storage by IPFS CID (local store or kubo), and a gateway serving it.",
    no_args_is_help=True,
)


PACKAGE_DIR = datapackage.PACKAGE_DIR
MaxSize = Annotated[int, typer.Option(help="Refuse content larger than this many bytes.", min=0)]


def _storage() -> Storage:
    return storage_from_settings(settings())


# -- data ------------------------------------------------------------------------------------


@data_app.command("init")
def data_init(
    folder: Annotated[Path, typer.Argument(help="The project folder (made if missing).")] = Path(),
) -> None:
    """Make a host project: the dataset pipeline (dvc.yaml, params.yaml) in a git + DVC repo."""
    for step in project.init(folder):
        out.print(step)
    out.print(
        f"next: edit {folder / 'params.yaml'} (your dataset), then in {folder}:"
        " `deml data prepare` and `deml host create`"
    )


@data_app.command("prepare")
def data_prepare(
    force: Annotated[bool, typer.Option(help="Run every stage even if unchanged.")] = False,
) -> None:
    """Run the dataset pipeline (`dvc repro`: prepare, then package) from params.yaml."""
    manifest = datapackage.prepare(Path.cwd(), settings().state_dir, force=force)
    out.print(f"dataset {manifest['name']} version {manifest['version']} in {PACKAGE_DIR}/")
    for role, entry in manifest["files"].items():
        out.print(f"  {role}: {entry['path']} {entry['size']:,} bytes  {entry['cid']}")


@data_app.command("publish")
def data_publish(
    package: Annotated[Path, typer.Option(help="The package folder.")] = PACKAGE_DIR,
) -> None:
    """Put the package into content storage, pin it, and print the CIDs."""
    cids = datapackage.publish(package, _storage())
    table = Table("file", "CID")
    for role, cid in cids.items():
        table.add_row(role, str(cid))
    out.print(table)
    out.print(f"manifest CID: {cids['manifest']}")


@data_app.command("fetch")
def data_fetch(
    cid: Annotated[str, typer.Argument(help="The manifest's CID.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write to.")] = Path(
        "data/fetched"
    ),
    gateway: Annotated[
        str | None, typer.Option(help="Read from this trustless gateway instead (verified here).")
    ] = None,
) -> None:
    """Download a published dataset; every file is checked against its CID and sha256."""
    storage = GatewayStore(gateway) if gateway else _storage()
    manifest = datapackage.fetch(cid, storage, output)
    out.print(f"fetched {manifest['name']} version {manifest['version']} into {output}/ (verified)")
    for role, entry in manifest["files"].items():
        out.print(f"  {role}: {entry['path']} {entry['size']:,} bytes")


@data_app.command("decrypt")
def data_decrypt(
    file: Annotated[
        Path,
        typer.Argument(
            help="The encrypted test split (test.npz.enc).", exists=True, dir_okay=False
        ),
    ],
    key: Annotated[str, typer.Option(help="The revealed key: 64 hex digits.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the .npz.")],
) -> None:
    """Decrypt the test split with the key the host revealed."""
    rows, shape = datapackage.decrypt_test(file, key, output)
    out.print(f"decrypted {rows} rows of shape {list(shape)} into {output}")


@data_app.command("key")
def data_key(
    package: Annotated[Path, typer.Option(help="The package folder.")] = PACKAGE_DIR,
) -> None:
    """Print the test-split key of the packaged version (reveal it only after the deadline)."""
    manifest = datapackage.check_manifest(
        (package / pipeline.MANIFEST_FILE).read_bytes(), str(package)
    )
    keys = crypto.KeyStore(settings().state_dir)
    key = keys.load(manifest["name"], manifest["version"])
    err.print(f"key file: {keys.path(manifest['name'], manifest['version'])} (keep it secret)")
    out.print(key.hex())


# -- ipfs ------------------------------------------------------------------------------------


@ipfs_app.command("add")
def ipfs_add(
    file: Annotated[Path, typer.Argument(help="File to add.", exists=True, dir_okay=False)],
    only_hash: Annotated[bool, typer.Option(help="Compute the CID; store nothing.")] = False,
) -> None:
    """Add a file (CIDv1, raw leaves, 1 MiB chunks, as kubo's unixfs-v1-2025 profile)."""
    if only_hash:
        with open(file, "rb") as stream:
            out.print(str(unixfs.build(stream).cid))
        return
    out.print(str(_storage().put_file(file)))


@ipfs_app.command("cat")
def ipfs_cat(
    cid: Annotated[str, typer.Argument(help="CID of a file.")],
    max_size: MaxSize = DEFAULT_MAX_SIZE,
) -> None:
    """Write a file's bytes to standard output, after checking them against the CID."""
    sys.stdout.buffer.write(_storage().get(cid, max_size=max_size))
    sys.stdout.buffer.flush()


@ipfs_app.command("pin")
def ipfs_pin(cid: Annotated[str, typer.Argument(help="CID to pin.")]) -> None:
    """Pin a CID (the local store checks every block first)."""
    _storage().pin(cid)
    out.print(f"pinned {unixfs.parse_cid(cid)}")


@ipfs_app.command("export")
def ipfs_export(
    cid: Annotated[str, typer.Argument(help="Root CID.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .car file to write.")],
    max_size: MaxSize = 16 * DEFAULT_MAX_SIZE,
) -> None:
    """Write the DAG of a CID to a CAR v1 file (every block verified)."""
    with atomic_writer(output) as f:
        size = _storage().export_car(cid, f, max_size=max_size)
    out.print(f"wrote {output} ({size:,} bytes)")


@ipfs_app.command("import")
def ipfs_import(
    file: Annotated[Path, typer.Argument(help="A CAR v1 file.", exists=True, dir_okay=False)],
) -> None:
    """Store every block of a CAR file (each checked against its CID); print its roots."""
    with open(file, "rb") as stream:
        roots = _storage().import_car(stream)
    for root in roots:
        out.print(str(root))


@ipfs_app.command("serve")
def ipfs_serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8080,
) -> None:
    """Serve the local store as a trustless gateway (GET /ipfs/CID?format=car|raw): other
    machines read its datasets with `ipfs_gateways` set to this address."""
    import uvicorn

    from deml.storage.gateway_server import app
    from deml.storage.local import LocalStore

    s = settings()
    if s.ipfs_backend != "local":
        raise DemlError(
            "`deml ipfs serve` serves the local store; a kubo node serves its own gateway"
        )
    store = LocalStore(s.state_dir / "ipfs")
    out.print(
        f"serving {store.root} as a trustless gateway at http://{host}:{port}/ipfs/CID"
        " (Ctrl-C stops)"
    )
    uvicorn.run(app(store), host=host, port=port, log_level="warning")
