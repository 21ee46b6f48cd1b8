"""What an ONNX graph that ``rnnkit export --onnx`` wrote holds, for ``rnnkit info``
(:mod:`rnnkit.checkpoint_info`): read with the ``onnx`` package when it is installed (its protobuf parser:
nothing is run, nothing unpickled), else only recognised.

:func:`read_onnx` returns ``(graph, props, specs)``: the graph's facts (producer, IR version, opsets, name,
inputs and outputs with their shapes, symbolic sizes by name), its ``metadata_props`` (rnnkit's: the model
kind, its configuration and the export record, as JSON strings) and ``{initializer: (dtype, shape)}``; or
None when ``onnx`` is not installed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from rnnkit.checkpoint_files import is_safetensors, read_head
from rnnkit.errors import CheckpointError

INSTALL = "pip install onnx (then rnnkit info reads its graph), or open it in Netron (https://netron.app)"


def is_onnx(path: Path) -> bool:
    """Whether ``path`` is an ONNX graph: named .onnx, or starting as rnnkit's do (ir_version, then the
    producer name "rnnkit": the bytes :func:`rnnkit.checkpoint_files.unreadable` knows them by); never a
    safetensors file (a checkpoint renamed .onnx), known by its start: its header's length, then its JSON."""
    if is_safetensors(path):
        return False
    if path.suffix.lower() == ".onnx":
        return True
    head = read_head(path, 16) or b""
    return head[:1] == b"\x08" and b"\x12\x06rnnkit" in head


def _value_info(v: Any, helper: Any) -> dict[str, Any]:
    t = v.type.tensor_type
    dims = [d.dim_param or d.dim_value for d in t.shape.dim]
    return {"name": v.name, "dtype": str(helper.tensor_dtype_to_np_dtype(t.elem_type)) if t.elem_type else None,
            "shape": dims}


def _unreadable(path: Path, reason: str) -> CheckpointError:
    return CheckpointError(f"{path}: not a readable ONNX graph ({reason}); export it again with rnnkit export --onnx")


def read_onnx(path: Path) -> tuple[dict[str, Any], dict[str, str], dict[str, tuple[str, tuple[int, ...]]]] | None:
    """``(graph facts, metadata_props, initializer specs)`` of the ONNX file ``path`` (module docstring), None
    without the onnx package; CheckpointError (one line) for a file onnx cannot parse."""
    try:
        import onnx
        from onnx import helper
    except ImportError:
        return None
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001  (protobuf's DecodeError and others: one line, whatever the cause)
        raise _unreadable(path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    if not model.HasField("graph"):  # protobuf reads any run of empty fields (an empty file) as a model
        raise _unreadable(path, "no graph in it" if path.stat().st_size else "an empty file")
    graph = {"producer": model.producer_name or None, "producer_version": model.producer_version or None,
             "ir_version": model.ir_version, "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
             "graph": model.graph.name or None, "nodes": len(model.graph.node),
             "inputs": [_value_info(v, helper) for v in model.graph.input],
             "outputs": [_value_info(v, helper) for v in model.graph.output]}
    props = {p.key: p.value for p in model.metadata_props}
    specs = {t.name: (str(helper.tensor_dtype_to_np_dtype(t.data_type)), tuple(int(d) for d in t.dims))
             for t in model.graph.initializer}
    return graph, props, specs
