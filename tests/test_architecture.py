"""The direction of imports between the project's packages, checked on the source with ``ast``.

docs/architecture.md draws the picture and states these rules; this test is what holds them.
Every import counts, also one inside a function: a late import hides a dependency, it does not
remove it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.base import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("authsite", "risk", "factors")

# Django's own pattern for a custom session store: the store class names its model, and the
# model's manager names the store (as django.contrib.sessions does). The one cycle allowed.
ALLOWED_CYCLES = [
    {"authsite.accounts.sessions", "authsite.accounts.sessions_models"},
]
# The risk engine imports only the kernel; these modules plug it into the sign-in.
RISK_INTEGRATION = {"risk.login", "risk.trust"}
# Evaluation code (trace simulator, replay statistics, calibration) and the commands that run it.
EVALUATION = "risk.evaluation"
EVALUATION_COMMANDS = {"risk.management.commands.risk_replay", "risk.management.commands.risk_calibrate"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    base = ROOT.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


class Imports:
    """Every module of the project's packages with what it imports (modules, and names from modules)."""

    def __init__(self) -> None:
        self.modules: dict[str, set[str]] = {}
        self.names: dict[str, set[tuple[str, str]]] = {}
        for package in PACKAGES:
            for path in sorted((ROOT / package).rglob("*.py")):
                self._read(path)

    def _read(self, path: Path) -> None:
        name = _module_name(path)
        is_package = path.name == "__init__.py"
        modules: set[str] = set()
        names: set[tuple[str, str]] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if _is_module(sub):
                        modules.add(sub)
                    else:
                        modules.add(base)
                        names.add((base, alias.name))
        self.modules[name] = {m for m in modules if m.split(".")[0] in PACKAGES}
        self.names[name] = {(m, n) for m, n in names if m.split(".")[0] in PACKAGES}

    def violations(self, rule) -> list[str]:
        return sorted(
            f"{src} imports {dst}" for src, dsts in self.modules.items() for dst in dsts if not rule(src, dst)
        )


class ArchitectureTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.imports = Imports()

    def assertNoViolations(self, rule) -> None:
        self.assertEqual(self.imports.violations(rule), [])

    def test_the_source_is_found(self):
        for module in ("authsite.core.clock", "authsite.login.flow", "risk.policy", "factors.services"):
            self.assertIn(module, self.imports.modules)

    def test_risk_and_factors_never_import_each_other(self):
        self.assertNoViolations(lambda src, dst: not (_in(src, "risk") and _in(dst, "factors")))
        self.assertNoViolations(lambda src, dst: not (_in(src, "factors") and _in(dst, "risk")))

    def test_the_kernel_imports_nothing_of_the_project(self):
        self.assertNoViolations(lambda src, dst: not _in(src, "authsite.core") or _in(dst, "authsite.core"))

    def test_the_login_framework_imports_only_the_kernel_and_accounts(self):
        allowed = ("authsite.core", "authsite.accounts", "authsite.login")
        self.assertNoViolations(lambda src, dst: not _in(src, "authsite.login") or any(_in(dst, p) for p in allowed))

    def test_the_provider_imports_only_the_kernel_accounts_and_the_login_framework(self):
        allowed = ("authsite.core", "authsite.accounts", "authsite.login", "authsite.oidc")
        self.assertNoViolations(lambda src, dst: not _in(src, "authsite.oidc") or any(_in(dst, p) for p in allowed))

    def test_only_the_center_and_the_wiring_import_the_provider(self):
        def rule(src: str, dst: str) -> bool:
            if not _in(dst, "authsite.oidc") or _in(src, "authsite.oidc"):
                return True
            return _in(src, "authsite.center") or src == "authsite.urls"

        self.assertNoViolations(rule)

    def test_accounts_imports_neither_risk_nor_factors_nor_the_center(self):
        forbidden = ("risk", "factors", "authsite.center")
        self.assertNoViolations(
            lambda src, dst: not _in(src, "authsite.accounts") or not any(_in(dst, p) for p in forbidden)
        )

    def test_the_risk_engine_imports_only_the_kernel(self):
        def rule(src: str, dst: str) -> bool:
            if not _in(src, "risk") or _in(dst, "risk") or _in(dst, "authsite.core"):
                return True
            # The integration modules may use the login framework and the accounts app's email.
            return src in RISK_INTEGRATION and (_in(dst, "authsite.login") or _in(dst, "authsite.accounts"))

        self.assertNoViolations(rule)

    def test_only_the_center_and_the_wiring_import_risk_and_factors_together(self):
        both = sorted(
            src
            for src, dsts in self.imports.modules.items()
            if any(_in(d, "risk") for d in dsts) and any(_in(d, "factors") for d in dsts)
        )
        self.assertEqual([m for m in both if not (_in(m, "authsite.center") or m == "authsite.urls")], [])

    def test_the_project_package_is_wiring_only(self):
        wiring = {"authsite", "authsite.settings", "authsite.urls", "authsite.wsgi", "authsite.asgi"}
        top = {m for m in self.imports.modules if m.count(".") == 1 and _in(m, "authsite")}
        packages = {"authsite.core", "authsite.accounts", "authsite.login", "authsite.center", "authsite.oidc"}
        self.assertEqual(top - wiring - packages, set())

    def test_no_module_imports_a_private_name_of_another(self):
        found = {
            (src, module, name)
            for src, names in self.imports.names.items()
            for module, name in names
            if name.startswith("_") and not name.startswith("__") and module != src
        }
        self.assertEqual(sorted(found), [])

    def test_no_import_cycle_between_files(self):
        cycles = [c for c in _strongly_connected(self.imports.modules) if len(c) > 1]
        self.assertEqual(sorted(sorted(c) for c in cycles if c not in ALLOWED_CYCLES), [])

    def test_the_engine_uses_no_randomness_and_the_site_no_evaluation_code(self):
        engine = [m for m in self.imports.modules if _in(m, "risk") and not _in(m, EVALUATION)]
        for module in engine:
            source = ROOT.joinpath(*module.split(".")).with_suffix(".py")
            if not source.is_file():
                source = ROOT.joinpath(*module.split("."), "__init__.py")
            tree = ast.parse(source.read_text(encoding="utf-8"))
            imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            with self.subTest(module=module):
                self.assertNotIn("random", imported)
        self.assertNoViolations(
            lambda src, dst: not _in(dst, EVALUATION) or _in(src, EVALUATION) or src in EVALUATION_COMMANDS
        )


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the import graph is deep enough to matter)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    result.append(component)
    return result
