"""--bind names are checked: a name the query does not take is an error naming the query's
parameters (a typo would otherwise run the query unrestricted), and `query --list` shows
each named query's parameters."""

from __future__ import annotations

import subprocess
import sys

import pytest

from guidegraph.store.named_queries import BindingError, check_bindings, library, resolve
from guidegraph.store.sparql import variables


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "guidegraph", *args], capture_output=True,
                          text=True)


def test_every_parameter_a_header_offers_is_a_variable_of_its_query() -> None:
    for name, named in library().items():
        assert set(named.parameters) <= variables(named.text), name


def test_a_misspelled_binding_names_the_parameters(saved_store) -> None:
    done = _cli("query", "runs-for-case", "--bind", "caes=basilar-icad-consensus", "--store",
                str(saved_store.path))
    assert done.returncode == 2
    assert done.stderr == ("guidegraph: --bind caes: runs-for-case has no parameter ?caes; its "
                           "parameters: ?case\n")
    assert done.stdout == ""
    done = _cli("query", "loaded-guideline-versions", "--bind", "guidline=rescue-stenting",
                "--store", str(saved_store.path))
    assert done.returncode == 2
    assert "has no parameter ?guidline; its parameters: ?guideline" in done.stderr


def test_inline_queries_take_their_own_variables() -> None:
    _label, text, params = resolve("SELECT ?a WHERE { ?a ?b 'x ?c' # ?d\n }")
    check_bindings("inline query", text, params, ["a", "b"])
    with pytest.raises(BindingError, match=r"--bind c: inline query has no parameter \?c; its "
                                           r"parameters: \?a, \?b$"):
        check_bindings("inline query", text, params, ["c"])


def test_a_query_without_parameters_says_none() -> None:
    label, text, params = resolve("algorithm-steps")
    assert params == []
    with pytest.raises(BindingError, match=r"its parameters: none$"):
        check_bindings(label, text, params, ["step"])


def test_the_list_shows_each_querys_parameters() -> None:
    listing = _cli("query", "--list").stdout.splitlines()
    line = next(x for x in listing if x.startswith("runs-for-case "))
    assert line.endswith("[?case]")
    line = next(x for x in listing if x.startswith("algorithm-steps "))
    assert "[" not in line
