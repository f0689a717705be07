"""`outreach-monitor classify` and `evaluate` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli

DEMO = Path(__file__).resolve().parents[1] / "monitor" / "demo"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_classify_a_folder_as_jsonl_with_one_record_per_message(tmp_path: Path) -> None:
    shutil.copy(DEMO / "02-dell-refresh.json", tmp_path / "a.json")
    graph_list = {
        "value": [
            json.loads((DEMO / "06-adobe-newsletter.json").read_text()),
            json.loads((DEMO / "07-azure-invoice.json").read_text()),
        ]
    }
    (tmp_path / "list.json").write_text(json.dumps(graph_list))
    code, out, _ = run("classify", "--format", "jsonl", str(tmp_path))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["label"], r["vendor"]) for r in records] == [
        ("vendor_outreach", "Dell"),
        ("vendor_marketing", "Adobe"),
        ("vendor_service", "Microsoft"),
    ]
    for record in records:
        assert {"path", "id", "label", "vendor", "score", "rules"} <= set(record)
        assert all({"id", "weight", "evidence"} <= set(rule) for rule in record["rules"])
    assert records[1]["index"] == 0 and records[2]["index"] == 1


def test_unreadable_files_get_an_error_record_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "1-broken.json").write_text('{"subject": "unterminated')
    (tmp_path / "2-not-a-message.json").write_text("[1, 2, 3]")
    (tmp_path / "3-binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "4-empty.eml").write_bytes(b"")
    shutil.copy(DEMO / "08-fake-password-expiry.json", tmp_path / "5-ok.json")
    code, out, err = run("classify", "--format", "jsonl", str(tmp_path), str(tmp_path / "missing.json"))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 6
    errors = [r for r in records if "error" in r]
    assert len(errors) == 5
    assert "malformed JSON" in errors[0]["error"]
    assert records[4]["label"] == "impersonation"
    assert "5 of 6 could not be read" in err


def test_classify_eml_files(tmp_path: Path) -> None:
    eml = (
        "From: Kyle Brennan <kyle.brennan@dell.com>\r\nTo: Maria Lopez <maria@contoso-clinic.com>\r\n"
        "Subject: Laptops for Contoso\r\nMessage-ID: <k1@dell.com>\r\n"
        "Authentication-Results: spf=pass smtp.mailfrom=dell.com; dkim=pass header.d=dell.com; dmarc=pass\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Hi Maria,\r\n\r\nI'm your Dell account manager. I can offer a free trade-in credit on new laptops if you "
        "buy directly. Do you have 15 minutes this week?\r\n\r\nThanks,\r\nKyle Brennan\r\nInside Sales, Dell\r\n"
    )
    (tmp_path / "pitch.eml").write_text(eml)
    code, out, _ = run("classify", str(tmp_path / "pitch.eml"))
    assert code == 0
    assert "vendor_outreach (Dell)" in out
    assert "bypass_language" in out  # the reasons are shown


def test_text_output_neutralises_terminal_escapes(tmp_path: Path) -> None:
    data = json.loads((DEMO / "02-dell-refresh.json").read_text())
    data["subject"] = "hello \x1b[2J\x1b]0;pwned\x07 world"
    (tmp_path / "x.json").write_text(json.dumps(data))
    code, out, _ = run("classify", str(tmp_path / "x.json"))
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "hello" in out


def test_usage_errors_exit_2() -> None:
    assert run("classify")[0] == 2
    assert run("classify", "--format", "xml", "x.json")[0] == 2
    assert run("evaluate", "/nonexistent/corpus")[0] == 2


def test_evaluate_prints_scores_and_fails_below_the_thresholds(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "messages").mkdir(parents=True)
    rows = ["id,label,vendor,tenant,note"]
    for name, label, vendor in [
        ("02-dell-refresh", "vendor_outreach", "Dell"),
        ("06-adobe-newsletter", "vendor_marketing", "Adobe"),
        ("09-internal-lunch", "vendor_outreach", "Microsoft"),
    ]:  # deliberately wrong
        shutil.copy(DEMO / f"{name}.json", corpus / "messages" / f"{name}.json")
        rows.append(f"{name},{label},{vendor},contoso-demo.com,test")
    (corpus / "labels.csv").write_text("\n".join(rows) + "\n")

    code, out, _ = run("evaluate", str(corpus))
    assert code == 0
    assert "vendor_outreach" in out and "confusion" in out
    assert "09-internal-lunch: expected vendor_outreach, got other" in out
    assert "customer_own_domain" in out  # the reasons of the misclassified one

    code, _, err = run("evaluate", str(corpus), "--min-recall", "0.9")
    assert code == 1
    assert "vendor_outreach recall 0.500 < 0.9" in err
    assert run("evaluate", str(corpus), "--min-precision", "0.9")[0] == 0


def test_evaluate_a_folder_without_labels_is_a_clear_error(tmp_path: Path) -> None:
    code, out, err = run("evaluate", str(tmp_path))
    assert code == 1
    assert "no labels.csv" in out + err


def test_a_deeply_nested_json_file_is_an_error_record_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "1-deep.json").write_text("[" * 200_000)
    shutil.copy(DEMO / "02-dell-refresh.json", tmp_path / "2-ok.json")
    code, out, _ = run("classify", "--format", "jsonl", str(tmp_path))
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert "nested too deeply" in first["error"]
    assert second["label"] == "vendor_outreach"
