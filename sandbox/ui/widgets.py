"""Panels that every level shares, generated from its manifest and its run."""

from __future__ import annotations

import math

from imgui_bundle import imgui

from ..kit.color import PALETTE
from ..manifest import Manifest, Param
from ..runner import Runner

ACCENT = PALETTE.accent
GOOD = PALETTE.good
BAD = PALETTE.bad
MUTED = PALETTE.muted


ARROW_STEPS = 100  # a focused slider moves 1/100 of its range per arrow press (Shift: 1/10)


def param_control(param: Param, value):
    """One widget for one manifest parameter; returns (changed, new value), the value always
    inside the parameter's declared range."""
    label = f"##{param.name}"
    if param.type == "bool":
        return imgui.checkbox(f"{param.label}##{param.name}", bool(value))
    _label(param, "" if param.type == "choice" else _slider_text(param, value))
    if param.type == "choice":
        index = param.choices.index(value) if value in param.choices else 0
        changed, index = imgui.combo(label, index, list(param.choices))
        return changed, param.choices[index]
    clamp = imgui.SliderFlags_.always_clamp.value  # Ctrl+click typing cannot leave the range either
    if param.type == "int":
        changed, new = imgui.slider_int(label, int(value), int(param.min), int(param.max), "", clamp)
        new = int(clamp_to_range(param, int(new) + _arrow_steps(1.0)))
        return changed or new != int(value), new
    flags = clamp | (imgui.SliderFlags_.logarithmic.value if param.log else 0)
    # the value is written on the label's line, where the handle cannot cover it
    changed, new = imgui.slider_float(label, float(value), float(param.min), float(param.max), "", flags)
    steps = _arrow_steps(10.0 if imgui.get_io().key_shift else 1.0)
    if steps:
        lo, hi = float(param.min), float(param.max)
        if param.log and lo > 0:
            new = float(value) * (hi / lo) ** (steps / ARROW_STEPS)
        else:
            new = float(value) + steps * (hi - lo) / ARROW_STEPS
    elif not changed:
        # untouched: ImGui's float32 round trip (0.4 comes back as 0.4000000059604645) is no
        # change, and must not restart a run whose parameter restarts it
        return False, value
    return True, clamp_to_range(param, new)


def clamp_to_range(param: Param, value: float) -> float:
    """``value`` inside the parameter's declared range. ImGui works in float32: at a maximum of 0.3
    a slider hands back 0.30000001, which the run's range check would refuse."""
    return min(max(float(value), float(param.min)), float(param.max))


def _label(param: Param, value_text: str) -> None:
    """A control's name on its own line above it, wrapped, never cut off, with its value at the
    right end of the line (or on the next line when both do not fit)."""
    imgui.push_text_wrap_pos(0.0)
    imgui.text_colored(MUTED, param.label)
    imgui.pop_text_wrap_pos()
    if not value_text:
        return
    width = imgui.calc_text_size(value_text).x
    imgui.same_line()
    right = imgui.get_cursor_pos_x() + imgui.get_content_region_avail().x
    if imgui.get_content_region_avail().x < width + imgui.get_style().item_spacing.x:
        imgui.new_line()
        right = imgui.get_cursor_pos_x() + imgui.get_content_region_avail().x
    imgui.set_cursor_pos_x(max(right - width, imgui.get_cursor_pos_x()))
    imgui.text(value_text)


def _slider_text(param: Param, value) -> str:
    text = f"{int(value)}" if param.type == "int" else f"{float(value):.4g}"
    return f"{text} {param.unit}" if param.unit else text


def _arrow_steps(size: float) -> float:
    """Left / right arrows on the keyboard-focused control (not being dragged or typed in): how far
    to move it, in steps. Up and down stay with ImGui's navigation between controls."""
    if not imgui.is_item_focused() or imgui.is_item_active() or not imgui.get_io().nav_visible:
        return 0.0
    left = imgui.is_key_pressed(imgui.Key.left_arrow) or imgui.is_key_pressed(imgui.Key.gamepad_dpad_left)
    right = imgui.is_key_pressed(imgui.Key.right_arrow) or imgui.is_key_pressed(imgui.Key.gamepad_dpad_right)
    return size * (int(right) - int(left))


