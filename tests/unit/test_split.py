import pandas as pd
import pytest

from mlops_assets.errors import DataError
from mlops_assets.training.split import HOLDOUT, SPLIT, TRAIN, frame_fingerprint, time_split


def frame(days: int, per_day: int = 3) -> pd.DataFrame:
    times = [pd.Timestamp("2021-01-01", tz="UTC") + pd.Timedelta(days=d, hours=h) for d in range(days) for h in range(per_day)]
    return pd.DataFrame({"event_timestamp": times, "x": range(len(times))})


def test_holdout_is_the_last_n_days_and_train_strictly_before():
    out, window = time_split(frame(30), time_column="event_timestamp", holdout_days=7)
    holdout = out[out[SPLIT] == HOLDOUT]
    assert len(holdout) == 7 * 3
    assert holdout["event_timestamp"].min() == pd.Timestamp("2021-01-24", tz="UTC")
    assert out[out[SPLIT] == TRAIN]["event_timestamp"].max() < holdout["event_timestamp"].min()
    assert window.holdout_start == pd.Timestamp("2021-01-24", tz="UTC")
    assert window.train_end == pd.Timestamp("2021-01-23 02:00", tz="UTC")


def test_too_little_data_names_counts_and_fix():
    with pytest.raises(DataError, match=r"3 training and 21 holdout rows.*replay more days"):
        time_split(frame(8), time_column="event_timestamp", holdout_days=7, min_rows=5)


def test_empty_frame_is_an_error():
    with pytest.raises(DataError, match="no rows"):
        time_split(frame(0), time_column="event_timestamp", holdout_days=7)


def test_fingerprint_changes_with_content_not_with_a_copy():
    a = frame(5)
    assert frame_fingerprint(a) == frame_fingerprint(a.copy())
    b = a.copy()
    b.loc[0, "x"] = 99
    assert frame_fingerprint(a) != frame_fingerprint(b)
    assert frame_fingerprint(a) != frame_fingerprint(a.rename(columns={"x": "y"}))
