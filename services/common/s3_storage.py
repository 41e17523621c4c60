"""The S3-compatible backend of the file storage (SeaweedFS, MinIO, a cloud's S3): ``make_storage`` gives
it for an ``s3://bucket[/prefix]?endpoint=…`` URL. See ``services.common.storage`` for the interface."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Protocol

from services.common.storage import CHUNK_SIZE, DEFAULT_MAX_SIZE, MIB, FileStorage, PendingFile, _check_key, _limit

# Uploads up to this size stay in memory on their way to S3; larger ones spill to a temporary file.
SPOOL_SIZE = 8 * MIB


class _S3Pending(PendingFile):
    def __init__(self, storage: S3Storage, limit: int) -> None:
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)  # noqa: SIM115  (closed by abort())
        super().__init__(spool, limit)
        self._storage = storage

    def _store(self, key: str, content_type: str) -> None:
        self._storage._client.put_object(
            Bucket=self._storage.bucket,
            Key=self._storage._object(key),
            Body=self.file,
            ContentLength=self.size,
            ContentType=content_type,
            Metadata={"sha256": self.sha256},
        )


class _Body(Protocol):
    def read(self) -> bytes: ...
    def iter_chunks(self, chunk_size: int = ...) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class S3Storage(FileStorage):
    """Files as objects in one bucket of an S3-compatible store (SeaweedFS, MinIO, a cloud's S3)."""

    def __init__(
        self,
        endpoint_url: str | None,
        bucket: str,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        *,
        prefix: str = "",
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        import boto3  # only the S3 backend needs it
        from botocore.config import Config

        self.endpoint_url = endpoint_url
        self.bucket = bucket
        self.region = region
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.max_size = max_size
        self._client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},  # S3-compatible servers rarely have per-bucket host names
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                # Only what every S3-compatible server understands: no default CRC trailers.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def _object(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (run once at start-up)."""
        from botocore.exceptions import ClientError

        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        params: dict[str, object] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(**params)
        except ClientError as exc:
            if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    def begin(self, *, max_size: int | None = None) -> PendingFile:
        return _S3Pending(self, _limit(self.max_size, max_size))

    def _get(self, key: str, byte_range: str | None = None) -> _Body:
        from botocore.exceptions import ClientError

        params = {"Range": byte_range} if byte_range else {}
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._object(key), **params)
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from exc
            raise
        body: _Body = response["Body"]
        return body

    def open(self, key: str) -> bytes:
        body = self._get(key)
        try:
            return body.read()
        finally:
            body.close()

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        body = self._get(key)
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def iter_range(self, key: str, start: int, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        body = self._get(key, f"bytes={start}-{end}")
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        try:
            response = self._client.head_object(Bucket=self.bucket, Key=self._object(key))
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from exc
            raise
        return int(response["ContentLength"])

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._object(key))


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    error = response.get("Error")
    return str(error.get("Code", "")) if isinstance(error, dict) else ""