def params_panel(manifest: Manifest, runner: Runner, locked: bool = False, on_error=None) -> list[str]:
    """Sliders, checkboxes and combos for every parameter; returns the names changed this frame.
    A value the run refuses goes to ``on_error`` (a message) instead of ending the frame."""
    changed_names = []
    imgui.begin_disabled(locked)
    imgui.push_item_width(-1)
    shown = [(name, param) for name, param in manifest.params.items() if param.applies(runner.params)]
    first = [item for item in shown if not item[1].more]
    more = [item for item in shown if item[1].more]
    # the few settings that matter come first; the rest wait under "more settings"
    for group in (first, more):
        if group is more and (not more or not imgui.collapsing_header(f"more settings ({len(more)})")):
            break
        for name, param in group:
            changed, value = param_control(param, runner.params[name])
            if param.help and imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled.value):
                imgui.set_tooltip(param.help + (" (restarts the run)" if param.resets else ""))
            if changed:
                try:
                    runner.set_param(name, value)
                except Exception as exc:  # noqa: BLE001 - a refused value is a message, not a crash
                    if on_error is not None:
                        on_error(f"{param.label}: {exc}")
                    continue
                changed_names.append(name)
    imgui.pop_item_width()
    imgui.end_disabled()
    return changed_names


def format_value(value: float, unit: str = "", fmt: str = "number") -> str:
    """A value as a learner reads it. ``fmt`` is an observable's declared format: "number" (four
    significant digits), "int", "bool" (yes / no), "bytes" (B, KB, MB, GB), "percent" (a fraction
    shown as %)."""
    if not math.isfinite(value):
        return "not a number (diverged)" if math.isnan(value) else ("+∞" if value > 0 else "−∞")
    if fmt == "bool":
        return "yes" if value >= 0.5 else "no"
    if fmt == "int":
        text = f"{int(round(value)):,}".replace(",", " ")
    elif fmt == "percent":
        text = f"{100 * value:.3g}%"
    elif fmt == "bytes":
        size, prefix = abs(value), ""
        for prefix in ("", "K", "M", "G", "T"):
            if size < 1000 or prefix == "T":
                break
            size /= 1000
        return f"{math.copysign(size, value):.3g} {prefix}B"
    else:
        text = f"{value:.4g}"
    return f"{text} {unit}" if unit else text


def observables_table(manifest: Manifest, runner: Runner, hidden=frozenset()) -> None:
    """The latest value of every scalar observable; those in ``hidden`` (they would answer an open
    challenge) say so instead."""
    latest = runner.latest()
    # names and values both wrap inside their columns: nothing is cut off at any width or UI scale
    if imgui.begin_table("observables", 2, imgui.TableFlags_.row_bg.value | imgui.TableFlags_.sizing_stretch_prop.value):
        imgui.table_setup_column("name", imgui.TableColumnFlags_.width_stretch.value, 1.2)
        imgui.table_setup_column("value", imgui.TableColumnFlags_.width_stretch.value, 1.0)
        for name, obs in manifest.observables.items():
            if obs.kind != "scalar" or not obs.applies(runner.params):
                continue
            imgui.table_next_row()
            imgui.table_next_column()
            imgui.push_style_color(imgui.Col_.text, MUTED)
            imgui.text_wrapped(obs.label)
            imgui.pop_style_color()
            if obs.help and imgui.is_item_hovered():
                imgui.set_tooltip(f"{obs.label}: {obs.help}")
            imgui.table_next_column()
            if name in hidden:
                imgui.push_style_color(imgui.Col_.text, MUTED)
                imgui.text_wrapped("hidden until the reveal")
                imgui.pop_style_color()
            else:
                imgui.text_wrapped(format_value(latest[name], obs.unit, obs.format))
        imgui.end_table()


def error_box(title: str, message: str) -> None:
    """A red, selectable, wrapped error message."""
    imgui.text_colored(BAD, title)
    imgui.push_text_wrap_pos(0.0)
    imgui.text_colored(PALETTE.error_text, message)
    imgui.pop_text_wrap_pos()


def code_block(text: str, mono_font=None) -> None:
    """Source code in the monospace font, in a bordered child region."""
    lines = text.count("\n") + 1
    height = min(lines, 40) * imgui.get_text_line_height_with_spacing() + 12
    imgui.begin_child("##code", imgui.ImVec2(-1, height), imgui.ChildFlags_.borders.value,
                      imgui.WindowFlags_.horizontal_scrollbar.value)
    if mono_font is not None:
        imgui.push_font(mono_font, 0.0)
    imgui.text_unformatted(text)
    if mono_font is not None:
        imgui.pop_font()
    imgui.end_child()
