"""The training data's fingerprint: MLflow dataset inputs for every recorded fit.

:func:`describe` turns what a fit was given (numpy arrays, pandas frames and
series, scipy sparse matrices, torch tensors and DataLoaders, Keras/TensorFlow
datasets, Python lists) into MLflow's dataset entity: ``name``, ``digest``,
``source_type``, ``source``, ``schema`` and ``profile`` (the last three JSON
text, as MLflow stores them), so ``mlflow.get_run(...).inputs.dataset_inputs``
reads the same thing from ``autolog server`` or a real MLflow server.

The digest
    The first 32 hex characters of a SHA-256 over the data's type, shape, dtype
    (column names and dtypes for frames) and content. SHA-256, not BLAKE2b: CPUs
    of the last years hash it in hardware (SHA-NI, ARMv8), 1.7 GB/s here against
    BLAKE2b's 0.7 GB/s, and this hash runs on the training thread, once per fit.
    An input of at most ``FULL_HASH_BYTES`` (1 MB) is hashed whole. A larger one
    is hashed through ``SAMPLE_ELEMENTS`` (65,536) elements at fixed, evenly
    spaced positions of its flattened content (always including the first and
    the last), plus its full shape: the cost is the same for 1 MB or 100 GB and
    nothing random is drawn. So two inputs of the same shape and dtype that
    differ only at positions between the samples (one pixel of one image in a
    large array, a frame edited in rows the sample skips) share a digest; any
    change of shape, dtype, column names or a sampled value changes it. MLflow's
    own digest reads only the first 10,000 elements, so it cannot tell apart two
    arrays that share their head.

Nothing is consumed: a DataLoader or generator is never iterated and no item
is drawn (which could run user transforms and touch the global RNG). A
DataLoader over a ``TensorDataset`` is fingerprinted through its tensors; any
other iterable records its type, length and batch size, with ``"content":
"not read"`` in its profile, and a digest of those alone.
"""

from __future__ import annotations

import json
import sys
from typing import Any

FULL_HASH_BYTES = 1 << 20
SAMPLE_ELEMENTS = 1 << 16
CONTEXT_TAG = "mlflow.data.context"

#: numpy dtype kinds -> MLflow column types (mlflow.types.DataType names).
_COLUMN_TYPES = {"b": "boolean", "i": "long", "u": "long", "f": "double", "M": "datetime"}


def dataset_input(
    features: Any, targets: Any = None, context: str = "train", name: str | None = None
) -> dict[str, Any] | None:
    """One dataset input (``{"dataset": {...}, "tags": {...}}``), None when ``features`` is None."""
    if features is None:
        return None
    import hashlib  # not at import: OpenSSL's loading is a few ms of autolog()'s start-up

    parts = [("features", features)] + ([("targets", targets)] if targets is not None else [])
    digest = hashlib.sha256()
    schema: dict[str, Any] = {}
    profile: dict[str, Any] = {}
    for role, data in parts:
        digest.update(role.encode())
        part_schema, part_profile = _describe(data, digest)
        schema[role] = part_schema
        profile.update({f"{role}_{key}": value for key, value in part_profile.items()})
    hexdigest = digest.hexdigest()[:32]
    return {
        "dataset": {
            "name": name or f"{_type_name(features)}-{hexdigest[:8]}",
            "digest": hexdigest,
            "source_type": "code",
            "source": json.dumps({"tags": _source_tags()}),
            "schema": json.dumps(_mlflow_schema(schema)),
            "profile": json.dumps(profile),
        },
        "tags": {CONTEXT_TAG: context},
    }


def record_inputs(run: Any, features: Any, targets: Any = None, context: str = "train") -> None:
    """What integrations call: log a fit's data on ``run``; our failure never reaches the fit.

    ``features`` None with ``targets`` given (a time series without regressors)
    logs the targets as the features.
    """
    if features is None:
        features, targets = targets, None
    if features is None:
        return
    try:
        run.log_dataset(features, targets, context)
    except Exception as exc:
        from ._patch import report_failure

        report_failure(f"describing the {context} data of run {run.id}", exc)


def statsmodels_data(model: Any) -> dict[str, Any] | None:
    """A statsmodels model's data as the user passed it: ``endog`` and, if any, ``exog``.

    ``exog`` includes what statsmodels added (an ARIMA's constant), as the model saw it.
    """
    data = getattr(model, "data", None)
    found = {"endog": getattr(data, "orig_endog", None), "exog": getattr(data, "orig_exog", None)}
    found = {role: value for role, value in found.items() if value is not None}
    return found or None


def features_and_targets(data: Any) -> tuple[Any, Any]:
    """``(x, y)`` of Keras ``validation_data``: ``(x, y)``, ``(x, y, weights)`` or a dataset."""
    if isinstance(data, tuple) and len(data) in (2, 3):
        return data[0], data[1]
    return data, None


