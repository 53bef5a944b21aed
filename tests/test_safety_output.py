"""Issue 10, parts 1 and 4: a compile replaces only a folder it can prove it wrote, reads
only regular files inside the SLO folder, and never answers bad paths with a traceback.

Each test is named after the item it pins; every one failed on the code before the
manifest (the compiler then swapped any --out for its tree and deleted the old one)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, cli, compile_many, read_tree, run_patched, sloth_spec, wait_ready

from slo_compiler.write.folder import flocks
from slo_compiler.write.layout import MANIFEST
from slo_compiler.write.record import folder_digest

# Root ignores file permissions; these drop the two capabilities that let it, so that a
# folder with mode 000 is as unreadable to the compiler as to any user.
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


def _everything(folder: Path) -> dict[str, bytes]:
    """Every file below `folder`, hidden ones and .git included."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _refused(result: subprocess.CompletedProcess[str], where: str, reason: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"{where}:1:1: error[O001]: --out {reason}" in result.stderr, result.stderr
    assert result.stderr.rstrip().endswith("nothing was written.")


def _unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    prefix = NO_DAC if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, sys.executable, "-m", "slo_compiler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture
def git_repo(repo: Path) -> Path:
    """The example repository as a git work tree, compiled once."""
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def test_out_pwd_is_refused_and_the_repository_survives(git_repo: Path) -> None:
    before = _everything(git_repo)
    for out in (str(git_repo), ".", "./"):
        result = cli("compile", "--out", out, cwd=git_repo)
        _refused(result, out, "is the current folder")
        assert f"{out}:1:1: error[O001]: --out is the root of a git work tree" in result.stderr
        assert "--out contains the SLO folder slos" in result.stderr
    assert _everything(git_repo) == before


def test_out_parent_of_the_current_folder_is_refused(repo: Path) -> None:
    (repo / "sub").mkdir()
    result = cli("compile", "--slos", "../slos", "--out", "..", cwd=repo / "sub")
    _refused(result, "..", "contains the current folder")


def test_out_slos_is_refused(repo: Path) -> None:
    before = _everything(repo / "slos")
    _refused(cli("compile", "--out", "slos", cwd=repo), "slos", "is inside the SLO folder slos")
    assert _everything(repo / "slos") == before


def test_out_inside_the_slo_folder_is_refused_up_front(repo: Path) -> None:
    _refused(cli("compile", "--out", "slos/gen", cwd=repo), "slos/gen", "is inside the SLO folder")
    assert not (repo / "slos/gen").exists(), "never written, so never read back as SLOs"


def test_out_containing_the_config_is_refused(repo: Path) -> None:
    (repo / "conf").mkdir()
    (repo / "slo-compiler.yaml").rename(repo / "conf/slo-compiler.yaml")
    result = cli("compile", "--config", "conf/slo-compiler.yaml", "--out", "conf", cwd=repo)
    _refused(result, "conf", "contains the config file conf/slo-compiler.yaml")


def test_out_home_folder_is_refused(repo: Path) -> None:
    """A folder of someone's own files (here a stand-in home with dotfiles)."""
    home = repo / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".bashrc").write_text("export PATH\n")
    (home / ".ssh/id_ed25519").write_text("key\n")
    before = _everything(home)
    result = cli("compile", "--out", str(home), cwd=repo)
    _refused(result, str(home), f"exists and has no {MANIFEST}")
    assert _everything(home) == before


def test_out_a_regular_file_is_refused(repo: Path) -> None:
    (repo / "afile").write_text("mine\n")
    _refused(cli("compile", "--out", "afile", cwd=repo), "afile", "is a file, not a folder")
    assert (repo / "afile").read_text() == "mine\n"


