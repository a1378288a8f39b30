"""autolog's benchmarks, run from the repository root as ``python -m bench.<script>``.

A package so that scripts share ``bench.workloads`` and the tests' MLflow
helper (``tests.support.mlflow_env``) by import, with no ``sys.path`` edits.
"""
