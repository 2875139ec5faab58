"""bundlekd.data: domain records and the loaders/writers of every data file the system reads.

Sources: the AICL split (`load_aicl`), the raw BundleRec CSVs (`load_bundlerec`), sessions JSONL
(`read_sessions` / `write_sessions`), the shipped sample (`load_sample`) and predictions JSONL.
"""

from bundlekd.data.aicl import AICL_DOMAINS, load_aicl, load_topk_related
from bundlekd.data.bundlerec import BundleRecData, load_bundlerec
from bundlekd.data.categories import parse_category_paths
from bundlekd.data.predictions_jsonl import (
    append_prediction,
    finished_keys,
    read_predictions,
    write_predictions,
)
from bundlekd.data.safe_pickle import load_npy_object
from bundlekd.data.schema import Bundle, Dataset, Item, Prediction, Session, SplitName
from bundlekd.data.sessions_jsonl import read_sessions, session_to_json, write_sessions
from bundlekd.data.sources import data_dir_from_env, load_sample, load_sessions
from bundlekd.data.titles import clean_title
from bundlekd.data.validate import validate_sessions_file

__all__ = [
    "AICL_DOMAINS",
    "Bundle",
    "BundleRecData",
    "Dataset",
    "Item",
    "Prediction",
    "Session",
    "SplitName",
    "append_prediction",
    "clean_title",
    "data_dir_from_env",
    "finished_keys",
    "load_aicl",
    "load_bundlerec",
    "load_npy_object",
    "load_sample",
    "load_sessions",
    "load_topk_related",
    "parse_category_paths",
    "read_predictions",
    "read_sessions",
    "session_to_json",
    "validate_sessions_file",
    "write_predictions",
    "write_sessions",
]
