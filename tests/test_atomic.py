"""Atomic writes leave the target untouched on failure and refuse to overwrite inputs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from linkedonnx.atomic import atomic_open, refuse_overwriting_input, write_text_atomic
from linkedonnx.errors import BadInputError


def test_write_replaces_target(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_failure_keeps_old_content_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_missing_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="does not exist"):
        write_text_atomic(tmp_path / "nope" / "out.txt", "x")


def test_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    src = tmp_path / "in.onnx"
    src.write_bytes(b"x")
    with pytest.raises(BadInputError, match="same file"):
        refuse_overwriting_input(tmp_path / "." / "in.onnx", src)
    refuse_overwriting_input(tmp_path / "other.onnx", src)


def test_new_file_gets_the_umask_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o644


def test_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_reserved_outputs_are_created_first_and_committed_together(tmp_path: Path) -> None:
    from linkedonnx.atomic import reserve_outputs

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    with reserve_outputs(a, None, b) as reserved:
        temps = sorted(p.name for p in tmp_path.iterdir())
        assert len(temps) == 2 and all(n.endswith(".tmp") for n in temps)
        write_text_atomic(a, "A")  # an atomic writer inside writes the reserved temporary
        assert not a.exists()
        reserved.write_text(b, "B")
    assert (a.read_text(), b.read_text()) == ("A", "B")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert oct(a.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_one_bad_reservation_creates_nothing(tmp_path: Path) -> None:
    from linkedonnx.atomic import reserve_outputs

    with pytest.raises(BadInputError, match="missing"):  # noqa: SIM117
        with reserve_outputs(tmp_path / "a.txt", tmp_path / "missing" / "b.txt"):
            raise AssertionError("the work must not start")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(BadInputError, match="twice"):  # noqa: SIM117
        with reserve_outputs(tmp_path / "a.txt", tmp_path / "." / "a.txt"):
            raise AssertionError("the work must not start")
    assert list(tmp_path.iterdir()) == []


def test_failed_work_removes_every_reserved_temporary(tmp_path: Path) -> None:
    from linkedonnx.atomic import reserve_outputs

    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt), reserve_outputs(tmp_path / "a.txt", tmp_path / "b"):
        write_text_atomic(tmp_path / "a.txt", "new")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    assert (tmp_path / "a.txt").read_text() == "old"


@pytest.mark.parametrize("path", ["/proc/x.json", "/sys/x.json", "/dev/null"])
def test_special_places_are_not_outputs(path: str) -> None:
    from linkedonnx.atomic import check_output_file

    with pytest.raises(BadInputError, match="holds no ordinary files"):
        check_output_file(path)


def test_a_nested_reservation_leaves_a_target_to_the_outer_one(tmp_path: Path) -> None:
    from linkedonnx.atomic import reserve_outputs

    target = tmp_path / "a.txt"
    with reserve_outputs(target):
        with reserve_outputs(target, tmp_path / "b.txt"):
            write_text_atomic(target, "A")
            write_text_atomic(tmp_path / "b.txt", "B")
        assert not target.exists() and (tmp_path / "b.txt").read_text() == "B"
    assert target.read_text() == "A"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_tied_file_goes_on_discard_and_actions_wait_for_the_commit(tmp_path: Path) -> None:
    from linkedonnx.atomic import after_commit, remove_if_discarded, reserve_outputs

    target, side = tmp_path / "m.onnx", tmp_path / "m.onnx.data"
    done: list[str] = []
    with pytest.raises(RuntimeError), reserve_outputs(target):
        side.write_text("weights")
        remove_if_discarded(target, side)
        after_commit(target, lambda: done.append("after"))
        raise RuntimeError("the work failed")
    assert not side.exists() and done == [] and not target.exists()
    with reserve_outputs(target) as reservation:
        reservation.write_text(target, "model")
        side.write_text("weights")
        remove_if_discarded(target, side)
        after_commit(target, lambda: done.append(target.read_text()))
        assert done == []
    assert side.read_text() == "weights" and done == ["model"]
    after_commit(tmp_path / "free.onnx", lambda: done.append("now"))  # not reserved: at once
    assert done == ["model", "now"]
