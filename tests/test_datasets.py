"""Dataset fingerprints: same data, same digest; different data, different digest; nothing drawn."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sparse
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from autolog._datasets import FULL_HASH_BYTES, SAMPLE_ELEMENTS, dataset_input


def digest(features: Any, targets: Any = None) -> str:
    described = dataset_input(features, targets)
    assert described is not None
    return described["dataset"]["digest"]


def frame(seed: int = 0, rows: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "income": rng.normal(50_000, 9_000, rows),
            "city": rng.choice(["Lyon", "Oslo", "Pune"], rows),
            "when": pd.date_range("2024-01-01", periods=rows, freq="h"),
        }
    )


class TestDigests:
    @pytest.mark.parametrize(
        "make",
        [
            lambda s: np.random.default_rng(s).random((200, 5)),
            lambda s: np.random.default_rng(s).random((3000, 1000)),  # 24 MB: sampled
            lambda s: frame(s),
            lambda s: frame(s)["income"],
            lambda s: torch.from_numpy(np.random.default_rng(s).random((64, 3))).float(),
            lambda s: sparse.random(500, 400, 0.02, format="csr", random_state=s),
            lambda s: DataLoader(
                TensorDataset(torch.from_numpy(np.random.default_rng(s).random((40, 2)))),
                batch_size=4,
            ),
        ],
        ids=["numpy", "numpy-large", "pandas", "series", "torch", "sparse", "dataloader"],
    )
    def test_same_same_different(self, make: Any) -> None:
        """Equal content in a new object gives the same digest; other content another one."""
        assert digest(make(0)) == digest(make(0))
        assert digest(make(0)) != digest(make(1))

    def test_one_changed_value_of_a_small_array_changes_the_digest(self) -> None:
        """Below 1 MB everything is hashed: the last element alone tells two arrays apart."""
        data = np.random.default_rng(0).random((2000, 20))
        changed = data.copy()
        changed[-1, -1] += 1e-9
        assert data.nbytes <= FULL_HASH_BYTES
        assert digest(data) != digest(changed)

    def test_a_large_array_is_sampled_at_fixed_positions(self) -> None:
        """Above 1 MB, a change at a sampled position shows; one between samples does not."""
        data = np.zeros(4_000_000)
        step = (data.size - 1) / (SAMPLE_ELEMENTS - 1)
        on_sample, between = data.copy(), data.copy()
        on_sample[int(np.int64(step * 10))] = 1
        between[int(step * 10) + 1] = 1
        assert digest(on_sample) != digest(data)
        assert digest(between) == digest(data)  # the collision the sample allows
        assert digest(data.reshape(2000, 2000)) != digest(data)  # the shape always counts

    def test_column_names_dtypes_and_targets_count(self) -> None:
        """Renaming a column, changing a dtype or changing y changes the digest."""
        data = frame()
        assert digest(data.rename(columns={"age": "years"})) != digest(data)
        assert digest(data.astype({"age": "float64"})) != digest(data)
        y = np.arange(100)
        assert digest(data, y) != digest(data, y[::-1].copy())
        assert digest(data, y) == digest(data.copy(), y.copy())

    def test_non_contiguous_views_hash_like_their_copies(self) -> None:
        """A transposed or sliced view has the digest of the same values in a fresh array."""
        data = np.random.default_rng(0).random((3000, 600))
        assert digest(data.T) == digest(np.ascontiguousarray(data.T))
        assert digest(data[:, ::2]) == digest(data[:, ::2].copy())


class TestDescription:
    def test_dataframe_schema_and_profile_in_mlflow_shapes(self) -> None:
        """A frame's schema is MLflow's colspec (names, types); its profile counts rows."""
        described = dataset_input(frame(), context="train")
        assert described is not None
        dataset = described["dataset"]
        assert described["tags"] == {"mlflow.data.context": "train"}
        assert set(dataset) == {"name", "digest", "source_type", "source", "schema", "profile"}
        assert len(dataset["digest"]) == 32
        columns = json.loads(dataset["schema"])["mlflow_colspec"]
        assert [(c["name"], c["type"]) for c in columns] == [
            ("age", "long"),
            ("income", "double"),
            ("city", "string"),
            ("when", "datetime"),
        ]
        assert json.loads(dataset["profile"]) == {
            "features_num_rows": 100,
            "features_num_elements": 400,
        }

    def test_arrays_get_a_tensor_spec_with_shapes(self) -> None:
        """numpy features and targets: MLflow's tensorspec, and their shapes in the profile."""
        described = dataset_input(np.zeros((10, 3), np.float32), np.zeros(10, np.int64))
        assert described is not None
        schema = json.loads(described["dataset"]["schema"])["mlflow_tensorspec"]
        features = json.loads(schema["features"])[0]["tensor-spec"]
        assert features == {"dtype": "float32", "shape": [-1, 3]}
        profile = json.loads(described["dataset"]["profile"])
        assert profile["features_shape"] == [10, 3] and profile["targets_shape"] == [10]


class NoTouching(Dataset):
    """A dataset whose items must not be read: reading one would run the user's code."""

    def __len__(self) -> int:
        return 30

    def __getitem__(self, index: int) -> Any:
        raise AssertionError("autolog read an item of the dataset")


class TestNothingConsumed:
    def test_dataloaders_are_not_iterated_and_rngs_untouched(self) -> None:
        """A shuffled DataLoader over a custom dataset: no item read, no RNG state changed."""
        loader = DataLoader(NoTouching(), batch_size=5, shuffle=True)
        torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
        described = dataset_input(loader)
        assert described is not None
        profile = json.loads(described["dataset"]["profile"])
        assert profile["features_num_rows"] == 30 and profile["features_content"] == "not read"
        assert profile["features_batch_size"] == 5
        assert torch.equal(torch.get_rng_state(), torch_state)
        assert all(
            np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state, strict=True)
        )

    def test_a_generator_is_not_advanced(self) -> None:
        """A generator keeps all its items after being described."""
        items = (i for i in range(5))
        assert dataset_input(items) is not None
        assert list(items) == [0, 1, 2, 3, 4]

    def test_a_list_of_datasets_is_not_indexed(self) -> None:
        """numpy indexes into anything with __getitem__: a list of datasets is never given it."""
        assert dataset_input([NoTouching(), NoTouching()]) is not None