def _describe(data: Any, digest: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Feed ``data`` into ``digest``; return its schema and profile (plain JSON values)."""
    module = type(data).__module__.split(".", 1)[0]
    digest.update(f"{type(data).__module__}.{type(data).__qualname__}".encode())
    if module == "pandas":
        return _describe_pandas(data, digest)
    if module == "scipy" and hasattr(data, "tocsr"):
        return _describe_sparse(data, digest)
    if module == "torch":
        return _describe_torch(data, digest)
    if module == "tensorflow" or hasattr(data, "element_spec"):
        return _describe_opaque(data, digest, spec=str(getattr(data, "element_spec", "")))
    if isinstance(data, dict) or (isinstance(data, (list, tuple)) and not _plain_values(data)):
        items = (
            {str(k): data[k] for k in sorted(data, key=str)}
            if isinstance(data, dict)
            else {str(i): item for i, item in enumerate(data)}
        )
        schema, profile = {}, {}
        for key, item in items.items():  # several inputs (a multi-input model, several loaders)
            digest.update(key.encode())
            schema[key], profile[key] = _describe(item, digest)
        return {"type": "collection", "items": schema}, profile
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(data, (numpy.ndarray, list, tuple)):
        try:
            array = numpy.asarray(data)
        except (ValueError, TypeError):
            return _describe_opaque(data, digest)
        if array.dtype != object or isinstance(data, numpy.ndarray):
            return _describe_array(array, digest)
    return _describe_opaque(data, digest)


def _plain_values(sequence: list | tuple) -> bool:
    """True for numbers, strings or nested lists of them: safe to give to numpy.asarray.

    numpy would index into anything with ``__len__`` and ``__getitem__`` (a torch
    Dataset, say), which runs the user's loading code; such items are described
    one by one instead.
    """
    item: Any = sequence
    while isinstance(item, (list, tuple)):
        if not item:
            return True
        item = item[0]
    return (
        isinstance(item, (int, float, complex, str, bytes, bool))
        or type(item).__module__ == "numpy"
    )


def _describe_array(array: Any, digest: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    _hash_array(array, digest)
    shape = list(array.shape)
    schema = {"type": "tensor", "dtype": str(array.dtype), "shape": [-1, *shape[1:]]}
    return schema, {"shape": shape, "size": int(array.size), "nbytes": int(array.nbytes)}


def _hash_array(array: Any, digest: Any) -> None:
    """Shape, dtype and all of a small array, or a fixed sample of a large one."""
    import numpy as np

    digest.update(f"{array.dtype.str}{array.shape}".encode())
    if array.nbytes > FULL_HASH_BYTES and array.size > SAMPLE_ELEMENTS:
        positions = np.linspace(0, array.size - 1, SAMPLE_ELEMENTS, dtype=np.int64)
        array = array.reshape(-1)[positions] if array.flags.c_contiguous else array.flat[positions]
    if array.dtype == object:
        digest.update(repr(array.tolist()).encode())
    else:
        digest.update(np.ascontiguousarray(array).view(np.uint8).data)


def _describe_pandas(data: Any, digest: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    frame = data.to_frame() if getattr(data, "ndim", 2) == 1 else data
    columns = [
        {"name": str(name), "dtype": str(dtype), "type": _column_type(dtype)}
        for name, dtype in frame.dtypes.items()
    ]
    rows = len(frame)
    digest.update(json.dumps([columns, list(frame.shape)]).encode())
    if rows and frame.memory_usage(index=False).sum() > FULL_HASH_BYTES:
        import numpy as np

        wanted = max(1, SAMPLE_ELEMENTS // max(1, len(columns)))
        frame = frame.iloc[np.linspace(0, rows - 1, min(rows, wanted), dtype=np.int64)]
    kinds = [getattr(dtype, "kind", "O") for dtype in frame.dtypes]
    numeric = [i for i, kind in enumerate(kinds) if kind in "biuf"]
    if numeric:  # one block, in column order: a wide frame costs one copy, not one per column
        _hash_array(frame.iloc[:, numeric].to_numpy(), digest)
    for i in (i for i, kind in enumerate(kinds) if kind not in "biuf"):
        import pandas as pd  # strings, dates, categories, objects: pandas' own row hash

        _hash_array(pd.util.hash_pandas_object(frame.iloc[:, i], index=False).to_numpy(), digest)
    return {"type": "dataframe", "columns": columns}, {
        "num_rows": rows,
        "num_elements": rows * len(columns),
    }


def _column_type(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    if kind in _COLUMN_TYPES:
        return _COLUMN_TYPES[kind]
    if str(dtype) in ("category", "bool", "boolean"):
        return "boolean" if "bool" in str(dtype) else "string"
    return "string"


def _describe_sparse(matrix: Any, digest: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    digest.update(f"{matrix.format}{matrix.shape}".encode())
    if matrix.format in ("csr", "csc", "bsr"):
        arrays = (matrix.data, matrix.indices, matrix.indptr)
    elif matrix.format == "coo":
        arrays = (matrix.data, *getattr(matrix, "coords", (matrix.row, matrix.col)))
    else:  # lil, dok, dia: no arrays of their own worth reading
        converted = matrix.tocsr()
        arrays = (converted.data, converted.indices, converted.indptr)
    for array in arrays:
        _hash_array(array, digest)
    schema = {"type": "sparse", "format": matrix.format, "dtype": str(matrix.dtype)}
    schema["shape"] = [-1, *matrix.shape[1:]]
    return schema, {"shape": list(matrix.shape), "nnz": int(matrix.nnz)}


def _describe_torch(data: Any, digest: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    import torch

    if isinstance(data, torch.Tensor):
        _hash_array(_tensor_values(data, torch), digest)
        nbytes = data.numel() * data.element_size()
        return _tensor_schema(data), {
            "shape": list(data.shape),
            "size": data.numel(),
            "nbytes": nbytes,
        }
    dataset = getattr(data, "dataset", data)
    profile: dict[str, Any] = {"type": type(data).__qualname__}
    batch_size = getattr(data, "batch_size", None)
    if batch_size is not None:
        profile["batch_size"] = batch_size
    tensors = getattr(dataset, "tensors", None)
    if isinstance(tensors, tuple) and all(isinstance(t, torch.Tensor) for t in tensors):
        schemas = []
        for tensor in tensors:
            _hash_array(_tensor_values(tensor, torch), digest)
            schemas.append(_tensor_schema(tensor))
        profile["num_rows"] = len(tensors[0]) if tensors else 0
        return {"type": "tensors", "tensors": schemas}, profile
    return _describe_opaque(dataset, digest, **profile)


def _tensor_values(tensor: Any, torch: Any) -> Any:
    """The tensor's values as numpy: all of a small one, the fixed sample of a large one."""
    tensor = tensor.detach()
    size = tensor.numel()
    if size * tensor.element_size() > FULL_HASH_BYTES and size > SAMPLE_ELEMENTS:
        import numpy as np

        positions = np.linspace(0, size - 1, SAMPLE_ELEMENTS, dtype=np.int64)
        tensor = tensor.reshape(-1)[torch.from_numpy(positions).to(tensor.device)]
    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
        tensor = tensor.float()
    return tensor.cpu().numpy()


def _tensor_schema(tensor: Any) -> dict[str, Any]:
    return {
        "type": "tensor",
        "dtype": str(tensor.dtype).removeprefix("torch."),
        "shape": [-1, *tensor.shape[1:]],
    }


def _describe_opaque(
    data: Any, digest: Any, **profile: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What can be said of an iterable without iterating it: type, length, batch size."""
    length = _length(data)
    profile = {"type": type(data).__qualname__, **profile, "content": "not read"}
    if length is not None:
        profile["num_rows"] = length
    digest.update(json.dumps(profile, sort_keys=True, default=str).encode())
    return {
        "type": "opaque",
        "class": f"{type(data).__module__}.{type(data).__qualname__}",
    }, profile


def _length(data: Any) -> int | None:
    try:
        length = len(data)
    except Exception:
        return None
    return length if isinstance(length, int) else None


def _mlflow_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """MLflow's shapes: ``mlflow_colspec`` for a frame, ``mlflow_tensorspec`` for arrays.

    The full description (targets, sparse formats, loaders) is kept under ``autolog``.
    """
    result: dict[str, Any] = {"autolog": schema}
    features = schema.get("features", {})
    if features.get("type") == "dataframe":
        result["mlflow_colspec"] = [
            {"type": c["type"], "name": c["name"], "required": True} for c in features["columns"]
        ]
        return result
    spec = {
        role: json.dumps(
            [{"type": "tensor", "tensor-spec": {"dtype": part["dtype"], "shape": part["shape"]}}]
        )
        for role, part in schema.items()
        if part.get("type") == "tensor"
    }
    if spec:
        result["mlflow_tensorspec"] = spec
    return result


def _type_name(data: Any) -> str:
    return type(data).__name__


_source: dict[str, str] | None = None


def _source_tags() -> dict[str, str]:
    """The code that built the data: MLflow's ``mlflow.source.*`` tags of this process."""
    global _source
    if _source is None:
        from ._notebook import script_path

        script = script_path()
        _source = {"mlflow.source.name": script, "mlflow.source.type": "LOCAL"}
    return _source
