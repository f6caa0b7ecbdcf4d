"""Dependencies point one way (DESIGN.md): every import in every module, functions' included."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"protocol", "common", "drivers", "device", "mqtt_bridge", "centre", "provisioning", "sim"}
ALLOWED = {
    "protocol": {"protocol"},
    "common": {"common", "protocol"},
    "drivers": {"drivers", "common", "protocol"},
    "device": {"device", "drivers", "common", "protocol"},
    "mqtt_bridge": {"mqtt_bridge", "drivers", "common", "protocol"},
    "centre": {"centre", "common", "protocol", "mqtt_bridge.centre_api"},  # the bridge's side: one module
    "provisioning": {"provisioning", "common", "protocol", "drivers", "mqtt_bridge"},
}


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def allowed(package: str, name: str) -> bool:
    """Whether `package` may import module `name`: a project package listed for it (or one
    module of it, where only that module is listed), or anything outside the project."""
    if name.split(".")[0] not in PROJECT:
        return True
    return any(name == rule or name.startswith(rule + ".") for rule in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_what_lies_below_it(package):
    wrong = [f"{path.relative_to(ROOT)}: {name}" for path in sorted((ROOT / package).rglob("*.py"))
             for name in sorted(imports(path)) if not allowed(package, name)]
    assert not wrong, "\n".join(wrong)


def test_the_rule_itself_catches_wrong_imports(tmp_path):
    """The walk sees imports inside functions too, where the old ones hid."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from mqtt_bridge.store import open_store\n")
    assert "mqtt_bridge.store" in imports(module)
    assert not allowed("device", "mqtt_bridge.store") and not allowed("centre", "mqtt_bridge.store")
    assert not allowed("provisioning", "device.screens") and not allowed("protocol", "drivers.mqtt")
    assert allowed("centre", "mqtt_bridge.centre_api") and allowed("device", "numpy")
