"""Bad input, at scale: every file of tests/corpus/ (named CODE-what.yaml) fails with that
code among its diagnostics, each one a `path:line:col: error[CODE]: message`, and through
the command line with exit 1, no traceback and generated/ untouched. Then property-based
tests mutate valid SLO files and check the same of whatever comes out."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, VALID, cli, read_tree, source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slo_compiler.compiler import compile_sources
from slo_compiler.diagnostics import Code, CompileError

CORPUS = sorted((ROOT / "tests/corpus").glob("*.yaml"))
LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>[1-9][0-9]*):(?P<col>[1-9][0-9]*): "
    r"error\[(?P<code>[A-Z][0-9]{3})\]: .+"
)


def test_the_corpus_is_large_and_covers_every_code_a_single_file_can_raise() -> None:
    assert len(CORPUS) >= 100
    codes = {p.name.split("-", 1)[0] for p in CORPUS}
    # READ_ERROR (an unreadable path) and OUTPUT_CLASH (two files, one output) need more
    # than one file's bytes; they have tests of their own in test_diagnostics.py.
    assert codes >= {c.value for c in Code} - {
        Code.READ_ERROR.value,
        Code.OUTPUT_CLASH.value,
        Code.DUPLICATE_RECEIVER.value,
        Code.UNKNOWN_RECEIVER.value,
        Code.LITERAL_SECRET.value,
        Code.UNROUTED.value,  # against the config's routes: test_grafana.py
        Code.ALERTMANAGER_UNSUPPORTED.value,  # the config's receivers: test_alertmanager.py
        Code.OUTPUT_REFUSED.value,  # --out: tests/test_safety_output.py
        Code.OUTPUT_WRITE.value,
        Code.OUTPUT_BUSY.value,
        Code.OUTPUT_TOO_LARGE.value,  # the Kubernetes output: tests/test_kubernetes_scale.py
    } - {c.value for c in Code if c.name.startswith("IMPORT_")}  # tests/import: test_import.py


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_file_fails_with_its_code(path: Path) -> None:
    with pytest.raises(CompileError) as info:
        compile_sources([source(path.read_bytes(), path.name)])
    diagnostics = info.value.diagnostics
    assert path.stem.split("-", 1)[0] in {d.code.value for d in diagnostics}, diagnostics
    for d in diagnostics:
        assert LINE.match(str(d)), str(d)
        assert d.path == f"slos/{path.name}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example SLOs compiled into generated/, once for every CLI case below."""
    work = tmp_path_factory.mktemp("corpus")
    shutil.copytree(ROOT / "slos", work / "slos")
    assert cli("compile", cwd=work).returncode == 0
    return work


def test_every_corpus_file_through_the_command_line(repo: Path) -> None:
    """One run with the whole corpus added: every file reported, exit 1, no traceback,
    generated/ byte for byte as it was."""
    before = read_tree(repo / "generated")
    bad = repo / "slos" / "corpus"
    shutil.copytree(ROOT / "tests/corpus", bad)
    try:
        result = cli("compile", cwd=repo)
    finally:
        shutil.rmtree(bad)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1].endswith("errors; nothing was written.")
    assert all(LINE.match(line) for line in lines[:-1]), [
        line for line in lines[:-1] if not LINE.match(line)
    ]
    reported = {line.split(":", 1)[0] for line in lines[:-1]}
    assert reported >= {f"slos/corpus/{p.name}" for p in CORPUS}
    assert read_tree(repo / "generated") == before


@pytest.mark.parametrize("path", CORPUS[::9], ids=lambda p: p.stem)
def test_corpus_samples_one_at_a_time(repo: Path, path: Path) -> None:
    shutil.copy(path, repo / "slos" / path.name)
    before = read_tree(repo / "generated")
    try:
        result = cli("compile", cwd=repo)
    finally:
        (repo / "slos" / path.name).unlink()
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert f"slos/{path.name}:" in result.stderr
    assert read_tree(repo / "generated") == before


# --- property-based: mutations of valid files ------------------------------------------

VALID_DOCS = [
    yaml.safe_load(VALID),
    *[yaml.safe_load(p.read_text()) for p in sorted((ROOT / "slos").glob("*.yaml"))],
]
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


def _paths(node: object, at: tuple = ()) -> list[tuple]:
    out = [at]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*at, i))
    return out


def _mutate(doc: object, at: tuple, action: str, junk: object) -> object:
    if not at:
        return junk
    parent = doc
    for key in at[:-1]:
        parent = parent[key]  # type: ignore[index]
    key = at[-1]
    if action == "replace":
        parent[key] = junk  # type: ignore[index]
    elif action == "delete":
        del parent[key]  # type: ignore[arg-type]
    elif action == "rename" and isinstance(parent, dict):
        parent[f"{key}x"] = parent.pop(key)
    elif action == "add" and isinstance(parent, dict):
        parent["unexpected_field"] = junk
    return doc


def _check(text: bytes) -> None:
    """Whatever a mutation made: compiles, or fails with positioned diagnostics only."""
    try:
        compile_sources([source(text, "mutant.yaml")])
    except CompileError as err:
        assert err.diagnostics
        for d in err.diagnostics:
            assert LINE.match(str(d)), str(d)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=st.sampled_from(range(len(VALID_DOCS))),
    data=st.data(),
    action=st.sampled_from(["replace", "delete", "rename", "add"]),
    junk=JUNK,
)
def test_mutated_documents_never_crash(
    doc: int, data: st.DataObject, action: str, junk: object
) -> None:
    import copy

    tree = copy.deepcopy(VALID_DOCS[doc])
    at = data.draw(st.sampled_from(_paths(tree)))
    mutated = _mutate(tree, at, action, junk)
    text = yaml.safe_dump(mutated, allow_unicode=True).encode("utf-8")
    _check(text)


@settings(max_examples=200, deadline=None)
@given(
    doc=st.sampled_from(range(len(VALID_DOCS))),
    position=st.floats(min_value=0, max_value=1),
    noise=st.binary(min_size=1, max_size=12),
    action=st.sampled_from(["insert", "overwrite", "truncate"]),
)
def test_byte_level_damage_never_crashes(
    doc: int, position: float, noise: bytes, action: str
) -> None:
    text = yaml.safe_dump(VALID_DOCS[doc]).encode("utf-8")
    cut = int(position * len(text))
    if action == "insert":
        text = text[:cut] + noise + text[cut:]
    elif action == "overwrite":
        text = text[:cut] + noise + text[cut + len(noise) :]
    else:
        text = text[:cut]
    _check(text)
