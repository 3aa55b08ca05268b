"""The object store: `services up objectstore` runs SeaweedFS's S3 server for real, with the
learner's and the graders' buckets, keys in .course/env, anonymous reads of the media buckets
and of nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from course import envfile, paths
from course.services.plugins import objectstore


def _course(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "course", "services", *args], cwd=paths.ROOT,
                          env=env, capture_output=True, text=True, timeout=180)


def test_objectstore_answers_s3_with_both_buckets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB"}
    env.update(COURSE_HOME=str(tmp_path / "state"), PYTHONPATH=str(paths.ROOT))
    try:
        started = _course(env, "up", "objectstore")
        assert started.returncode == 0, started.stderr
        published = envfile.read(tmp_path / "state" / "env")
        endpoint = published["AWS_S3_ENDPOINT_URL"]
        assert published["AWS_STORAGE_BUCKET_NAME"] == objectstore.BUCKET
        s3 = objectstore.client(endpoint)
        names = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
        assert set(objectstore.BUCKETS) <= names
        assert published["SHOP_REPORTS_BUCKET"] == objectstore.REPORTS_BUCKET
        s3.put_object(Bucket=objectstore.BUCKET, Key="products/probe.txt", Body=b"probe",
                      CacheControl="max-age=86400, public", ContentType="text/plain")
        with urllib.request.urlopen(f"{endpoint}/{objectstore.BUCKET}/products/probe.txt",
                                    timeout=10) as response:  # no keys: anonymous read
            assert response.read() == b"probe"
            assert response.headers["Cache-Control"] == "max-age=86400, public"

        s3.put_object(Bucket=objectstore.REPORTS_BUCKET, Key="reports/probe.csv", Body=b"a,b")
        try:  # a private bucket: no keys, no read
            urllib.request.urlopen(f"{endpoint}/{objectstore.REPORTS_BUCKET}/reports/probe.csv",
                                   timeout=10)
            raise AssertionError("a report was readable without the keys")
        except urllib.error.HTTPError as error:
            assert error.code == 403, error
        signed = s3.generate_presigned_url("get_object", ExpiresIn=60, Params={
            "Bucket": objectstore.REPORTS_BUCKET, "Key": "reports/probe.csv"})
        with urllib.request.urlopen(signed, timeout=10) as response:  # signed with the keys
            assert response.read() == b"a,b"

        again = _course(env, "up")  # remembered, already running: nothing changes
        assert again.returncode == 0, again.stderr
        assert envfile.read(tmp_path / "state" / "env")["AWS_S3_ENDPOINT_URL"] == endpoint
    finally:
        _course(env, "down")