@pytest.mark.parametrize("out", ["", " "])
def test_out_empty_is_a_one_line_error(repo: Path, out: str) -> None:
    result = cli("compile", "--out", out, cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error[O001]: --out is empty" in result.stderr


def test_out_with_an_unwritable_parent_is_a_one_line_error(repo: Path) -> None:
    locked = repo / "locked"
    locked.mkdir(mode=0o555)
    result = _unprivileged("compile", "--out", "locked/gen", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("locked/gen:1:1: error[O002]: cannot write: ")
    assert "Permission denied" in lines[0] and len(lines) == 2
    assert list(locked.iterdir()) == []


def test_out_with_a_file_of_ours_is_refused_until_it_is_moved(repo: Path) -> None:
    notes = repo / "generated/prometheus/notes.md"
    notes.write_text("my notes\n")
    result = cli("compile", "--out", "generated", cwd=repo)
    _refused(result, "generated", "holds 1 file slo-compiler did not write (prometheus/notes.md)")
    assert notes.read_text() == "my notes\n"
    notes.unlink()
    assert cli("compile", cwd=repo).returncode == 0


def test_a_forged_manifest_does_not_hand_over_unlisted_files(repo: Path) -> None:
    folder = repo / "theirs"
    folder.mkdir()
    (folder / MANIFEST).write_text("# Generated by slo-compiler\nREADME.md\n")
    (folder / "data.txt").write_text("precious\n")
    _refused(cli("compile", "--out", "theirs", cwd=repo), "theirs", "holds 1 file")
    assert (folder / "data.txt").read_text() == "precious\n"


def test_first_compile_into_a_missing_or_empty_folder_works(repo: Path) -> None:
    (repo / "empty").mkdir()
    for out in ("empty", "new/deeper"):
        result = cli("compile", "--out", out, cwd=repo)
        assert result.returncode == 0, result.stderr
        assert (repo / out / MANIFEST).is_file()
        assert read_tree(repo / out) == read_tree(repo / "generated")


def test_summary_names_the_removed_files(repo: Path) -> None:
    (repo / "slos/auth-service.yaml").unlink()
    (repo / "slos/queue-service.yaml").unlink()
    result = cli("compile", cwd=repo)
    assert result.returncode == 0, result.stderr
    removed = result.stdout.splitlines()[1]
    assert removed.startswith("removed: grafana/alerting/auth-service.rules.yaml, ")
    assert removed.endswith(" and 10 more")  # five named, of fifteen


def test_a_symlinked_generated_folder_is_written_through(repo: Path) -> None:
    real = repo / "elsewhere"
    (repo / "generated").rename(real)
    (repo / "generated").symlink_to("elsewhere")
    (repo / "slos/auth-service.yaml").unlink()
    result = cli("compile", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert (repo / "generated").is_symlink(), "the link stays a link"
    assert not (real / "prometheus/auth-service.login-availability.rules.yaml").exists()
    assert (real / "prometheus/payment-service.payment-failure-rate.rules.yaml").exists()
    assert not [p.name for p in repo.iterdir() if p.name.startswith(".")]
    assert cli("check", "--strict", cwd=repo).returncode == 0


def test_stale_temporary_folders_of_a_killed_run_are_swept(repo: Path) -> None:
    ours = repo / ".generated.tmp-killed"
    (ours / "prometheus").mkdir(parents=True)
    (ours / "prometheus/x.rules.yaml").write_text("# Generated by slo-compiler from x\n")
    (repo / ".generated.old-killed").mkdir()
    theirs = repo / ".generated.tmp-theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("not ours\n")
    result = cli("compile", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "removed .generated.old-killed" in result.stderr
    assert "removed .generated.tmp-killed" in result.stderr
    assert not ours.exists() and not (repo / ".generated.old-killed").exists()
    assert (theirs / "keep.txt").read_text() == "not ours\n"


def test_a_failure_to_remove_the_old_tree_is_reported(repo: Path) -> None:
    """The old tree cannot be deleted (a folder in it is read-only to this user): the new
    tree is in place, and the run says what is left, with exit 1."""
    (repo / "slos/auth-service.yaml").unlink()
    (repo / "generated/prometheus/tests").chmod(0o555)
    result = _unprivileged("compile", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error[O002]: cannot write: the new tree is in place, but not all" in result.stderr
    assert result.stderr.rstrip().endswith("remove what is left by hand.")
    assert not (repo / "generated/prometheus/auth-service.login-availability.rules.yaml").exists()
    for left in repo.glob(".generated.*"):
        for folder in left.rglob("*"):
            folder.chmod(0o755)
    # The next run sweeps what was left.
    again = cli("compile", cwd=repo)
    assert again.returncode == 0 and "left behind by an interrupted compile" in again.stderr
    assert not list(repo.glob(".generated.*"))


def test_sigterm_is_handled_like_sigint(repo: Path) -> None:
    before = read_tree(repo / "generated")
    process = compile_many(repo, subprocess.PIPE)
    wait_ready(repo, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    after = read_tree(repo / "generated")
    assert "Traceback" not in err and "Aborted!" not in err
    if process.returncode == 0:  # it finished before the signal
        assert "prometheus/many14.s149.rules.yaml" in after
    else:
        assert process.returncode == 128 + signal.SIGTERM
        assert err.strip() == "slo-compiler: interrupted (SIGTERM); nothing was changed."
        assert after == before
    assert not list(repo.glob(".generated.*"))


LATE_SIGNAL = """
import os, signal, sys
from slo_compiler.write import files as output
from slo_compiler.cli import main

real = output._swap

def swap_then_interrupted(staging, folder):
    os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C at the moment of the swap
    return real(staging, folder)

output._swap = swap_then_interrupted
main(["compile"])
"""


def test_ctrl_c_during_the_swap_reports_the_complete_new_tree(repo: Path) -> None:
    (repo / "slos/auth-service.yaml").unlink()
    result = run_patched(LATE_SIGNAL, repo)
    assert result.returncode == 0, result.stderr
    assert "Aborted!" not in result.stderr and "Traceback" not in result.stderr
    assert "SIGINT came after the new tree was written; generated/ is complete." in (result.stderr)
    assert cli("check", "--strict", cwd=repo).returncode == 0
    assert not list(repo.glob(".generated.*"))


AFTER_THE_WRITE = """
import os, signal
from slo_compiler.write import record as cache
from slo_compiler.cli import main

real = cache.remember

def remember_then_terminated(*args):
    os.kill(os.getpid(), signal.SIGTERM)  # CI cancels while the run reports its write
    return real(*args)

class Late:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)


cache.remember = remember_then_terminated
# And once more while Python tears the modules down, after it gave signals their default
# action back.
late = Late()
main(["compile"])
"""


def test_a_signal_after_the_write_does_not_undo_its_report(repo: Path) -> None:
    """Once the new tree is in place the run has succeeded: a SIGTERM while it reports
    (or while the interpreter exits) is said, not turned into "nothing was changed" or a
    process killed by the signal."""
    (repo / "slos/auth-service.yaml").unlink()
    result = run_patched(AFTER_THE_WRITE, repo)
    assert result.returncode == 0, result.stderr
    assert "nothing was changed" not in result.stderr and "Traceback" not in result.stderr
    assert "SIGTERM came after the new tree was written; generated/ is complete." in (result.stderr)
    assert result.stdout.startswith("5 SLOs -> ")
    assert cli("check", "--strict", cwd=repo).returncode == 0


def test_unreadable_slo_folder_is_y006_not_zero_slos(repo: Path) -> None:
    before = read_tree(repo / "generated")
    (repo / "slos").chmod(0o000)
    try:
        result = _unprivileged("compile", cwd=repo)
    finally:
        (repo / "slos").chmod(0o755)
    assert result.returncode == 1, result.stdout
    assert "slos:1:1: error[Y006]: cannot list this folder: Permission denied" in result.stderr
    assert read_tree(repo / "generated") == before


def test_unreadable_slo_file_is_y006(repo: Path) -> None:
    (repo / "slos/auth-service.yaml").chmod(0o000)
    result = _unprivileged("validate", cwd=repo)
    assert result.returncode == 1
    assert "slos/auth-service.yaml:1:1: error[Y006]: cannot read: Permission denied" in (
        result.stderr
    )


def test_a_fifo_in_slos_is_refused_never_read(repo: Path) -> None:
    os.mkfifo(repo / "slos/pipe.yaml")
    result = cli("validate", cwd=repo)  # opening the FIFO would block: the timeout guards
    assert result.returncode == 1
    assert "slos/pipe.yaml:1:1: error[Y006]: is not a regular file" in result.stderr


def test_a_symlink_out_of_the_slo_folder_is_refused_and_never_printed(repo: Path) -> None:
    secret = repo / "credentials"
    secret.write_text("https://user:ghp_s3cr3tT0ken@github.example\n")
    (repo / "slos/ci.yaml").symlink_to(secret)
    result = cli("compile", cwd=repo)
    assert result.returncode == 1
    assert "slos/ci.yaml:1:1: error[Y006]: is a symlink to a file outside the SLO folder" in (
        result.stderr
    )
    assert "s3cr3t" not in result.stdout + result.stderr


def test_a_symlink_inside_the_slo_folder_is_read(repo: Path) -> None:
    (repo / "slos/payment-service.yaml").rename(repo / "slos/payment.real")
    (repo / "slos/payment-service.yaml").symlink_to("payment.real")
    assert cli("check", "--strict", cwd=repo).returncode == 0


def test_config_is_found_above_the_slo_folder_within_the_repository(git_repo: Path) -> None:
    (git_repo / "tools").mkdir()
    result = cli("validate", "--slos", "../slos", cwd=git_repo / "tools")
    assert result.returncode == 0, result.stderr
    assert "note: using the config ../slo-compiler.yaml (none in the current folder)" in (
        result.stderr
    )


def test_no_config_is_looked_for_above_the_repository(tmp_path: Path) -> None:
    (tmp_path / "slo-compiler.yaml").write_text("apiVersion: nonsense\n")
    inner = tmp_path / "project"
    subprocess.run(["git", "init", "-q", str(inner)], check=True)
    (inner / "slos").mkdir()
    (inner / "slos/a.yaml").write_bytes((ROOT / "slos/auth-service.yaml").read_bytes())
    result = cli("validate", cwd=inner)
    assert result.returncode == 0 and "note:" not in result.stderr, result.stderr


# -- check must not be fooled (part 7) -------------------------------------------------


def test_check_in_ci_or_strict_never_trusts_the_record(repo: Path) -> None:
    rules = repo / "generated/prometheus/payment-service.payment-failure-rate.rules.yaml"
    rules.write_text(rules.read_text().replace("record: slo:", "record: slo:x", 1))  # by hand
    local = {"CI": ""}
    assert cli("check", cwd=repo, env=local).returncode == 1, "the record no longer matches"
    record = repo / "generated/.slo-compiler-cache.json"
    trusted = cli("check", cwd=repo, env=local)  # records nothing: it failed
    assert trusted.returncode == 1 and record.is_file()
    forged = json.loads(record.read_text())
    forged["tree"] = folder_digest(repo / "generated")
    record.write_text(json.dumps(forged))
    assert cli("check", cwd=repo, env=local).returncode == 0, "locally the record is a speed-up"
    for spelling in ("true", "1", "True", "TRUE", "yes"):  # what CI systems set
        assert cli("check", cwd=repo, env={"CI": spelling}).returncode == 1, spelling
    assert cli("check", "--strict", cwd=repo, env=local).returncode == 1


@pytest.mark.parametrize("stray", ["empty folder", "symlink"])
def test_check_counts_empty_folders_and_symlinks_as_drift(repo: Path, stray: str) -> None:
    target = repo / "generated/prometheus/extra"
    if stray == "empty folder":
        target.mkdir()
    else:
        target.symlink_to("../README.md")
    result = cli("check", cwd=repo, env={"CI": ""})
    assert result.returncode == 1
    assert "- prometheus/extra" in result.stdout


def _raise_payment_objective(repo: Path) -> None:
    """A change to compile: the payment SLO from 99.5% to 99.9% (its budget 0.001)."""
    source = repo / "slos/payment-service.yaml"
    source.write_text(source.read_text().replace("objective: 99.5", "objective: 99.9"))


def test_a_second_writer_fails_at_once_naming_the_first(repo: Path) -> None:
    """The folder's lock held (here by this test, as a running compile holds it): a compile
    exits 1 with O003 and the holder's pid, and leaves generated/ as it was."""
    before = read_tree(repo / "generated")
    _raise_payment_objective(repo)
    fd = os.open(repo, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        result = cli("compile", cwd=repo)
    finally:
        os.close(fd)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"generated:1:1: error[O003]: another slo-compiler (pid {os.getpid()}) is writing" in (
        result.stderr
    )
    assert read_tree(repo / "generated") == before and not list(repo.glob(".generated.*"))
    assert cli("compile", cwd=repo).returncode == 0  # released: the next run writes


def test_two_compiles_at_once_never_cut_the_tree(repo: Path) -> None:
    """Many rounds of two compiles started together after a change: each either writes or
    fails with O003, and the tree is always whole (check passes) afterwards."""
    source = repo / "slos/payment-service.yaml"
    text = source.read_text()
    for round_ in range(10):
        source.write_text(text.replace("objective: 99.5", f"objective: 99.{5 + round_ % 4}"))
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "slo_compiler", "compile"],
                cwd=repo,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            for _ in range(2)
        ]
        results = [(run.wait(timeout=120), run.stderr.read()) for run in runs]
        for run in runs:
            run.stdout.close()
            run.stderr.close()
        assert any(code == 0 for code, _ in results), results
        for code, err in results:
            assert code == 0 or "error[O003]" in err, err
        assert cli("check", "--strict", cwd=repo).returncode == 0, round_
        assert not list(repo.glob(".generated.*"))


USER_FILE_DURING_COMPILE = """
from pathlib import Path
from slo_compiler.cli import compiling
from slo_compiler.cli import main

real = compiling.compile_inputs

def compile_while_a_user_adds_a_file(*args):
    result = real(*args)
    Path("generated/my-notes.txt").write_text("mine")
    return result

compiling.compile_inputs = compile_while_a_user_adds_a_file
main(["compile"])
"""


def test_a_file_added_while_compiling_is_kept_and_stops_the_swap(repo: Path) -> None:
    """Ownership is proven again right before the swap: a file a user put into the folder
    during the compile is not deleted with the old tree; the run fails with O001."""
    (repo / "slos/auth-service.yaml").unlink()
    result = run_patched(USER_FILE_DURING_COMPILE, repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error[O001]" in result.stderr and "my-notes.txt" in result.stderr
    assert (repo / "generated/my-notes.txt").read_text() == "mine"
    assert (
        repo / "generated/prometheus/auth-service.login-availability.rules.yaml"
    ).exists()  # old tree kept
    assert not list(repo.glob(".generated.*"))


def test_schema_never_writes_through_a_symlink(tmp_path: Path) -> None:
    """A repository can ship schemas/slo.schema.json as a link to any file: `schema` refuses
    it (O001) and the file it points at keeps its bytes."""
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours")
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas/slo.schema.json").symlink_to(outside)
    result = cli("schema", cwd=tmp_path)
    assert result.returncode == 1
    assert "schemas/slo.schema.json:1:1: error[O001]: is a symlink: not written through" in (
        result.stderr
    )
    assert outside.read_text() == "not yours"
    assert not (tmp_path / "schemas/config.schema.json").exists()


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_umasks(tmp_path: Path) -> None:
    from slo_compiler.write.files import write_file

    shared = tmp_path / "slo_thresholds.py"
    shared.write_text("old")
    shared.chmod(0o664)
    write_file(shared, b"new")
    assert (shared.read_bytes(), shared.stat().st_mode & 0o777) == (b"new", 0o664)
    mask = os.umask(0o022)
    try:
        write_file(tmp_path / "fresh.json", b"{}")
    finally:
        os.umask(mask)
    assert (tmp_path / "fresh.json").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("command", "link"),
    [
        (["schema"], "schemas"),
        (["compile"], "generated"),
        (["import", "sloth", "spec.yml", "--out", "impdir", "--force"], "impdir"),
        (["schema", "--out", "deep/schemas"], "deep"),
    ],
)
def test_no_command_writes_through_a_link_out_of_the_repository(
    repo: Path, tmp_path_factory: pytest.TempPathFactory, command: list[str], link: str
) -> None:
    """Issue 35 item 6: a cloned repository shipping `schemas -> ../outside` had both
    schemas written there; `import --out impdir --force` wrote through its link too."""
    (repo / ".git").mkdir(exist_ok=True)
    outside = tmp_path_factory.mktemp("outside")
    (repo / "spec.yml").write_text(sloth_spec())
    target = repo / link
    if target.exists():
        shutil.rmtree(target)
    target.symlink_to(outside, target_is_directory=True)
    result = cli(*command, cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"'{link}' is a link to '{outside}', outside the repository" in result.stderr
    assert list(outside.iterdir()) == []


def test_a_link_inside_the_repository_is_written_through(repo: Path) -> None:
    (repo / ".git").mkdir(exist_ok=True)
    (repo / "docs/schemas").mkdir(parents=True)
    (repo / "schemas").symlink_to(repo / "docs/schemas", target_is_directory=True)
    assert cli("schema", cwd=repo).returncode == 0
    assert sorted(p.name for p in (repo / "docs/schemas").iterdir()) == [
        "config.schema.json",
        "slo.schema.json",
    ]


def test_a_compile_waits_for_the_checks_reading(repo: Path) -> None:
    """A reader's shared lock held (here by this test, as a running check holds it): a
    compile waits for it, not O003 (the check only reads, briefly), then writes."""
    _raise_payment_objective(repo)
    fd = os.open(repo, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        compiling = compile_many(repo, subprocess.PIPE)
        while (True, compiling.pid) not in flocks(os.stat(repo)) and compiling.poll() is None:
            time.sleep(0.01)
        assert compiling.poll() is None, compiling.communicate()
    finally:
        os.close(fd)
    out, err = compiling.communicate(timeout=120)
    assert compiling.returncode == 0, out + err
    assert "error[O003]" not in err
    rules = repo / "generated/prometheus/payment-service.payment-failure-rate.rules.yaml"
    assert "expr: vector(0.001)" in rules.read_text()
    assert cli("check", cwd=repo).returncode == 0


def test_check_during_a_compile_waits_its_turn_and_never_tracebacks(repo: Path) -> None:
    """Issue 35 item 8: `check` while a compile swapped the tree raised FileNotFoundError
    (files.strays) about 1 in 12 times. It now takes the folder's lock, waiting for the
    compile, and then reads the finished tree: up to date, exit 0."""
    for attempt in range(6):
        compiling = compile_many(repo, subprocess.PIPE)
        # Once the compile holds the lock: a check before it would read the old tree.
        while flocks(os.stat(repo)) != [(False, compiling.pid)] and compiling.poll() is None:
            time.sleep(0.01)
        time.sleep(attempt * 0.15)
        checked = cli("check", cwd=repo)
        out, err = compiling.communicate(timeout=120)
        assert compiling.returncode == 0, out + err
        assert "Traceback" not in checked.stderr, checked.stderr
        assert checked.returncode == 0, (attempt, checked.stdout, checked.stderr)


def test_a_file_removed_while_listed_is_no_traceback(tmp_path: Path) -> None:
    """An entry deleted between the listing and its lstat (by hand, by another program)
    is left out of the walk, not a FileNotFoundError."""
    from slo_compiler.write import files

    (tmp_path / "a").mkdir()
    (tmp_path / "a/x.yaml").write_text("x")
    (tmp_path / "b.yaml").write_text("b")
    real_lstat = Path.lstat

    def vanishing(path: Path) -> os.stat_result:
        if path.name == "x.yaml":
            raise FileNotFoundError(2, "gone", str(path))
        return real_lstat(path)

    Path.lstat = vanishing  # type: ignore[method-assign]
    try:
        assert [rel for rel, _ in files.walk(tmp_path)] == ["b.yaml"]
        assert files.strays(tmp_path) == []
    finally:
        Path.lstat = real_lstat  # type: ignore[method-assign]
