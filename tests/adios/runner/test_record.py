"""The typed, versioned run record: round trips, the schema-1 migration, and newer schemas refused."""

import json

import pytest

from adios.errors import UserError
from adios.runner.record import SCHEMA_VERSION, RunRecord, parse_results, read_record, record_document, results_document


def test_round_trip_without_per_step_lists():
    record = RunRecord("mae", "simclr", "resnet-tiny", "shapes", 1, linear_acc=0.5, losses=[1.0, 0.9], curve=[{"epoch": 0}])
    document = json.loads(json.dumps(results_document([record])))
    assert document["schema_version"] == SCHEMA_VERSION and "losses" not in document["records"][0]
    (back,) = parse_results(document, "results.json")
    assert back.linear_acc == 0.5 and back.curve == [{"epoch": 0}] and back.losses == []


def test_schema_1_records_migrate():
    old = [
        {
            "strategy": "random-init",
            "objective": "-",
            "encoder": "resnet-tiny",
            "dataset": "shapes",
            "seed": 0,
            "linear_acc": 0.2,
            "mask_area": None,
        },
        {
            "strategy": "mae",
            "objective": "simclr",
            "encoder": "resnet-tiny",
            "dataset": "shapes",
            "seed": 0,
            "linear_acc": 0.5,
            "mask_area": 0.25,
            "mask_area_std": 0.01,
            "torch": "2.14.1",
        },
    ]
    untrained, mae = parse_results(old, "results.json")
    assert untrained.kind == "reference" and mae.kind == "strategy"
    assert mae.hidden_fraction == 0.25 and mae.hidden_fraction_std == 0.01 and mae.ok  # measured, not the target


def test_a_newer_schema_is_a_one_line_user_error(tmp_path):
    with pytest.raises(UserError, match="schema version 99, newer than this adios reads"):
        parse_results({"schema_version": 99, "records": []}, "results.json")
    with pytest.raises(UserError, match="not an adios results file"):
        parse_results({"something": "else"}, "results.json")
    path = tmp_path / "metrics.json"
    path.write_text("{ half a file")
    with pytest.raises(UserError, match="cannot be read"):
        read_record(path)


def test_a_metrics_file_round_trips(tmp_path):
    record = RunRecord("none", "simclr", "resnet-tiny", "shapes", 0, status="failed", failure="NaN loss at step 3")
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(record_document(record)))
    back = read_record(path)
    assert back == record and not back.ok and back.value("linear_acc") is None
