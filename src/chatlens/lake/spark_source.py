"""Spark reading a lake on an object store without Hadoop's S3A connector.

Spark's own Parquet reader reaches `s3a://` only with hadoop-aws and the AWS SDK bundle on
the cluster (jars from Maven; pyspark ships neither). Instead, Spark 4's Python Data Source
API (`pyspark.sql.datasource`) reads the lake's files with pyarrow, through the lake's own
filesystem (lake/layout.py): the driver lists the files, groups them into input partitions
of about Spark's split size, and each executor task reads its group with
`pyarrow.parquet`, yielding Arrow record batches. With `position`, each row also gets its
file's base name and its row index in the file (Spark's `_metadata.file_name` and
`_metadata.row_index`, which the lake's `seq` is computed from).

The credentials: pyarrow's S3 filesystem resolves them where it runs, and an executor's
environment is not the driver's. So the driver's credentials (the URL's `access_key` and
`secret_key`, else `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) are
put into a filesystem object that the data source class holds: it travels pickled with the
class (the class is made per lake, so it is serialised by value), never in the source's
options, a plan or a log line. A lake URL with `anonymous=true` needs none.

Executors need pyspark's Python dependencies (pyarrow among them) and nothing of chatlens:
this module is pickled by value.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from chatlens.errors import InputError
from chatlens.lake.layout import Lake, event_partitions

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MAX_SPLIT_BYTES = 128 * 1024 * 1024
"""The most bytes of files one task reads (Spark's spark.sql.files.maxPartitionBytes)."""
OPEN_COST_BYTES = 4 * 1024 * 1024
"""What opening a file costs, counted as bytes (Spark's spark.sql.files.openCostInBytes)."""


def needs_source(lake: Lake) -> bool:
    """True when Spark cannot read the lake's paths itself (not a local or shared path)."""
    return not isinstance(lake.fs, pafs.LocalFileSystem)


def executor_filesystem(lake: Lake) -> pafs.FileSystem:
    """The lake's filesystem as the executors get it: an S3 filesystem with the driver's
    credentials spelled out (an InputError when there are none to give); a local
    filesystem as it is (the executors share the path)."""
    if isinstance(lake.fs, pafs.LocalFileSystem):
        return lake.fs
    if not isinstance(lake.fs, pafs.S3FileSystem):
        raise InputError(
            f"Spark reads a lake on a local or shared path or on S3; not {type(lake.fs).__name__}"
        )
    options: dict[str, Any] = dict(lake.fs.__reduce__()[1][0])
    if options.get("anonymous") or options.get("access_key"):
        return lake.fs
    key = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise InputError(
            f"no credentials for the lake at s3://{lake.root} for Spark's executors: set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, if any) "
            "where chatlens runs, or add anonymous=true to the lake URL for a public bucket"
        )
    options.update(
        access_key=key, secret_key=secret, session_token=os.environ.get("AWS_SESSION_TOKEN")
    )
    return pafs.S3FileSystem(**{k: v for k, v in options.items() if v is not None})


def check_lake(lake: Lake) -> None:
    """Before any Spark job: the executors can have credentials, and the object store
    answers. An InputError names the lake (never its URL: it may hold a secret key)."""
    executor_filesystem(lake)
    lake.check_reachable()


def event_files(lake: Lake) -> list[tuple[str, int]]:
    """Every events file of the lake (`events/date=*/part-*.parquet`): path, size."""
    found = event_partitions(lake).values()
    return sorted((info.path, info.size or 0) for files in found for info in files)


def splits(files: Sequence[tuple[str, int]], parallelism: int) -> list[list[str]]:
    """Files (path, size) grouped into tasks as Spark groups a Parquet scan: a split of at
    most min(MAX_SPLIT_BYTES, max(OPEN_COST_BYTES, total / parallelism)) bytes, each file
    costing its size plus OPEN_COST_BYTES, biggest files first, a file never split."""
    total = sum(size + OPEN_COST_BYTES for _, size in files)
    limit = min(MAX_SPLIT_BYTES, max(OPEN_COST_BYTES, total // max(parallelism, 1)))
    groups: list[list[str]] = []
    current: list[str] = []
    used = 0
    for path, size in sorted(files, key=lambda f: (-f[1], f[0])):
        if current and used + size > limit:
            groups.append(current)
            current, used = [], 0
        current.append(path)
        used += size + OPEN_COST_BYTES
    if current:
        groups.append(current)
    return groups


def functions(session: SparkSession) -> Any:
    """`pyspark.sql.functions` for `session`: a Spark Connect session's own module when it
    is one (the classic one needs a SparkContext in this process, and chatlens does not
    switch the whole process to Connect mode: store/spark.py `_connect_session`)."""
    from pyspark.sql import SparkSession as ClassicSession

    if isinstance(session, ClassicSession):
        from pyspark.sql import functions as classic

        return classic
    from pyspark.sql.connect import functions as connect

    return connect


def _parallelism(session: SparkSession) -> int:
    """The session's default parallelism (the cores it has); 2 where it cannot be asked
    (a Spark Connect client has no SparkContext)."""
    try:
        return int(session.sparkContext.defaultParallelism)
    except Exception:  # pyspark's Connect session raises on .sparkContext
        return 2


def read_files(
    session: SparkSession,
    lake: Lake,
    files: Sequence[tuple[str, int]],
    schema: pa.Schema,
    position: tuple[str, str] | None = None,
) -> DataFrame:
    """A DataFrame of the Parquet `files` (path inside the lake's filesystem, size) of the
    lake, with the columns of `schema`; with `position` (two column names), each row's
    file base name and row index in that file as well."""
    from pyspark.sql.pandas.types import from_arrow_schema

    fs = executor_filesystem(lake)
    _pickle_by_value()
    name = "chatlens_lake_" + hashlib.sha256(lake.url.encode()).hexdigest()[:12]
    session.dataSource.register(_source_class(name, fs))
    fields = list(schema)
    if position is not None:
        fields += [pa.field(position[0], pa.string()), pa.field(position[1], pa.int64())]
    struct = from_arrow_schema(pa.schema(fields))
    groups = splits(files, _parallelism(session))
    return (
        session.read.format(name)
        .schema(struct)
        .option("splits", json.dumps(groups))
        .option("position", json.dumps(position))
        .load()
    )


def _source_class(source_name: str, fs: pafs.FileSystem) -> type:
    """A data source class reading Parquet files of `fs`; made here, so that the class (and
    the filesystem it holds) is pickled by value."""
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    from pyspark.sql.types import StructType

    class LakeFilesReader(DataSourceReader):  # type: ignore[misc, unused-ignore]
        def __init__(self, schema: StructType, options: dict[str, str]):
            self.groups: list[list[str]] = json.loads(options["splits"])
            found = json.loads(options.get("position") or "null")
            self.position = tuple(found) if found else None
            skip = set(self.position or ())
            self.columns = [f.name for f in schema.fields if f.name not in skip]

        def partitions(self) -> Sequence[InputPartition]:
            # no file: one empty partition (a scan needs one to run)
            return [InputPartition(group) for group in self.groups or [[]]]

        def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
            yield from _read_group(fs, partition.value, self.columns, self.position)

    class LakeFiles(DataSource):  # type: ignore[misc, unused-ignore]
        @classmethod
        def name(cls) -> str:
            return source_name

        def reader(self, schema: StructType) -> DataSourceReader:
            return LakeFilesReader(schema, self.options)

    return LakeFiles


def _read_group(
    fs: pafs.FileSystem,
    paths: list[str],
    columns: list[str],
    position: tuple[str, str] | None,
) -> Iterator[pa.RecordBatch]:
    """The record batches of the files `paths`, in order, with the position columns."""
    import pyarrow.parquet as pq

    for path in paths:
        parquet = pq.ParquetFile(path, filesystem=fs)
        start = 0
        for batch in parquet.iter_batches(batch_size=65536, columns=columns):
            if position is not None:
                rows = batch.num_rows
                base = path.rsplit("/", 1)[-1]
                batch = pa.RecordBatch.from_arrays(
                    [
                        *batch.columns,
                        pa.array([base] * rows, pa.string()),
                        pa.array(range(start, start + rows), pa.int64()),
                    ],
                    names=[*batch.schema.names, *position],
                )
                start += rows
            yield batch


def _pickle_by_value() -> None:
    """Executors need not have chatlens installed: pyspark's cloudpickle sends this
    module's functions and classes whole."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # type: ignore[no-untyped-call, unused-ignore]
